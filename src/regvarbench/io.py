"""Reading and writing the tidy tables that flow between pipeline steps.

Every table is a TSV with exactly one header line. Input readers tolerate what authors'
files contain in the wild: gzip, a UTF-8 byte-order mark, UTF-16 with a byte-order mark (some
spreadsheet exports), Windows and old-Mac line ends. Anything else (a truncated download, a
binary file, a directory, an unreadable file) is an InputError naming the file, and the line
where there is one, never a decoding traceback (docs/testing.md). Files that another process
reads while this one may rewrite them (checkpoints and their markers) are replaced atomically
with ``atomic_path`` / ``write_text_atomic``.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import os
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pandas as pd

from .errors import InputError  # every reader's error; callers may take it from here


# Columns a reader adds to a source table for its own bookkeeping: never reported as the file's.
MALFORMED_COLUMN = "_malformed"  # per row: why its fields do not fit the header ("" when they do)
INTERNAL_COLUMNS = frozenset({MALFORMED_COLUMN})

_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
# byte-order marks read as such (longest first); no mark means UTF-8
_BOMS = [(codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
# other containers users hand over by mistake: named in the error instead of decoded as text
_NOT_TEXT_MAGIC = [(b"PK\x03\x04", "a zip archive (or an Excel workbook: export it as CSV)"),
                   (b"BZh", "bzip2-compressed (decompress it or recompress it with gzip)"),
                   (b"\xfd7zXZ\x00", "xz-compressed (decompress it or recompress it with gzip)"),
                   (b"\x28\xb5\x2f\xfd", "zstd-compressed (decompress it or recompress it with gzip)"),
                   (b"\x89HDF", "an HDF5 file"), (b"%PDF", "a PDF document")]
_TEXT_EXPECTED = "plain or gzipped UTF-8 or UTF-16 text expected"


def open_text(path: str | os.PathLike) -> _TextReader:
    """Open a plain or gzipped text file for reading: BOM stripped, line ends translated to ``\\n``.

    Parameters
    ----------
    path:
        The file; gzip is recognised by its magic bytes, UTF-16 by its byte-order mark, UTF-8
        (with or without a byte-order mark) otherwise.

    Returns
    -------
    A text stream (``read``, ``readline``, iteration, context manager). Every failure, on opening
    or later while reading, is an InputError naming the file (and the line, where known): missing
    file, directory, permission denied, truncated or corrupt gzip, binary content (NUL bytes,
    bytes that are not valid UTF-8, a zip or other archive).
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{path} is a directory, not a file")
        if not path.exists():
            raise InputError(f"file not found: {path}")
        if not path.is_file():
            raise InputError(f"{path} is not a regular file (a pipe or device?); give a file")
        raw = open(path, "rb")
    except OSError as exc:  # permission denied, a name too long, ...
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        magic = raw.read(len(_GZIP_MAGIC))
        raw.seek(0)
        compressed = magic == _GZIP_MAGIC
        return _TextReader(path, gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw, compressed,
                           closes=raw)
    except BaseException:
        raw.close()
        raise


class _TextReader(io.TextIOBase):
    """Decodes a binary stream incrementally, turning every read or decoding failure into InputError.

    Python's TextIOWrapper would raise UnicodeDecodeError / EOFError from wherever the caller reads;
    here each one becomes an InputError with the file name and the line reached.
    """

    def __init__(self, path: Path, raw, compressed: bool, closes=None) -> None:
        super().__init__()
        self._path, self._raw, self._compressed, self._closes = path, raw, compressed, closes
        self._buffer, self._pos, self._eof = "", 0, False
        self._lines = 0  # line ends decoded before the buffer's end (for error positions)
        first = self._read_raw()
        for bom, encoding in _BOMS:
            if first.startswith(bom):
                break
        else:
            encoding = "utf-8"
            for magic, what in _NOT_TEXT_MAGIC:
                if first.startswith(magic):
                    raise InputError(f"{self._name()}: not a text file: {what}; {_TEXT_EXPECTED}")
        self._encoding = encoding
        self._decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder(encoding)("strict"), translate=True)
        self._decode(first)

    def _name(self) -> str:
        return f"{self._path}" + (" (gzip)" if self._compressed else "")

    def _read_raw(self) -> bytes:
        try:
            return self._raw.read(_CHUNK)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(f"{self._path}: the gzip data is truncated or corrupt after line {self._lines} "
                             f"({exc}); download or compress the file again") from None
        except OSError as exc:
            raise InputError(f"{self._path}: cannot read: {exc.strerror or exc}") from None

    def _decode(self, data: bytes) -> None:
        final = not data
        try:
            text = self._decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            before = exc.object[:exc.start].decode(self._encoding, "replace")
            line = self._lines + before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
            byte = f"byte 0x{exc.object[exc.start]:02x}" if exc.start < len(exc.object) else "the end"
            raise InputError(f"{self._name()} line {line}: not a text file: {byte} is not valid "
                             f"{self._encoding.removesuffix('-sig').upper()} ({exc.reason}); {_TEXT_EXPECTED} "
                             "(text in another encoding, such as Latin-1, must be saved as UTF-8)") from None
        nul = text.find("\x00")
        if nul >= 0:
            line = self._lines + text.count("\n", 0, nul) + 1
            hint = " (UTF-16 without a byte-order mark?)" if self._encoding == "utf-8" else ""
            raise InputError(f"{self._name()} line {line}: not a text file: it holds NUL bytes{hint}; "
                             f"{_TEXT_EXPECTED}")
        self._lines += text.count("\n")
        self._buffer = self._buffer[self._pos:] + text if self._pos < len(self._buffer) else text
        self._pos, self._eof = 0, final

    def _fill(self) -> bool:
        """Decode the next chunk into the buffer; False at the end of the file."""
        if self._eof:
            return False
        self._decode(self._read_raw())
        return True

    @property
    def encoding(self) -> str:
        """The encoding the file is decoded with (``utf-8``, ``utf-8-sig`` or ``utf-16``)."""
        return self._encoding

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        """Read up to ``size`` characters, decoding more of the file as needed.

        Parameters
        ----------
        size : int or None
            Characters to read; None or negative reads to the end of the file.

        Returns
        -------
        str
            The characters read; ``""`` at the end of the file.
        """
        self._checkClosed()
        parts, wanted = [], -1 if size is None or size < 0 else size
        while True:
            available = len(self._buffer) - self._pos
            if 0 <= wanted <= available:
                parts.append(self._buffer[self._pos:self._pos + wanted])
                self._pos += wanted
                break
            parts.append(self._buffer[self._pos:])
            wanted -= available if wanted > 0 else 0
            self._buffer, self._pos = "", 0
            if not self._fill():
                break
        return "".join(parts)

    def readline(self, size: int | None = -1) -> str:
        """Read one line, up to and including its ``\\n``, or at most ``size`` characters of it.

        Parameters
        ----------
        size : int or None
            Most characters to read; None or negative reads the whole line.

        Returns
        -------
        str
            The line (the last one of the file may lack its ``\\n``); ``""`` at the end of the file.
        """
        self._checkClosed()
        parts, wanted = [], -1 if size is None or size < 0 else size
        while True:
            end = self._buffer.find("\n", self._pos)
            stop = len(self._buffer) if end < 0 else end + 1
            if wanted >= 0 and stop - self._pos >= wanted:
                stop = self._pos + wanted
            parts.append(self._buffer[self._pos:stop])
            wanted -= (stop - self._pos) if wanted > 0 else 0
            self._pos = stop
            if end >= 0 and stop == end + 1 or wanted == 0:
                break
            if not self._fill():
                break
        return "".join(parts)

    def __next__(self) -> str:
        end = self._buffer.find("\n", self._pos)
        if end >= 0:  # the common case, kept short: a whole line in the buffer
            line, self._pos = self._buffer[self._pos:end + 1], end + 1
            return line
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __iter__(self) -> Iterator[str]:
        return self

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            if self._closes is not None:
                self._closes.close()
        super().close()


def read_table(path: str | os.PathLike, sep: str = "\t", **kwargs) -> pd.DataFrame:
    """Read a delimited table with pandas; every failure is an InputError naming the file.

    Parameters
    ----------
    path:
        The file (plain or gzipped; see open_text).
    sep:
        Field separator.
    **kwargs:
        Passed to ``pandas.read_csv``. ``index_col=False`` is the default: a row with more fields
        than the header is an error rather than a silent shift of every column.

    Returns
    -------
    The table.
    """
    kwargs.setdefault("index_col", False)
    with open_text(path) as fh, warnings.catch_warnings():
        warnings.filterwarnings("error", message="Length of header or names does not match",
                                category=pd.errors.ParserWarning)
        try:
            return pd.read_csv(fh, sep=sep, **kwargs)
        except InputError:
            raise
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: empty file (no header line)") from None
        except pd.errors.ParserWarning:
            raise InputError(f"{path}: some rows have more fields than the header") from None
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"{path}: cannot be read as a {'tab' if sep == chr(9) else repr(sep)}-separated "
                             f"table: {exc}") from None


def read_tsv(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read one of our TSV tables (header line, tab-separated, plain or gzipped).

    Parameters
    ----------
    path:
        The file.
    **kwargs:
        Passed to ``pandas.read_csv`` (through read_table).

    Returns
    -------
    The table. String columns stay strings (no NA guessing on alleles like "NA"); empty cells
    become NaN. Unreadable content is an InputError naming the file.
    """
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    return read_table(path, sep="\t", **kwargs)


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as TSV with a header; floats keep full precision so reruns are bit-identical.

    A name ending in ``.gz`` is gzip-compressed, with a zero time stamp so that reruns give the same bytes.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : path-like
        Output file; its folder is created when missing.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    compression = {"method": "gzip", "mtime": 0, "compresslevel": 6} if path.suffix == ".gz" else None
    df.to_csv(path, sep="\t", index=False, float_format="%.10g", na_rep="", compression=compression)
    return path


def write_tsv_chunks(df: pd.DataFrame, rows: int, path_of) -> int:
    """Write a table as consecutive TSV files of ``rows`` data rows each, every one with the header.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (n rows); its cells are formatted once, as ``write_tsv`` formats them.
    rows : int
        Data rows per file (>= 1).
    path_of : callable
        ``path_of(k)`` gives the path of file k (0, 1, ...); a name ending in ``.gz`` is
        gzip-compressed with a zero time stamp and no file name, so reruns give the same bytes.

    Returns
    -------
    int
        Files written: ceil(n / rows), and one header-only file for an empty table.
    """
    header = "\t".join(map(str, df.columns)) + "\n"
    body = df.to_csv(sep="\t", index=False, header=False, float_format="%.10g", na_rep="", lineterminator="\n")
    lines = body.splitlines(keepends=True)
    if len(lines) != len(df):
        raise ValueError("a cell holds a line break; the table cannot be split into files by rows")
    starts = range(0, len(lines), rows) if lines else [0]
    for k, start in enumerate(starts):
        path = Path(path_of(k))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = (header + "".join(lines[start:start + rows])).encode()
        path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0) if path.suffix == ".gz" else data)
    return len(starts)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed onto ``path`` when the block succeeds.

    Parameters
    ----------
    path:
        The file to (re)place. A reader sees the old file or the complete new one, never a
        partial write; on an error the temporary file is removed and ``path`` is untouched.

    Returns
    -------
    A context manager yielding the temporary path (same folder, so the rename is atomic).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:  # on disk before the rename: a crash leaves old or new, not empty
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a small text file atomically (see atomic_path).

    Parameters
    ----------
    path:
        The file to (re)place.
    text:
        Its new content (UTF-8).

    Returns
    -------
    ``path`` as a Path.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_object_option(text: str | None, option: str) -> dict[str, Any]:
    """A JSON object given on the command line ({} when absent).

    Parameters
    ----------
    text : str or None
        The option's value.
    option : str
        Its name, for the message (e.g. ``--hyperparameters``).

    Returns
    -------
    dict
        The object; an ``InputError`` names the option for invalid JSON or a non-object.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{option}: not valid JSON ({exc}): {text!r}") from exc
    if not isinstance(value, dict):
        raise InputError(f"{option}: expected a JSON object like '{{\"dropout\": 0.2}}', got {text!r}")
    return value


def require_columns(df: pd.DataFrame, columns, source: str | os.PathLike) -> None:
    """Raise InputError naming the first missing columns and the file they were expected in.

    Parameters
    ----------
    df:
        The table read from ``source``.
    columns:
        Column names it must have.
    source:
        The file, for the message (which lists the file's columns, not internal ones).
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = [c for c in df.columns if c not in INTERNAL_COLUMNS]
        raise InputError(
            f"{source}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(c) for c in found)}"
        )
