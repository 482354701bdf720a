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

GWAS scale (``--synthetic 100000,1000000,5000000``): a VCF of that many variants drawn on a random
genome of the hg19 sizes (60-base lines; 88 % SNVs, 1 % MNVs, 5.5 % deletions and 5.5 % insertions
of 1-20 bp, REF from the genome, sorted; written once per size and cached, not timed). Timed, each
step in its own process (wall and CPU time, peak resident memory from ``os.wait4``):
``prepare-variants --format vcf --genome`` and ``make-windows --layout loci`` (1000-bp windows,
chunks of 1000), then the bytes of the window chunks per variant, and how fast ``score.read_windows``
cuts the windows of the first chunks back out of the genome. Baseline in the same run, at the
smallest size: the code before the bulk rewrite (``--baseline-ref``, default the merge base of
HEAD and main, exported with ``git archive``) running prepare-variants and make-windows (text
chunks), and this code's ``--layout sequences``. A size is skipped when the disk has less than
``--min-free-gb`` free. Ends with ``RESULT variants_per_s=<x> window_bytes_per_variant=<y>`` at
1 M variants (or the largest size run): variants / wall seconds of prepare + windows together
(each step runs on one core).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
from io import BytesIO
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
WORKDIR = Path("/tmp/regvarbench-bench-prepare-windows")
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


def write_random_genome(path: Path, seed: int, width: int = 60) -> Path:
    """Random genome with the hg19 sizes of chr1-22, X, Y in ``width``-base lines (as UCSC's), .fai beside it."""
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGT", dtype=np.uint8)
    fai, offset = [], 0
    with open(path, "wb") as fh:
        for name, size in HG19_SIZES.items():
            header = f">{name}\n".encode()
            fh.write(header)
            offset += len(header)
            lines = -(-size // width)
            block = np.full((lines, width + 1), ord("\n"), dtype=np.uint8)
            block[:, :width] = lut[np.frombuffer(rng.bytes(lines * width), dtype=np.uint8) & 3].reshape(lines, width)
            data = block.reshape(-1)[: size + (lines - 1)]  # the last line holds the rest of the contig
            fh.write(data.tobytes())
            fh.write(b"\n")
            fai.append(f"{name}\t{size}\t{offset}\t{width}\t{width + 1}\n")
            offset += len(data) + 1
            del block, data
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


def write_gwas_vcf(path: Path, genome_path: Path, n: int, seed: int) -> Path:
    """A sorted VCF of ``n`` variants on the genome: 88 % SNVs, 1 % MNVs, 5.5 % deletions and 5.5 %
    insertions of 1-20 bp (VCF anchor base), REF from the genome, rsIDs, no samples."""
    rng = np.random.default_rng(seed)
    names, sizes = list(HG19_SIZES), np.array(list(HG19_SIZES.values()), dtype=np.int64)
    contig = np.sort(rng.choice(len(names), n, p=sizes / sizes.sum()))
    margin = 1_100  # keep every window inside its contig (no window_beyond_contig skips)
    pos = np.empty(n, dtype=np.int64)
    for c in np.unique(contig):
        at = contig == c
        pos[at] = np.sort(rng.integers(margin, sizes[c] - margin, at.sum()))
    kind = rng.choice(4, n, p=[0.88, 0.01, 0.055, 0.055])  # snv, mnv, deletion, insertion
    extra = rng.integers(1, 21, n)
    ref_len = np.select([kind == 1, kind == 2], [rng.integers(2, 4, n), extra + 1], 1)
    chroms = [names[c] for c in contig]
    with Genome(genome_path) as genome:
        refs = genome.fetch_strings(chroms, pos - 1, ref_len)
    shift = rng.integers(1, 4, n)
    acgt = "ACGT"
    alts = []
    for r, k, e, s in zip(refs, kind.tolist(), extra.tolist(), shift.tolist()):
        if k <= 1:  # substitution: every base changed
            alts.append("".join(acgt[(acgt.index(b) + s) % 4] for b in r))
        elif k == 2:
            alts.append(r[0])
        else:
            alts.append(r + "".join(acgt[(i * 7 + s) % 4] for i in range(e)))
    table = pd.DataFrame({"#CHROM": chroms, "POS": pos, "ID": [f"rs{i + 1}" for i in range(n)], "REF": refs,
                          "ALT": alts, "QUAL": ".", "FILTER": "PASS", "INFO": "."})
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh:
            fh.write(b"##fileformat=VCFv4.2\n")
            table.to_csv(fh, sep="\t", index=False)
    return path


def run_step(argv: list[str], src: Path) -> dict:
    """One ``regvarbench`` command in its own process: wall s, CPU s and peak memory (MB).

    ``peak_MB`` is the process' high-water resident size (``VmHWM``), which counts the pages of
    the memory-mapped genome it touched (page cache, shared and reclaimable); ``anon_MB`` the
    largest anonymous (heap) part sampled every 20 ms (``RssAnon``), the memory the step needs.
    """
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "regvarbench", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {"VmHWM": 0, "RssAnon": 0}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in peak:
                    peak[key] = max(peak[key], int(value.split()[0]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"regvarbench {' '.join(argv)} failed:\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_MB": peak["VmHWM"] / 1024,
            "anon_MB": peak["RssAnon"] / 1024}


def baseline_source(workdir: Path, ref: str | None) -> tuple[Path, str]:
    """The package sources at ``ref`` (default: merge base of HEAD and main), exported under workdir."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", ref] if ref else
                            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
                            check=True, capture_output=True, text=True).stdout.strip()
    target = workdir / f"baseline_{commit[:10]}"
    if not (target / "src" / "regvarbench").is_dir():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src"],
                                 check=True, capture_output=True).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target / "src", commit


def chunk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("gwas.windows.*.tsv*"))


def synthetic(args: argparse.Namespace) -> None:
    """The GWAS-scale mode (see the module docstring)."""
    sizes = [int(x) for x in args.synthetic.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    genome = args.workdir / "hg19_random.fa"
    if not (genome.exists() and Path(str(genome) + ".fai").exists()):
        started = time.perf_counter()
        write_random_genome(genome, args.seed)
        print(f"wrote random genome {genome} ({genome.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - started:.0f} s")
    src = ROOT / "src"
    rows = []

    def measure(label: str, n: int, code: Path, layout: str | None, vcf: Path) -> dict:
        out = args.workdir / f"run_{label}_{n}"
        shutil.rmtree(out, ignore_errors=True)
        prep = run_step(["prepare-variants", "--dataset", "gwas", "--cell-line", "HepG2", "--format", "vcf",
                         "--input", str(vcf), "--genome", str(genome), "--outdir", str(out / "v")], code)
        win_args = ["make-windows", "--variants", str(out / "v" / "gwas.variants.tsv"), "--genome", str(genome),
                    "--length", str(args.length), "--chunk-size", "1000", "--outdir", str(out / "w")]
        win = run_step(win_args + (["--layout", layout] if layout else []), code)
        kept = len(pd.read_csv(out / "v" / "gwas.variants.tsv", sep="\t", usecols=["variant_id"]))
        stored = chunk_bytes(out / "w")
        row = {"code": label, "variants": n, "kept": kept,
               "prepare_s": prep["wall_s"], "windows_s": win["wall_s"], "cpu_s": prep["cpu_s"] + win["cpu_s"],
               "peak_MB": max(prep["peak_MB"], win["peak_MB"]), "anon_MB": max(prep["anon_MB"], win["anon_MB"]),
               "variants_per_s": n / (prep["wall_s"] + win["wall_s"]),
               "per_cpu_s": n / (prep["cpu_s"] + win["cpu_s"]), "window_B_per_variant": stored / n}
        if layout == "loci":
            chunks = sorted((out / "w").glob("gwas.windows.*.tsv.gz"))[:args.cut_chunks]
            with Genome(genome) as g:
                started = time.perf_counter()
                cut = sum(len(read_windows(p, g)) for p in chunks)
                row["cut_per_s"] = cut / (time.perf_counter() - started)
        shutil.rmtree(out / "w")  # the chunks of the next size need the disk more than these
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False, float_format=lambda x: f"{x:.1f}"), flush=True)
        return row

    for k, n in enumerate(sizes):
        free_gb = shutil.disk_usage(args.workdir).free / 1e9
        if free_gb < args.min_free_gb:
            print(f"skipped {n} variants: {free_gb:.1f} GB free on {args.workdir} (< --min-free-gb {args.min_free_gb})")
            continue
        vcf = args.workdir / f"gwas_{n}.vcf.gz"
        if not vcf.exists():
            started = time.perf_counter()
            write_gwas_vcf(vcf, genome, n, args.seed)
            print(f"wrote {vcf} ({vcf.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
                  flush=True)
        if k == 0 and not args.no_baseline:
            base_src, commit = baseline_source(args.workdir, args.baseline_ref)
            print(f"baseline: {commit} (exported to {base_src})")
            measure("before", n, base_src, None, vcf)
            measure("sequences", n, src, "sequences", vcf)
        measure("loci", n, src, "loci", vcf)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    loci = table[table["code"] == "loci"].set_index("variants")
    if "before" in set(table["code"]):
        first = table.iloc[0]["variants"]
        before = table[(table["code"] == "before")].iloc[0]
        now = loci.loc[first]
        print(f"at {first} variants, against the code before ({before['variants_per_s']:.0f} variants/s, "
              f"{before['window_B_per_variant']:.0f} B/variant): speed x{now['variants_per_s'] / before['variants_per_s']:.1f}, "
              f"window storage /{before['window_B_per_variant'] / now['window_B_per_variant']:.0f}")
    pick = 1_000_000 if 1_000_000 in loci.index else loci.index.max()
    print(f"window length {args.length} bp; chunks of 1000; genome {genome} (hg19 sizes, random); result at {pick}")
    print(f"RESULT variants_per_s={loci.loc[pick, 'variants_per_s']:.0f} "
          f"window_bytes_per_variant={loci.loc[pick, 'window_B_per_variant']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experimental", type=Path, default=EXPERIMENTAL)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synthetic", default=None, metavar="N,N,...",
                        help="GWAS-scale mode: synthetic VCFs of these sizes (e.g. 100000,1000000,5000000)")
    parser.add_argument("--baseline-ref", default=None,
                        help="--synthetic: git ref of the code to compare with (default: merge base of HEAD and main)")
    parser.add_argument("--no-baseline", action="store_true", help="--synthetic: skip the baseline runs")
    parser.add_argument("--cut-chunks", type=int, default=50,
                        help="--synthetic: loci chunks read back with score.read_windows to time the cut")
    parser.add_argument("--min-free-gb", type=float, default=4.0, help="--synthetic: skip a size below this free disk")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if args.synthetic:
        if args.workdir == WORKDIR:
            args.workdir = Path("/tmp/regvarbench-bench-gwas")
        synthetic(args)
        return
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
