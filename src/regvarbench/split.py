"""Train / validation / test split of one cell line's sequences.

Default: whole chromosomes held out (``chrom``), so no test region shares a chromosome, and
thus no overlapping sequence, with a training region. Chromosome names are compared harmonised
(``chr2`` == ``2``, ``chrM`` == ``MT``). The alternative ``random`` split is stratified by label:
within each label, rows are shuffled with the seed and the first round(n * test_fraction) go to
test, the next round(n * valid_fraction) to valid, the rest to train. Every split must be
non-empty; each row lands in exactly one split.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .contracts import SEQUENCE_COLUMNS, SPLIT_SUFFIX, SPLIT_SUMMARY_COLUMNS, SPLIT_SUMMARY_SUFFIX, SPLITS
from .io import InputError, read_tsv, require_columns, write_tsv
from .sequences import single_cell_line

log = logging.getLogger(__name__)



def normalise_chrom(name: str) -> str:
    """Naming-independent contig key: no 'chr' prefix, upper case, mitochondrion as 'M'.

    Parameters
    ----------
    name : str
        Contig name, e.g. ``chr1``, ``1`` or ``chrMT``.

    Returns
    -------
    str
        E.g. ``1``, ``X`` or ``M``.
    """
    bare = str(name).strip()
    bare = bare[3:] if bare.lower().startswith("chr") else bare
    bare = bare.upper()
    return "M" if bare == "MT" else bare


def split_regions(frame: pd.DataFrame, *, method: str = "chrom", valid_chroms: Sequence[str] = ("chr2",),
                  test_chroms: Sequence[str] = ("chr3",), valid_fraction: float = 0.1,
                  test_fraction: float = 0.1, seed: int = 0, source: str | Path = "sequences") -> pd.DataFrame:
    """A copy of `frame` with a `split` column (train, valid or test).

    Parameters
    ----------
    frame : pandas.DataFrame
        A sequences table (at least ``region_id``, ``chrom`` and ``label``).
    method : str
        ``chrom`` (whole contigs to valid and test) or ``random`` (fractions of the rows).
    valid_chroms, test_chroms : sequence of str
        Contigs of the valid and test splits (``method="chrom"``), named either way.
    valid_fraction, test_fraction : float
        Fractions of the rows for valid and test (``method="random"``).
    seed : int
        Random seed (``method="random"``).
    source : str or pathlib.Path
        Where the table came from, for messages.

    Returns
    -------
    pandas.DataFrame
        The ``SEQUENCE_COLUMNS`` present, then ``split``, then the other columns of ``frame``.

    Raises
    ------
    InputError
        For a missing column, a repeated ``region_id``, an unknown method or an empty split.
    """
    require_columns(frame, ["region_id", "chrom", "label"], source)
    duplicated = frame["region_id"][frame["region_id"].duplicated()]
    if len(duplicated):
        raise InputError(f"{source}: region_id {duplicated.iloc[0]!r} occurs more than once")
    if method == "chrom":
        split = _split_by_chrom(frame, valid_chroms, test_chroms, source)
    elif method == "random":
        split = _split_random(frame, valid_fraction, test_fraction, seed)
    else:
        raise InputError(f"--method must be 'chrom' or 'random', got {method!r}")
    out = frame.assign(split=split)
    first = [c for c in SEQUENCE_COLUMNS if c in frame.columns]
    out = out[first + ["split"] + [c for c in frame.columns if c not in first]]
    counts = out["split"].value_counts()
    empty = [s for s in SPLITS if counts.get(s, 0) == 0]
    if empty:
        raise InputError(f"{source}: split(s) {', '.join(empty)} would be empty with method={method!r} "
                         f"(valid chroms {list(valid_chroms)}, test chroms {list(test_chroms)}, "
                         f"fractions {valid_fraction}/{test_fraction}, {len(frame)} rows)")
    return out


def _split_by_chrom(frame: pd.DataFrame, valid_chroms: Sequence[str], test_chroms: Sequence[str],
                    source: str | Path) -> np.ndarray:
    keys = frame["chrom"].map(normalise_chrom)
    present = set(keys)
    valid = {normalise_chrom(c) for c in valid_chroms}
    test = {normalise_chrom(c) for c in test_chroms}
    both = valid & test
    if both:
        raise InputError(f"chromosome(s) {', '.join(sorted(both))} named for both --valid-chroms and --test-chroms")
    for option, names in (("--valid-chroms", valid_chroms), ("--test-chroms", test_chroms)):
        absent = [c for c in names if normalise_chrom(c) not in present]
        if absent:
            raise InputError(f"{option}: chromosome(s) {', '.join(absent)} not found in {source} "
                             f"(it has {', '.join(sorted(frame['chrom'].astype(str).unique())[:10])})")
    return np.where(keys.isin(test), "test", np.where(keys.isin(valid), "valid", "train"))


def _split_random(frame: pd.DataFrame, valid_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    for name, value in (("--valid-fraction", valid_fraction), ("--test-fraction", test_fraction)):
        if not 0 < value < 1:
            raise InputError(f"{name} must be between 0 and 1, got {value}")
    if valid_fraction + test_fraction >= 1:
        raise InputError(f"--valid-fraction + --test-fraction must be < 1, got {valid_fraction + test_fraction}")
    rng = np.random.default_rng(seed)
    split = np.full(len(frame), "train", dtype=object)
    labels = frame["label"].to_numpy()
    for label in sorted(pd.unique(labels)):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_test, n_valid = round(len(rows) * test_fraction), round(len(rows) * valid_fraction)
        split[rows[:n_test]] = "test"
        split[rows[n_test:n_test + n_valid]] = "valid"
    return split


def summarise_split(frame: pd.DataFrame, cell_line: str) -> pd.DataFrame:
    """Rows per (split, label), every combination listed (zero included), splits in fixed order.

    Parameters
    ----------
    frame : pandas.DataFrame
        A split table (``split`` and ``label`` columns).
    cell_line : str
        Its cell line.

    Returns
    -------
    pandas.DataFrame
        The columns of ``SPLIT_SUMMARY_COLUMNS``.
    """
    labels = sorted(pd.unique(frame["label"]))
    grid = pd.MultiIndex.from_product([list(SPLITS), labels], names=["split", "label"])
    counts = frame.groupby(["split", "label"]).size().reindex(grid, fill_value=0)
    out = counts.rename("count").reset_index()
    out.insert(0, "cell_line", cell_line)
    return out[SPLIT_SUMMARY_COLUMNS]


def _chrom_list(values: Sequence[str]) -> list[str]:
    return [c for v in values for c in str(v).split(",") if c.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sequences", required=True, help="<cell>.sequences.tsv from extract-sequences")
    parser.add_argument("--valid-chroms", nargs="+", default=["chr2"],
                        help="chromosomes held out for validation (space or comma separated; default chr2)")
    parser.add_argument("--test-chroms", nargs="+", default=["chr3"],
                        help="chromosomes held out for testing (space or comma separated; default chr3)")
    parser.add_argument("--method", choices=["chrom", "random"], default="chrom",
                        help="hold out whole chromosomes (default) or a label-stratified random split")
    parser.add_argument("--valid-fraction", type=float, default=0.1, help="random method: validation share")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="random method: test share")
    parser.add_argument("--seed", type=int, default=0, help="random method: seed (default 0)")
    parser.add_argument("--prefix", default=None,
                        help="stem of the output file names (default: the cell line; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True, help="output directory")


def run(args: argparse.Namespace) -> None:
    frame = read_tsv(args.sequences, dtype={"region_id": str, "chrom": str, "cell_line": str, "sequence": str})
    require_columns(frame, SEQUENCE_COLUMNS, args.sequences)
    cell_line = single_cell_line(frame, args.sequences)
    out = split_regions(frame, method=args.method, valid_chroms=_chrom_list(args.valid_chroms),
                        test_chroms=_chrom_list(args.test_chroms), valid_fraction=args.valid_fraction,
                        test_fraction=args.test_fraction, seed=args.seed, source=args.sequences)
    outdir = Path(args.outdir)
    prefix = args.prefix or cell_line
    write_tsv(out, outdir / f"{prefix}{SPLIT_SUFFIX}")
    write_tsv(summarise_split(out, cell_line), outdir / f"{prefix}{SPLIT_SUMMARY_SUFFIX}")
    log.info("%s: %s", cell_line, out["split"].value_counts().to_dict())
