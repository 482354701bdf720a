"""prepare-variants: parse variant datasets into the standard table, accounting for every row.

Each source row becomes either a variant (``<dataset>.variants.tsv``) or a skipped row with its
reason (``<dataset>.skipped.tsv``); ``<dataset>.summary.tsv`` counts both, so that
rows_in = rows_kept + rows_skipped can be shown for every dataset. With ``--genome`` the
reference allele is checked against the genome; a mismatch rate above ``--max-mismatch-rate``
means the declared build is probably wrong, and that stops the run rather than scoring garbage.
A dataset declared on another build than the run's (``--target-build``) is lifted over with
``--chain`` first (liftover.py); without a chain file that is an error, never a silent mismatch.
"""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..genome import Genome
from ..io import InputError, read_table, require_columns, write_tsv
from . import FORMATS, NONFINITE_EFFECT, get_parser
from .liftover import LIFTOVER_REASONS, SOURCE_COLUMNS, ChainLifter, lift_rows, needs_liftover

log = logging.getLogger(__name__)

SAMPLESHEET_COLUMNS = ["dataset", "cell_line", "format", "path", "genome_build"]
SKIP_REASONS = ["malformed_row", "not_snv", "position_out_of_range", "contig_not_in_genome", "ref_is_n", "ref_mismatch"]
VARIANT_COLUMNS = ["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt", "effect_log2", "pvalue",
                   "signed_log10p", "row"]
LD_COLUMNS = ["block_id", "is_causal"]
_BASES = set("ACGT")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class DatasetSpec:
    """One row of the datasets samplesheet (path already resolved)."""

    dataset: str
    cell_line: str
    format: str
    path: Path
    genome_build: str = "unspecified"


@dataclass
class Prepared:
    """The three output tables of one dataset."""

    variants: pd.DataFrame
    skipped: pd.DataFrame
    summary: pd.DataFrame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--samplesheet", help="CSV with columns " + ",".join(SAMPLESHEET_COLUMNS)
                     + " (paths relative to the CSV's folder)")
    src.add_argument("--dataset", help="name of a single dataset (then --cell-line, --format, --input)")
    parser.add_argument("--cell-line", help="cell line of the single dataset")
    parser.add_argument("--format", choices=sorted(FORMATS), help="source format of the single dataset")
    parser.add_argument("--input", help="source file of the single dataset")
    parser.add_argument("--genome-build", default="unspecified", help="declared build of the single dataset")
    parser.add_argument("--genome", help="reference FASTA; enables contig, range and reference-allele checks")
    parser.add_argument("--target-build", default=None,
                        help="build of the run's genome (e.g. hg38); datasets declared on another build are "
                             "lifted over with --chain (default: no build comparison)")
    parser.add_argument("--chain", default=None,
                        help="UCSC chain file (plain or .gz) from the datasets' build to --target-build")
    parser.add_argument("--max-mismatch-rate", type=float, default=0.05,
                        help="largest tolerated fraction of reference-allele mismatches (default 0.05)")
    parser.add_argument("--outdir", required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    if not 0 <= args.max_mismatch_rate <= 1:
        raise InputError(f"--max-mismatch-rate must be within [0, 1], got {args.max_mismatch_rate}")
    specs = read_samplesheet(args.samplesheet) if args.samplesheet else [spec_from_args(args)]
    genome = Genome(args.genome) if args.genome else None
    outdir = Path(args.outdir)
    lifter = None  # the chain is read once, and only when a dataset needs it
    try:
        for spec in specs:
            if lifter is None and args.chain and needs_liftover(spec.genome_build, args.target_build):
                lifter = ChainLifter(args.chain)
            result = prepare_dataset(spec, genome, args.max_mismatch_rate, target_build=args.target_build,
                                     lifter=lifter)
            write_tsv(result.variants, outdir / f"{spec.dataset}.variants.tsv")
            write_tsv(result.skipped, outdir / f"{spec.dataset}.skipped.tsv")
            write_tsv(result.summary, outdir / f"{spec.dataset}.summary.tsv")
    finally:
        if genome is not None:
            genome.close()


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    """The single dataset described by --dataset/--cell-line/--format/--input."""
    for name in ("cell_line", "format", "input"):
        if not getattr(args, name):
            raise InputError(f"--dataset {args.dataset} needs --{name.replace('_', '-')}")
    spec = DatasetSpec(args.dataset, args.cell_line, args.format, Path(args.input), args.genome_build or "unspecified")
    return check_spec(spec, "command line")


def read_samplesheet(path: str | Path) -> list[DatasetSpec]:
    """Dataset specs from the samplesheet CSV; relative paths are taken from the CSV's folder."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"samplesheet not found: {path}")
    sheet = read_table(path, sep=",", dtype=str, keep_default_na=False).fillna("")  # short rows: empty cells
    sheet.columns = [c.strip() for c in sheet.columns]
    require_columns(sheet, SAMPLESHEET_COLUMNS, path)
    specs = []
    for i, rec in enumerate(sheet.to_dict("records")):
        rec = {k: str(v).strip() for k, v in rec.items()}
        where = f"{path} row {i + 1}"
        for col in ("dataset", "cell_line", "format", "path"):
            if not rec[col]:
                raise InputError(f"{where}: empty {col!r}")
        file = Path(rec["path"]) if Path(rec["path"]).is_absolute() else path.parent / rec["path"]
        specs.append(check_spec(DatasetSpec(rec["dataset"], rec["cell_line"], rec["format"], file,
                                            rec["genome_build"] or "unspecified"), where))
    names = [s.dataset for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"{path}: dataset names must be unique; repeated: {', '.join(dup)}")
    return specs


def check_spec(spec: DatasetSpec, where: str) -> DatasetSpec:
    """InputError for a dataset name unfit for file names, an unknown format or a missing file."""
    if not _DATASET_NAME.match(spec.dataset):
        raise InputError(f"{where}: dataset name {spec.dataset!r} must be letters, digits, '.', '_' or '-'")
    try:
        get_parser(spec.format)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    try:
        if spec.path.is_dir():
            raise InputError(f"{where}: variant file {spec.path} is a directory, not a file")
        if not spec.path.is_file():
            raise InputError(f"{where}: variant file not found: {spec.path}")
    except OSError as exc:  # e.g. a name too long for the file system
        raise InputError(f"{where}: variant file {spec.path}: {exc.strerror or exc}") from None
    return spec


def prepare_dataset(spec: DatasetSpec, genome: Genome | None, max_mismatch_rate: float = 0.05,
                    target_build: str | None = None, lifter: ChainLifter | None = None) -> Prepared:
    """Parse, lift over (when the builds differ), check and account for one dataset."""
    parsed = get_parser(spec.format).parse(spec.path, cell_line=spec.cell_line)
    lifted = needs_liftover(spec.genome_build, target_build)
    if lifted:
        if lifter is None:
            raise InputError(f"dataset {spec.dataset!r} ({spec.path}) is on genome build {spec.genome_build} but the "
                             f"run's genome is {target_build}; give a chain file from {spec.genome_build} to "
                             f"{target_build} with --chain (pipeline: --chain), or declare the dataset's build")
        parsed = lift_rows(parsed, lifter)
        log.info("%s: lifted %d of %d rows from %s to %s with %s", spec.dataset, int(parsed["lifted"].sum()),
                 len(parsed), spec.genome_build, target_build, lifter.path.name)
    checked = check_rows(parsed, genome)
    n_checked = int(checked["compared"].sum())
    n_mismatch = int((checked["reason"] == "ref_mismatch").sum())
    if n_checked and n_mismatch / n_checked > max_mismatch_rate:
        n_swapped = int(checked["detail"].str.contains("swapped").sum())
        raise InputError(
            f"dataset {spec.dataset!r} ({spec.path}): {n_mismatch} of {n_checked} SNVs "
            f"({n_mismatch / n_checked:.1%}, {n_swapped} with ref/alt swapped) do not match the reference "
            f"base of genome {genome.path}, above --max-mismatch-rate {max_mismatch_rate:g}; the genome build is "
            f"probably wrong (declared genome_build: {spec.genome_build}"
            + (f", lifted to {target_build} with chain {lifter.path}; is it the right chain?)" if lifted else ")"))
    n_contig = int((checked["reason"] == "contig_not_in_genome").sum())
    if genome is not None and n_contig > len(parsed) / 2:
        log.warning("%s: %d of %d rows are on contigs absent from %s; is this the right genome?",
                    spec.dataset, n_contig, len(parsed), genome.path)
    if lifted:  # the base changed between builds at the lifted position
        changed = (checked["reason"] == "ref_mismatch") & parsed["lifted"]
        checked.loc[changed, "reason"] = "liftover_ref_changed"
    keep = (checked["reason"] == "").to_numpy()
    variants = build_variants(spec, parsed[keep], checked[keep])
    skipped = pd.DataFrame({"dataset": spec.dataset, "row": parsed["row"][~keep].to_numpy(),
                            "reason": checked["reason"][~keep].to_numpy(),
                            "detail": checked["detail"][~keep].to_numpy()})
    summary = summarise(spec, parsed, variants, skipped)
    log.info("%s: %d rows in, %d kept, %d skipped", spec.dataset, len(parsed), len(variants), len(skipped))
    return Prepared(variants, skipped, summary)


def check_rows(parsed: pd.DataFrame, genome: Genome | None) -> pd.DataFrame:
    """Per row: skip reason ('' to keep), detail, genome-named chrom, and whether ref was compared."""
    n = len(parsed)
    reason, detail = [""] * n, [""] * n
    chrom_out = parsed["chrom"].astype(str).tolist()
    compared = np.zeros(n, dtype=bool)
    for i, (chrom, pos, ref, alt, skip, why) in enumerate(zip(
            parsed["chrom"], parsed["pos"], parsed["ref"], parsed["alt"], parsed["skip_reason"], parsed["skip_detail"])):
        if skip:
            reason[i], detail[i] = skip, why
            continue
        if len(ref) != 1 or len(alt) != 1 or ref not in _BASES or alt not in _BASES or ref == alt:
            reason[i], detail[i] = "not_snv", f"ref={ref} alt={alt}"
            continue
        if pos < 1:
            reason[i], detail[i] = "position_out_of_range", f"pos {pos} < 1"
            continue
        if genome is None:
            continue
        name = genome.resolve(chrom)
        if name is None:
            reason[i], detail[i] = "contig_not_in_genome", f"contig {chrom} not in {genome.path.name}"
            continue
        chrom_out[i] = name
        if pos > genome.sizes[name]:
            reason[i], detail[i] = "position_out_of_range", f"pos {pos} > length {genome.sizes[name]} of {name}"
            continue
        base = genome.base(name, int(pos))
        if base not in _BASES:
            reason[i], detail[i] = "ref_is_n", f"genome base {base} at {name}:{pos}"
            continue
        compared[i] = True
        if base != ref:
            swapped = " (swapped: alt equals genome base)" if alt == base else ""
            reason[i], detail[i] = "ref_mismatch", f"genome base {base} at {name}:{pos}, ref {ref}, alt {alt}{swapped}"
    return pd.DataFrame({"reason": reason, "detail": detail, "chrom": chrom_out, "compared": compared},
                        index=parsed.index)


def signed_log10p(effect: np.ndarray, pvalue: np.ndarray) -> tuple[np.ndarray, int]:
    """sign(effect) * -log10(p); NaN where either is missing.

    p = 0 (a p-value below the source's printed precision, e.g. SORT1's five decimals) is floored
    at the smallest positive p of the dataset (or the smallest positive double when none), so
    the value stays finite and at least as significant as anything reported. Returns the values
    and how many zeros were floored.
    """
    effect = np.asarray(effect, dtype=float)
    pvalue = np.asarray(pvalue, dtype=float)
    positive = pvalue[np.isfinite(pvalue) & (pvalue > 0)]
    floor = positive.min() if positive.size else np.finfo(float).tiny
    zero = pvalue == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sign(effect) * -np.log10(np.where(zero, floor, pvalue))
    out[~(np.isfinite(effect) & np.isfinite(pvalue))] = np.nan
    return out + 0.0, int(zero.sum())  # + 0.0 turns -0.0 into 0.0 for stable output


def build_variants(spec: DatasetSpec, parsed: pd.DataFrame, checked: pd.DataFrame) -> pd.DataFrame:
    """The standard variants table for the rows kept."""
    slp, _ = signed_log10p(parsed["effect_log2"].to_numpy(), parsed["pvalue"].to_numpy())
    cell = parsed["cell_line"].where(parsed["cell_line"] != "", spec.cell_line) if "cell_line" in parsed else spec.cell_line
    out = pd.DataFrame({
        "variant_id": variant_ids(spec.dataset, parsed),
        "dataset": spec.dataset,
        "cell_line": cell,
        "chrom": checked["chrom"].to_numpy(),
        "pos": parsed["pos"].astype("int64").to_numpy(),
        "ref": parsed["ref"].to_numpy(),
        "alt": parsed["alt"].to_numpy(),
        "effect_log2": parsed["effect_log2"].to_numpy(dtype=float),
        "pvalue": parsed["pvalue"].to_numpy(dtype=float),
        "signed_log10p": slp,
        "row": parsed["row"].astype("int64").to_numpy(),
    }, index=parsed.index)
    extra = []
    if spec.format == "ld_blocks":
        out["block_id"] = parsed["block_id"].to_numpy()
        out["is_causal"] = parsed["is_causal"].astype("int64").to_numpy()
        extra += LD_COLUMNS
    if "source_pos" in parsed.columns:  # lifted over: where the row was in the dataset's own build
        out["source_chrom"] = parsed["source_chrom"].to_numpy()
        out["source_pos"] = parsed["source_pos"].astype("int64").to_numpy()
        out["source_strand"] = parsed["source_strand"].to_numpy()
        extra += SOURCE_COLUMNS
    return out[VARIANT_COLUMNS + extra].reset_index(drop=True)


def variant_ids(dataset: str, parsed: pd.DataFrame) -> list[str]:
    """``<dataset>:<row>``; entries split from one multi-allelic source row (``n_alts`` > 1, VCF)
    get ``<dataset>:<row>:<allele_index>`` so that ids stay unique."""
    if "allele_index" not in parsed.columns:
        return [f"{dataset}:{r}" for r in parsed["row"]]
    return [f"{dataset}:{r}:{k}" if n > 1 else f"{dataset}:{r}"
            for r, k, n in zip(parsed["row"], parsed["allele_index"], parsed["n_alts"])]


def summarise(spec: DatasetSpec, parsed: pd.DataFrame, variants: pd.DataFrame, skipped: pd.DataFrame) -> pd.DataFrame:
    """Counts per skip reason (all reasons, zeros included) then notes on kept rows (kind = note).

    Notes: duplicated_key = kept rows whose chrom/pos/ref/alt repeats an earlier kept row (kept,
    each with its own variant_id); nonfinite_effect = kept rows whose effect could not be computed;
    pvalue_zero_floored = kept rows with p = 0 (see signed_log10p); for ld_blocks,
    blocks_without_causal = blocks whose causal variant was skipped; for formats that split a
    source row into several entries (VCF ALTs; rows_in then counts entries), split_alleles =
    entries beyond the first of each source row.
    """
    rows_in, rows_kept, rows_skipped = len(parsed), len(variants), len(skipped)
    assert rows_in == rows_kept + rows_skipped, (rows_in, rows_kept, rows_skipped)
    counts = skipped["reason"].value_counts()
    reasons = SKIP_REASONS + (LIFTOVER_REASONS if "source_pos" in variants.columns else [])
    entries = [(r, int(counts.get(r, 0)), "skip") for r in reasons]
    entries += [(r, int(c), "skip") for r, c in counts.items() if r not in reasons]
    kept_flags = parsed.loc[parsed["row"].isin(variants["row"]), "flag"]
    entries.append(("duplicated_key", int(variants.duplicated(["chrom", "pos", "ref", "alt"]).sum()), "note"))
    entries.append((NONFINITE_EFFECT, int((kept_flags == NONFINITE_EFFECT).sum()), "note"))
    entries.append(("pvalue_zero_floored", int((variants["pvalue"] == 0).sum()), "note"))
    if spec.format == "ld_blocks":
        blocks = set(parsed["block_id"]) - {""}
        with_causal = set(variants.loc[variants["is_causal"] == 1, "block_id"])
        entries.append(("blocks_without_causal", len(blocks - with_causal), "note"))
    if "allele_index" in parsed.columns:
        entries.append(("split_alleles", int((parsed["allele_index"] > 1).sum()), "note"))
    return pd.DataFrame([{"dataset": spec.dataset, "rows_in": rows_in, "rows_kept": rows_kept,
                          "rows_skipped": rows_skipped, "reason": r, "count": c, "kind": k} for r, c, k in entries])
