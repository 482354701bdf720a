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
    """``name`` if it can name a model (letters, digits, '_' and '-'); InputError naming ``--model-name`` else.

    Parameters
    ----------
    name : str
        The proposed model name.

    Returns
    -------
    str
        ``name``, unchanged.

    Raises
    ------
    InputError
        If ``name`` does not match ``MODEL_NAME_RE``.
    """
    if not MODEL_NAME_RE.match(name):
        raise InputError(f"--model-name {name!r}: use letters, digits, '_' and '-' only")
    return name


def model_dir_name(model_name: str, cell_line: str) -> str:
    """``<model>__<cell>``: the folder of one model trained (or set up) for one cell line.

    Parameters
    ----------
    model_name : str
        The model's name.
    cell_line : str
        The cell line it was trained (or set up) for.

    Returns
    -------
    str
        The folder name, ``<model_name>__<cell_line>``.
    """
    return f"{model_name}{MODEL_DIR_SEPARATOR}{cell_line}"


def model_dir(outdir: str | os.PathLike, model_name: str, cell_line: str) -> Path:
    """Where a model goes: DIR/<model>__<cell>/ (a training checkpoint, if any, inside).

    Parameters
    ----------
    outdir : str or os.PathLike
        The output directory ``DIR``.
    model_name : str
        The model's name.
    cell_line : str
        The cell line.

    Returns
    -------
    pathlib.Path
        ``outdir/<model_name>__<cell_line>`` (not created).
    """
    return Path(outdir) / model_dir_name(model_name, cell_line)


def read_spec(path: str | os.PathLike) -> tuple[dict[str, Any], Path]:
    """The spec dict and weights path (model.pt beside spec.json; the family decides if it must exist).

    Parameters
    ----------
    path : str or os.PathLike
        A model directory (holding ``spec.json``) or the spec file itself.

    Returns
    -------
    spec : dict of str -> Any
        The parsed ``spec.json``.
    weights : pathlib.Path
        ``model.pt`` in the spec's directory (it may not exist).

    Raises
    ------
    InputError
        If the spec file is missing or not valid JSON.
    """
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
    """Write ``model_dir/spec.json`` (sorted keys, so reruns are byte-identical); returns its path.

    Parameters
    ----------
    model_dir : str or os.PathLike
        The model directory; created if missing.
    spec : dict of str -> Any
        JSON-serialisable spec.

    Returns
    -------
    pathlib.Path
        The path of the written ``spec.json``.
    """
    path = Path(model_dir) / SPEC_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    return path


def training_fingerprint(config: Any, spec: dict[str, Any], tables: list[pd.DataFrame],
                phase1: dict[str, Any] | None) -> str:
    """Hash of what decides the weights (settings, spec, phase one, table contents): a checkpoint's identity.

    ``config`` is a dataclass of training settings; ``tables`` split tables (their region and
    sequence columns are hashed).

    Parameters
    ----------
    config : dataclass instance
        Training settings (serialised with ``dataclasses.asdict``).
    spec : dict of str -> Any
        The model spec.
    tables : list of pandas.DataFrame
        Split tables with at least the columns chrom, start, end, label, sequence and split.
    phase1 : dict of str -> Any or None
        What a first training phase decided, if there was one.

    Returns
    -------
    str
        The SHA-256 hex digest.
    """
    digest = hashlib.sha256(json.dumps({"config": dataclasses.asdict(config), "spec": spec, "phase1": phase1},
                                       sort_keys=True, default=str).encode())
    for t in tables:
        cols = ["chrom", "start", "end", "label", "sequence", "split"]
        digest.update(pd.util.hash_pandas_object(t[cols].astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def write_marker(outdir: str | os.PathLike, model: str, cell_line: str, family: str, source: str,
                 reason: str) -> Path:
    """DIR/<model>__<cell>/ standing in for a model that could not be loaded.

    Writes ``spec.json`` (with ``unavailable: true``), ``unavailable.tsv`` (``UNAVAILABLE_COLUMNS``,
    one row) and a header-only ``enhancer_detection.tsv``, and logs a warning.

    Parameters
    ----------
    outdir : str or os.PathLike
        The output directory ``DIR``.
    model, cell_line : str
        The model's name and cell line.
    family : str
        The model family.
    source : str
        Where the weights were to come from.
    reason : str
        Why the model could not be loaded.

    Returns
    -------
    pathlib.Path
        The marker directory.
    """
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
    """The spec of a marker directory written by ``write_marker``; None for a usable model.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A model directory or its ``spec.json``.

    Returns
    -------
    dict of str -> Any or None
        The spec when it says ``unavailable``; None otherwise, and when the spec is missing or
        not valid JSON.
    """
    path = Path(model_dir)
    spec_path = path / SPEC_FILE if path.is_dir() else path
    try:
        spec = json.loads(spec_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # load_model reports a missing or broken spec
    return spec if isinstance(spec, dict) and spec.get("unavailable") else None
