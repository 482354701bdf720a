"""make-windows: reference and alternative sequence windows centred on each variant.

Convention (alleles.py, docs/contracts.md): each allele sits at the centre of its own window of
``length`` bases, flanked by the genome: for an SNV the window holds the variant at 0-based index
``length // 2`` (for an even length, the right one of the two central bases), i.e. it spans the
genome's 0-based half-open interval [pos - 1 - length // 2, pos - 1 - length // 2 + length), and
the alternative window differs from it at that one index only. Insertions, deletions and
multi-base substitutions follow the same rule, so both windows keep ``length`` bases: a deletion's
alt window takes in more genome flank, an insertion's gives some up, half on each side. Bases
beyond a contig end are padded with N and counted in ``n_padded`` for SNVs and MNVs (both windows
padded alike); a length-changing variant whose windows do not fit its contig is skipped by
prepare-variants (``window_beyond_contig``). Windows are written in chunks of ``--chunk-size``
variants (``<dataset>.windows.00000.tsv``, ...) so scoring can fan out over them.

``--reverse-complement`` adds a ``strand`` column: each variant gets its forward row (``+``)
followed by a row (``-``) holding the reverse complements of both windows (the variant then sits
at index ``length - 1 - length // 2``); ``score`` averages the ref and alt outputs of the two
strands before computing the variant score. Both rows of a variant always share a chunk.

Each distinct reference window is stored once per chunk (saturation mutagenesis lists three
alternatives per position, all with the same reference window): ``ref_row`` is the 0-based row,
within the chunk, whose ``ref_seq`` holds the variant's reference window, and ``ref_seq`` is left
empty on rows repeating an earlier reference. ``expand_windows`` (used by ``score.read_windows``)
restores the full table.

Each row also records where its window lies: ``chrom`` (the contig name as the genome spells it,
after ``Genome.resolve``) and ``window_start`` (0-based genome coordinate of the window's first
forward-strand base; negative near a contig start, where the window is N-padded). A ``-`` row
carries the same ``chrom``/``window_start`` as its ``+`` row. ``alt_start``/``alt_end`` give the
genome span the alternative window's bases come from (``window_start``, ``window_start + length``
for SNVs and MNVs; wider for a deletion, narrower for an insertion), so that its genome flanks
continue where its own bases end. Track models read them to embed the window in genome flanks
(``score --genome``, models/tracks.py); other models ignore them, and ``score`` still reads
chunks written without them. ``variant_class`` (snv, mnv, insertion, deletion, delins) is passed
on to the score tables.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .alleles import DEFAULT_WINDOW_LENGTH, LENGTH_CHANGING, classify, spans_fit, trim_alleles, window_spans
from .contracts import (ALT_SPAN_COLUMNS, CLASS_COLUMN, REF_ROW, STRAND, WINDOW_COLUMNS, WINDOW_LOCUS_COLUMNS,
                        WINDOWS_SUMMARY_COLUMNS, windows_file_name)
from .dna import reverse_complement
from .genome import Genome
from .io import InputError, read_tsv, require_columns, write_tsv

log = logging.getLogger(__name__)

LOCUS_COLUMNS = WINDOW_LOCUS_COLUMNS  # where the window lies (genome's contig name, 0-based start)
_NEEDED = ["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt"]
_TEXT = {c: str for c in ["variant_id", "dataset", "cell_line", "chrom", "ref", "alt"]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", required=True, help="<dataset>.variants.tsv from prepare-variants")
    parser.add_argument("--genome", required=True, help="reference FASTA (same build as the variants)")
    parser.add_argument("--length", type=int, default=DEFAULT_WINDOW_LENGTH,
                        help=f"window length in bases (default {DEFAULT_WINDOW_LENGTH})")
    parser.add_argument("--chunk-size", type=int, default=1000, help="variants per output chunk (default 1000)")
    parser.add_argument("--reverse-complement", action="store_true",
                        help="add the reverse-complement windows of every variant (strand column '+'/'-'); "
                             "score averages the outputs of both strands")
    parser.add_argument("--prefix", default=None,
                        help="stem of the output file names (default: the dataset; a table of one dataset only; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    if args.length < 1:
        raise InputError(f"--length must be >= 1, got {args.length}")
    if args.chunk_size < 1:
        raise InputError(f"--chunk-size must be >= 1, got {args.chunk_size}")
    variants = read_variants(args.variants)
    outdir = Path(args.outdir)
    with Genome(args.genome) as genome:
        datasets = list(dict.fromkeys(variants["dataset"])) or [dataset_from_filename(args.variants)]
        if args.prefix and len(datasets) > 1:
            raise InputError(f"--prefix names the files of one dataset; {args.variants} holds {len(datasets)}")
        for dataset in datasets:
            prefix = args.prefix or dataset
            windows = build_windows(variants[variants["dataset"] == dataset], genome, args.length, args.variants,
                                    reverse_complement=args.reverse_complement)
            n_chunks = write_chunks(windows, prefix, outdir, args.chunk_size)
            forward = windows[windows[STRAND] == "+"] if STRAND in windows.columns else windows
            summary = pd.DataFrame([{"dataset": dataset, "n_variants": len(forward), "n_chunks": n_chunks,
                                     "n_padded_windows": int((forward["n_padded"] > 0).sum()),
                                     "length": args.length}], columns=WINDOWS_SUMMARY_COLUMNS)
            write_tsv(summary, outdir / f"{prefix}.windows_summary.tsv")
            log.info("%s: %d windows of %d bp in %d chunk(s)", dataset, len(forward), args.length, n_chunks)


def read_variants(path: str | Path) -> pd.DataFrame:
    """The variants table, with the columns windows need and integer positions."""
    if not Path(path).is_file():
        raise InputError(f"variants table not found: {path}")
    variants = read_tsv(path, dtype=_TEXT)
    require_columns(variants, _NEEDED, path)
    if variants[_NEEDED].isna().any().any():
        bad = variants[variants[_NEEDED].isna().any(axis=1)].index[0]
        raise InputError(f"{path}: empty value in data row {bad} (columns {', '.join(_NEEDED)} must be filled)")
    try:
        pos = variants["pos"].astype("int64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: column 'pos' must hold integers ({exc})") from exc
    return variants.assign(pos=pos)


def dataset_from_filename(path: str | Path) -> str:
    """Dataset name of an empty table, from its ``<dataset>.variants.tsv`` file name."""
    return re.sub(r"\.variants\.tsv(\.gz)?$", "", Path(path).name)


def build_windows(variants: pd.DataFrame, genome: Genome, length: int, source: str | Path = "variants",
                  reverse_complement: bool = False) -> pd.DataFrame:
    """One reference and one alternative window per variant, in input order, with its locus.

    Parameters
    ----------
    variants : pandas.DataFrame
        Columns variant_id, dataset, cell_line, chrom, pos (1-based), ref, alt.
    genome : Genome
        The genome the variants were prepared with.
    length : int
        Window length (bases); both windows of every variant have it.
    reverse_complement : bool
        Follow each variant's row (strand ``+``) by its reverse-complement row (strand ``-``).

    Returns
    -------
    pandas.DataFrame
        ``WINDOW_COLUMNS + LOCUS_COLUMNS + ALT_SPAN_COLUMNS + [variant_class]`` (+ ``strand``).

    Raises InputError when a variant's contig is missing, its REF differs from the genome, an
    allele is longer than the window, or a length-changing variant's windows do not fit its
    contig: prepare-variants skips such rows, so meeting one here means table and genome (or
    window length) do not belong together.
    """
    rows = []
    for vid, dataset, cell, chrom, pos, ref, alt in tqdm(
            zip(*(variants[c] for c in _NEEDED)), total=len(variants), desc="windows", disable=None, leave=False):
        name = genome.resolve(chrom)
        if name is None:
            raise InputError(f"{source}: variant {vid}: contig {chrom!r} not in genome {genome.path}")
        size = genome.sizes[name]
        ref, alt = str(ref).upper(), str(alt).upper()
        if not 1 <= pos <= size - len(ref) + 1:
            raise InputError(f"{source}: variant {vid}: position {pos} (ref {ref}) outside {name} (length {size})")
        kind = classify(ref, alt)
        edit = trim_alleles(pos, ref, alt)
        if not kind or max(len(edit.ref), len(edit.alt)) > length:
            raise InputError(f"{source}: variant {vid}: ref {ref} alt {alt} cannot be windowed in {length} bp; "
                             f"run prepare-variants with --window-length {length}")
        spans = window_spans(edit, length)
        if kind in LENGTH_CHANGING and not spans_fit(spans, size):
            raise InputError(f"{source}: variant {vid}: the {length}-bp windows of this {kind} reach beyond {name} "
                             f"(length {size}); run prepare-variants with this genome and --window-length {length}")
        genome_ref = genome.fetch(name, pos - 1, pos - 1 + len(ref))
        if genome_ref != ref:
            raise InputError(f"{source}: variant {vid}: genome {genome.path.name} has {genome_ref} at {name}:{pos}, "
                             f"table says ref {ref} alt {alt}; run prepare-variants with this genome")
        seq = genome.fetch(name, spans.ref_start, spans.ref_end)
        end = edit.start + len(edit.ref)
        alt_seq = genome.fetch(name, spans.alt_start, edit.start) + edit.alt + genome.fetch(name, end, spans.alt_end)
        n_padded = max(0, -spans.ref_start) + max(0, spans.ref_end - size)
        row = (vid, dataset, cell, seq, alt_seq, n_padded, name, spans.ref_start, spans.alt_start, spans.alt_end, kind)
        if reverse_complement:
            rows.append(row + ("+",))
            rows.append((vid, dataset, cell, _rc(seq), _rc(alt_seq), *row[5:], "-"))
        else:
            rows.append(row)
    columns = WINDOW_COLUMNS + LOCUS_COLUMNS + ALT_SPAN_COLUMNS + [CLASS_COLUMN] + ([STRAND] if reverse_complement else [])
    return pd.DataFrame(rows, columns=columns).astype({"n_padded": "int64", "window_start": "int64",
                                                       "alt_start": "int64", "alt_end": "int64"})


_rc = reverse_complement


def write_chunks(windows: pd.DataFrame, dataset: str, outdir: Path, chunk_size: int) -> int:
    """Write ``<dataset>.windows.<k>.tsv`` chunks (k = 00000, ...); returns how many.

    ``chunk_size`` counts variants: with a ``strand`` column both rows of a variant go to the same
    chunk. Each chunk stores each distinct reference window once (``compact_windows``). Chunks left
    by an earlier run of the same dataset are removed first, so the folder always matches this run.
    An empty dataset still gets one header-only chunk, so downstream steps see it.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    stale = re.compile(re.escape(dataset) + r"\.windows\.\d{5,}\.tsv$")
    for old in outdir.iterdir():
        if stale.fullmatch(old.name):
            old.unlink()
    rows = chunk_size * (2 if STRAND in windows.columns else 1)
    starts = range(0, len(windows), rows) if len(windows) else [0]
    for k, s in enumerate(starts):
        write_tsv(compact_windows(windows.iloc[s:s + rows]), outdir / windows_file_name(dataset, f"{k:05d}"))
    return len(starts)


def compact_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """The chunk layout: ``ref_seq`` kept only on the first row of each distinct reference window,
    ``ref_row`` (after ``n_padded``) pointing every row at that first row."""
    codes, _ = pd.factorize(windows["ref_seq"], sort=False)
    _, first_of_code = np.unique(codes, return_index=True)  # codes number references by first appearance
    first = first_of_code[codes] if len(codes) else codes
    out = windows.reset_index(drop=True).copy()
    out.loc[first != np.arange(len(out)), "ref_seq"] = ""
    out.insert(out.columns.get_loc("n_padded") + 1, REF_ROW, first.astype("int64"))
    return out


def expand_windows(windows: pd.DataFrame, source: str | Path = "windows") -> pd.DataFrame:
    """A chunk read back (``compact_windows`` layout) with every ``ref_seq`` filled in again;
    tables without ``ref_row`` (the full layout) are returned as they are."""
    if REF_ROW not in windows.columns:
        return windows
    ref_row = pd.to_numeric(windows[REF_ROW], errors="coerce")
    n = len(windows)
    if ref_row.isna().any() or not ((ref_row >= 0) & (ref_row < n)).all():
        raise InputError(f"{source}: {REF_ROW!r} must hold row numbers 0..{n - 1} of the same file")
    ref_row = ref_row.astype("int64").to_numpy()
    refs = windows["ref_seq"].to_numpy(dtype=object)[ref_row]
    if pd.isna(refs).any() or (refs == "").any():
        raise InputError(f"{source}: {REF_ROW!r} points at a row without 'ref_seq'")
    return windows.drop(columns=REF_ROW).assign(ref_seq=refs)
