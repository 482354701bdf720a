"""MPRA of eQTL LD blocks, Vockley et al. 2015 (GEO GSE68331, ``GSE68331_SNP.csv``; HepG2, hg19).

Layout (comma-separated, BOM, CRLF, four empty trailing columns):
``id, chr3, Pos, Allele0, dna0, rna0, Allele1, dna1, rna1, P, effect, MAF (Capture), MAF (POP-STARR)``.
The chromosome column is literally named ``chr3`` (every SNP of the study lies on chr3, written
``chr3``); ``id`` is an rsID or ``.``.

Decisions:
- ref = ``Allele0``, alt = ``Allele1``: ``effect`` equals (rna1/dna1) / (rna0/dna0) to within the
  rounding of the printed counts (checked on all 283 rows), i.e. allele 1 over allele 0, and the
  study's own per-variant predictions use Allele0 as the reference allele.
- effect_log2 = log2(``effect``) (``effect`` is a plain ratio); a ratio <= 0 gives NaN, kept and
  flagged ``nonfinite_effect``. p = ``P``. ``Pos`` is 1-based (VCF-style, as the study used it).

``GSE68331_SNP-fdr.txt`` (tab-separated, trailing tab) is the same 283 SNPs in another view:
``id, majAllele, dnaMaj, rnaMaj, minAllele, dnaMin, rnaMin, P``, sorted by P. majAllele/minAllele
are Allele0/Allele1 with the same counts, P is the same value at full precision (relative
difference < 5e-6), and ``id`` is the rsID or ``chr3at<Pos>`` where the CSV has ``.``. It has no
positions for named SNPs and, despite its name, no FDR column, so it adds nothing and is not parsed.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import NONFINITE_EFFECT, assemble, parse_float, read_delimited

CHROM_COLUMN = "chr3"


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse the Vockley 2015 SNP table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The SNP table (comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS`` (effect = log2 of the ``effect`` ratio) plus ``snp_id``;
        rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_delimited(path, sep=",")
    require_columns(raw, [CHROM_COLUMN, "Pos", "Allele0", "Allele1", "P", "effect"], path)
    ratio, bad_ratio = parse_float(raw["effect"])
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = np.log2(ratio)
    nonfinite = ~np.isfinite(effect)
    effect = np.where(nonfinite, np.nan, effect)
    out = assemble(raw, path, chrom=raw[CHROM_COLUMN], pos_text=raw["Pos"], ref=raw["Allele0"], alt=raw["Allele1"],
                   effect=effect, pvalue_text=raw["P"], extra_bad={"effect": bad_ratio})
    out["flag"] = np.where(nonfinite & (out["skip_reason"] == ""), NONFINITE_EFFECT, "")
    out["snp_id"] = raw["id"].to_numpy() if "id" in raw.columns else ""
    return out
