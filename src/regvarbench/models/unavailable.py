"""Models whose weights cannot be had: one error type, and the marker a skipped model leaves.

Loading code (hf, enformer, borzoi) raises ``ModelUnavailableError`` naming the model and its
source when a checkpoint is neither on disk nor fetchable (hub unreachable, offline, unknown
id). ``regvarbench train --skip-unavailable`` catches it and writes a marker model directory
instead of failing: ``spec.json`` with ``unavailable: true`` and the reason, ``unavailable.tsv``
(one row, published under ``<outdir>/models/``) and a header-only ``enhancer_detection.tsv``.
``regvarbench score`` given such a directory writes header-only score tables, so the run goes on
with the other models and nothing is dropped silently.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import InputError, read_tsv, write_tsv
from . import write_spec

log = logging.getLogger(__name__)

UNAVAILABLE_COLUMNS = ["model", "cell_line", "family", "source", "reason"]


class ModelUnavailableError(InputError):
    """The weights (or tokenizer) of a catalogue model cannot be loaded from its source."""

    def __init__(self, model: str, source: str, detail: str) -> None:
        self.model, self.source, self.detail = model, source, detail
        super().__init__(f"model {model}: cannot load from {source!r} (a local checkpoint directory or a "
                         f"Hugging Face hub id; offline or not cached?): {detail}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_marker(outdir: str | os.PathLike, model: str, cell_line: str, family: str, source: str,
                 reason: str) -> Path:
    """DIR/<model>__<cell>/ standing in for a model that could not be loaded."""
    from ..train import DETECTION_COLUMNS

    target = Path(outdir) / f"{model}__{cell_line}"
    target.mkdir(parents=True, exist_ok=True)
    spec = {"model_name": model, "cell_line": cell_line, "family": family, "source": source,
            "unavailable": True, "reason": reason}
    write_spec(target, spec)
    row = {"model": model, "cell_line": cell_line, "family": family, "source": source, "reason": reason}
    write_tsv(pd.DataFrame([row], columns=UNAVAILABLE_COLUMNS), target / "unavailable.tsv")
    write_tsv(pd.DataFrame(columns=DETECTION_COLUMNS), target / "enhancer_detection.tsv")
    log.warning("skipped model %s for %s: %s (recorded in %s)", model, cell_line, reason, target / "unavailable.tsv")
    return target


def run_skipping_unavailable(body, args, model_name: str | None, family: str) -> None:
    """``body(args)``; with ``args.skip_unavailable``, weights that cannot be loaded leave a marker.

    The marker's cell line is ``args.cell_line`` or the first row's of the ``args.data`` split
    table; without either the error stands.
    """
    try:
        body(args)
    except ModelUnavailableError as exc:
        if not args.skip_unavailable:
            raise
        cell_line = getattr(args, "cell_line", None)
        if not cell_line and getattr(args, "data", None):
            cell_line = str(read_tsv(args.data, nrows=1)["cell_line"].iloc[0])
        if not cell_line:
            raise
        write_marker(args.outdir, model_name or exc.model, cell_line, family, exc.source, str(exc))


def marker_spec(model_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The spec of a marker directory written by ``write_marker``; None for a usable model."""
    path = Path(model_dir)
    spec_path = path / "spec.json" if path.is_dir() else path
    try:
        spec = json.loads(spec_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # load_model reports a missing or broken spec
    return spec if isinstance(spec, dict) and spec.get("unavailable") else None


def skip_scoring(model_dir: str | os.PathLike, window_paths: list[str], outdir: str | os.PathLike) -> bool:
    """For a marker directory: write a header-only score table per windows file and return True."""
    spec = marker_spec(model_dir)
    if spec is None:
        return False
    from ..score import SCORE_COLUMNS, parse_windows_name

    for path in window_paths:
        dataset, chunk = parse_windows_name(path)
        out = write_tsv(pd.DataFrame(columns=SCORE_COLUMNS),
                        Path(outdir) / f"{spec['model_name']}.{dataset}.{chunk}.scores.tsv")
        log.warning("model %s is unavailable (%s): wrote no scores to %s", spec["model_name"],
                    spec.get("reason", "?"), out)
    return True
