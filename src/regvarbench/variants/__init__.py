"""Variant datasets: one parser module per source format, shared parsing helpers.

Every parser exposes ``parse(path, cell_line=None) -> pandas.DataFrame`` with the columns of
``PARSED_COLUMNS`` (plus format-specific extras). Rows a parser cannot read are kept, with
``skip_reason`` / ``skip_detail`` filled, so that ``prepare-variants`` can account for every row.
``row`` is the 0-based data row of the source (header excluded, blank lines not counted, as
pandas counts them), which is how external predictions refer back to a source row.
"""

from __future__ import annotations

import csv
import importlib
import os
from types import ModuleType

import numpy as np
import pandas as pd

from ..io import INTERNAL_COLUMNS, MALFORMED_COLUMN, InputError, open_text

# format name -> parser module (imported on demand)
FORMATS = {
    "sure_raqtl": "regvarbench.variants.sure_raqtl",
    "kircher2019_satmut": "regvarbench.variants.kircher2019_satmut",
    "standard": "regvarbench.variants.standard",
    "ld_blocks": "regvarbench.variants.ld_blocks",
    "vockley2015_mpra": "regvarbench.variants.vockley2015_mpra",
    "ulirsch2016_mpra": "regvarbench.variants.ulirsch2016_mpra",
    "birnbaum2014_eexon": "regvarbench.variants.birnbaum2014_eexon",
    "weiss2021_lentimpra": "regvarbench.variants.weiss2021_lentimpra",
    "vcf": "regvarbench.variants.vcf",
    "ensembl_ld": "regvarbench.variants.ensembl_ld",
    "ldlink_proxy": "regvarbench.variants.ldlink_proxy",
}

PARSED_COLUMNS = ["chrom", "pos", "ref", "alt", "effect_log2", "pvalue", "row", "skip_reason", "skip_detail", "flag"]
MALFORMED = "malformed_row"
MAX_POSITION = 2 ** 53  # beyond it a float no longer holds every integer; no genome is that long
NONFINITE_EFFECT = "nonfinite_effect"
_MISSING = {"", "na", "nan", "null", "none", "."}


def get_parser(fmt: str) -> ModuleType:
    """The parser module of a format name; InputError listing the known formats otherwise.

    Parameters
    ----------
    fmt : str
        A format name (a key of ``FORMATS``).

    Returns
    -------
    types.ModuleType
        The parser module, imported on demand; it exposes ``parse(path, cell_line=None)``.

    Raises
    ------
    InputError
        For a format name not in ``FORMATS``.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown variant format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}")
    return importlib.import_module(FORMATS[fmt])


def read_delimited(path: str | os.PathLike, sep: str | None = None) -> pd.DataFrame:
    """Read a delimited source file as strings, never dropping a data row.

    ``sep=None`` picks tab when the header has one, comma otherwise. Empty trailing header cells
    (spreadsheet exports) are dropped with their (empty) fields. A row whose field count does not
    fit the header gets a ``_malformed`` text; all other rows have ``_malformed == ""``.

    Parameters
    ----------
    path : path-like
        The source file (plain or gzipped, ``open_text``).
    sep : str or None
        Field separator; None picks it from the header line.

    Returns
    -------
    pandas.DataFrame
        One column of stripped strings (dtype object) per header cell, then ``_malformed``
        (``MALFORMED_COLUMN``); one row per non-blank data line.

    Raises
    ------
    InputError
        For an empty file, empty, duplicated or reserved column names, or unreadable CSV (an unclosed quote).
    """
    with open_text(path) as fh:
        lines = (line for line in fh if line.strip())  # pandas' skip_blank_lines: rows stay comparable
        header_line = next(lines, None)
        if header_line is None:
            raise InputError(f"{path}: empty file (no header line)")
        if sep is None:
            sep = "\t" if "\t" in header_line else ","
        quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
        reader = csv.reader(_chain([header_line], lines), delimiter=sep, quoting=quoting)
        try:
            header = [h.strip() for h in next(reader)]
            while header and header[-1] == "":
                header.pop()
            if len(set(header)) != len(header) or "" in header:
                raise InputError(f"{path}: header has empty or duplicated column names: {header}")
            reserved = sorted(INTERNAL_COLUMNS & set(header))
            if reserved:
                raise InputError(f"{path}: reserved column name {reserved[0]!r} in the header; rename the column")
            n = len(header)
            records, malformed = [], []
            for fields in reader:
                problem = ""
                if len(fields) > n and any(f.strip() for f in fields[n:]):
                    problem = f"{len(fields)} fields, header has {n}"
                elif len(fields) < n:
                    problem = f"{len(fields)} fields, header has {n}"
                fields = (fields + [""] * n)[:n]
                records.append([f.strip() for f in fields])
                malformed.append(problem)
        except csv.Error as exc:  # e.g. an unclosed quote swallowing the rest of the file
            raise InputError(f"{path} line {reader.line_num}: {exc} (an unclosed quote?)") from None
    cells = list(zip(*records)) if records else [()] * len(header)
    return pd.DataFrame(dict(zip(header, cells)) | {MALFORMED_COLUMN: malformed}, columns=[*header, MALFORMED_COLUMN],
                        dtype=object)


def _chain(first, rest):
    yield from first
    yield from rest


def _cells(values) -> list:
    """The cells of a column as a list (iterating a pandas string array cell by cell is far slower)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def parse_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats from text; missing markers (empty, NA, NaN) give NaN, unreadable text sets ``bad``.

    Parameters
    ----------
    values : pandas.Series
        Cell texts.

    Returns
    -------
    values : numpy.ndarray of float, shape (n,)
        The floats, NaN where missing or unreadable.
    bad : numpy.ndarray of bool, shape (n,)
        True where a non-missing text could not be read as a float.
    """
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(_cells(values)):
        v = str(v).strip()
        if v.lower() in _MISSING:
            continue
        try:
            out[i] = float(v)
        except ValueError:
            bad[i] = True
    return out, bad


def parse_position(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Integer positions from text (``12.0`` accepted); anything else is ``bad`` and <NA>.

    Parameters
    ----------
    values:
        Position texts.

    Returns
    -------
    The positions (Int64, <NA> where bad) and the mask of unreadable ones: not a whole number,
    not finite, or beyond ``MAX_POSITION`` in size.
    """
    floats, bad = parse_float(values)
    with np.errstate(invalid="ignore"):
        bad = bad | ~(np.abs(floats) < MAX_POSITION) | (np.mod(np.nan_to_num(floats), 1) != 0)
    pos = pd.arrays.IntegerArray(np.where(bad, 0, floats).astype(np.int64), bad.copy())
    return pd.Series(pos, index=values.index), bad


def assemble(raw: pd.DataFrame, path, *, chrom: pd.Series, pos_text: pd.Series, ref: pd.Series, alt: pd.Series,
             effect: np.ndarray | None, pvalue_text: pd.Series | None, extra_bad: dict | None = None,
             alleles_optional: bool = False) -> pd.DataFrame:
    """Build the standard parsed frame, marking unreadable fields as ``malformed_row``.

    ``effect`` is already numeric (NaN allowed); ``extra_bad`` maps a field name to a boolean mask
    of rows where the parser found that field unreadable. ``alleles_optional``: an empty ref or alt
    is not unreadable (LD exports, whose alleles prepare-variants fills in: ld_exports.py).

    Parameters
    ----------
    raw : pandas.DataFrame
        The source rows as read (``read_delimited``), with the ``_malformed`` column.
    path : path-like
        The source file.
    chrom, pos_text, ref, alt : pandas.Series
        Contig, position text, REF and ALT of each row (``len(raw)`` entries).
    effect : numpy.ndarray of float, shape (n,), or None
        log2 effect per row; None gives NaN throughout.
    pvalue_text : pandas.Series or None
        P-value texts (values outside [0, 1] are unreadable); None gives NaN throughout.
    extra_bad : dict of str to numpy.ndarray of bool, shape (n,), or None
        Further unreadable fields, by name.
    alleles_optional : bool
        Whether an empty REF or ALT is allowed.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``raw``, with the columns of ``PARSED_COLUMNS``: alleles upper-cased,
        ``pos`` Int64, ``row`` 0..n-1, ``flag`` empty.
    """
    n = len(raw)
    pos, bad_pos = parse_position(pos_text)
    if pvalue_text is None:
        pvalue, bad_p = np.full(n, np.nan), np.zeros(n, dtype=bool)
    else:
        pvalue, bad_p = parse_float(pvalue_text)
        bad_p = bad_p | (pvalue < 0) | (pvalue > 1)
    effect = np.full(n, np.nan) if effect is None else np.asarray(effect, dtype=float)
    # plain Python over the cells: as fast as pandas' string methods on big files, far faster on small ones
    chrom_text = [str(c).strip() for c in _cells(chrom)]
    ref_text = [str(r).strip().upper() for r in _cells(ref)]
    alt_text = [str(a).strip().upper() for a in _cells(alt)]
    problems: dict[str, np.ndarray] = {
        "chrom": np.array([c == "" for c in chrom_text], dtype=bool),
        "pos": bad_pos,
        "ref": np.array([r == "" and not alleles_optional for r in ref_text], dtype=bool),
        "alt": np.array([a == "" and not alleles_optional for a in alt_text], dtype=bool),
        "pvalue": bad_p,
        **(extra_bad or {}),
    }
    named = [(f"unreadable {name}", np.asarray(mask, dtype=bool)) for name, mask in problems.items()]
    detail = []
    for i, malformed in enumerate(raw[MALFORMED_COLUMN].tolist()):
        parts = [malformed] if malformed else []
        parts += [text for text, mask in named if mask[i]]
        detail.append("; ".join(parts))
    return pd.DataFrame({
        "chrom": chrom_text,
        "pos": pos.array,
        "ref": ref_text,
        "alt": alt_text,
        "effect_log2": effect,
        "pvalue": pvalue,
        "row": np.arange(n, dtype=np.int64),
        "skip_reason": [MALFORMED if d else "" for d in detail],
        "skip_detail": detail,
        "flag": np.full(n, "", dtype=object),  # set by parsers that compute effects
    })
