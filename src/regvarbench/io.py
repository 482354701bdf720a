"""Reading and writing the tidy tables that flow between pipeline steps.

Every table is a TSV with exactly one header line. Input readers tolerate what authors'
files contain in the wild: gzip, a UTF-8 byte-order mark, Windows line ends.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pandas as pd


class InputError(ValueError):
    """A user-supplied file or value is unusable; the message says which and why."""


def open_text(path: str | os.PathLike):
    """Open a plain or gzipped text file for reading, stripping a BOM and CRLF line ends."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None)


def read_tsv(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read one of our TSV tables (header line, tab-separated, plain or gzipped).

    String columns stay strings (no NA guessing on alleles like "NA"); empty cells become NaN.
    """
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    with open_text(path) as fh:
        return pd.read_csv(fh, sep="\t", **kwargs)


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as TSV with a header; floats keep full precision so reruns are bit-identical."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, float_format="%.10g", na_rep="")
    return path


def require_columns(df: pd.DataFrame, columns, source: str | os.PathLike) -> None:
    """Raise InputError naming the first missing columns and the file they were expected in."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(c) for c in df.columns)}"
        )
