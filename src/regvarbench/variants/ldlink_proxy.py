"""LDlink's LDproxy output (``proxy`` download of ldlink.nih.gov / the LDlinkR ``LDproxy`` table).

Tab-separated, columns ``RS_Number, Coord, Alleles, MAF, Distance, Dprime, R2,
Correlated_Alleles`` then annotation columns (``FORGEdb``, ``RegulomeDB``, ``Function``; only
``RS_Number``, ``Coord``, ``Alleles`` and ``R2`` are required). ``Coord`` is ``chr:pos`` on the
build chosen on LDlink (GRCh37 by default, GRCh38 on request). The query SNP comes first (R2 1,
Distance 0) and is the lead. ``Alleles`` is ``(A/G)``: the alleles of the 1000 Genomes site,
which LDproxy does not mark as REF and ALT, so prepare-variants orients them by the genome
(ld_exports.py, which also holds the r2 and window filters). Indel alleles (``-``) are kept and
skipped later as ``allele_not_acgt``; a row whose ``Alleles`` has no allele is ``malformed_row``.
"""

from __future__ import annotations

import os

import pandas as pd

from ..io import InputError, require_columns
from . import read_delimited
from .ld_exports import assemble_locus, split_location

LD_EXPORT = True  # prepare-variants filters the locus and orients the alleles (ld_exports.py)
REQUIRED = ["RS_Number", "Coord", "Alleles", "R2"]


def split_alleles(text: str) -> list[str]:
    """The alleles of an LDproxy ``Alleles`` cell: ``(A/G)`` gives ``['A', 'G']``.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
        Upper-case alleles in the order printed; empty when the cell names none.
    """
    inner = str(text).strip().removeprefix("(").removesuffix(")")
    return [a.strip().upper() for a in inner.split("/") if a.strip()]


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse one LDproxy table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The table (plain or gzipped, tab-separated).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: ``PARSED_COLUMNS`` (``ref``/``alt`` empty until prepare-variants
        orients ``export_alleles``) plus the locus columns of ld_exports.py.
    """
    raw = read_delimited(path, sep="\t")
    require_columns(raw, REQUIRED, path)
    if not len(raw):
        raise InputError(f"{path}: no data rows (an LDproxy table starts with its query SNP)")
    chrom, pos = split_location(raw["Coord"])
    return assemble_locus(raw, path, snp_id=raw["RS_Number"].astype(str).str.strip(), chrom=chrom, pos_text=pos,
                          r2_text=raw["R2"], lead=0, alleles=[split_alleles(a) for a in raw["Alleles"]])
