"""Models whose weights cannot be had: the error type, and skipping a model that raises it.

Loading code (hf, enformer, borzoi) raises ``ModelUnavailableError`` naming the model and its
source when a checkpoint is neither on disk nor fetchable (hub unreachable, offline, unknown
id). ``regvarbench train --skip-unavailable`` catches it and writes a marker model directory
instead of failing (``artifacts.write_marker``): ``spec.json`` with ``unavailable: true`` and the
reason, ``unavailable.tsv`` (one row, published under ``<outdir>/models/``) and a header-only
``enhancer_detection.tsv``. ``regvarbench score`` given such a directory writes header-only score
tables (``score.skip_scoring``), so the run goes on with the other models and nothing is dropped
silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..artifacts import write_marker
from ..io import InputError, read_tsv


class ModelUnavailableError(InputError):
    """The weights (or tokenizer) of a catalogue model cannot be loaded from its source."""

    def __init__(self, model: str, source: str, detail: str) -> None:
        self.model, self.source, self.detail = model, source, detail
        super().__init__(f"model {model}: cannot load from {source!r} (a local checkpoint directory or a "
                         f"Hugging Face hub id; offline or not cached?): {detail}")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or the exception's type name when it has none.

    Parameters
    ----------
    exc : BaseException
        The exception to describe.

    Returns
    -------
    str
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_skipping_unavailable(body: Callable[[], None], skip: bool, outdir: str | os.PathLike,
                             model_name: str | None, family: str, cell_line: str | None = None,
                             data: str | os.PathLike | None = None) -> None:
    """``body()``; with ``skip``, weights that cannot be loaded leave a marker model directory.

    The marker's cell line is ``cell_line`` or the first row's of the ``data`` split table; without
    either the error stands.

    Parameters
    ----------
    body : callable
        The command to run (training, one-shot scoring), without arguments.
    skip : bool
        Leave a marker instead of raising ``ModelUnavailableError`` (``--skip-unavailable``).
    outdir : str or PathLike
        Where the marker's model directory goes.
    model_name : str or None
        Model name of the marker directory; None takes the name carried by the error.
    family : str
        Model family written into the marker's ``spec.json``.
    cell_line : str, optional
        The marker's cell line.
    data : str or PathLike, optional
        A split table whose first row gives the cell line when ``cell_line`` is not given.

    Returns
    -------
    None
    """
    try:
        body()
    except ModelUnavailableError as exc:
        if not skip:
            raise
        if not cell_line and data:
            cell_line = str(read_tsv(data, nrows=1)["cell_line"].iloc[0])
        if not cell_line:
            raise
        write_marker(outdir, model_name or exc.model, cell_line, family, exc.source, str(exc))
