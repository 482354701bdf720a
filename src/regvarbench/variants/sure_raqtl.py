"""SuRE raQTL tables (van Arensbergen et al. 2019, ``<cell>.sign.id.LP190708.txt.gz``).

Layout (tab-separated, hg19): ``chr, SNP_ID, SNPabspos, ref.element.count, alt.element.count,
<cell>.ref.mean, <cell>.alt.mean, <cell>.wilcox.p.value, <cell>.wilcox.p.value.random, ref, alt``
with ``<cell>`` = ``hepg2`` or ``k562`` (the full SuRE SNP table carries both).

Decisions:
- chrom is written ``chr5`` in the source and kept as is (prepare harmonises it to the genome).
- ``SNPabspos`` is taken as **1-based**: the SuRE readme calls it "genomic position of SNP (hg19)",
  the SNPs come from VCF-style calls, others join it unchanged with 1-based ``chr:pos:ref:alt`` IDs
  (GTEx) and tabix-index it with start = end = SNPabspos, and the comparative study's own
  per-variant predictions use it unchanged as ``pos``. prepare's reference-allele check against
  an hg19 genome would reveal an off-by-one as a mismatch rate far above 5 %.
- effect_log2 = log2(<cell>.alt.mean / <cell>.ref.mean); p = <cell>.wilcox.p.value. A zero or
  negative mean (120 rows in HepG2, 6 in K562 have a zero mean) gives NaN, kept and flagged
  ``nonfinite_effect``.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from ..io import InputError, require_columns
from . import NONFINITE_EFFECT, assemble, parse_float, read_delimited

_PREFIX = re.compile(r"^(?P<cell>[^.]+)\.ref\.mean$")


def detect_cell_prefix(columns, path, cell_line: str | None = None) -> str:
    """The ``<cell>`` prefix of the mean/p-value columns; ``cell_line`` chooses when several exist.

    Parameters
    ----------
    columns : iterable of str
        The table's column names.
    path : path-like
        The source file, for the message.
    cell_line : str or None
        Cell line to pick when the header has several prefixes.

    Returns
    -------
    str
        The prefix, e.g. ``hepg2``.

    Raises
    ------
    InputError
        When no prefix is found, or several and none matches ``cell_line``.
    """
    prefixes = [m["cell"] for c in columns if (m := _PREFIX.match(c))]
    if len(prefixes) == 1:
        return prefixes[0]
    if not prefixes:
        raise InputError(f"{path}: no '<cell>.ref.mean' column (expected e.g. 'hepg2.ref.mean')")
    wanted = (cell_line or "").lower()
    if wanted in prefixes:
        return wanted
    raise InputError(f"{path}: several cell lines in the header ({', '.join(prefixes)}); "
                     f"cell line {cell_line!r} matches none of them")


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a SuRE raQTL table; ``cell_line`` only picks the columns in a multi-cell table.

    Parameters
    ----------
    path : path-like
        The raQTL table (tab-separated, plain or gzipped).
    cell_line : str or None
        Cell line whose columns to read when the table has several.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS`` (effect = log2 of alt over ref mean) plus ``snp_id``;
        rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_delimited(path, sep="\t")
    cell = detect_cell_prefix(raw.columns, path, cell_line)
    ref_mean_col, alt_mean_col, p_col = f"{cell}.ref.mean", f"{cell}.alt.mean", f"{cell}.wilcox.p.value"
    require_columns(raw, ["chr", "SNPabspos", "ref", "alt", ref_mean_col, alt_mean_col, p_col], path)
    ref_mean, bad_ref = parse_float(raw[ref_mean_col])
    alt_mean, bad_alt = parse_float(raw[alt_mean_col])
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = np.log2(alt_mean / ref_mean)
    nonfinite = ~((ref_mean > 0) & (alt_mean > 0) & np.isfinite(effect))
    effect = np.where(nonfinite, np.nan, effect)
    out = assemble(raw, path, chrom=raw["chr"], pos_text=raw["SNPabspos"], ref=raw["ref"], alt=raw["alt"],
                   effect=effect, pvalue_text=raw[p_col],
                   extra_bad={ref_mean_col: bad_ref, alt_mean_col: bad_alt})
    out["flag"] = np.where(nonfinite & (out["skip_reason"] == ""), NONFINITE_EFFECT, "")
    out["snp_id"] = raw["SNP_ID"].to_numpy() if "SNP_ID" in raw.columns else ""
    return out
