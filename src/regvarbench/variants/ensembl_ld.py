"""Ensembl's LD table as exported from a variant's "Linkage disequilibrium" page: one file per lead SNP.

Tab-separated, columns ``Variation ID, Location, Distance from <lead>, Consequence Type, r2, D',
Phenotypes, GWAS_Trait_Category, Source`` (only ``Variation ID``, ``Location`` and ``r2`` are
required). ``Location`` is ``chrom:start-end`` on the assembly of the Ensembl site it came from
(GRCh38 at www.ensembl.org, GRCh37 at grch37.ensembl.org); ``pos`` = start. The lead SNP is the
row whose ID the ``Distance from <lead>`` header names, else the first data row; Ensembl prints
its r2 and D' as ``undefined`` (taken as r2 = 1). No alleles are given: prepare-variants takes
them from a VCF of the region (``--ld-vcf``), else skips the row (ld_exports.py, which also
holds the r2 and window filters). A partner row whose r2 cannot be read is ``malformed_row``.
"""

from __future__ import annotations

import os

import pandas as pd

from ..io import InputError, require_columns
from . import read_delimited
from .ld_exports import assemble_locus, split_location

LD_EXPORT = True  # prepare-variants filters the locus and fills in alleles (ld_exports.py)
REQUIRED = ["Variation ID", "Location", "r2"]
DISTANCE_PREFIX = "Distance from "
# the full header of an export, in Ensembl's order ("{lead}": the lead SNP's ID); simulate writes it
EXPORT_COLUMNS = ["Variation ID", "Location", DISTANCE_PREFIX + "{lead}", "Consequence Type", "r2", "D'", "Phenotypes",
                  "GWAS_Trait_Category", "Source"]


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse one Ensembl LD export (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The export (plain or gzipped, tab-separated).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: ``PARSED_COLUMNS`` (``ref``/``alt`` empty) plus the locus columns
        of ld_exports.py.
    """
    raw = read_delimited(path, sep="\t")
    require_columns(raw, REQUIRED, path)
    ids = raw["Variation ID"].astype(str).str.strip()
    if not len(raw):
        raise InputError(f"{path}: no data rows (an Ensembl LD export starts with its lead SNP)")
    named = [c[len(DISTANCE_PREFIX):].strip() for c in raw.columns if c.startswith(DISTANCE_PREFIX)]
    hits = [i for i, v in enumerate(ids) if named and v == named[0]]
    lead = hits[0] if hits else 0
    chrom, start = split_location(raw["Location"])
    return assemble_locus(raw, path, snp_id=ids, chrom=chrom, pos_text=start, r2_text=raw["r2"], lead=lead,
                          alleles=None)
