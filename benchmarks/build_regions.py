"""Benchmark build-regions on the real HepG2 peaks against a plain-pandas positive set.

Inputs: the study's ENCODE HepG2 peaks (DNase ENCFF375MTY, H3K27ac ENCFF886SZT, hg38) from
``--peaks``; a synthetic random genome with the hg38 sizes of ``--contigs`` (written to a temp dir,
with its .fai, so no real genome is needed); synthetic exclusions (exons, BED6 TSS, blacklist) drawn
with a fixed seed at roughly hg38 densities, because no annotation is stored beside the peaks.

Timed, in one run on the same machine:
* ``build_regions`` (the whole step: positives and GC-matched controls) and its positive-set steps
  alone (the regions.py functions in build_regions' order);
* a plain pandas/numpy implementation of the same positive-set logic written here (DNase bp
  covered by merged H3K27ac >= min_overlap, summit/midpoint resize, exon/promoter/blacklist
  filters, contig ends, greedy signal-ordered de-duplication); both must give the same positives;
* the interval steps alone: pybedtools (bedtools merge + intersect / complement, the
  implementation regions.py used before, kept here as the baseline) vs bioframe (regions.overlap_bp,
  overlaps_any and free_intervals now); results must be identical.

Prints the times and ``RESULT build_regions_vs_pandas=<x>`` (whole build_regions time / pandas
positive-set time). Run: ``.venv/bin/python benchmarks/build_regions.py``
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pybedtools

from regvarbench import regions as R
from regvarbench.genome import Genome

PEAKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "published" / "peaks"
DNASE = "HepG2_DNase_ENCFF375MTY_hg38.bed.gz"
H3K27AC = "HepG2_H3K27ac_ENCFF886SZT_hg38.bed.gz"
HG38_SIZES = {
    "chr1": 248_956_422, "chr2": 242_193_529, "chr3": 198_295_559, "chr4": 190_214_555,
    "chr5": 181_538_259, "chr6": 170_805_979, "chr7": 159_345_973, "chr8": 145_138_636,
    "chr9": 138_394_717, "chr10": 133_797_422, "chr11": 135_086_622, "chr12": 133_275_309,
    "chr13": 114_364_328, "chr14": 107_043_718, "chr15": 101_991_189, "chr16": 90_338_345,
    "chr17": 83_257_441, "chr18": 80_373_285, "chr19": 58_617_616, "chr20": 64_444_167,
    "chr21": 46_709_983, "chr22": 50_818_468, "chrX": 156_040_895, "chrY": 57_227_415,
}
HG38_TOTAL = 3_088_269_832
# genome-wide counts the synthetic exclusions are scaled from (GENCODE exons ~ 750k incl.
# duplicates, ~ 60k gene TSS, ENCODE hg38 blacklist v2 ~ 640 regions)
EXONS_GENOME, TSS_GENOME, BLACKLIST_GENOME = 750_000, 60_000, 640


# --------------------------------------------------------------------------- inputs

def write_genome(path: Path, sizes: dict[str, int], seed: int) -> Path:
    """Random ACGT, one line per contig, and its .fai written directly (no indexing pass)."""
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGT", dtype=np.uint8)
    fai, offset = [], 0
    with open(path, "wb") as fh:
        for name, size in sizes.items():
            header = f">{name}\n".encode()
            fh.write(header)
            offset += len(header)
            for lo in range(0, size, 50_000_000):
                fh.write(lut[rng.integers(0, 4, min(size - lo, 50_000_000), dtype=np.uint8)].tobytes())
            fh.write(b"\n")
            fai.append(f"{name}\t{size}\t{offset}\t{size}\t{size + 1}\n")
            offset += size + 1
    Path(str(path) + ".fai").write_text("".join(fai))
    return path


def write_exclusions(outdir: Path, sizes: dict[str, int], seed: int) -> dict[str, Path]:
    """Random exons (50-300 bp), BED6 TSS with strands and blacklist regions (1-20 kb)."""
    rng = np.random.default_rng(seed)
    share = sum(sizes.values()) / HG38_TOTAL
    names, weights = list(sizes), np.array(list(sizes.values()), dtype=float)

    def draw(n: int, lo: int, hi: int) -> pd.DataFrame:
        chrom = rng.choice(len(names), size=n, p=weights / weights.sum())
        width = rng.integers(lo, hi, size=n)
        start = (rng.random(n) * (weights[chrom] - width)).astype(np.int64)
        return pd.DataFrame({"chrom": np.array(names)[chrom], "start": start, "end": start + width})

    paths = {}
    for kind, n, lo, hi in (("exons", EXONS_GENOME, 50, 300), ("tss", TSS_GENOME, 1, 2),
                            ("blacklist", BLACKLIST_GENOME, 1000, 20_000)):
        frame = draw(int(n * share), lo, hi)
        if kind == "tss":
            frame = frame.assign(name=".", score=0, strand=rng.choice(["+", "-"], size=len(frame)))
        paths[kind] = outdir / f"{kind}.bed"
        frame.to_csv(paths[kind], sep="\t", header=False, index=False)
    return paths


# --------------------------------------------------------------------------- pandas baseline

def read_peaks(path: Path | str, sizes: dict[str, int]) -> pd.DataFrame:
    raw = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str})
    out = pd.DataFrame({"chrom": raw[0], "start": raw[1].astype("int64"), "end": raw[2].astype("int64"),
                        "strand": raw[5] if raw.shape[1] > 5 else ".",
                        "signal": pd.to_numeric(raw[6], errors="coerce") if raw.shape[1] > 6 else np.nan,
                        "summit": pd.to_numeric(raw[9], errors="coerce").fillna(-1).astype("int64")
                        if raw.shape[1] > 9 else -1})
    return out[out["chrom"].isin(sizes)].reset_index(drop=True)


def merge_intervals(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per contig: sorted starts/ends of the union of the intervals (book-ended ones joined)."""
    merged = {}
    for chrom, g in frame.sort_values(["chrom", "start"]).groupby("chrom", sort=False):
        s, e = g["start"].to_numpy(), g["end"].to_numpy()
        new = np.r_[True, s[1:] > np.maximum.accumulate(e)[:-1]]  # starts a new union interval
        merged[chrom] = (s[new], np.maximum.reduceat(e, np.flatnonzero(new)))
    return merged


def covered_bp(frame: pd.DataFrame, merged: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """bp of each interval inside the merged union: prefix sums over the sorted union."""
    out = np.zeros(len(frame), dtype=np.int64)
    for chrom, idx in frame.groupby("chrom", sort=False).indices.items():
        if chrom not in merged:
            continue
        ms, me = merged[chrom]
        prefix = np.r_[0, np.cumsum(me - ms)]

        def below(x: np.ndarray) -> np.ndarray:  # union bp left of x
            k = np.searchsorted(me, x, side="right")
            partial = np.where(k < len(ms), np.clip(x - ms[np.minimum(k, len(ms) - 1)], 0, None), 0)
            return prefix[k] + partial

        s, e = frame["start"].to_numpy()[idx], frame["end"].to_numpy()[idx]
        out[idx] = below(e) - below(s)
    return out


def hits_any(frame: pd.DataFrame, merged: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    out = np.zeros(len(frame), dtype=bool)
    for chrom, idx in frame.groupby("chrom", sort=False).indices.items():
        if chrom not in merged:
            continue
        ms, me = merged[chrom]
        s, e = np.maximum(frame["start"].to_numpy()[idx], 0), frame["end"].to_numpy()[idx]
        k = np.searchsorted(me, s, side="right")  # first union interval ending after s
        out[idx] = (k < len(ms)) & (ms[np.minimum(k, len(ms) - 1)] < e)
    return out


def pandas_positives(dnase: Path, h3k27ac: Path, exclusions: dict[str, Path], sizes: dict[str, int],
                     length: int = 1000, flank: int = 2000, min_overlap: int = 1) -> pd.DataFrame:
    peaks, marks = read_peaks(dnase, sizes), read_peaks(h3k27ac, sizes)
    peaks = peaks[covered_bp(peaks, merge_intervals(marks)) >= min_overlap].reset_index(drop=True)
    width = peaks["end"] - peaks["start"]
    summit_ok = (peaks["summit"] >= 0) & (peaks["summit"] < width)
    centre = np.where(summit_ok, peaks["start"] + peaks["summit"], (peaks["start"] + peaks["end"]) // 2)
    win = pd.DataFrame({"chrom": peaks["chrom"], "start": centre - length // 2, "signal": peaks["signal"]})
    win["end"] = win["start"] + length
    tss = read_peaks(exclusions["tss"], sizes)
    first = np.where(tss["strand"] == "-", tss["end"] - 1, tss["start"])
    last = np.where(tss["strand"] == "+", tss["start"] + 1, tss["end"])
    promoters = pd.DataFrame({"chrom": tss["chrom"], "start": np.maximum(first - flank, 0), "end": last + flank})
    excl = pd.concat([read_peaks(exclusions["exons"], sizes)[["chrom", "start", "end"]], promoters,
                      read_peaks(exclusions["blacklist"], sizes)[["chrom", "start", "end"]]])
    win = win[~hits_any(win, merge_intervals(excl))]
    win = win[(win["start"] >= 0) & (win["end"] <= win["chrom"].map(sizes))].reset_index(drop=True)
    # greedy de-duplication: signal high first, ties in (chrom, start) then file order
    order = win.assign(_sig=-win["signal"].fillna(-np.inf), _pos=np.arange(len(win)))
    order = order.sort_values(["_sig", "chrom", "start", "_pos"], kind="mergesort")
    kept_starts: dict[str, list[int]] = {}
    keep = []
    for i, chrom, start in zip(order["_pos"], order["chrom"], order["start"]):
        lst = kept_starts.setdefault(chrom, [])
        j = bisect.bisect_left(lst, start)
        if (j < len(lst) and lst[j] - start < length) or (j > 0 and start - lst[j - 1] < length):
            continue
        lst.insert(j, int(start))
        keep.append(i)
    return win.iloc[sorted(keep)][["chrom", "start", "end"]].reset_index(drop=True)


# --------------------------------------------------------------------------- regions.py steps

def regions_positives(dnase: Path, h3k27ac: Path, exclusions: dict[str, Path], genome: Genome,
                      length: int = 1000, flank: int = 2000) -> pd.DataFrame:
    """The positive-set steps of build_regions, through regions.py's own functions."""
    peaks, _ = R.map_to_genome(R.read_bed(dnase), genome)
    marks, _ = R.map_to_genome(R.read_bed(h3k27ac), genome)
    excl = {"exon": R._optional_bed(exclusions["exons"], genome),
            "promoter": R.promoters_from_tss(R._optional_bed(exclusions["tss"], genome), flank),
            "blacklist": R._optional_bed(exclusions["blacklist"], genome)}
    win = R.centre_windows(peaks[R.overlap_bp(peaks, marks) >= 1].reset_index(drop=True), length)
    for kind in ("exon", "promoter", "blacklist"):
        win = win[~R.overlaps_any(win, excl[kind])].reset_index(drop=True)
    win = win[(win["start"] >= 0) & (win["end"] <= win["chrom"].map(genome.sizes))].reset_index(drop=True)
    return win.iloc[R.select_non_overlapping(win)][["chrom", "start", "end"]].reset_index(drop=True)


# --------------------------------------------------------------------------- interval steps

@contextlib.contextmanager
def bedtools_tmp() -> Iterator[Path]:
    """pybedtools' temp files in a private directory, removed afterwards."""
    previous = pybedtools.helpers.get_tempdir()
    with tempfile.TemporaryDirectory(prefix="bench-bedtools-") as tmp:
        pybedtools.helpers.set_tempdir(tmp)
        try:
            yield Path(tmp)
        finally:
            pybedtools.helpers.cleanup()
            pybedtools.helpers.set_tempdir(previous)


def to_bedtool(frame: pd.DataFrame, columns: list[str]) -> pybedtools.BedTool:
    return pybedtools.BedTool.from_dataframe(frame[columns])


def read_bedtool(bt: pybedtools.BedTool) -> pd.DataFrame:
    path = Path(bt.fn)
    return pd.DataFrame() if path.stat().st_size == 0 else pd.read_csv(path, sep="\t", header=None, dtype={0: str})


def pybedtools_overlap_bp(peaks: pd.DataFrame, marks: pd.DataFrame) -> np.ndarray:
    """The former regions.overlap_bp: bedtools merge, then intersect -wo summed per peak."""
    with bedtools_tmp():
        a = to_bedtool(peaks.assign(name=np.arange(len(peaks))), ["chrom", "start", "end", "name"])
        hits = read_bedtool(a.intersect(to_bedtool(marks, ["chrom", "start", "end"]).sort().merge(), wo=True))
    covered = np.zeros(len(peaks), dtype=np.int64)
    if not hits.empty:
        per_peak = hits.groupby(3)[hits.columns[-1]].sum()
        covered[per_peak.index.to_numpy(dtype=np.int64)] = per_peak.to_numpy()
    return covered


def pybedtools_overlaps_any(windows: pd.DataFrame, excl: pd.DataFrame) -> np.ndarray:
    """The former regions.overlaps_any: bedtools intersect -u."""
    hit = np.zeros(len(windows), dtype=bool)
    with bedtools_tmp():
        a = to_bedtool(windows.assign(start=windows["start"].clip(lower=0), name=np.arange(len(windows))),
                       ["chrom", "start", "end", "name"])
        found = read_bedtool(a.intersect(to_bedtool(excl, ["chrom", "start", "end"]), u=True))
    if not found.empty:
        hit[found[3].to_numpy(dtype=np.int64)] = True
    return hit


def pybedtools_free_intervals(exclusions: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """The former regions.free_intervals: bedtools merge + complement over a genome file."""
    order = {name: i for i, name in enumerate(sizes)}
    size = exclusions["chrom"].map(sizes)
    clipped = exclusions.assign(start=exclusions["start"].clip(lower=0), end=np.minimum(exclusions["end"], size))
    clipped = clipped[clipped["end"] > clipped["start"]]
    clipped = clipped.assign(_order=clipped["chrom"].map(order)).sort_values(["_order", "start", "end"])
    with bedtools_tmp() as tmp:
        genome_file = tmp / "genome.sizes"
        genome_file.write_text("".join(f"{n}\t{s}\n" for n, s in sizes.items()))
        free = read_bedtool(to_bedtool(clipped, ["chrom", "start", "end"]).merge().complement(g=str(genome_file)))
    free = free.iloc[:, :3].set_axis(["chrom", "start", "end"], axis=1)
    return free.astype({"chrom": str, "start": "int64", "end": "int64"}).reset_index(drop=True)


def best_time(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def as_set(frame: pd.DataFrame) -> set[tuple[str, int, int]]:
    return set(zip(frame["chrom"], frame["start"].astype(int), frame["end"].astype(int)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peaks", type=Path, default=PEAKS, help="folder holding the two HepG2 peak files")
    parser.add_argument("--contigs", default="chr1,chr2,chr3,chr4,chr5,chr21,chr22",
                        help="hg38 contigs of the synthetic genome (comma separated)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the fast steps (best time kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = {c: HG38_SIZES[c] for c in args.contigs.split(",")}
    dnase, h3 = args.peaks / DNASE, args.peaks / H3K27AC
    with tempfile.TemporaryDirectory(prefix="bench-regions-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        fasta = write_genome(tmp / "genome.fa", sizes, args.seed)
        excl = write_exclusions(tmp, sizes, args.seed)
        print(f"genome: {len(sizes)} contigs ({', '.join(sizes)}), {sum(sizes.values()) / 1e6:.0f} Mb, "
              f"written in {time.perf_counter() - t0:.1f} s")
        with Genome(fasta) as genome:
            t_build, (regions, summary) = best_time(
                lambda: R.build_regions("HepG2", dnase, h3, genome, exons=excl["exons"], tss=excl["tss"],
                                        blacklist=excl["blacklist"], seed=args.seed), 1)
            t_steps, ours = best_time(lambda: regions_positives(dnase, h3, excl, genome), args.repeat)
            t_pandas, theirs = best_time(lambda: pandas_positives(dnase, h3, excl, sizes), args.repeat)
            built = as_set(regions[regions["label"] == 1])
            same = built == as_set(ours) == as_set(theirs)
            print(f"positives: build_regions {len(built)}, regions.py steps {len(ours)}, pandas {len(theirs)}; "
                  f"identical: {same}")
            if not same:
                raise SystemExit(f"positive sets differ: only build_regions {len(built - as_set(theirs))}, "
                                 f"only pandas {len(as_set(theirs) - built)}")
            print(f"build_regions (positives + {int((regions['label'] == 0).sum())} GC-matched controls): {t_build:.2f} s")
            print(f"regions.py positive-set steps: {t_steps:.2f} s; pandas positive set: {t_pandas:.2f} s; "
                  f"ratio {t_steps / t_pandas:.2f}")

            peaks, _ = R.map_to_genome(R.read_bed(dnase), genome)
            marks, _ = R.map_to_genome(R.read_bed(h3), genome)
            t_pb, cov_pb = best_time(lambda: pybedtools_overlap_bp(peaks, marks), args.repeat)
            t_bf, cov_bf = best_time(lambda: R.overlap_bp(peaks, marks), args.repeat)
            assert np.array_equal(cov_pb, cov_bf), "overlap_bp: bioframe and pybedtools differ"
            print(f"DNase x H3K27ac overlap bp ({len(peaks)} x {len(marks)}): pybedtools {t_pb:.3f} s, "
                  f"bioframe {t_bf:.3f} s, pybedtools/bioframe {t_pb / t_bf:.2f}")
            windows = R.centre_windows(peaks, 1000)
            exons = R._optional_bed(excl["exons"], genome)
            t_pb2, hit_pb = best_time(lambda: pybedtools_overlaps_any(windows, exons), args.repeat)
            t_bf2, hit_bf = best_time(lambda: R.overlaps_any(windows, exons), args.repeat)
            assert np.array_equal(hit_pb, hit_bf), "overlaps_any: bioframe and pybedtools differ"
            print(f"windows x exons any-overlap ({len(windows)} x {len(exons)}): pybedtools {t_pb2:.3f} s, "
                  f"bioframe {t_bf2:.3f} s, pybedtools/bioframe {t_pb2 / t_bf2:.2f}")
            occupied = pd.concat([peaks[["chrom", "start", "end"]], marks[["chrom", "start", "end"]], exons[["chrom", "start", "end"]]],
                                 ignore_index=True)
            t_pb3, free_pb = best_time(lambda: pybedtools_free_intervals(occupied, genome.sizes), args.repeat)
            t_bf3, free_bf = best_time(lambda: R.free_intervals(occupied, genome.sizes), args.repeat)
            assert free_pb.astype({"chrom": object}).equals(free_bf.astype({"chrom": object})), \
                "free_intervals: bioframe and pybedtools differ"
            print(f"genome minus {len(occupied)} intervals (merge + complement): pybedtools {t_pb3:.3f} s, "
                  f"bioframe {t_bf3:.3f} s, pybedtools/bioframe {t_pb3 / t_bf3:.2f}")
    print(f"RESULT build_regions_vs_pandas={t_build / t_pandas:.2f}")


if __name__ == "__main__":
    main()
