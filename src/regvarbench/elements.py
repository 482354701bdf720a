"""rebuild-elements: reference sequences of saturation-mutagenesis elements from their variant tables.

A saturation-mutagenesis table (Kircher 2019 SORT1, Birnbaum 2014 eExons) lists every position of
the tested element with its reference base, so the element's reference sequence can be rebuilt
from the variants alone -- no genome needed, and with one, a check that table and genome agree.

Per dataset and chromosome, the listed positions are grouped into elements: a new element starts
where more than ``--max-gap`` positions in a row are missing. Inside an element, missing
positions are filled with N (``n_gaps`` counts these bases); a position listed with different
reference bases is written N too (``n_conflicts``). Flanks of ``--flank`` bases come from
``--genome`` (N beyond the contig) or are N without it; with ``--genome`` every listed base is
compared with the genome base (``n_mismatches``; empty without a genome). Gaps stay N even with a
genome: the sequence shows what the table says.

Outputs: ``elements.fa`` (one record per element, flanks included, named by element_id) and
``elements.tsv``: ``element_id, dataset, chrom, start, end, n_positions, n_gaps, n_conflicts,
n_mismatches, flank``, where start/end are the 0-based half-open interval of the listed positions
(flanks excluded) and element_id = ``<dataset>:<chrom>:<first>-<last>`` (1-based, inclusive).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .genome import Genome
from .io import InputError, read_tsv, require_columns, write_tsv

log = logging.getLogger(__name__)

ELEMENT_COLUMNS = ["element_id", "dataset", "chrom", "start", "end", "n_positions", "n_gaps", "n_conflicts",
                   "n_mismatches", "flank"]
_BASES = set("ACGTN")


@dataclass
class Element:
    """One rebuilt element: its table row and its sequence (flanks included)."""

    row: dict
    sequence: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", required=True,
                        help="variants tables (prepare-variants output: dataset, chrom, pos, ref, ...)")
    parser.add_argument("--genome", help="reference FASTA: flanks from it, listed bases checked against it")
    parser.add_argument("--flank", type=int, default=0, help="bases added on each side (default 0)")
    parser.add_argument("--max-gap", type=int, default=50,
                        help="most consecutive missing positions still inside one element (default 50)")
    parser.add_argument("--outdir", required=True, help="output folder for elements.fa and elements.tsv")


def run(args: argparse.Namespace) -> None:
    if args.flank < 0:
        raise InputError(f"--flank must be >= 0, got {args.flank}")
    if args.max_gap < 0:
        raise InputError(f"--max-gap must be >= 0, got {args.max_gap}")
    table = read_reference_bases(args.variants)
    genome = Genome(args.genome) if args.genome else None
    try:
        elements = rebuild_elements(table, genome, args.flank, args.max_gap)
    finally:
        if genome is not None:
            genome.close()
    write_elements(elements, Path(args.outdir))


def read_reference_bases(paths: list[str]) -> pd.DataFrame:
    """dataset, chrom, pos, ref of every row of the variants tables (InputError for unusable rows).

    Parameters
    ----------
    paths : list of str
        Variants tables (prepare-variants output) with at least the columns dataset, chrom, pos, ref.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``chrom`` (str), ``pos`` (int64, 1-based) and ``ref`` (one upper-case base
        of ACGTN), the tables' rows concatenated in order.

    Raises
    ------
    InputError
        If a table is missing, lacks a column, has an empty value or a reference allele that is not
        a single base.
    """
    frames = []
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"variants table not found: {path}")
        df = read_tsv(path, dtype={"dataset": str, "chrom": str, "ref": str})
        require_columns(df, ["dataset", "chrom", "pos", "ref"], path)
        df = df[["dataset", "chrom", "pos", "ref"]].copy()
        if df["pos"].isna().any() or df[["dataset", "chrom", "ref"]].isna().any().any():
            raise InputError(f"{path}: empty dataset, chrom, pos or ref in {int(df.isna().any(axis=1).sum())} row(s)")
        df["ref"] = df["ref"].str.upper()
        bad = ~df["ref"].isin(list(_BASES))
        if bad.any():
            raise InputError(f"{path}: reference alleles must be single bases; e.g. {df.loc[bad, 'ref'].iloc[0]!r} "
                             f"({int(bad.sum())} row(s))")
        df["pos"] = df["pos"].astype("int64")
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def group_positions(positions: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Sorted unique positions split where more than max_gap positions in a row are missing.

    Parameters
    ----------
    positions : numpy.ndarray of int, shape (n,)
        Sorted unique positions.
    max_gap : int
        Most consecutive missing positions still inside one group.

    Returns
    -------
    list of numpy.ndarray of int
        The groups, in order; empty for no positions.
    """
    if positions.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(positions) - 1 > max_gap) + 1
    return np.split(positions, breaks)


def rebuild_elements(table: pd.DataFrame, genome: Genome | None, flank: int = 0, max_gap: int = 50) -> list[Element]:
    """All elements of the table, ordered by dataset, chromosome and start.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``dataset``, ``chrom``, ``pos``, ``ref``, as from ``read_reference_bases``.
    genome : Genome or None
        Reference for the flanks and the mismatch check; without one, flanks are N.
    flank : int, optional
        Bases added on each side.
    max_gap : int, optional
        Most consecutive missing positions still inside one element.

    Returns
    -------
    list of Element
    """
    elements = []
    for (dataset, chrom), sub in table.groupby(["dataset", "chrom"], sort=True):
        bases = sub.groupby("pos")["ref"].agg(lambda s: "".join(sorted(set(s))))
        for block in group_positions(bases.index.to_numpy(), max_gap):
            elements.append(rebuild_one(dataset, chrom, bases.loc[block], genome, flank))
    elements.sort(key=lambda e: (e.row["dataset"], e.row["chrom"], e.row["start"]))
    return elements


def rebuild_one(dataset: str, chrom: str, bases: pd.Series, genome: Genome | None, flank: int) -> Element:
    """One element from its listed positions (index) and reference base(s) per position (values).

    Parameters
    ----------
    dataset, chrom : str
        The element's dataset and chromosome.
    bases : pandas.Series of str
        Indexed by sorted 1-based position; the reference base, or several sorted bases joined
        where the table disagrees (written N).
    genome : Genome or None
        Reference for the flanks and ``n_mismatches``; without one, flanks are N and
        ``n_mismatches`` is NA.
    flank : int
        Bases added on each side.

    Returns
    -------
    Element
        Its row (the columns of ``ELEMENT_COLUMNS``) and sequence, flanks included.

    Raises
    ------
    InputError
        If ``chrom`` is not a contig of ``genome``.
    """
    first, last = int(bases.index[0]), int(bases.index[-1])
    seq = np.full(last - first + 1, "N", dtype="<U1")
    conflicts = bases.str.len() > 1
    seq[bases.index.to_numpy() - first] = np.where(conflicts, "N", bases.str[0])
    core = "".join(seq)
    left = right = "N" * flank
    mismatches = pd.NA
    if genome is not None:
        name = genome.resolve(chrom)
        if name is None:
            raise InputError(f"dataset {dataset!r}: contig {chrom} not in genome {genome.path}")
        left = genome.fetch(name, first - 1 - flank, first - 1)
        right = genome.fetch(name, last, last + flank)
        ref = genome.fetch(name, first - 1, last)
        mismatches = sum(1 for a, b in zip(core, ref) if a != "N" and b != "N" and a != b)
    n_conflicts = int(conflicts.sum())
    if n_conflicts:
        log.warning("%s %s:%d-%d: %d position(s) listed with different reference bases, written N",
                    dataset, chrom, first, last, n_conflicts)
    row = {"element_id": f"{dataset}:{chrom}:{first}-{last}", "dataset": dataset, "chrom": chrom,
           "start": first - 1, "end": last, "n_positions": len(bases),
           "n_gaps": last - first + 1 - len(bases), "n_conflicts": n_conflicts,
           "n_mismatches": mismatches, "flank": flank}
    return Element(row, left + core + right)


def write_elements(elements: list[Element], outdir: Path) -> None:
    """elements.fa (60 bases a line) and elements.tsv.

    Parameters
    ----------
    elements : list of Element
        As from ``rebuild_elements``.
    outdir : pathlib.Path
        Output folder; created if missing.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    with open(outdir / "elements.fa", "w") as fh:
        for e in elements:
            fh.write(f">{e.row['element_id']}\n")
            fh.writelines(e.sequence[i:i + 60] + "\n" for i in range(0, len(e.sequence), 60))
    table = pd.DataFrame([e.row for e in elements], columns=ELEMENT_COLUMNS)
    table["n_mismatches"] = table["n_mismatches"].astype("Int64")
    write_tsv(table, outdir / "elements.tsv")
    log.info("%d element(s) written to %s", len(elements), outdir)
