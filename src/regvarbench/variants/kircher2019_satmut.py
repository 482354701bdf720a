"""Saturation mutagenesis MPRA tables of Kircher et al. 2019 (e.g. ``SORT1.csv``).

Layout (comma-separated, **hg38**, 1-based positions, chromosome without ``chr``):
``Chromosome, Position, Ref, Alt, Tags, DNA, RNA, VariantExpressionEffect (log2), P-value, Element``.
Every position of the element appears with each of its three alternative bases. The effect is
already log2 (alt over ref); p-values are rounded to five decimals, so many are exactly 0.
Position check: rs12740374 (the SORT1 causal SNP, hg38 chr1:109274968 G>T) is the row
``1,109274968,G,T`` -- reference base G, so positions are 1-based.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import assemble, parse_float, read_delimited

EFFECT_COLUMN = "VariantExpressionEffect (log2)"
P_COLUMN = "P-value"


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a Kircher 2019 saturation mutagenesis table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The saturation mutagenesis table (comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS`` plus ``element`` (the ``Element`` column, or empty);
        rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_delimited(path, sep=",")
    require_columns(raw, ["Chromosome", "Position", "Ref", "Alt", EFFECT_COLUMN, P_COLUMN], path)
    effect, bad_effect = parse_float(raw[EFFECT_COLUMN])
    out = assemble(raw, path, chrom=raw["Chromosome"], pos_text=raw["Position"], ref=raw["Ref"], alt=raw["Alt"],
                   effect=effect, pvalue_text=raw[P_COLUMN], extra_bad={EFFECT_COLUMN: bad_effect})
    out["element"] = raw["Element"].to_numpy() if "Element" in raw.columns else ""
    out["flag"] = np.where(~np.isfinite(effect) & (out["skip_reason"] == ""), "missing_effect", "")
    return out
