"""Benchmark prepare-variants + make-windows on every real dataset against reading them with pandas.

Inputs: the real variant files of ../shared/data/published/experimental (the datasets of
assets/datasets.csv that are present, plus the two SuRE matched-control tables). Genome: a
synthetic random genome with the hg19 sizes of chr1-22, X and Y (3.1 Gb, the realistic size), one
line per contig with its .fai written directly. So that the genome checks pass as they would on
the real genome, every dataset's reference base is written into the synthetic genome at each of
its SNV positions (SORT1 is hg38: its positions are planted on the hg19-sized chr1 just the same;
where two datasets disagree on a base, the later one wins and the other's row is skipped as
ref_mismatch, counted in the table). The genome is cached in --workdir and reused.

Timed, per dataset, in one run on the same machine (best of --repeats):
* pandas: ``pd.read_csv`` of the source file (the baseline: just reading it);
* prepare: ``regvarbench prepare-variants`` (parse, genome checks, write the three tables);
* windows: ``regvarbench make-windows`` (1000-bp windows, default chunking, write the chunks).
Also the size of the window chunks (each distinct reference stored once per chunk) next to the
full layout (every row's ref_seq written out).

Prints a table and ``RESULT prepare_windows_vs_pandas=<x>`` ((prepare + windows) / pandas, all
datasets together). Run: ``.venv/bin/python benchmarks/prepare_windows.py``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from regvarbench.cli import main as cli
from regvarbench.genome import Genome
from regvarbench.io import write_tsv
from regvarbench.score import read_windows
from regvarbench.variants import get_parser

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTAL = ROOT.parent / "shared" / "data" / "published" / "experimental"
CONTROLS = [("hepg2.matched.control.LP190708", "HepG2"), ("k562.matched.control.LP190708", "K562")]
HG19_SIZES = {
    "chr1": 249_250_621, "chr2": 243_199_373, "chr3": 198_022_430, "chr4": 191_154_276,
    "chr5": 180_915_260, "chr6": 171_115_067, "chr7": 159_138_663, "chr8": 146_364_022,
    "chr9": 141_213_431, "chr10": 135_534_747, "chr11": 135_006_516, "chr12": 133_851_895,
    "chr13": 115_169_878, "chr14": 107_349_540, "chr15": 102_531_392, "chr16": 90_354_753,
    "chr17": 81_195_210, "chr18": 78_077_248, "chr19": 59_128_983, "chr20": 63_025_520,
    "chr21": 48_129_895, "chr22": 51_304_566, "chrX": 155_270_560, "chrY": 59_373_566,
}


def datasets(experimental: Path) -> list[dict]:
    """Rows of assets/datasets.csv whose file is present, plus the SuRE matched controls."""
    rows = []
    with open(ROOT / "assets" / "datasets.csv", newline="") as fh:
        for rec in csv.DictReader(fh):
            path = experimental / Path(rec["path"]).name
            if path.is_file():
                rows.append({"dataset": rec["dataset"], "cell_line": rec["cell_line"], "format": rec["format"],
                             "path": path})
    for name, cell in CONTROLS:
        path = experimental / f"{name}.txt.gz"
        if path.is_file():
            rows.append({"dataset": name, "cell_line": cell, "format": "sure_raqtl", "path": path})
    return rows


def bare(chrom: str) -> str:
    chrom = str(chrom)
    return "chr" + (chrom[3:] if chrom.lower().startswith("chr") else chrom)


def write_genome(path: Path, specs: list[dict], seed: int) -> Path:
    """Random hg19-sized genome with every dataset's reference bases planted at its positions."""
    plant: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in HG19_SIZES}
    for spec in specs:
        parsed = get_parser(spec["format"]).parse(spec["path"], cell_line=spec["cell_line"])
        ok = (parsed["skip_reason"] == "") & parsed["ref"].isin(list("ACGT")) & (parsed["pos"] >= 1)
        for chrom, part in parsed[ok].groupby(parsed.loc[ok, "chrom"].map(bare)):
            if chrom in plant:
                plant[chrom].append((part["pos"].to_numpy(np.int64) - 1,
                                     np.frombuffer("".join(part["ref"]).encode(), dtype=np.uint8)))
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGT", dtype=np.uint8)
    fai, offset = [], 0
    with open(path, "wb") as fh:
        for name, size in HG19_SIZES.items():
            seq = lut[rng.integers(0, 4, size, dtype=np.uint8)]
            for idx, bases in plant[name]:
                inside = idx < size
                seq[idx[inside]] = bases[inside]
            header = f">{name}\n".encode()
            fh.write(header)
            offset += len(header)
            fh.write(seq.tobytes())
            fh.write(b"\n")
            fai.append(f"{name}\t{size}\t{offset}\t{size}\t{size + 1}\n")
            offset += size + 1
            del seq
    Path(str(path) + ".fai").write_text("".join(fai))
    return path


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def read_plain(path: Path) -> pd.DataFrame:
    sep = "\t" if ".txt" in path.name or path.suffix == ".tsv" else ","
    return pd.read_csv(path, sep=sep, encoding="utf-8-sig", low_memory=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experimental", type=Path, default=EXPERIMENTAL)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/regvarbench-bench-prepare-windows"))
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    specs = datasets(args.experimental)
    if not specs:
        raise SystemExit(f"no real datasets under {args.experimental}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    genome = args.workdir / "hg19_sized.fa"
    stamp = hashlib.sha256(repr([(s["dataset"], s["path"].stat().st_size) for s in specs] + [args.seed])
                           .encode()).hexdigest()
    stamp_file = args.workdir / "genome.stamp"
    if not genome.exists() or not stamp_file.exists() or stamp_file.read_text() != stamp:
        started = time.perf_counter()
        write_genome(genome, specs, args.seed)
        stamp_file.write_text(stamp)
        print(f"wrote synthetic genome {genome} ({genome.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - started:.0f} s")
    with Genome(genome):
        pass  # the .fai is already there: nothing to index inside the timings

    rows = []
    for spec in specs:
        name, out = spec["dataset"], args.workdir / "out"
        vdir, wdir = out / "variants", out / "windows" / name
        prep = ["prepare-variants", "--dataset", name, "--cell-line", spec["cell_line"], "--format", spec["format"],
                "--input", str(spec["path"]), "--genome", str(genome), "--outdir", str(vdir)]
        win = ["make-windows", "--variants", str(vdir / f"{name}.variants.tsv"), "--genome", str(genome),
               "--length", str(args.length), "--outdir", str(wdir)]
        t_pandas = timed(lambda: read_plain(spec["path"]), args.repeats)
        t_prep = timed(lambda: _check(cli(prep), prep), args.repeats)
        t_win = timed(lambda: _check(cli(win), win), args.repeats)
        summary = pd.read_csv(vdir / f"{name}.summary.tsv", sep="\t")
        chunks = sorted(wdir.glob(f"{name}.windows.*.tsv"))
        compact = sum(p.stat().st_size for p in chunks)
        full_path = args.workdir / "full_layout.tsv"
        full = sum(write_tsv(read_windows(p), full_path).stat().st_size for p in chunks)
        rows.append({"dataset": name, "rows_in": int(summary["rows_in"].iloc[0]),
                     "rows_kept": int(summary["rows_kept"].iloc[0]),
                     "ref_mismatch": int(summary.loc[summary["reason"] == "ref_mismatch", "count"].sum()),
                     "pandas_s": t_pandas, "prepare_s": t_prep, "windows_s": t_win,
                     "ratio": (t_prep + t_win) / t_pandas, "windows_MB": compact / 1e6, "full_layout_MB": full / 1e6,
                     "size_saved": 1 - compact / full if full else 0.0})
    table = pd.DataFrame(rows)
    total = table[["rows_in", "rows_kept", "ref_mismatch", "pandas_s", "prepare_s", "windows_s", "windows_MB",
                   "full_layout_MB"]].sum()
    table.loc[len(table)] = {"dataset": "ALL", **total.to_dict(),
                             "ratio": (total["prepare_s"] + total["windows_s"]) / total["pandas_s"],
                             "size_saved": 1 - total["windows_MB"] / total["full_layout_MB"]}
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"window length {args.length} bp; best of {args.repeats}; genome {genome} (hg19 sizes, planted refs)")
    print(f"RESULT prepare_windows_vs_pandas={table['ratio'].iloc[-1]:.1f}")


def _check(rc: int, argv: list[str]) -> None:
    if rc != 0:
        raise SystemExit(f"regvarbench {' '.join(argv)} failed with exit code {rc}")


if __name__ == "__main__":
    main()
