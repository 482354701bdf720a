"""Region sequences from the reference genome; regions containing N are dropped and counted.

A region is dropped when its sequence holds any base other than A/C/G/T (N runs, IUPAC codes, or
N padding where a region runs off a contig end), because the models one-hot encode ACGT only.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from .contracts import (REGION_COLUMNS, SEQUENCE_COLUMNS, SEQUENCES_SUFFIX, SEQUENCES_SUMMARY_SUFFIX,
                        STEP_SUMMARY_COLUMNS)
from .genome import Genome
from .io import InputError, read_tsv, require_columns, write_tsv

log = logging.getLogger(__name__)

_NON_ACGT = re.compile(r"[^ACGT]")


def single_cell_line(frame: pd.DataFrame, source: str | Path) -> str:
    """The one cell line a table belongs to (file names derive from it).

    Parameters
    ----------
    frame : pandas.DataFrame
        A table with a ``cell_line`` column.
    source : str or pathlib.Path
        Where it came from, for messages.

    Returns
    -------
    str

    Raises
    ------
    InputError
        When the table holds no cell line or several.
    """
    names = frame["cell_line"].dropna().astype(str).unique()
    if len(names) != 1:
        raise InputError(f"{source}: expected exactly one cell_line, found {len(names)}: "
                         f"{', '.join(sorted(names)[:5]) or 'none (empty table?)'}")
    return str(names[0])


def extract_sequences(regions: pd.DataFrame, genome: Genome,
                      source: str | Path = "regions") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add an uppercase `sequence` column; drop regions with non-ACGT bases; count each step.

    Parameters
    ----------
    regions : pandas.DataFrame
        A regions table (``REGION_COLUMNS``) of one cell line; 0-based half-open ``start``/``end``.
    genome : Genome
        The reference genome.
    source : str or pathlib.Path
        Where the table came from, for messages.

    Returns
    -------
    sequences : pandas.DataFrame
        The regions kept: ``SEQUENCE_COLUMNS`` then the other columns of ``regions``.
    summary : pandas.DataFrame
        The columns of ``STEP_SUMMARY_COLUMNS``: steps ``regions_in``, ``dropped_with_n``, ``regions_out``.

    Raises
    ------
    InputError
        For a missing column, several cell lines or a contig not in the genome.
    """
    require_columns(regions, REGION_COLUMNS, source)
    cell_line = single_cell_line(regions, source)
    missing = sorted({str(c) for c in regions["chrom"].unique() if genome.resolve(str(c)) is None})
    if missing:
        raise InputError(f"{source}: contig(s) {', '.join(missing[:5])} not in genome {genome.path}")
    seqs = [genome.fetch(str(c), int(s), int(e)).upper()
            for c, s, e in tqdm(regions[["chrom", "start", "end"]].itertuples(index=False),
                                total=len(regions), desc="sequences", unit="region", disable=None, leave=False)]
    out = regions.assign(sequence=seqs)
    clean = ~out["sequence"].str.contains(_NON_ACGT)
    out = out[clean].reset_index(drop=True)
    columns = SEQUENCE_COLUMNS + [c for c in regions.columns if c not in SEQUENCE_COLUMNS]
    summary = pd.DataFrame({"cell_line": cell_line,
                            "step": ["regions_in", "dropped_with_n", "regions_out"],
                            "count": [len(regions), int((~clean).sum()), len(out)]}, columns=STEP_SUMMARY_COLUMNS)
    log.info("%s: %d of %d regions kept (%d with N dropped)", cell_line, len(out), len(regions),
             int((~clean).sum()))
    return out[columns], summary


def read_regions(path: str | Path) -> pd.DataFrame:
    """Read a regions table with ids and contigs as strings and integer coordinates.

    Parameters
    ----------
    path : str or pathlib.Path
        A regions table (TSV).

    Returns
    -------
    pandas.DataFrame
        With at least the columns of ``REGION_COLUMNS``.

    Raises
    ------
    InputError
        For a missing column or a non-integer ``start``, ``end`` or ``label``.
    """
    frame = read_tsv(path, dtype={"region_id": str, "chrom": str, "cell_line": str})
    require_columns(frame, REGION_COLUMNS, path)
    for col in ("start", "end", "label"):
        if not pd.api.types.is_integer_dtype(frame[col]):
            raise InputError(f"{path}: column {col!r} must hold integers")
    return frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--regions", required=True, help="<cell>.regions.tsv from build-regions")
    parser.add_argument("--genome", required=True, help="reference FASTA")
    parser.add_argument("--prefix", default=None,
                        help="stem of the output file names (default: the cell line; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True, help="output directory")


def run(args: argparse.Namespace) -> None:
    regions = read_regions(args.regions)
    with Genome(args.genome) as genome:
        table, summary = extract_sequences(regions, genome, source=args.regions)
    cell_line = single_cell_line(regions, args.regions)
    prefix = args.prefix or cell_line
    write_tsv(table, Path(args.outdir) / f"{prefix}{SEQUENCES_SUFFIX}")
    write_tsv(summary, Path(args.outdir) / f"{prefix}{SEQUENCES_SUMMARY_SUFFIX}")
