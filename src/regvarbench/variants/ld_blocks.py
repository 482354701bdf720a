"""LD blocks for causal-variant retrieval: TSV ``block_id, chrom, pos, ref, alt, is_causal[, cell_line]``.

Each block is one known causal SNP plus its LD partners (r2 > 0.8 within 500 kb); evaluation asks
whether a model ranks the causal one first. A block must therefore hold exactly one causal
variant, checked here (InputError naming the blocks). ``is_causal`` accepts 1/0, true/false,
yes/no. Effects are not measured (NaN) unless optional ``effect_log2`` / ``pvalue`` columns exist.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import InputError, require_columns
from . import assemble, parse_float, read_delimited

_TRUE, _FALSE = {"1", "true", "yes", "t", "y"}, {"0", "false", "no", "f", "n"}


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse an LD-block table; ``cell_line`` fills rows whose own ``cell_line`` is empty.

    Parameters
    ----------
    path : path-like
        The LD-block table (tab- or comma-separated, plain or gzipped).
    cell_line : str or None
        Cell line for rows with an empty ``cell_line`` column.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS`` plus ``block_id``, ``is_causal`` (int64 0/1) and, when
        the table has it, ``cell_line``; rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail``
        filled.
    """
    raw = read_delimited(path)
    require_columns(raw, ["block_id", "chrom", "pos", "ref", "alt", "is_causal"], path)
    text = [str(v).strip().lower() for v in raw["is_causal"]]
    causal = np.array([t in _TRUE for t in text], dtype=bool)
    bad_causal = np.array([t not in _TRUE and t not in _FALSE for t in text], dtype=bool)
    block_ids = pd.Series([str(b).strip() for b in raw["block_id"]], index=raw.index, dtype=object)
    bad_block = (block_ids == "").to_numpy()
    check_one_causal(block_ids[~bad_block & ~bad_causal], causal[~bad_block & ~bad_causal], path)
    effect, bad_effect = (parse_float(raw["effect_log2"]) if "effect_log2" in raw.columns
                          else (None, np.zeros(len(raw), dtype=bool)))
    out = assemble(raw, path, chrom=raw["chrom"], pos_text=raw["pos"], ref=raw["ref"], alt=raw["alt"],
                   effect=effect, pvalue_text=raw["pvalue"] if "pvalue" in raw.columns else None,
                   extra_bad={"is_causal": bad_causal, "block_id": bad_block, "effect_log2": bad_effect})
    out["block_id"] = block_ids.to_numpy()
    out["is_causal"] = causal.astype(np.int64)
    if "cell_line" in raw.columns:
        cells = raw["cell_line"].astype(str).str.strip()
        out["cell_line"] = cells.where(cells != "", cell_line or "").to_numpy()
    return out


def check_one_causal(block_ids: pd.Series, causal: np.ndarray, path) -> None:
    """InputError naming every block (up to 10) that has no causal variant or more than one.

    Parameters
    ----------
    block_ids : pandas.Series of str
        Block of each (readable) row.
    causal : numpy.ndarray of bool, shape (n,)
        Whether each row is its block's causal variant.
    path : path-like
        The source file, for the message.

    Raises
    ------
    InputError
        When a block has no causal variant or more than one.
    """
    counts: dict[str, int] = {}
    for block, is_causal in zip(block_ids, causal):
        counts[block] = counts.get(block, 0) + int(is_causal)
    wrong = sorted((b, n) for b, n in counts.items() if n != 1)
    if wrong:
        listed = ", ".join(f"{b!r} ({n} causal)" for b, n in wrong[:10])
        raise InputError(f"{path}: every LD block needs exactly one causal variant (is_causal); "
                         f"{len(wrong)} block(s) do not: {listed}")
