"""Published weights files on disk: one lookup for every family that reads them (trednet, sei).

Nothing is downloaded at run time. A source is a local path, a ``file://`` URL, or an
``http(s)://`` URL looked up by its file name in the weights directory (the spec's
``weights_dir``, else ``$REGVARBENCH_WEIGHTS``, else ``~/.cache/regvarbench/weights``). A URL
with a ``#member`` fragment names a file inside a published archive (Sei's
``sei_model.tar.gz#model/sei.pth``): it is looked up at ``<weights dir>/<member>``, where
``tar -xzf ARCHIVE -C <weights dir>`` puts it. A missing file raises
:class:`MissingWeightsError`, naming the model, the URL and the path to fill (a
``ModelUnavailableError``, so ``train --skip-unavailable`` leaves a marker); a file whose md5
differs from the expected one raises ``InputError``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..io import InputError
from .unavailable import ModelUnavailableError

WEIGHTS_ENV = "REGVARBENCH_WEIGHTS"


class MissingWeightsError(ModelUnavailableError):
    """A published weights file is not on disk (nothing is downloaded at run time)."""

    def __init__(self, model: str, source: str, path: Path) -> None:
        self.model, self.source, self.path = model, source, path
        self.detail = f"not found at {path}"
        url = urlparse(source)
        where = (f"extract {url.fragment} of {source.split('#')[0]} there (tar -xzf ARCHIVE -C {_root(path, url.fragment)})"
                 if url.fragment else "download it there")
        InputError.__init__(self, f"model {model}: weights file {source} not found at {path}; {where} "
                                  f"(or set {WEIGHTS_ENV}, or the spec's weights_dir, to the directory holding it)")


def weights_folder(folder: str | os.PathLike | None = None) -> Path:
    """The directory of downloaded weights: ``folder``, else ``$REGVARBENCH_WEIGHTS``, else
    ``~/.cache/regvarbench/weights``.

    Parameters
    ----------
    folder : str or PathLike, optional
        Directory to use; None (or empty) falls back to the environment, then to the cache.

    Returns
    -------
    pathlib.Path
        The directory, ``~`` expanded (it need not exist).
    """
    return Path(folder or os.environ.get(WEIGHTS_ENV) or Path.home() / ".cache" / "regvarbench" / "weights").expanduser()


def resolve_weights(model: str, source: str, md5: str | None = None,
                    weights_dir: str | os.PathLike | None = None) -> Path:
    """The local file for a weights path or URL, its md5 checked when one is known.

    Parameters
    ----------
    model : str
        Model name, for messages.
    source : str
        A local path, a ``file://`` URL, or an ``http(s)://`` URL (looked up by file name, or by
        its ``#member`` path inside an archive, in the weights directory; nothing is downloaded).
    md5 : str, optional
        Expected md5 hex digest (callers pass the published one for a published URL).
    weights_dir : str or PathLike, optional
        Directory of downloaded weights; default ``$REGVARBENCH_WEIGHTS``, else
        ``~/.cache/regvarbench/weights``.

    Returns
    -------
    pathlib.Path
        The existing local file.

    Raises
    ------
    MissingWeightsError
        The file is not on disk (the message names the model, the URL and the path to fill).
    InputError
        The file's md5 differs from the expected one.
    """
    url = urlparse(source)
    if url.scheme == "file":
        path = Path(unquote(url.path))
    elif url.scheme in ("http", "https"):
        folder = weights_folder(weights_dir)
        path = folder / unquote(url.fragment) if url.fragment else folder / Path(unquote(url.path)).name
    else:
        path = Path(source).expanduser()
    if not path.is_file():
        raise MissingWeightsError(model, source, path)
    if md5:
        digest = file_md5(path)
        if digest != md5.lower():
            raise InputError(f"model {model}: {path} has md5 {digest}, expected {md5} for {source} "
                             "(a partial or different download?)")
    return path


def file_md5(path: str | os.PathLike) -> str:
    """md5 hex digest of a file, read in 4 MiB blocks.

    Parameters
    ----------
    path : str or PathLike
        The file to hash.

    Returns
    -------
    str
        Lower-case md5 hex digest (32 characters).
    """
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _root(path: Path, member: str) -> Path:
    """The directory an archive is extracted into so that ``member`` lands at ``path``."""
    return Path(str(path)[: -len(member)] or ".") if str(path).endswith(member) else path.parent
