"""Compare our HepG2 regions with the study's own (BioS73_*_1kb.bed.gz) and test their genome build.

The study's regions are compared with the hg38 ENCODE HepG2 peaks (DNase ENCFF375MTY, H3K27ac
ENCFF886SZT) and with the regions build_regions makes from those peaks (a synthetic random genome
with the hg38 contig sizes stands in for hg38: positives depend only on the peaks and contig ends;
controls are random peak-free windows, as the study's; no exon/TSS/blacklist files are stored
beside the peaks, so ours are built without those exclusions). Everything printed is a fraction of
regions overlapping (>= 1 bp) the other set, never a pass/fail.

Build test: if the study's regions were on another assembly, the offset between a study positive
and nearby hg38 DNase peaks would show one sharp mode per stretch of chromosome (the local
assembly difference) instead of a mode at 0. The mode per ``--window`` of study coordinates is
estimated from half of the study positives (odd rows) and applied to the other half (even rows),
and the shifted regions are compared again; the modes are also compared with the
GRCh38 - GRCh37 difference of gene coordinates at known loci.

Run: ``.venv/bin/python benchmarks/compare_study_regions.py`` (about a minute; writes a 3 GB
temporary genome; ``--contigs chr21,chr22`` for a quick look).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_regions import HG38_SIZES, write_genome  # noqa: E402

from regvarbench.genome import Genome  # noqa: E402
from regvarbench.regions import build_regions, overlaps_any  # noqa: E402

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "data" / "published"
# Gene starts on chr21, GRCh37 and GRCh38 (as tabulated in a public test generator,
# github.com: generate_sv_test_vcfs.py; differences agree with the UCSC liftOver offset there).
KNOWN_LOCI = {"SOD1": ("chr21", 33_031_935, 31_659_633), "APP": ("chr21", 27_252_861, 25_880_535),
              "DYRK1A": ("chr21", 38_739_398, 37_365_573), "DSCAM": ("chr21", 41_382_995, 40_010_999)}


def read_bed3(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], dtype={0: str})
    return raw.set_axis(["chrom", "start", "end"], axis=1)


def frac(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Fraction of the intervals of a overlapping any interval of b by >= 1 bp."""
    return float(overlaps_any(a, b).mean()) if len(a) else float("nan")


def offsets_near(query: pd.DataFrame, peaks: pd.DataFrame, span: int) -> pd.DataFrame:
    """(row, offset) pairs: hg38 peak centre minus query centre, for peaks within +/- span."""
    rows, offs = [], []
    centres = ((peaks["start"] + peaks["end"]) // 2).groupby(peaks["chrom"]).apply(lambda s: np.sort(s.to_numpy()))
    q_centre = ((query["start"] + query["end"]) // 2).to_numpy()
    for chrom, idx in query.groupby("chrom").indices.items():
        if chrom not in centres:
            continue
        c = centres[chrom]
        for i in idx:
            lo, hi = np.searchsorted(c, [q_centre[i] - span, q_centre[i] + span])
            rows.append(np.full(hi - lo, i))
            offs.append(c[lo:hi] - q_centre[i])
    return pd.DataFrame({"row": np.concatenate(rows) if rows else [], "offset": np.concatenate(offs) if offs else []})


def window_modes(query: pd.DataFrame, peaks: pd.DataFrame, window: int, bin_bp: int, span: int) -> pd.DataFrame:
    """Per (chrom, window of query coordinates): the modal offset bin, its count and the median count."""
    pairs = offsets_near(query, peaks, span)
    pairs["chrom"] = query["chrom"].to_numpy()[pairs["row"].to_numpy(dtype=np.int64)]
    pairs["window"] = ((query["start"].to_numpy() // window)[pairs["row"].to_numpy(dtype=np.int64)])
    pairs["bin"] = (pairs["offset"] // bin_bp) * bin_bp
    counts = pairs.groupby(["chrom", "window", "bin"]).size().rename("n").reset_index()
    best = counts.sort_values(["chrom", "window", "n", "bin"], ascending=[True, True, False, True])
    top = best.groupby(["chrom", "window"]).head(1).set_index(["chrom", "window"])
    top["median_n"] = counts.groupby(["chrom", "window"])["n"].median()
    top["regions"] = query.assign(window=query["start"] // window).groupby(["chrom", "window"]).size()
    return top.reset_index().rename(columns={"bin": "offset"})


def shift(query: pd.DataFrame, modes: pd.DataFrame, window: int, bin_bp: int) -> pd.DataFrame:
    """Move each interval by its window's modal offset (centre of the bin); drop those without one."""
    key = query.assign(window=query["start"] // window).merge(modes[["chrom", "window", "offset"]],
                                                              on=["chrom", "window"], how="inner")
    delta = key["offset"] + bin_bp // 2
    moved = pd.DataFrame({"chrom": key["chrom"], "start": key["start"] + delta, "end": key["end"] + delta})
    return moved[moved["start"] >= 0].reset_index(drop=True)  # moved off the contig start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--published", type=Path, default=PUBLISHED)
    parser.add_argument("--contigs", default=",".join(HG38_SIZES), help="hg38 contigs to compare on")
    parser.add_argument("--window", type=int, default=10_000_000, help="offset-estimation window (bp)")
    parser.add_argument("--bin", type=int, default=200, help="offset histogram bin (bp)")
    parser.add_argument("--span", type=int, default=1_500_000, help="largest offset looked at (bp)")
    parser.add_argument("--locus-span", type=int, default=2_000_000, help="study positives looked at around a known locus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = {c: HG38_SIZES[c] for c in args.contigs.split(",")}
    pub = args.published
    dnase_path = pub / "peaks" / "HepG2_DNase_ENCFF375MTY_hg38.bed.gz"
    h3_path = pub / "peaks" / "HepG2_H3K27ac_ENCFF886SZT_hg38.bed.gz"

    def on_contigs(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["chrom"].isin(sizes)].reset_index(drop=True)

    dnase, h3 = on_contigs(read_bed3(dnase_path)), on_contigs(read_bed3(h3_path))
    theirs = {"positive": on_contigs(read_bed3(pub / "regions" / "BioS73_positive_1kb.bed.gz")),
              "control": on_contigs(read_bed3(pub / "regions" / "BioS73_control_1kb.bed.gz"))}
    both_marks = dnase[overlaps_any(dnase, h3)]

    with tempfile.TemporaryDirectory(prefix="compare-regions-") as tmp:
        fasta = write_genome(Path(tmp) / "genome.fa", sizes, args.seed)
        with Genome(fasta) as genome:
            regions, _ = build_regions("HepG2", dnase_path, h3_path, genome, control_matching="none", seed=args.seed)
    ours = {"positive": regions[regions["label"] == 1], "control": regions[regions["label"] == 0]}

    print(f"contigs: {len(sizes)}; study positives {len(theirs['positive'])}, controls {len(theirs['control'])}; "
          f"ours (hg38 peaks, no exclusions) positives {len(ours['positive'])}, controls {len(ours['control'])}")
    print("\n== overlap with the hg38 peaks (fraction of regions overlapping >= 1 bp)")
    print(f"{'set':<20}{'DNase':>8}{'H3K27ac':>9}{'DNase&H3K27ac':>15}")
    for who, sets in (("study", theirs), ("ours", ours)):
        for label, frame in sets.items():
            print(f"{who + ' ' + label:<20}{frac(frame, dnase):>8.3f}{frac(frame, h3):>9.3f}{frac(frame, both_marks):>15.3f}")

    print("\n== ours vs study (fraction of the row set overlapping the column set)")
    print(f"{'':<20}{'study positive':>15}{'study control':>15}")
    for label, frame in ours.items():
        print(f"{'ours ' + label:<20}{frac(frame, theirs['positive']):>15.3f}{frac(frame, theirs['control']):>15.3f}")
    print(f"{'':<20}{'ours positive':>15}{'ours control':>15}")
    for label, frame in theirs.items():
        print(f"{'study ' + label:<20}{frac(frame, ours['positive']):>15.3f}{frac(frame, ours['control']):>15.3f}")

    pos = theirs["positive"]
    odd, even = pos.iloc[1::2].reset_index(drop=True), pos.iloc[0::2].reset_index(drop=True)
    modes = window_modes(odd, dnase, args.window, args.bin, args.span)
    sharp = modes[(modes["n"] >= 5) & (modes["n"] >= 5 * modes["median_n"])]
    print(f"\n== build test: offset (hg38 DNase centre - study centre) per {args.window // 1_000_000} Mb window, "
          f"{args.bin} bp bins, from odd-row study positives")
    print(f"windows with an estimate: {len(modes)}; with a sharp mode (>= 5 pairs and >= 5x the median bin): "
          f"{len(sharp)}; sharp modes at offset 0 (|offset| < {args.bin} bp): {int((sharp['offset'].abs() < args.bin).sum())}")
    print(f"median |offset| of the sharp modes: {int(sharp['offset'].abs().median()) if len(sharp) else 'n/a'} bp")
    for gene, (chrom, hg19, hg38) in KNOWN_LOCI.items():
        near = pos[(pos["chrom"] == chrom) & ((pos["start"] - hg19).abs() < args.locus_span)].reset_index(drop=True)
        pairs = offsets_near(near, dnase, args.span)
        counts = (pairs["offset"] // args.bin * args.bin).value_counts() if len(pairs) else pd.Series(dtype=int)
        found = (f"{int(counts.index[0])}..{int(counts.index[0]) + args.bin} bp ({int(counts.iloc[0])} pairs, "
                 f"median bin {int(counts.median())})") if len(counts) else "no pairs"
        print(f"  {gene} {chrom}:{hg19} (GRCh37): GRCh38 - GRCh37 = {hg38 - hg19:+d} bp; modal offset of the "
              f"{len(near)} study positives within {args.locus_span // 1_000_000} Mb: {found}")

    shifted = shift(even, modes, args.window, args.bin)
    shifted_ctrl = shift(theirs["control"], modes, args.window, args.bin)
    print(f"\n== even-row study positives moved by their window's offset ({len(shifted)} of {len(even)} have one; "
          f"controls: {len(shifted_ctrl)} of {len(theirs['control'])})")
    print(f"{'set':<28}{'DNase':>8}{'H3K27ac':>9}{'ours positive':>15}")
    for name, frame in (("even positives, as given", even), ("even positives, moved", shifted),
                        ("controls, as given", theirs["control"]), ("controls, moved", shifted_ctrl)):
        print(f"{name:<28}{frac(frame, dnase):>8.3f}{frac(frame, h3):>9.3f}{frac(frame, ours['positive']):>15.3f}")


if __name__ == "__main__":
    main()
