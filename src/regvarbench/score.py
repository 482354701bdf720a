"""Score variant windows with a model (``regvarbench score``).

For each window file ``<dataset>.windows.<k>.tsv`` the model predicts the enhancer probability of
the reference and the alternative sequence; the variant score is their log2 ratio (or, for models
whose spec says ``score_kind: diff``, such as motif log-odds, their difference). Each distinct
sequence is predicted once per file (saturation mutagenesis shares one reference window among
many variants), and outputs do not depend on batch composition, so the same windows give
byte-identical tables however they are chunked (fp32 and fp64: every batch has the same padded
size, and CPU kernels compute a row of it the same way wherever it sits). For ``cnn_small`` the
alt that differs from its reference window at one base is scored from its reference pass by
receptive-field reuse (models/cone.py; ``--no-cone`` turns it off), which agrees with a full pass
within ~1e-7 on logits in fp32 (the default on every device, ``--precision``), ~1e-15 in fp64.
Cone reuse computes the model on the alt window itself, so it is exact for any variant class; an
indel or MNV window differing at several bases (nearly always: flanks shift) gets a full pass.
Published Sei (family ``sei``) reuses its reference tower the same way (models/sei_framework.py),
N-padded or in genome flanks, for alts whose input differs over at most 16 bp; ``--no-cone``
turns that off too.

Genome context: adapters with ``uses_genome_context`` (Enformer, Borzoi: models/tracks.py) read
hundreds of kb around a 1 kb window. With ``--genome`` and windows that carry ``chrom`` and
``window_start`` (make-windows), each distinct (sequence, chrom, window_start, strand) is one
input, embedded in its genome flanks; an alt window's right flank starts at ``alt_end`` (where
an indel's alt window ends in the genome; windows.py); without loci such models N-pad the window
(one warning). Other models ignore ``--genome``.

Windows come as text chunks or as coordinate-only chunks (``make-windows --layout loci``, the
pipeline's), whose windows ``read_windows`` cuts from ``--genome`` in bulk: the same table either
way, so the same scores.

The score table carries each variant's ``variant_class`` (snv, mnv, insertion, deletion, delins)
from the windows, so that evaluation can report SNVs and indels apart; windows written before
make-windows handled indels lack it and hold SNVs only, which is what their rows get.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import marker_spec
from .contracts import (ALT_SPAN_COLUMNS, CLASS_COLUMN, SCORE_COLUMNS, SCORES_SUFFIX, STRAND, WINDOW_COLUMNS,
                        WINDOW_LOCUS_COLUMNS, parse_windows_name, scores_file_name)
from .device import DEVICES, PRECISIONS, resolve_device, resolve_precision
from .io import InputError, read_tsv, require_columns, write_tsv
from .models import Adapter, load_model
from .models.precision import exact_fp32
from .genome import Genome
from .score_kinds import (EPS, STUDY, resolve_score_kind,  # noqa: F401 (EPS: re-exported)
                          variant_score)
from .windows import expand_windows, is_loci_chunk, windows_from_loci

log = logging.getLogger(__name__)

DEFAULT_SCORE_KIND = STUDY  # a spec without score_kind (probability models): the study's log2(alt / ref)


def read_windows(path: str | Path, genome: Genome | None = None) -> pd.DataFrame:
    """A windows table, checked for its columns and for non-empty sequences of equal length.

    Parameters
    ----------
    path : path-like
        A make-windows chunk: window text (``<dataset>.windows.<k>.tsv``, full or ``ref_row``
        layout) or coordinates only (``.tsv.gz``, ``contracts.WINDOW_LOCI_COLUMNS``).
    genome : Genome or None
        The genome make-windows used; needed (and only used) for a coordinate-only chunk, whose
        windows are cut from it.

    Returns
    -------
    pandas.DataFrame
        One row per window (``WINDOW_COLUMNS`` + loci, class, strand where known), every
        ``ref_seq`` filled in.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"windows file not found: {path}")
    df = read_tsv(path, dtype={"variant_id": str, "dataset": str, "cell_line": str, "ref": str, "alt": str,
                               "ref_seq": str, "alt_seq": str, "chrom": str, CLASS_COLUMN: str})
    if is_loci_chunk(df.columns):
        if genome is None:
            raise InputError(f"{path}: a coordinate-only windows chunk (make-windows --layout loci): score needs "
                             f"--genome, the genome make-windows used, to cut its windows")
        return windows_from_loci(df, genome, path)
    require_columns(df, WINDOW_COLUMNS, path)  # chrom/window_start are optional (older chunks lack them)
    for col in ["window_start", *ALT_SPAN_COLUMNS]:
        if col in df.columns:
            start = pd.to_numeric(df[col], errors="coerce")
            if start.isna().any() or (start != start.round()).any():
                raise InputError(f"{path}: column {col!r} must hold integers")
            df[col] = start.astype("int64")
    if CLASS_COLUMN not in df.columns:  # chunks from before indels were windowed hold SNVs only
        df[CLASS_COLUMN] = "snv"
    df = expand_windows(df, path)  # chunks store each distinct reference window once (windows.py)
    for col in ("ref_seq", "alt_seq"):
        empty = df[col].isna()
        if empty.any():
            raise InputError(f"{path}: empty {col!r} for variant(s) {', '.join(df.loc[empty, 'variant_id'][:5])}")
    unequal = df["ref_seq"].str.len() != df["alt_seq"].str.len()
    if unequal.any():
        raise InputError(f"{path}: 'ref_seq' and 'alt_seq' differ in length for variant(s) "
                         f"{', '.join(df.loc[unequal, 'variant_id'][:5])}")
    return df


def has_loci(windows: pd.DataFrame) -> bool:
    """Whether a windows table says where each window lies (``chrom``, ``window_start``).

    Parameters
    ----------
    windows : pandas.DataFrame
        A windows table.

    Returns
    -------
    bool
        True when both ``WINDOW_LOCUS_COLUMNS`` are present and filled on every row.
    """
    return all(c in windows.columns for c in WINDOW_LOCUS_COLUMNS) and not windows[WINDOW_LOCUS_COLUMNS].isna().any().any()


def score_windows(adapter: Adapter, windows: pd.DataFrame, batch_size: int = 256, cone: bool = True,
                  genome: Genome | None = None) -> pd.DataFrame:
    """Score table for a windows table: each distinct sequence predicted once.

    With a ``genome``, an adapter with ``uses_genome_context`` and windows with loci, each
    distinct (sequence, chrom, window_start, strand) is predicted once, in its genome flanks.

    The variant score follows the adapter spec's ``score_kind`` (a name of
    ``regvarbench.score_kinds``; default ``log2ratio_eps``). Adapters
    with ``supports_cone`` (``cnn_small``, ``sei``) score the windows grouped by reference: one
    reference pass per distinct ``ref_seq``, then each distinct (reference, alt) pair by
    receptive-field reuse (models/cone.py); in genome flanks too where the adapter has
    ``predict_variants_in_context`` (``sei``). ``cone=False`` forces full passes for every
    distinct sequence (input).

    Parameters
    ----------
    adapter : Adapter
        The model (``models.load_model``).
    windows : pandas.DataFrame
        A windows table in the full layout (``WINDOW_COLUMNS``; loci, ``variant_class`` and ``strand``
        where present).
    batch_size : int
        Sequences per model call.
    cone : bool
        Whether adapters with ``supports_cone`` may reuse the reference pass.
    genome : Genome or None
        The genome, for adapters that predict in genome context.

    Returns
    -------
    pandas.DataFrame
        The columns of ``SCORE_COLUMNS``, one row per variant (``average_strands``).

    Raises
    ------
    InputError
        For an unknown ``score_kind`` in the adapter spec.
    """
    try:
        kind = resolve_score_kind(str(adapter.spec.get("score_kind", DEFAULT_SCORE_KIND)))
    except InputError as exc:
        raise InputError(f"model {adapter.name}: {exc}") from exc
    if genome is not None and adapter.uses_genome_context and has_loci(windows):
        if cone and adapter.supports_cone and len(windows):
            ref, alt = _predict_in_context_by_reference(adapter, windows, genome, batch_size)
        else:
            ref, alt = _predict_in_context(adapter, windows, genome, batch_size)
    elif cone and adapter.supports_cone and len(windows):
        ref, alt = _predict_by_reference(adapter, windows, batch_size)
    else:
        ref, alt = _predict_distinct(adapter, windows, batch_size)
    classes = windows[CLASS_COLUMN].to_numpy() if CLASS_COLUMN in windows.columns else "snv"
    scores = pd.DataFrame({"variant_id": windows["variant_id"].to_numpy(), "dataset": windows["dataset"].to_numpy(),
                           "variant_class": classes, "model": adapter.name, "ref_output": ref, "alt_output": alt,
                           "score": variant_score(ref, alt, kind)}, columns=SCORE_COLUMNS)
    return average_strands(scores, windows, kind)


def average_strands(scores: pd.DataFrame, windows: pd.DataFrame, kind: str = DEFAULT_SCORE_KIND) -> pd.DataFrame:
    """One row per variant for windows with a ``strand`` column (make-windows --reverse-complement):
    ref and alt outputs averaged over the variant's rows (forward and reverse complement), the
    score recomputed from the averages; first-appearance order kept. Other tables pass through.

    Parameters
    ----------
    scores : pandas.DataFrame
        Per-window scores (``SCORE_COLUMNS``), row for row with ``windows``.
    windows : pandas.DataFrame
        The windows they were computed from.
    kind : str
        The score kind (a name of ``regvarbench.score_kinds``).

    Returns
    -------
    pandas.DataFrame
        The columns of ``SCORE_COLUMNS``.
    """
    if STRAND not in windows.columns or not len(scores):
        return scores
    mean = scores.groupby("variant_id", sort=False).agg(
        dataset=("dataset", "first"), variant_class=("variant_class", "first"), model=("model", "first"),
        ref_output=("ref_output", "mean"), alt_output=("alt_output", "mean")).reset_index()
    mean["score"] = variant_score(mean["ref_output"].to_numpy(), mean["alt_output"].to_numpy(), kind)
    return mean[SCORE_COLUMNS]


def _predict_distinct(adapter: Adapter, windows: pd.DataFrame, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Full passes over the distinct ref and alt sequences of a windows table."""
    seqs = pd.concat([windows["ref_seq"], windows["alt_seq"]], ignore_index=True).str.upper()
    codes, distinct = pd.factorize(seqs, sort=False)
    started = time.perf_counter()
    outputs = adapter.predict(list(distinct), batch_size=batch_size) if len(distinct) else np.zeros(0)
    elapsed = time.perf_counter() - started
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.shape != (len(distinct),):
        raise RuntimeError(f"model {adapter.name} returned shape {outputs.shape} for {len(distinct)} sequences")
    n = len(windows)
    log.info("%s: %d windows, %d distinct sequences, %.1f sequences/s", adapter.name, n, len(distinct),
             len(distinct) / elapsed if elapsed > 0 else float("nan"))
    return outputs[codes[:n]], outputs[codes[n:]]


def _loci_columns(windows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(strand, window_start, ref_end, alt_start, alt_end) of each window: an indel's alt window
    spans (alt_start, alt_end) of the genome where the windows give it."""
    strand = windows[STRAND].astype(str) if STRAND in windows.columns else pd.Series("+", index=windows.index)
    start = windows["window_start"].astype("int64").to_numpy()
    ref_end = start + windows["ref_seq"].str.len().to_numpy()
    if all(c in windows.columns for c in ALT_SPAN_COLUMNS):  # an indel's alt window spans more or less genome
        alt_start, alt_end = (windows[c].astype("int64").to_numpy() for c in ALT_SPAN_COLUMNS)
    else:
        alt_start, alt_end = start, ref_end
    return strand.to_numpy(), start, ref_end, alt_start, alt_end


def _predict_in_context(adapter: Adapter, windows: pd.DataFrame, genome: Genome,
                        batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Full passes over the distinct (sequence, chrom, start, strand, end) of a windows table:
    the same string at two loci (or on two strands) is two inputs, since its flanks differ. An alt
    window's span is (alt_start, alt_end) where the windows give it."""
    n = len(windows)
    strand, start, ref_end, alt_start, alt_end = _loci_columns(windows)
    keys = pd.MultiIndex.from_arrays([
        pd.concat([windows["ref_seq"], windows["alt_seq"]], ignore_index=True).str.upper().to_numpy(),
        np.tile(windows["chrom"].astype(str).to_numpy(), 2),
        np.concatenate([start, alt_start]),
        np.tile(strand, 2),
        np.concatenate([ref_end, alt_end])])
    codes, distinct = pd.factorize(keys, sort=False)
    loci = list(zip(distinct.get_level_values(1), distinct.get_level_values(2).astype(int),
                    distinct.get_level_values(3), distinct.get_level_values(4).astype(int)))
    started = time.perf_counter()
    outputs = (adapter.predict_in_context(list(distinct.get_level_values(0)), loci, genome, batch_size=batch_size)
               if len(distinct) else np.zeros(0))
    elapsed = time.perf_counter() - started
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.shape != (len(distinct),):
        raise RuntimeError(f"model {adapter.name} returned shape {outputs.shape} for {len(distinct)} inputs")
    log.info("%s: %d windows, %d distinct inputs in genome flanks, %.1f inputs/s", adapter.name, n, len(distinct),
             len(distinct) / elapsed if elapsed > 0 else float("nan"))
    return outputs[codes[:n]], outputs[codes[n:]]


def _predict_in_context_by_reference(adapter: Adapter, windows: pd.DataFrame, genome: Genome,
                                     batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_predict_in_context`, alts by receptive-field reuse of their reference's pass.

    One input per distinct reference (sequence, chrom, start, strand, end); each distinct alt
    (its reference, sequence, alt_start, alt_end) is scored from it (models/sei_framework.py), so
    an alt's output never depends on which other windows share the file.
    """
    strand, start, ref_end, alt_start, alt_end = _loci_columns(windows)
    chrom = windows["chrom"].astype(str).to_numpy()
    ref_keys = pd.MultiIndex.from_arrays([windows["ref_seq"].str.upper().to_numpy(), chrom, start, strand, ref_end])
    ref_codes, refs = pd.factorize(ref_keys, sort=False)
    pair_codes, pairs = pd.factorize(pd.MultiIndex.from_arrays(
        [ref_codes, windows["alt_seq"].str.upper().to_numpy(), alt_start, alt_end]), sort=False)
    pair_refs = np.asarray(pairs.get_level_values(0), dtype=np.int64)
    ref_loci = list(zip(refs.get_level_values(1), refs.get_level_values(2).astype(int), refs.get_level_values(3),
                        refs.get_level_values(4).astype(int)))
    alt_loci = [(ref_loci[r][0], int(s), ref_loci[r][2], int(e)) for r, s, e in
                zip(pair_refs, pairs.get_level_values(2), pairs.get_level_values(3))]
    started = time.perf_counter()
    ref_out, alt_out = adapter.predict_variants_in_context(
        list(refs.get_level_values(0)), ref_loci, pair_refs, list(pairs.get_level_values(1)), alt_loci, genome,
        batch_size=batch_size)
    ref_out, alt_out = _by_reference_outputs(adapter, ref_out, alt_out, len(refs), len(pairs), len(windows),
                                             "windows in genome flanks", "inputs", time.perf_counter() - started)
    return ref_out[ref_codes], alt_out[pair_codes]


def _predict_by_reference(adapter: Adapter, windows: pd.DataFrame, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """One pass per distinct reference, one cone per distinct (reference, alt) pair.

    Alts are keyed by their reference too, so an alt's output never depends on which other
    windows share the file (the same string under another reference is its own pair).
    """
    refs = windows["ref_seq"].str.upper()
    alts = windows["alt_seq"].str.upper()
    ref_codes, distinct_refs = pd.factorize(refs, sort=False)
    pair_codes, pairs = pd.factorize(pd.MultiIndex.from_arrays([ref_codes, alts.to_numpy()]), sort=False)
    pair_refs = np.asarray(pairs.get_level_values(0), dtype=np.int64)
    started = time.perf_counter()
    ref_out, alt_out = adapter.predict_variants(list(distinct_refs), pair_refs,
                                                list(pairs.get_level_values(1)), batch_size=batch_size)
    ref_out, alt_out = _by_reference_outputs(adapter, ref_out, alt_out, len(distinct_refs), len(pairs), len(windows),
                                             "windows", "sequences", time.perf_counter() - started)
    return ref_out[ref_codes], alt_out[pair_codes]


def _by_reference_outputs(adapter: Adapter, ref_out, alt_out, n_refs: int, n_alts: int, n_windows: int,
                          windows_label: str, unit: str, elapsed: float) -> tuple[np.ndarray, np.ndarray]:
    """An adapter's outputs of a by-reference pass (distinct references, distinct alts) as float64,
    checked for their shapes and logged with the adapter's cone/full/unchanged counts.

    Parameters
    ----------
    adapter : Adapter
        The model (its ``last_variant_counts``, when it keeps them, are logged).
    ref_out, alt_out : array_like, shapes (n_refs,), (n_alts,)
        Its outputs per distinct reference and per distinct alt.
    n_refs, n_alts : int
        Distinct references and alts asked for: any other shape is an error.
    n_windows : int
        Windows of the table; ``windows_label`` and ``unit`` name them and the inputs in the log line.
    elapsed : float
        Seconds the pass took.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray), float64, shapes (n_refs,), (n_alts,)
    """
    ref_out, alt_out = np.asarray(ref_out, dtype=np.float64), np.asarray(alt_out, dtype=np.float64)
    if ref_out.shape != (n_refs,) or alt_out.shape != (n_alts,):
        raise RuntimeError(f"model {adapter.name} returned shapes {ref_out.shape}, {alt_out.shape} for "
                           f"{n_refs} references and {n_alts} alts")
    counts = adapter.last_variant_counts
    log.info("%s: %d %s, %d distinct references, %d distinct alts (%d by cone reuse, %d full passes, "
             "%d unchanged), %.1f %s/s", adapter.name, n_windows, windows_label, n_refs, n_alts,
             counts.get("cone", 0), counts.get("full", 0), counts.get("unchanged", 0),
             (n_refs + n_alts) / elapsed if elapsed > 0 else float("nan"), unit)
    return ref_out, alt_out


def set_precision(adapter: Adapter, precision: str, device: str = "cpu") -> str:
    """Make ``adapter`` compute in ``precision`` (``auto`` resolved for ``device``); the concrete one.

    Adapters whose ``set_precision`` returns None (Hugging Face, motif, tracks: ``Adapter``'s
    default) keep their own arithmetic.

    Parameters
    ----------
    adapter : Adapter
        The model.
    precision : str
        One of ``PRECISIONS`` (``resolve_precision``), e.g. ``auto``, ``fp32`` or ``bf16``.
    device : str
        The resolved device (``cpu`` or ``cuda[:n]``).

    Returns
    -------
    str
        The precision the adapter computes in, or ``model default`` for adapters that keep their own.
    """
    concrete = resolve_precision(precision, device)
    if concrete == "fp32":
        exact_fp32(device)
    chosen = adapter.set_precision(concrete)
    if chosen is not None:
        return chosen
    if precision != "auto":
        log.warning("model %s computes in its own precision; --precision %s ignored", adapter.name, precision)
    return "model default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="trained model directory (with spec.json)")
    parser.add_argument("--windows", required=True, nargs="+",
                        help="<dataset>.windows.<k>.tsv file(s), or .tsv.gz coordinate-only chunks (with --genome)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="arithmetic of the forward passes: auto (default) = the fastest precision that meets the "
                             "scoring accuracy budget (Spearman >= 0.9999 against fp64, no score collapsing to 0): "
                             "fp32 on every device today; bf16/fp16 autocast are faster on GPUs and AMX CPUs but "
                             "miss it; fp64 is exact but 3-7x slower on CPU (docs/performance.md)")
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="cpu, cuda, or auto (default: cuda when a GPU is visible)")
    parser.add_argument("--no-cone", action="store_true",
                        help="full forward passes for every alt (default: reuse the reference pass for "
                             "single-base alts where the architecture allows: cnn_small, and sei for alts "
                             "differing over at most 16 bp; models/cone.py)")
    parser.add_argument("--genome", default=None,
                        help="reference FASTA of the windows: track models (Enformer, Borzoi) embed each window "
                             "in its genome flanks (needs windows with chrom/window_start); without it they N-pad. "
                             "Other models ignore it, except that coordinate-only chunks (make-windows --layout "
                             "loci) are cut from it")
    parser.add_argument("--prefix", default=None,
                        help="stem of the score table's name, <prefix>.scores.tsv (default <model>.<dataset>.<chunk>; "
                             "one --windows file only; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True)


def run(args: argparse.Namespace) -> None:
    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be at least 1")
        import torch
        torch.set_num_threads(args.threads)
    names = [parse_windows_name(p) for p in args.windows]  # fail on a bad name before loading the model
    if getattr(args, "prefix", None) and len(args.windows) > 1:
        raise InputError(f"--prefix names the score table of one windows file; {len(args.windows)} given")
    if skip_scoring(args.model, args.windows, args.outdir, getattr(args, "prefix", None)):  # a model skipped by train --skip-unavailable
        return
    device = resolve_device(getattr(args, "device", "cpu"))
    adapter = load_model(args.model, device=device)
    precision = set_precision(adapter, getattr(args, "precision", "auto"), device)
    log.info("%s on %s in %s", adapter.name, device, precision)
    model_cell = adapter.spec.get("cell_line")
    genome = _open_genome(adapter, getattr(args, "genome", None))
    cutter = None  # the genome that coordinate-only chunks are cut from, opened when one is met
    try:
        cutter = _score_files(adapter, args, names, genome, model_cell)
    finally:
        for g in {id(g): g for g in (genome, cutter) if g is not None}.values():
            g.close()


def skip_scoring(model_dir: str | os.PathLike, window_paths: list[str], outdir: str | os.PathLike,
                 prefix: str | None = None) -> bool:
    """For a marker directory (artifacts.write_marker): write a header-only score table per windows
    file (named by ``prefix`` when given) and return True; False for a usable model.

    Parameters
    ----------
    model_dir : path-like
        The model directory.
    window_paths : list of str
        The windows files (``<dataset>.windows.<k>.tsv``).
    outdir : path-like
        Output folder of the score tables.
    prefix : str or None
        Score file name prefix instead of the model name.

    Returns
    -------
    bool
        Whether ``model_dir`` is a marker (and the empty tables were written).
    """
    spec = marker_spec(model_dir)
    if spec is None:
        return False
    for path in window_paths:
        dataset, chunk = parse_windows_name(path)
        out = write_tsv(pd.DataFrame(columns=SCORE_COLUMNS),
                        Path(outdir) / _scores_name(prefix, spec["model_name"], dataset, chunk))
        log.warning("model %s is unavailable (%s): wrote no scores to %s", spec["model_name"],
                    spec.get("reason", "?"), out)
    return True


def _scores_name(prefix: str | None, model: str, dataset: str, chunk: str) -> str:
    """``<prefix>.scores.tsv`` (--prefix), else ``contracts.scores_file_name``."""
    return f"{prefix}{SCORES_SUFFIX}" if prefix else scores_file_name(model, dataset, chunk)


def _open_genome(adapter: Adapter, path: str | None) -> Genome | None:
    """The genome for a context-reading adapter; None (with one log line saying why) otherwise."""
    context = adapter.uses_genome_context
    if path and not context:
        log.info("model %s reads the window alone; --genome used only to cut coordinate-only chunks", adapter.name)
        return None
    if context and not path:
        log.warning("model %s: no --genome given: each window is N-padded to the model's input length "
                    "instead of embedded in its genome flanks", adapter.name)
        return None
    if not path:
        return None
    genome = Genome(path)
    log.info("model %s: windows embedded in their genome flanks from %s", adapter.name, genome.path.name)
    return genome


def _score_files(adapter: Adapter, args: argparse.Namespace, names: list[tuple[str, str]], genome: Genome | None,
                 model_cell: str | None) -> Genome | None:
    """Score every windows file; returns the genome opened to cut coordinate-only chunks (None if none was)."""
    warned = False
    cutter = genome
    for path, (dataset, chunk) in zip(args.windows, names):
        if cutter is None and getattr(args, "genome", None) and Path(path).is_file() \
                and is_loci_chunk(read_tsv(path, nrows=0).columns):
            cutter = Genome(args.genome)
        windows = read_windows(path, cutter)
        if genome is not None and not has_loci(windows) and not warned:
            log.warning("%s: no 'chrom'/'window_start' columns (windows from an older make-windows): model %s "
                        "N-pads the windows instead of embedding them in genome flanks", path, adapter.name)
            warned = True
        other = sorted(set(windows["cell_line"].astype(str)) - {str(model_cell)}) if model_cell else []
        if other:
            log.warning("%s: windows of cell line(s) %s scored with %s, trained on %s", path,
                        ", ".join(other), adapter.name, model_cell)
        padded = int((pd.to_numeric(windows["n_padded"], errors="coerce").fillna(0) > 0).sum())
        if padded:
            log.info("%s: %d window(s) N-padded at a contig end", path, padded)
        scores = score_windows(adapter, windows, args.batch_size, cone=not getattr(args, "no_cone", False),
                               genome=genome)
        out = write_tsv(scores, Path(args.outdir) / _scores_name(getattr(args, "prefix", None), adapter.name, dataset, chunk))
        log.info("wrote %s (%d variants)", out, len(scores))
    return cutter
