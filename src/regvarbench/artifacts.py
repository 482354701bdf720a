"""What a model directory is: its name, its spec.json, its fingerprint, and the unavailable marker.

``train`` and ``oneshot`` write one directory per model and cell line, ``DIR/<model>__<cell>/``,
holding ``spec.json`` (what ``regvarbench score`` loads a model from), the weights if the family
has any, and ``enhancer_detection.tsv``. A model whose weights could not be had leaves a marker
directory instead (``spec.json`` with ``unavailable: true``, ``unavailable.tsv`` and a header-only
``enhancer_detection.tsv``; models/unavailable.py). Everything here is plain files: no torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .contracts import DETECTION_COLUMNS, DETECTION_FILE
from .io import InputError, write_tsv

log = logging.getLogger(__name__)

MODEL_DIR_SEPARATOR = "__"  # DIR/<model>__<cell>/
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # letters, digits, "_" and "-"
UNAVAILABLE_COLUMNS = ["model", "cell_line", "family", "source", "reason"]  # unavailable.tsv
SPEC_FILE = "spec.json"
WEIGHTS_FILE = "model.pt"


def check_model_name(name: str) -> str:
    """``name`` if it can name a model (letters, digits, '_' and '-'); InputError naming ``--model-name`` else."""
    if not MODEL_NAME_RE.match(name):
        raise InputError(f"--model-name {name!r}: use letters, digits, '_' and '-' only")
    return name


def model_dir_name(model_name: str, cell_line: str) -> str:
    """``<model>__<cell>``: the folder of one model trained (or set up) for one cell line."""
    return f"{model_name}{MODEL_DIR_SEPARATOR}{cell_line}"


def model_dir(outdir: str | os.PathLike, model_name: str, cell_line: str) -> Path:
    """Where a model goes: DIR/<model>__<cell>/ (a training checkpoint, if any, inside)."""
    return Path(outdir) / model_dir_name(model_name, cell_line)


def read_spec(path: str | os.PathLike) -> tuple[dict[str, Any], Path]:
    """The spec dict and weights path (model.pt beside spec.json; the family decides if it must exist)."""
    path = Path(path)
    spec_path = path / SPEC_FILE if path.is_dir() else path
    if not spec_path.exists():
        raise InputError(f"model spec not found: {spec_path} (expected a model directory with spec.json)")
    try:
        spec = json.loads(spec_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{spec_path}: not valid JSON: {exc}") from exc
    return spec, spec_path.parent / WEIGHTS_FILE


def write_spec(model_dir: str | os.PathLike, spec: dict[str, Any]) -> Path:
    """Write ``model_dir/spec.json`` (sorted keys, so reruns are byte-identical); returns its path."""
    path = Path(model_dir) / SPEC_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    return path


def training_fingerprint(config: Any, spec: dict[str, Any], tables: list[pd.DataFrame],
                phase1: dict[str, Any] | None) -> str:
    """Hash of what decides the weights (settings, spec, phase one, table contents): a checkpoint's identity.

    ``config`` is a dataclass of training settings; ``tables`` split tables (their region and
    sequence columns are hashed).
    """
    digest = hashlib.sha256(json.dumps({"config": dataclasses.asdict(config), "spec": spec, "phase1": phase1},
                                       sort_keys=True, default=str).encode())
    for t in tables:
        cols = ["chrom", "start", "end", "label", "sequence", "split"]
        digest.update(pd.util.hash_pandas_object(t[cols].astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def write_marker(outdir: str | os.PathLike, model: str, cell_line: str, family: str, source: str,
                 reason: str) -> Path:
    """DIR/<model>__<cell>/ standing in for a model that could not be loaded."""
    target = model_dir(outdir, model, cell_line)
    target.mkdir(parents=True, exist_ok=True)
    spec = {"model_name": model, "cell_line": cell_line, "family": family, "source": source,
            "unavailable": True, "reason": reason}
    write_spec(target, spec)
    row = {"model": model, "cell_line": cell_line, "family": family, "source": source, "reason": reason}
    write_tsv(pd.DataFrame([row], columns=UNAVAILABLE_COLUMNS), target / "unavailable.tsv")
    write_tsv(pd.DataFrame(columns=DETECTION_COLUMNS), target / DETECTION_FILE)
    log.warning("skipped model %s for %s: %s (recorded in %s)", model, cell_line, reason, target / "unavailable.tsv")
    return target


def marker_spec(model_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The spec of a marker directory written by ``write_marker``; None for a usable model."""
    path = Path(model_dir)
    spec_path = path / SPEC_FILE if path.is_dir() else path
    try:
        spec = json.loads(spec_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # load_model reports a missing or broken spec
    return spec if isinstance(spec, dict) and spec.get("unavailable") else None
