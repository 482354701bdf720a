"""Saturation mutagenesis of coding exons (eExons), Birnbaum et al. 2014 (``Hela_<GENE>.csv``; HeLa, hg19).

Layout (comma-separated, BOM, old-Mac CR line ends): ``Position, Gene, chromosome (hg19),
coordinate (hg19), Reference, Substitution, Liver effect size, Liver P-Value, HeLa effect size,
HeLa P-Value, Context, GERP, ...`` (28 columns of annotation; ``NA`` where absent). Every position
of the tested element appears with each of its three alternative bases; ``Position`` is the
1-based offset in the element, ``coordinate (hg19)`` the genomic 1-based position (they agree:
coordinate - first coordinate + 1 = Position on all rows of the three files).

Decisions: effect_log2 = ``HeLa effect size``, taken as the log2 effect of the substitution over
the reference as the study did (the source does not label its scale); p = ``HeLa P-Value``; ref = ``Reference``, alt = ``Substitution``.
The ``Liver`` columns (the same library measured in liver cells) are not used: the study's HeLa dataset is
the HeLa measurement. The element name (``Gene``) is kept in the extra ``element`` column.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import assemble, parse_float, read_delimited

CHROM, COORD = "chromosome (hg19)", "coordinate (hg19)"
EFFECT, P = "HeLa effect size", "HeLa P-Value"


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a Birnbaum 2014 eExon table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The eExon table (comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS`` plus ``element`` (the ``Gene`` column, or empty); rows
        that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_delimited(path, sep=",")
    require_columns(raw, [CHROM, COORD, "Reference", "Substitution", EFFECT, P], path)
    effect, bad_effect = parse_float(raw[EFFECT])
    out = assemble(raw, path, chrom=raw[CHROM], pos_text=raw[COORD], ref=raw["Reference"], alt=raw["Substitution"],
                   effect=effect, pvalue_text=raw[P], extra_bad={EFFECT: bad_effect})
    out["element"] = raw["Gene"].to_numpy() if "Gene" in raw.columns else ""
    out["flag"] = np.where(~np.isfinite(effect) & (out["skip_reason"] == ""), "missing_effect", "")
    return out
