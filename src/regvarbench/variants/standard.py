"""Our own standard variant table: TSV or CSV with ``chrom, pos, ref, alt, effect_log2[, pvalue]``.

The way to bring any assay: convert it to this table once. Positions are 1-based; the separator
is tab when the header has one, comma otherwise; ``pvalue`` may be absent (then NaN).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import assemble, parse_float, read_delimited

REQUIRED = ["chrom", "pos", "ref", "alt", "effect_log2"]


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a standard table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The standard table (tab- or comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS``; rows that cannot be read are kept, with ``skip_reason``
        / ``skip_detail`` filled.
    """
    raw = read_delimited(path)
    require_columns(raw, REQUIRED, path)
    effect, bad_effect = parse_float(raw["effect_log2"])
    out = assemble(raw, path, chrom=raw["chrom"], pos_text=raw["pos"], ref=raw["ref"], alt=raw["alt"],
                   effect=effect, pvalue_text=raw["pvalue"] if "pvalue" in raw.columns else None,
                   extra_bad={"effect_log2": bad_effect})
    out["flag"] = np.where(~np.isfinite(effect) & (out["skip_reason"] == ""), "missing_effect", "")
    return out
