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

Two chunk layouts (``--layout``): ``sequences`` (the default of the command) writes the window
text described above; ``loci`` (the pipeline's) writes coordinates only, gzip-compressed
``<dataset>.windows.<k>.tsv.gz`` with ``contracts.WINDOW_LOCI_COLUMNS`` (about 10 bytes per
variant instead of ~2 kB), from which ``score --genome`` cuts the windows (``windows_from_loci``).
Both go through ``window_loci`` (where the windows lie, every REF checked against the genome in
one bulk cut, SNVs placed with array arithmetic) and ``cut_windows`` (the sequences, cut in bulk
with ``Genome.fetch_array``), so a loci chunk read back is the text chunk's table exactly.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .alleles import DEFAULT_WINDOW_LENGTH, LENGTH_CHANGING, classify, spans_fit, trim_alleles, window_spans
from .contracts import (CLASS_COLUMN, REF_ROW, STRAND, WINDOW_LOCI_COLUMNS, WINDOW_LOCI_RC, WINDOWS_SUMMARY_COLUMNS,
                        WINDOWS_SUMMARY_SUFFIX, windows_chunk_pattern, windows_file_name)
from .dna import reverse_complement
from .genome import Genome
from .io import InputError, read_tsv, require_columns, write_tsv, write_tsv_chunks

log = logging.getLogger(__name__)

LAYOUTS = ("sequences", "loci")  # make-windows --layout: window text, or coordinates only (docs/contracts.md)
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
    parser.add_argument("--layout", choices=LAYOUTS, default="sequences",
                        help="sequences (default): chunks <dataset>.windows.<k>.tsv holding both window sequences "
                             "(~2 kB per 1-kb variant); loci: coordinate-only chunks <dataset>.windows.<k>.tsv.gz "
                             "(variant, contig, position, alleles, length; ~15 B per variant) from which score "
                             "cuts the windows out of its --genome (the pipeline's choice)")
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
            loci = window_loci(variants[variants["dataset"] == dataset], genome, args.length, args.variants)
            if getattr(args, "layout", "sequences") == "loci":
                n_chunks = write_loci_chunks(loci, prefix, outdir, args.chunk_size, args.reverse_complement)
            else:
                windows = cut_windows(loci, genome, reverse_complement=args.reverse_complement)
                n_chunks = write_chunks(windows, prefix, outdir, args.chunk_size)
            forward = loci
            summary = pd.DataFrame([{"dataset": dataset, "n_variants": len(forward), "n_chunks": n_chunks,
                                     "n_padded_windows": int((forward["n_padded"] > 0).sum()),
                                     "length": args.length}], columns=WINDOWS_SUMMARY_COLUMNS)
            write_tsv(summary, outdir / f"{prefix}{WINDOWS_SUMMARY_SUFFIX}")
            log.info("%s: %d windows of %d bp in %d chunk(s)", dataset, len(forward), args.length, n_chunks)


def read_variants(path: str | Path) -> pd.DataFrame:
    """The variants table, with the columns windows need and integer positions.

    Parameters
    ----------
    path : str or pathlib.Path
        A prepared variants table (``<dataset>.variants.tsv``).

    Returns
    -------
    pandas.DataFrame
        The table as read (text columns as str), with at least ``variant_id``, ``dataset``, ``cell_line``,
        ``chrom``, ``pos`` (int64), ``ref`` and ``alt``.

    Raises
    ------
    InputError
        For a missing file, a missing or empty needed column, or a non-integer ``pos``.
    """
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
    """Dataset name of an empty table, from its ``<dataset>.variants.tsv`` file name.

    Parameters
    ----------
    path : str or pathlib.Path
        The variants table, e.g. ``sure_HepG2.variants.tsv`` (or ``.tsv.gz``).

    Returns
    -------
    str
        The file name without ``.variants.tsv`` / ``.variants.tsv.gz``.
    """
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
        ``WINDOW_COLUMNS + WINDOW_LOCUS_COLUMNS + ALT_SPAN_COLUMNS + [variant_class]`` (+ ``strand``).

    Raises InputError when a variant's contig is missing, its REF differs from the genome, an
    allele is longer than the window, or a length-changing variant's windows do not fit its
    contig: prepare-variants skips such rows, so meeting one here means table and genome (or
    window length) do not belong together.
    """
    return cut_windows(window_loci(variants, genome, length, source), genome, reverse_complement)


def window_loci(variants: pd.DataFrame, genome: Genome, length: int,
                source: str | Path = "variants") -> pd.DataFrame:
    """Where each variant's two windows lie and what its edit is, checked against the genome.

    SNVs are placed with array arithmetic, other classes one by one (``alleles.trim_alleles``,
    ``window_spans``); every REF is compared with the genome in one bulk cut.

    Parameters
    ----------
    variants : pandas.DataFrame
        Columns variant_id, dataset, cell_line, chrom, pos (1-based int), ref, alt; n rows.
    genome : Genome
        The genome the variants were prepared with.
    length : int
        Window length (bases).
    source : path-like
        Named in errors.

    Returns
    -------
    pandas.DataFrame, n rows in input order
        variant_id, dataset, cell_line, chrom (the genome's name), pos, ref, alt (upper case),
        variant_class, length, window_start, alt_start, alt_end (0-based), edit_start, edit_ref
        (bases of REF replaced), edit_alt (the bases put in), n_padded.

    Raises InputError as ``build_windows``.
    """
    n = len(variants)
    codes, given = pd.factorize(variants["chrom"].astype(str).to_numpy(dtype=object))
    names = np.array([genome.resolve(c) for c in given] + [None], dtype=object)
    chrom = names[codes] if n else np.zeros(0, dtype=object)
    if n and pd.isna(chrom).any():
        i = int(np.flatnonzero(pd.isna(chrom))[0])
        raise InputError(f"{source}: variant {variants['variant_id'].iloc[i]}: contig "
                         f"{str(variants['chrom'].iloc[i])!r} not in genome {genome.path}")
    size = np.array([genome.sizes[c] for c in chrom], dtype=np.int64) if n else np.zeros(0, np.int64)
    pos = variants["pos"].to_numpy(dtype=np.int64)
    ref = variants["ref"].astype(str).str.upper().to_numpy(dtype=object)
    alt = variants["alt"].astype(str).str.upper().to_numpy(dtype=object)
    ref_len = np.fromiter((len(r) for r in ref), dtype=np.int64, count=n)
    alt_len = np.fromiter((len(a) for a in alt), dtype=np.int64, count=n)
    outside = ~((pos >= 1) & (pos <= size - ref_len + 1))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(f"{source}: variant {variants['variant_id'].iloc[i]}: position {pos[i]} (ref {ref[i]}) "
                         f"outside {chrom[i]} (length {size[i]})")
    half = length // 2
    snv = (ref_len == 1) & (alt_len == 1) & (ref != alt)
    kind = np.where(snv, "snv", "").astype(object)
    edit_start, window_start = pos - 1, pos - 1 - half
    edit_ref, edit_alt = np.ones(n, dtype=np.int64), alt.copy()
    alt_start, alt_end = window_start.copy(), window_start + length
    ids = variants["variant_id"].to_numpy(dtype=object)
    for i in np.flatnonzero(~snv).tolist():  # MNVs and length-changing variants: the general rule
        vid = ids[i]
        kind[i] = classify(ref[i], alt[i])
        edit = trim_alleles(int(pos[i]), ref[i], alt[i])
        if not kind[i] or max(len(edit.ref), len(edit.alt)) > length:
            raise InputError(f"{source}: variant {vid}: ref {ref[i]} alt {alt[i]} cannot be windowed in {length} bp; "
                             f"run prepare-variants with --window-length {length}")
        spans = window_spans(edit, length)
        if kind[i] in LENGTH_CHANGING and not spans_fit(spans, int(size[i])):
            raise InputError(f"{source}: variant {vid}: the {length}-bp windows of this {kind[i]} reach beyond "
                             f"{chrom[i]} (length {size[i]}); run prepare-variants with this genome and "
                             f"--window-length {length}")
        edit_start[i], edit_ref[i], edit_alt[i] = edit.start, len(edit.ref), edit.alt
        window_start[i], alt_start[i], alt_end[i] = spans.ref_start, spans.alt_start, spans.alt_end
    if n:
        genome_ref = np.array(genome.fetch_strings(chrom, pos - 1, ref_len), dtype=object)
        wrong = genome_ref != ref
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise InputError(f"{source}: variant {variants['variant_id'].iloc[i]}: genome {genome.path.name} has "
                             f"{genome_ref[i]} at {chrom[i]}:{pos[i]}, table says ref {ref[i]} alt {alt[i]}; "
                             f"run prepare-variants with this genome")
    n_padded = np.maximum(0, -window_start) + np.maximum(0, window_start + length - size)
    return pd.DataFrame({"variant_id": variants["variant_id"].to_numpy(), "dataset": variants["dataset"].to_numpy(),
                         "cell_line": variants["cell_line"].to_numpy(), "chrom": chrom, "pos": pos, "ref": ref,
                         "alt": alt, CLASS_COLUMN: kind, "length": np.full(n, length, dtype=np.int64),
                         "window_start": window_start, "alt_start": alt_start, "alt_end": alt_end,
                         "edit_start": edit_start, "edit_ref": edit_ref, "edit_alt": edit_alt,
                         "n_padded": n_padded.astype(np.int64)})


def cut_windows(loci: pd.DataFrame, genome: Genome, reverse_complement: bool = False) -> pd.DataFrame:
    """The reference and alternative window sequences of ``window_loci``'s rows, cut from the genome in bulk.

    Parameters
    ----------
    loci : pandas.DataFrame
        ``window_loci``'s table (n rows).
    genome : Genome
        The same genome.
    reverse_complement : bool
        Follow each row (strand ``+``) by its reverse-complement row (strand ``-``).

    Returns
    -------
    pandas.DataFrame, n (or 2n) rows
        As ``build_windows``.
    """
    chrom = loci["chrom"].to_numpy(dtype=object)
    length = loci["length"].to_numpy(dtype=np.int64)
    window_start = loci["window_start"].to_numpy(dtype=np.int64)
    alt_start, alt_end = loci["alt_start"].to_numpy(dtype=np.int64), loci["alt_end"].to_numpy(dtype=np.int64)
    refs = genome.fetch_strings(chrom, window_start, length)
    same_span = (alt_start == window_start) & (alt_end == window_start + length)  # SNVs and MNVs
    other = np.flatnonzero(~same_span)
    spans = list(refs)
    for i, text in zip(other.tolist(), genome.fetch_strings(chrom[other], alt_start[other],
                                                            (alt_end - alt_start)[other])):
        spans[i] = text
    cut = (loci["edit_start"].to_numpy(dtype=np.int64) - alt_start).tolist()
    alts = [span[:k] + a + span[k + r:] for span, k, a, r in
            zip(spans, cut, loci["edit_alt"].tolist(), loci["edit_ref"].tolist())]
    table = pd.DataFrame({"variant_id": loci["variant_id"].to_numpy(), "dataset": loci["dataset"].to_numpy(),
                          "cell_line": loci["cell_line"].to_numpy(), "ref_seq": refs, "alt_seq": alts,
                          "n_padded": loci["n_padded"].to_numpy(dtype=np.int64), "chrom": chrom,
                          "window_start": window_start, "alt_start": alt_start, "alt_end": alt_end,
                          CLASS_COLUMN: loci[CLASS_COLUMN].to_numpy()})
    if not reverse_complement:
        return table.reset_index(drop=True)
    minus = table.assign(ref_seq=[_rc(x) for x in refs], alt_seq=[_rc(x) for x in alts], **{STRAND: "-"})
    both = pd.concat([table.assign(**{STRAND: "+"}), minus], ignore_index=True)
    order = np.arange(2 * len(table)).reshape(2, -1).T.ravel()  # + then - of each variant
    return both.iloc[order].reset_index(drop=True)


_rc = reverse_complement


def write_chunks(windows: pd.DataFrame, dataset: str, outdir: Path, chunk_size: int) -> int:
    """Write ``<dataset>.windows.<k>.tsv`` chunks (k = 00000, ...); returns how many.

    ``chunk_size`` counts variants: with a ``strand`` column both rows of a variant go to the same
    chunk. Each chunk stores each distinct reference window once (``compact_windows``). Chunks left
    by an earlier run of the same dataset are removed first, so the folder always matches this run.
    An empty dataset still gets one header-only chunk, so downstream steps see it.

    Parameters
    ----------
    windows : pandas.DataFrame
        The dataset's windows (``WINDOW_COLUMNS`` and the rest of the full layout; ``strand`` last with
        --reverse-complement).
    dataset : str
        File name prefix of the chunks.
    outdir : pathlib.Path
        Output folder.
    chunk_size : int
        Variants per chunk.

    Returns
    -------
    int
        Number of chunks written (at least 1).
    """
    remove_stale_chunks(dataset, outdir)
    rows = chunk_size * (2 if STRAND in windows.columns else 1)
    starts = range(0, len(windows), rows) if len(windows) else [0]
    for k, s in enumerate(starts):
        write_tsv(compact_windows(windows.iloc[s:s + rows]), outdir / windows_file_name(dataset, f"{k:05d}"))
    return len(starts)


def remove_stale_chunks(dataset: str, outdir: Path) -> None:
    """Remove the window chunks (either layout) an earlier run left for ``dataset`` in ``outdir``.

    Parameters
    ----------
    dataset : str
        The dataset whose ``<dataset>.windows.<k>.tsv[.gz]`` files go.
    outdir : Path
        The folder (created when missing).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    stale = windows_chunk_pattern(dataset)
    for old in outdir.iterdir():
        if stale.fullmatch(old.name):
            old.unlink()


def write_loci_chunks(loci: pd.DataFrame, dataset: str, outdir: Path, chunk_size: int,
                      reverse_complement: bool = False) -> int:
    """Write coordinate-only chunks ``<dataset>.windows.<k>.tsv.gz`` (k = 00000, ...); returns how many.

    Parameters
    ----------
    loci : pandas.DataFrame
        ``window_loci``'s table of one dataset (n rows).
    dataset : str
        Names the files.
    outdir : Path
        Folder; chunks of either layout left there for ``dataset`` are removed first.
    chunk_size : int
        Variants per chunk.
    reverse_complement : bool
        Mark every row for forward and reverse-complement windows (column ``reverse_complement`` = 1).

    Returns
    -------
    int
        Chunks written (one header-only chunk for an empty dataset).
    """
    remove_stale_chunks(dataset, outdir)
    table = loci[WINDOW_LOCI_COLUMNS]
    if reverse_complement:
        table = table.assign(**{WINDOW_LOCI_RC: 1})
    return write_tsv_chunks(table, chunk_size, lambda k: outdir / windows_file_name(dataset, f"{k:05d}", loci=True))


def is_loci_chunk(columns) -> bool:
    """Whether a windows table with these columns is a coordinate-only chunk (no window text).

    Parameters
    ----------
    columns : sequence of str
        The table's column names.

    Returns
    -------
    bool
        True when every ``WINDOW_LOCI_COLUMNS`` name is there and ``ref_seq`` is not.
    """
    return "ref_seq" not in columns and all(c in columns for c in WINDOW_LOCI_COLUMNS)


def windows_from_loci(chunk: pd.DataFrame, genome: Genome, source: str | Path = "windows") -> pd.DataFrame:
    """The windows table (as ``build_windows`` gives it) of a coordinate-only chunk read back.

    Parameters
    ----------
    chunk : pandas.DataFrame
        A ``write_loci_chunks`` file read with ``read_tsv`` (``WINDOW_LOCI_COLUMNS``, optional
        ``reverse_complement``).
    genome : Genome
        The genome make-windows used: each REF is checked against it.
    source : path-like
        Named in errors.

    Returns
    -------
    pandas.DataFrame
        ``WINDOW_COLUMNS + WINDOW_LOCUS_COLUMNS + ALT_SPAN_COLUMNS + [variant_class]`` (+ ``strand``).
    """
    require_columns(chunk, WINDOW_LOCI_COLUMNS, source)
    empty = chunk[WINDOW_LOCI_COLUMNS].isna().any(axis=1).to_numpy()
    if empty.any():
        raise InputError(f"{source}: empty value in data row {int(np.flatnonzero(empty)[0])} (columns "
                         f"{', '.join(WINDOW_LOCI_COLUMNS)} must be filled)")
    numbers = {}
    for col in ["pos", "length"] + ([WINDOW_LOCI_RC] if WINDOW_LOCI_RC in chunk.columns else []):
        values = pd.to_numeric(chunk[col], errors="coerce")
        if values.isna().any() or (values != values.round()).any():
            raise InputError(f"{source}: column {col!r} must hold integers")
        numbers[col] = values.astype("int64")
    lengths = numbers["length"].unique()
    if len(lengths) > 1 or (len(lengths) and lengths[0] < 1):
        raise InputError(f"{source}: column 'length' must hold one window length >= 1; found "
                         f"{sorted(int(x) for x in lengths)[:5]}")
    strands = numbers[WINDOW_LOCI_RC].unique() if WINDOW_LOCI_RC in numbers else np.zeros(1, dtype=np.int64)
    if len(strands) > 1 or not set(strands.tolist()) <= {0, 1}:
        raise InputError(f"{source}: column {WINDOW_LOCI_RC!r} must be 0 or 1 on every row")
    length = int(lengths[0]) if len(lengths) else DEFAULT_WINDOW_LENGTH
    loci = window_loci(chunk.assign(pos=numbers["pos"]), genome, length, source)
    return cut_windows(loci, genome, reverse_complement=bool(len(strands) and strands[0] == 1))


def compact_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """The chunk layout: ``ref_seq`` kept only on the first row of each distinct reference window,
    ``ref_row`` (after ``n_padded``) pointing every row at that first row.

    Parameters
    ----------
    windows : pandas.DataFrame
        Windows in the full layout (every row with its ``ref_seq``).

    Returns
    -------
    pandas.DataFrame
        The same rows, index reset, ``ref_seq`` emptied on repeats, plus an int64 ``ref_row`` column.
    """
    codes, _ = pd.factorize(windows["ref_seq"], sort=False)
    _, first_of_code = np.unique(codes, return_index=True)  # codes number references by first appearance
    first = first_of_code[codes] if len(codes) else codes
    out = windows.reset_index(drop=True).copy()
    out.loc[first != np.arange(len(out)), "ref_seq"] = ""
    out.insert(out.columns.get_loc("n_padded") + 1, REF_ROW, first.astype("int64"))
    return out


def expand_windows(windows: pd.DataFrame, source: str | Path = "windows") -> pd.DataFrame:
    """A chunk read back (``compact_windows`` layout) with every ``ref_seq`` filled in again;
    tables without ``ref_row`` (the full layout) are returned as they are.

    Parameters
    ----------
    windows : pandas.DataFrame
        A windows chunk as read.
    source : str or pathlib.Path
        Where it came from, for messages.

    Returns
    -------
    pandas.DataFrame
        The rows with every ``ref_seq`` filled and without ``ref_row``.

    Raises
    ------
    InputError
        When ``ref_row`` is not a row number of the table or points at a row without ``ref_seq``.
    """
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
