"""VCF input (plain, gzipped or bgzipped): variants without measured effects, e.g. for LD partners
or for scoring alone.

Read with plain Python (bgzip is multi-member gzip, which ``gzip`` reads), so no pysam is needed.
Only CHROM, POS, REF and ALT are used (``ID`` is kept as ``snp_id``); effect_log2 and pvalue are
empty. Meta lines (``##``) are skipped; the ``#CHROM`` header line is required.

Decisions:
- ``row`` = 0-based index of the data record (meta and header lines and blank lines excluded).
- A multi-allelic record (``ALT`` = ``A,T``) is split into one entry per ALT; the entries share
  the record's ``row`` and carry ``allele_index`` k (1-based position in ALT). prepare-variants
  names them ``<dataset>:<row>:<k>`` (records with a single ALT keep ``<dataset>:<row>``), so
  variant_id stays unique, and its summary counts entries: rows_in = number of (record, ALT)
  entries, with the note ``split_alleles`` = entries beyond the first of each record.
- Symbolic and structural alleles (``.``, ``*``, ``<DEL>``, ``<*>``, breakends with ``[``/``]``)
  are skipped as ``symbolic_allele``; indels and MNVs (with their VCF anchor base) are kept and
  windowed by the convention of alleles.py.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import MALFORMED_COLUMN, InputError, open_text
from . import assemble

SYMBOLIC = "symbolic_allele"
_REQUIRED = ["#CHROM", "POS", "ID", "REF", "ALT"]


def is_symbolic(allele: str) -> bool:
    """True for missing, overlapping-deletion, symbolic (<...>) and breakend alleles.

    Parameters
    ----------
    allele : str
        One ALT allele.

    Returns
    -------
    bool
    """
    return allele in {".", "*", ""} or allele.startswith("<") or "[" in allele or "]" in allele


def read_records(path: str | os.PathLike) -> pd.DataFrame:
    """One row per (record, ALT) entry: chrom, pos, id, ref, alt, row, allele_index, n_alts, _malformed.

    Parameters
    ----------
    path : path-like
        The VCF (plain or gzipped).

    Returns
    -------
    pandas.DataFrame
        Text columns chrom, pos, id, ref, alt, ``_malformed``; int columns row (0-based record),
        allele_index (1-based) and n_alts.

    Raises
    ------
    InputError
        For a missing or wrong ``#CHROM`` header line, or data before it.
    """
    entries = []
    header_seen = False
    with open_text(path) as fh:
        row = 0
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("##"):
                continue
            if line.startswith("#"):
                columns = line.split("\t")
                if [c.upper() for c in columns[:5]] != _REQUIRED:
                    raise InputError(f"{path} line {lineno}: VCF header must start with "
                                     f"{', '.join(_REQUIRED)}; found {', '.join(columns[:5])}")
                header_seen = True
                continue
            if not header_seen:
                raise InputError(f"{path} line {lineno}: data before the '#CHROM' header line (is this a VCF?)")
            fields = line.split("\t")
            if len(fields) < 5:
                entries.append(("", "", "", "", "", row, 1, 1, f"{len(fields)} fields, a VCF record needs at least 5"))
            else:
                chrom, pos, vid, ref, alts = map(str.strip, fields[:5])
                if "," not in alts:  # the common case: one ALT
                    entries.append((chrom, pos, vid, ref, alts, row, 1, 1, ""))
                else:
                    split = alts.split(",")
                    for k, alt in enumerate(split, start=1):
                        entries.append((chrom, pos, vid, ref, alt, row, k, len(split), ""))
            row += 1
    if not header_seen:
        raise InputError(f"{path}: no '#CHROM' header line; not a VCF")
    return pd.DataFrame(entries, columns=["chrom", "pos", "id", "ref", "alt", "row", "allele_index", "n_alts",
                                          MALFORMED_COLUMN])


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a VCF into one entry per ALT allele (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The VCF (plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row and ALT allele: the columns of ``PARSED_COLUMNS`` plus ``allele_index``, ``n_alts`` and
        ``snp_id`` (the ID column); rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_records(path)
    out = assemble(raw, path, chrom=raw["chrom"], pos_text=raw["pos"], ref=raw["ref"], alt=raw["alt"],
                   effect=None, pvalue_text=None)
    alts = raw["alt"].tolist()
    symbolic = np.array([is_symbolic(a) for a in alts], dtype=bool) & (out["skip_reason"] == "").to_numpy()
    out["skip_reason"] = np.where(symbolic, SYMBOLIC, out["skip_reason"])
    out["skip_detail"] = np.where(symbolic, [f"ALT {a!r} (allele {k})" for a, k in zip(alts, raw["allele_index"].tolist())],
                                  out["skip_detail"])
    out["row"] = raw["row"].to_numpy(dtype=np.int64)
    out["allele_index"] = raw["allele_index"].to_numpy(dtype=np.int64)
    out["n_alts"] = raw["n_alts"].to_numpy(dtype=np.int64)
    out["snp_id"] = raw["id"].to_numpy()
    return out
