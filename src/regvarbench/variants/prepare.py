"""prepare-variants: parse variant datasets into the standard table, accounting for every row.

Each source row becomes either a variant (``<dataset>.variants.tsv``) or a skipped row with its
reason (``<dataset>.skipped.tsv``); ``<dataset>.summary.tsv`` counts both, so that
rows_in = rows_kept + rows_skipped can be shown for every dataset. With ``--genome`` the
reference allele is checked against the genome; a mismatch rate above ``--max-mismatch-rate``
means the declared build is probably wrong, and that stops the run rather than scoring garbage.

Allele-orientation audit: a row whose REF matches the genome is kept as given; one whose ALT
matches instead (REF does not) is kept with its alleles swapped and the sign of its measured
effect (and signed -log10 p) flipped, marked ``swapped = 1``; one matching neither is skipped
(``ref_mismatch``). The summary counts each (notes ``ref_matches_genome``, ``swapped_alleles``).
A swap fraction above ``--max-swap-rate`` (of the rows compared) means the source gives its
alleles in another convention (effect/other, minor/major, alt/ref order) and stops the run.

Indels and multi-base substitutions are kept and classed (``variant_class``: snv, mnv,
insertion, deletion, delins; alleles.py); a length-changing variant whose windows of
``--window-length`` bases would reach beyond its contig is skipped (``window_beyond_contig``),
as is one whose edited allele is longer than a window (``allele_longer_than_window``).

LD exports (``ensembl_ld``, ``ldlink_proxy``: one file per lead SNP) become a locus: the lead
plus its partners with r2 >= ``--ld-r2`` within ``--ld-window`` bp, alleles from the export or
from ``--ld-vcf`` (ld_exports.py); the variants carry ``locus_id, snp_id, is_lead, r2, distance``.

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

from ..alleles import (DEFAULT_WINDOW_LENGTH, LENGTH_CHANGING, VARIANT_CLASSES, classify, edit_length, is_acgt, spans_fit,
                       trim_alleles, window_spans)
from ..contracts import (SKIPPED_COLUMNS, SKIPPED_SUFFIX, VARIANT_COLUMNS, VARIANT_SUMMARY_COLUMNS,
                         VARIANT_SUMMARY_SUFFIX, VARIANTS_SUFFIX)
from ..genome import Genome
from ..io import InputError, read_table, require_columns, write_tsv
from . import FORMATS, NONFINITE_EFFECT, get_parser
from .ld_exports import LD_R2, LD_REASONS, LD_WINDOW, LOCUS_COLUMNS, RegionVCF, fill_alleles, filter_locus
from .liftover import LIFTOVER_REASONS, SOURCE_COLUMNS, ChainLifter, lift_rows, needs_liftover

log = logging.getLogger(__name__)

SAMPLESHEET_COLUMNS = ["dataset", "cell_line", "format", "path", "genome_build"]
SKIP_REASONS = ["malformed_row", "allele_not_acgt", "ref_equals_alt", "allele_longer_than_window",
                "position_out_of_range", "contig_not_in_genome", "ref_is_n", "ref_mismatch", "window_beyond_contig"]
MAX_MISMATCH_RATE = 0.05  # --max-mismatch-rate default (nextflow.config / schema mirror it; tested)
MAX_SWAP_RATE = 0.05  # --max-swap-rate default (likewise)
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
    parser.add_argument("--unavailable", metavar="WHY",
                        help="instead of --input: the single dataset's source cannot be had (e.g. 'file not found: "
                             "PATH'); writes empty variant and skip tables and a summary that reports it")
    parser.add_argument("--genome-build", default="unspecified", help="declared build of the single dataset")
    parser.add_argument("--genome", help="reference FASTA; enables contig, range and reference-allele checks")
    parser.add_argument("--target-build", default=None,
                        help="build of the run's genome (e.g. hg38); datasets declared on another build are "
                             "lifted over with --chain (default: no build comparison)")
    parser.add_argument("--chain", default=None,
                        help="UCSC chain file (plain or .gz) from the datasets' build to --target-build")
    parser.add_argument("--max-mismatch-rate", type=float, default=MAX_MISMATCH_RATE,
                        help="largest tolerated fraction of rows whose REF and ALT both differ from the genome "
                             f"(default {MAX_MISMATCH_RATE})")
    parser.add_argument("--max-swap-rate", type=float, default=MAX_SWAP_RATE,
                        help="largest tolerated fraction of rows whose ALT, not REF, matches the genome (kept with "
                             f"alleles swapped and the effect sign flipped; default {MAX_SWAP_RATE})")
    parser.add_argument("--window-length", type=int, default=DEFAULT_WINDOW_LENGTH,
                        help="window length of make-windows: a length-changing variant whose windows reach beyond "
                             f"its contig is skipped (default {DEFAULT_WINDOW_LENGTH})")
    parser.add_argument("--ld-r2", type=float, default=LD_R2,
                        help=f"LD exports: keep partners with r2 >= this with the lead (default {LD_R2}, the study's)")
    parser.add_argument("--ld-window", type=int, default=LD_WINDOW,
                        help=f"LD exports: keep partners within this many bp of the lead (default {LD_WINDOW})")
    parser.add_argument("--ld-vcf", default=None,
                        help="LD exports without alleles (Ensembl): VCF of the region giving REF and ALT of each SNP "
                             "(by ID, else by position); without it such rows are skipped as no_allele_source")
    parser.add_argument("--prefix", default=None,
                        help="stem of the output file names (default: the dataset; not with --samplesheet; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    for name in ("max_mismatch_rate", "max_swap_rate"):
        if not 0 <= getattr(args, name) <= 1:
            raise InputError(f"--{name.replace('_', '-')} must be within [0, 1], got {getattr(args, name)}")
    if args.window_length < 1:
        raise InputError(f"--window-length must be >= 1, got {args.window_length}")
    if args.unavailable:
        if args.samplesheet or args.input:
            raise InputError("--unavailable describes a single dataset whose source is missing: give it with "
                             "--dataset and without --input or --samplesheet")
        write_prepared(unavailable_dataset(args.dataset, args.cell_line or "", args.unavailable),
                       args.prefix or args.dataset, Path(args.outdir))
        log.warning("%s: source unavailable (%s); reported in its summary, nothing to score", args.dataset,
                    args.unavailable)
        return
    ld_r2, ld_window = getattr(args, "ld_r2", LD_R2), getattr(args, "ld_window", LD_WINDOW)  # checked by filter_locus
    if args.prefix and args.samplesheet:
        raise InputError("--prefix names the files of one dataset: give it with --dataset, not with --samplesheet")
    specs = read_samplesheet(args.samplesheet) if args.samplesheet else [spec_from_args(args)]
    genome = Genome(args.genome) if args.genome else None
    ld_vcf = RegionVCF(args.ld_vcf) if getattr(args, "ld_vcf", None) else None
    outdir = Path(args.outdir)
    lifter = None  # the chain is read once, and only when a dataset needs it
    try:
        for spec in specs:
            if lifter is None and args.chain and needs_liftover(spec.genome_build, args.target_build):
                lifter = ChainLifter(args.chain)
            result = prepare_dataset(spec, genome, args.max_mismatch_rate, target_build=args.target_build,
                                     lifter=lifter, max_swap_rate=args.max_swap_rate,
                                     window_length=args.window_length, ld_r2=ld_r2, ld_window=ld_window,
                                     ld_vcf=ld_vcf)
            write_prepared(result, args.prefix or spec.dataset, outdir)
    finally:
        if genome is not None:
            genome.close()


def write_prepared(result: Prepared, prefix: str, outdir: Path) -> None:
    """Write ``<prefix>.variants.tsv``, ``.skipped.tsv`` and ``.summary.tsv`` into ``outdir`` (prefix: the dataset, or --prefix).

    Parameters
    ----------
    result : Prepared
        The dataset's variants, skipped and summary tables.
    prefix : str
        File name prefix.
    outdir : pathlib.Path
        Output folder (must exist).
    """
    write_tsv(result.variants, outdir / f"{prefix}{VARIANTS_SUFFIX}")
    write_tsv(result.skipped, outdir / f"{prefix}{SKIPPED_SUFFIX}")
    write_tsv(result.summary, outdir / f"{prefix}{VARIANT_SUMMARY_SUFFIX}")


SOURCE_UNAVAILABLE = "source_unavailable"  # summary reason (kind 'unavailable') of a dataset without its file


def unavailable_dataset(dataset: str, cell_line: str, why: str) -> Prepared:
    """The tables of a dataset whose source file cannot be had: no rows, and a summary saying why.

    Parameters
    ----------
    dataset, cell_line : str
        The samplesheet row's names.
    why : str
        What is missing (e.g. ``file not found: experimental/weiss2021_lentimpra_npc.tsv``); kept in
        the summary's ``detail`` column and shown by the report's accounting.

    Returns
    -------
    Prepared
        Empty variants (``VARIANT_COLUMNS``) and skipped tables, and one summary row with reason
        ``source_unavailable``, kind ``unavailable`` and zero counts.
    """
    variants = pd.DataFrame(columns=VARIANT_COLUMNS)
    skipped = pd.DataFrame(columns=SKIPPED_COLUMNS)
    summary = pd.DataFrame([{"dataset": dataset, "rows_in": 0, "rows_kept": 0, "rows_skipped": 0,
                             "reason": SOURCE_UNAVAILABLE, "count": 0, "kind": "unavailable", "detail": why}],
                           columns=VARIANT_SUMMARY_COLUMNS)
    log.debug("%s (%s): unavailable", dataset, cell_line)
    return Prepared(variants, skipped, summary)


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    """The single dataset described by --dataset/--cell-line/--format/--input.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed prepare-variants arguments (``dataset``, ``cell_line``, ``format``, ``input``, ``genome_build``).

    Returns
    -------
    DatasetSpec
        The checked spec (``check_spec``); build ``unspecified`` when none is given.

    Raises
    ------
    InputError
        When --cell-line, --format or --input is missing.
    """
    for name in ("cell_line", "format", "input"):
        if not getattr(args, name):
            raise InputError(f"--dataset {args.dataset} needs --{name.replace('_', '-')}")
    spec = DatasetSpec(args.dataset, args.cell_line, args.format, Path(args.input), args.genome_build or "unspecified")
    return check_spec(spec, "command line")


def read_samplesheet(path: str | Path) -> list[DatasetSpec]:
    """Dataset specs from the samplesheet CSV; relative paths are taken from the CSV's folder.

    Parameters
    ----------
    path : str or pathlib.Path
        The samplesheet, with the columns of ``SAMPLESHEET_COLUMNS``.

    Returns
    -------
    list of DatasetSpec
        One checked spec per row (``check_spec``), in file order; build ``unspecified`` when empty.

    Raises
    ------
    InputError
        For a missing file, an empty required cell or repeated dataset names.
    """
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
    """InputError for a dataset name unfit for file names, an unknown format or a missing file.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset to check.
    where : str
        Where it was given (for the message), e.g. ``command line`` or a samplesheet row.

    Returns
    -------
    DatasetSpec
        ``spec`` itself.

    Raises
    ------
    InputError
        For a dataset name other than letters, digits, '.', '_' or '-', an unknown format, or a
        variant file that is missing or a directory.
    """
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


def prepare_dataset(spec: DatasetSpec, genome: Genome | None, max_mismatch_rate: float = MAX_MISMATCH_RATE,
                    target_build: str | None = None, lifter: ChainLifter | None = None,
                    max_swap_rate: float = MAX_SWAP_RATE, window_length: int = DEFAULT_WINDOW_LENGTH,
                    ld_r2: float = LD_R2, ld_window: int = LD_WINDOW, ld_vcf: RegionVCF | None = None) -> Prepared:
    """Parse, lift over (when the builds differ), check and account for one dataset.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset.
    genome : Genome or None
        Reference for contig, range and allele checks (None: no genome checks).
    max_mismatch_rate, max_swap_rate : float
        Largest tolerated fractions, of the rows compared with the genome, matching neither
        allele and matching ALT instead of REF; above either, InputError.
    target_build, lifter :
        Liftover (liftover.py).
    window_length : int
        make-windows' window length, for the contig-end check of length-changing variants.
    ld_r2, ld_window : float, int
        LD exports: the locus' r2 threshold and window around the lead (bp).
    ld_vcf : RegionVCF or None
        LD exports without alleles: the VCF of the region that gives them.

    Returns
    -------
    Prepared
        Variants, skipped rows and summary.
    """
    parser = get_parser(spec.format)
    parsed = parser.parse(spec.path, cell_line=spec.cell_line)
    lifted = needs_liftover(spec.genome_build, target_build)
    if getattr(parser, "LD_EXPORT", False):
        if lifted:
            raise InputError(f"dataset {spec.dataset!r} ({spec.path}): an LD export on genome build "
                             f"{spec.genome_build} cannot be lifted to {target_build}: its alleles come from the "
                             f"run's genome and --ld-vcf, so export it on {target_build} (Ensembl: www.ensembl.org is "
                             f"GRCh38, grch37.ensembl.org GRCh37; LDlink: choose the build)")
        parsed = fill_alleles(filter_locus(parsed, ld_r2, ld_window), genome, ld_vcf)
    if lifted:
        if lifter is None:
            raise InputError(f"dataset {spec.dataset!r} ({spec.path}) is on genome build {spec.genome_build} but the "
                             f"run's genome is {target_build}; give a chain file from {spec.genome_build} to "
                             f"{target_build} with --chain (pipeline: --chain), or declare the dataset's build")
        parsed = lift_rows(parsed, lifter)
        log.info("%s: lifted %d of %d rows from %s to %s with %s", spec.dataset, int(parsed["lifted"].sum()),
                 len(parsed), spec.genome_build, target_build, lifter.path.name)
    checked = check_rows(parsed, genome, window_length)
    n_checked = int(checked["compared"].sum())
    n_mismatch = int((checked["reason"] == "ref_mismatch").sum())
    n_swapped = int(checked["swapped"].sum())
    if n_checked and n_mismatch / n_checked > max_mismatch_rate:
        raise InputError(
            f"dataset {spec.dataset!r} ({spec.path}): {n_mismatch} of {n_checked} variants "
            f"({n_mismatch / n_checked:.1%}) match the genome {genome.path} with neither REF nor ALT (another "
            f"{n_swapped} with ALT only), above --max-mismatch-rate {max_mismatch_rate:g}; the genome build is "
            f"probably wrong (declared genome_build: {spec.genome_build}"
            + (f", lifted to {target_build} with chain {lifter.path}; is it the right chain?)" if lifted else ")"))
    if n_checked and n_swapped / n_checked > max_swap_rate:
        raise InputError(
            f"dataset {spec.dataset!r} ({spec.path}): {n_swapped} of {n_checked} variants ({n_swapped / n_checked:.1%}) "
            f"have ALT, not REF, matching the genome {genome.path}, above --max-swap-rate {max_swap_rate:g}; the "
            f"source probably gives its alleles in another convention than REF = genome base (effect/other allele, "
            f"minor/major, or the two allele columns the other way round): map its columns so that 'ref' is the "
            f"reference allele, or raise --max-swap-rate to keep the rows with alleles swapped and effects negated")
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
                            "detail": checked["detail"][~keep].to_numpy()}, columns=SKIPPED_COLUMNS)
    summary = summarise(spec, parsed, variants, skipped, int(checked["compared"][keep].sum()))
    log.info("%s: %d rows in, %d kept, %d skipped", spec.dataset, len(parsed), len(variants), len(skipped))
    return Prepared(variants, skipped, summary)


def check_rows(parsed: pd.DataFrame, genome: Genome | None,
               window_length: int = DEFAULT_WINDOW_LENGTH) -> pd.DataFrame:
    """Per row: skip reason ('' to keep), detail, genome-named chrom, whether the alleles were
    compared with the genome, whether they are swapped (ALT matched), and the variant class
    (of the alleles as kept).

    The genome is read in bulk: first every row is checked on its own (alleles, position,
    contig, range), then the genome bases under all rows left are cut at once per contig and
    span length (``Genome.fetch_strings``), then REF/ALT are compared with them.

    Parameters
    ----------
    parsed : pandas.DataFrame
        A parser's output (``PARSED_COLUMNS``), lifted over where needed.
    genome : Genome or None
        The reference genome; None checks the rows on their own only (no contig, range or allele audit).
    window_length : int
        Window length (bp) that an edit and, for length-changing variants, both windows must fit.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``parsed``, with columns ``reason``, ``detail``, ``chrom`` (str), ``compared``
        (bool), ``swapped`` (bool) and ``variant_class`` (str).
    """
    n = len(parsed)
    reason, detail = [""] * n, [""] * n
    chrom_out = parsed["chrom"].astype(str).tolist()
    compared = np.zeros(n, dtype=bool)
    swapped = np.zeros(n, dtype=bool)
    classes = [""] * n
    pending = []  # rows to compare with the genome: (i, name, size, pos, ref, alt)
    resolved: dict[str, str | None] = {}
    positions = _plain_ints(parsed["pos"])  # a skipped row's missing position reads 0 (never used)
    for i, (chrom, pos, ref, alt, skip, why) in enumerate(zip(
            parsed["chrom"].tolist(), positions, parsed["ref"].tolist(), parsed["alt"].tolist(),
            parsed["skip_reason"].tolist(), parsed["skip_detail"].tolist())):
        if skip:
            reason[i], detail[i] = skip, why
            continue
        if not is_acgt(ref) or not is_acgt(alt):
            reason[i], detail[i] = "allele_not_acgt", f"ref={ref} alt={alt}"
            continue
        if ref == alt:
            reason[i], detail[i] = "ref_equals_alt", f"ref={ref} alt={alt}"
            continue
        snv = len(ref) == 1 and len(alt) == 1  # the common case: no trimming needed
        if (not snv or window_length < 1) and edit_length(ref, alt) > window_length:
            reason[i], detail[i] = ("allele_longer_than_window",
                                    f"ref={ref[:20]}.. ({len(ref)} bp) alt {len(alt)} bp; window {window_length} bp")
            continue
        if pos < 1:
            reason[i], detail[i] = "position_out_of_range", f"pos {pos} < 1"
            continue
        classes[i] = "snv" if snv else classify(ref, alt)
        if genome is None:
            continue
        if chrom not in resolved:
            resolved[chrom] = genome.resolve(chrom)
        name = resolved[chrom]
        if name is None:
            reason[i], detail[i] = "contig_not_in_genome", f"contig {chrom} not in {genome.path.name}"
            continue
        chrom_out[i] = name
        size = genome.sizes[name]
        if pos + len(ref) - 1 > size:
            last = f"pos {pos}" if len(ref) == 1 else f"ref {pos}-{pos + len(ref) - 1}"
            reason[i], detail[i] = "position_out_of_range", f"{last} > length {size} of {name}"
            continue
        pending.append((i, name, size, pos, ref, alt))
    spans = genome.fetch_strings([p[1] for p in pending], [int(p[3]) - 1 for p in pending],
                                 [max(len(p[4]), len(p[5])) for p in pending]) if pending else []
    for (i, name, size, pos, ref, alt), span in zip(pending, spans):
        here = span[:len(ref)]
        if here == ref:
            compared[i] = True
        elif span[:len(alt)] == alt:
            compared[i] = swapped[i] = True
            ref, alt = alt, ref
            classes[i] = classify(ref, alt)
        elif set(here) - _BASES:
            reason[i], detail[i] = "ref_is_n", f"genome bases {here} at {name}:{pos}"
            continue
        else:
            compared[i] = True
            reason[i], detail[i] = "ref_mismatch", f"genome bases {here} at {name}:{pos}, ref {ref}, alt {alt}"
            continue
        if classes[i] in LENGTH_CHANGING:
            windows = window_spans(trim_alleles(pos, ref, alt), window_length)
            if not spans_fit(windows, size):
                reason[i] = "window_beyond_contig"
                detail[i] = (f"{classes[i]} at {name}:{pos}: its {window_length}-bp windows span "
                             f"{min(windows.ref_start, windows.alt_start)}-{max(windows.ref_end, windows.alt_end)} "
                             f"(0-based), {name} has {size} bp")
    return pd.DataFrame({"reason": reason, "detail": detail, "chrom": chrom_out, "compared": compared,
                         "swapped": swapped, "variant_class": classes}, index=parsed.index)


def _plain_ints(values: pd.Series) -> list[int]:
    """A position column (nullable or plain integers) as Python ints, missing values as 0."""
    array = values.array
    if isinstance(array, pd.arrays.IntegerArray):
        return array.to_numpy(dtype=np.int64, na_value=0).tolist()
    return values.tolist()


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
    """The standard variants table for the rows kept: swapped rows (``checked["swapped"]``) get
    their alleles exchanged and their effect negated.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset.
    parsed : pandas.DataFrame
        The parsed rows kept (``PARSED_COLUMNS`` plus format extras).
    checked : pandas.DataFrame
        The matching rows of ``check_rows``.

    Returns
    -------
    pandas.DataFrame
        The columns of ``VARIANT_COLUMNS``, then ``LD_COLUMNS``, ``LOCUS_COLUMNS`` and ``SOURCE_COLUMNS``
        where the dataset has them; index reset.
    """
    swap = checked["swapped"].to_numpy(dtype=bool)
    effect = np.where(swap, -parsed["effect_log2"].to_numpy(dtype=float), parsed["effect_log2"].to_numpy(dtype=float))
    slp, _ = signed_log10p(effect, parsed["pvalue"].to_numpy())
    ref, alt = parsed["ref"].to_numpy(dtype=object), parsed["alt"].to_numpy(dtype=object)
    cell = parsed["cell_line"].where(parsed["cell_line"] != "", spec.cell_line) if "cell_line" in parsed else spec.cell_line
    out = pd.DataFrame({
        "variant_id": variant_ids(spec.dataset, parsed),
        "dataset": spec.dataset,
        "cell_line": cell,
        "chrom": checked["chrom"].to_numpy(),
        "pos": parsed["pos"].astype("int64").to_numpy(),
        "ref": np.where(swap, alt, ref),
        "alt": np.where(swap, ref, alt),
        "effect_log2": effect + 0.0,  # + 0.0: -0.0 from a negated 0 prints as 0
        "pvalue": parsed["pvalue"].to_numpy(dtype=float),
        "signed_log10p": slp,
        "row": parsed["row"].astype("int64").to_numpy(),
        "variant_class": checked["variant_class"].to_numpy(),
        "swapped": swap.astype("int64"),
    }, index=parsed.index)
    extra = []
    if spec.format == "ld_blocks":
        out["block_id"] = parsed["block_id"].to_numpy()
        out["is_causal"] = parsed["is_causal"].astype("int64").to_numpy()
        extra += LD_COLUMNS
    if "locus_id" in parsed.columns:  # an LD export: the locus of each variant
        for col in LOCUS_COLUMNS:
            out[col] = parsed[col].to_numpy()
        extra += LOCUS_COLUMNS
    if "source_pos" in parsed.columns:  # lifted over: where the row was in the dataset's own build
        out["source_chrom"] = parsed["source_chrom"].to_numpy()
        out["source_pos"] = parsed["source_pos"].astype("int64").to_numpy()
        out["source_strand"] = parsed["source_strand"].to_numpy()
        extra += SOURCE_COLUMNS
    return out[VARIANT_COLUMNS + extra].reset_index(drop=True)


def variant_ids(dataset: str, parsed: pd.DataFrame) -> list[str]:
    """``<dataset>:<row>``; entries split from one multi-allelic source row (``n_alts`` > 1, VCF)
    get ``<dataset>:<row>:<allele_index>`` so that ids stay unique.

    Parameters
    ----------
    dataset : str
        Dataset name.
    parsed : pandas.DataFrame
        Parsed rows (``row``, and ``allele_index`` / ``n_alts`` for VCF).

    Returns
    -------
    list of str
        One id per row of ``parsed``.
    """
    if "allele_index" not in parsed.columns:
        return [f"{dataset}:{r}" for r in parsed["row"]]
    return [f"{dataset}:{r}:{k}" if n > 1 else f"{dataset}:{r}"
            for r, k, n in zip(parsed["row"], parsed["allele_index"], parsed["n_alts"])]


def summarise(spec: DatasetSpec, parsed: pd.DataFrame, variants: pd.DataFrame, skipped: pd.DataFrame,
              compared_kept: int = 0) -> pd.DataFrame:
    """Counts per skip reason (all reasons, zeros included) then notes on kept rows (kind = note).

    Notes: duplicated_key = kept rows whose chrom/pos/ref/alt repeats an earlier kept row (kept,
    each with its own variant_id); nonfinite_effect = kept rows whose effect could not be computed;
    pvalue_zero_floored = kept rows with p = 0 (see signed_log10p); allele audit (with a genome):
    ref_matches_genome = kept rows whose REF matched, swapped_alleles = kept rows whose ALT
    matched instead (alleles swapped, effect negated; ``ref_mismatch`` counts those matching
    neither); class_<c> = kept rows of each variant class (alleles.VARIANT_CLASSES); for ld_blocks,
    blocks_without_causal = blocks whose causal variant was skipped; for formats that split a
    source row into several entries (VCF ALTs; rows_in then counts entries), split_alleles =
    entries beyond the first of each source row.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset.
    parsed : pandas.DataFrame
        All parsed rows.
    variants : pandas.DataFrame
        The rows kept (``build_variants``).
    skipped : pandas.DataFrame
        The rows skipped (``SKIPPED_COLUMNS``); ``len(variants) + len(skipped) == len(parsed)``.
    compared_kept : int
        Kept rows whose alleles were compared with the genome.

    Returns
    -------
    pandas.DataFrame
        The columns of ``VARIANT_SUMMARY_COLUMNS``, one row per reason or note.
    """
    rows_in, rows_kept, rows_skipped = len(parsed), len(variants), len(skipped)
    assert rows_in == rows_kept + rows_skipped, (rows_in, rows_kept, rows_skipped)
    counts = skipped["reason"].value_counts()
    reasons = (SKIP_REASONS + (LIFTOVER_REASONS if "source_pos" in variants.columns else [])
               + (LD_REASONS if "locus_id" in parsed.columns else []))
    entries = [(r, int(counts.get(r, 0)), "skip") for r in reasons]
    entries += [(r, int(c), "skip") for r, c in counts.items() if r not in reasons]
    kept_flags = parsed.loc[parsed["row"].isin(variants["row"]), "flag"]
    entries.append(("duplicated_key", int(variants.duplicated(["chrom", "pos", "ref", "alt"]).sum()), "note"))
    entries.append((NONFINITE_EFFECT, int((kept_flags == NONFINITE_EFFECT).sum()), "note"))
    entries.append(("pvalue_zero_floored", int((variants["pvalue"] == 0).sum()), "note"))
    entries.append(("ref_matches_genome", int(compared_kept) - int(variants["swapped"].sum()), "note"))
    entries.append(("swapped_alleles", int(variants["swapped"].sum()), "note"))
    entries += [(f"class_{c}", int((variants["variant_class"] == c).sum()), "note") for c in VARIANT_CLASSES]
    if spec.format == "ld_blocks":
        blocks = set(parsed["block_id"]) - {""}
        with_causal = set(variants.loc[variants["is_causal"] == 1, "block_id"])
        entries.append(("blocks_without_causal", len(blocks - with_causal), "note"))
    if "allele_index" in parsed.columns:
        entries.append(("split_alleles", int((parsed["allele_index"] > 1).sum()), "note"))
    return pd.DataFrame([{"dataset": spec.dataset, "rows_in": rows_in, "rows_kept": rows_kept,
                          "rows_skipped": rows_skipped, "reason": r, "count": c, "kind": k, "detail": ""}
                         for r, c, k in entries], columns=VARIANT_SUMMARY_COLUMNS)


ACCOUNTING_COLUMNS = ["dataset", "source", "rows_in", "rows_kept", "rows_skipped", "ref_matches_genome", "swapped_alleles",
                      "ref_mismatch", "other_skips", *(f"class_{c}" for c in VARIANT_CLASSES)]


def accounting_table(summary: pd.DataFrame, source: str | Path = "summary") -> pd.DataFrame:
    """One row per dataset from summary tables (``<dataset>.summary.tsv``, or several concatenated).

    Parameters
    ----------
    summary : pandas.DataFrame
        Rows of ``summarise`` or ``unavailable_dataset`` (``VARIANT_SUMMARY_COLUMNS``).
    source : path-like
        Named in errors.

    Returns
    -------
    pandas.DataFrame
        ``ACCOUNTING_COLUMNS``: whether the source was read (or why it was unavailable), the row counts, the allele audit (REF matched, swapped, neither:
        ``ref_mismatch``), every other skip reason summed, and kept rows per variant class (0 where
        a summary predates a count), sorted by dataset.
    """
    require_columns(summary, VARIANT_SUMMARY_COLUMNS[:-1], source)  # summaries written before `detail` still read
    rows = []
    for dataset, s in summary.groupby("dataset", sort=True):
        counts = dict(zip(s["reason"], pd.to_numeric(s["count"], errors="coerce").fillna(0).astype(int)))
        skips = s.loc[s["kind"] == "skip", "reason"]
        first = s.iloc[0]
        missing = s.loc[s["reason"] == SOURCE_UNAVAILABLE, "detail" if "detail" in s.columns else "reason"]
        rows.append({"dataset": dataset, "source": f"unavailable ({missing.iloc[0]})" if len(missing) else "read",
                     "rows_in": int(first["rows_in"]), "rows_kept": int(first["rows_kept"]),
                     "rows_skipped": int(first["rows_skipped"]),
                     "ref_matches_genome": counts.get("ref_matches_genome", 0),
                     "swapped_alleles": counts.get("swapped_alleles", 0), "ref_mismatch": counts.get("ref_mismatch", 0),
                     "other_skips": sum(counts[r] for r in skips if r != "ref_mismatch"),
                     **{f"class_{c}": counts.get(f"class_{c}", 0) for c in VARIANT_CLASSES}})
    return pd.DataFrame(rows, columns=ACCOUNTING_COLUMNS)
