"""The model catalogue (assets/models.csv): its rows, and what one row means for one cell line.

``regvarbench train --catalogue CSV --model-name NAME`` (the pipeline's TRAIN task) and
``regvarbench oneshot --catalogue CSV --model-name NAME`` (its ONESHOT task) let the row choose the
family, source and options instead of per-family flags chosen in Nextflow (``command_options``).

The ``source`` cell is one of:

- a plain location: ``arch:<name>`` (cnn), a hub id or checkpoint directory (hf, enformer,
  borzoi), the project's URL (trednet, sei: their published weights, the adapter's defaults);
- ``key=value;key=value``: spec keys of the family's adapter, e.g. ``source=...;tokenizer=...``
  (hf) or ``phase_one=...;phase_two=...`` (trednet: local paths, ``file://`` or ``https://`` URLs).

Every value may hold ``{cell_line}`` (the job's cell line) and ``{biosample}`` (the study's
biosample id of that cell line, ``STUDY_BIOSAMPLES``: its fine-tuned checkpoints are named
``tanoManzo/<model>_ft_<biosample>_1kbpHG19_DHSs_H3K27AC``).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .io import InputError, open_text, read_tsv

REQUIRED_COLUMNS = ("model", "family", "source", "trainable")
DEFAULT_MAX_TOKENS = 512  # tokens per input of an hf model whose row leaves max_tokens empty (train, oneshot)
# the study's biosample ids (tanoManzo/AI4Genomic, code/code_base/model_training_binary_classification.ipynb:
# "'BioS2'=Hela, 'BioS45'=neural progenitor cell, 'BioS73'=hepg2, 'BioS74'=k562")
STUDY_BIOSAMPLES = {"HeLa": "BioS2", "NPC": "BioS45", "HepG2": "BioS73", "K562": "BioS74"}
_KEYS_RE = re.compile(r"^[a-z_][a-z0-9_]*=[^;]*(;[a-z_][a-z0-9_]*=[^;]*)*;?$")
_RESERVED_KEYS = {"model_name", "family", "cell_line", "trainable"}
# the command-line options of train and oneshot that a catalogue row decides under --catalogue
# (command_options; train adds options of its own: train.CATALOGUE_OPTIONS)
ROW_OPTIONS = ("family", "architecture", "source", "tokenizer", "max_tokens", "trust_remote_code", "revision")


def read_catalogue(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """The catalogue's rows by model name, every cell a stripped string.

    Parameters
    ----------
    path : str or PathLike
        The catalogue CSV (header line; quoted cells may hold commas).

    Returns
    -------
    dict[str, dict[str, str]]
        model -> {column: value}, in file order.
    """
    try:
        with open_text(path) as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model catalogue ({exc.strerror})") from exc
    if not rows:
        raise InputError(f"{path}: the model catalogue has no rows")
    missing = [c for c in REQUIRED_COLUMNS if c not in rows[0]]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(rows[0])})")
    out: dict[str, dict[str, str]] = {}
    for i, row in enumerate(rows, start=2):
        clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if clean["model"] in out:
            raise InputError(f"{path}, line {i}: model {clean['model']!r} appears twice")
        out[clean["model"]] = clean
    return out


def catalogue_row(path: str | os.PathLike, model: str) -> dict[str, str]:
    """The row of ``model``; an InputError listing the catalogue's models when it has none.

    Parameters
    ----------
    path : path-like
        The catalogue (``read_catalogue``).
    model : str
        Model name.

    Returns
    -------
    dict of str to str
        The row's cells by column.

    Raises
    ------
    InputError
        When the catalogue has no such model.
    """
    rows = read_catalogue(path)
    if model not in rows:
        raise InputError(f"{path}: no model {model!r} in the catalogue (has: {', '.join(rows)})")
    return rows[model]


def fill_placeholders(text: str, cell_line: str | None, where: str) -> str:
    """``text`` with ``{cell_line}`` and ``{biosample}`` replaced for ``cell_line``.

    Parameters
    ----------
    text : str
        A catalogue cell.
    cell_line : str or None
        The cell line.
    where : str
        The cell's place, for messages.

    Returns
    -------
    str

    Raises
    ------
    InputError
        For ``{biosample}`` with a cell line the study has no biosample for, or ``{cell_line}`` without one.
    """
    if "{biosample}" in text:
        if cell_line not in STUDY_BIOSAMPLES:
            raise InputError(f"{where}: '{{biosample}}' names the study's biosample of a cell line; the study has "
                             f"none for {cell_line!r} (it has {', '.join(f'{c}={b}' for c, b in STUDY_BIOSAMPLES.items())})")
        text = text.replace("{biosample}", STUDY_BIOSAMPLES[cell_line])
    if "{cell_line}" in text:
        if not cell_line:
            raise InputError(f"{where}: '{{cell_line}}' needs a cell line (--cell-line or --data)")
        text = text.replace("{cell_line}", cell_line)
    return text


def parse_source(text: str, cell_line: str | None, where: str = "source") -> dict[str, str]:
    """The spec keys a ``source`` cell stands for (see the module docstring).

    Parameters
    ----------
    text : str
        The cell: a plain location, or ``key=value;key=value``.
    cell_line : str, optional
        Fills ``{cell_line}`` / ``{biosample}``.
    where : str
        Names the cell in messages (e.g. ``models.csv, model trednet``).

    Returns
    -------
    dict[str, str]
        ``{"source": location}`` for a plain cell, else every key given.
    """
    text = text.strip()
    if not _KEYS_RE.match(text):
        return {"source": fill_placeholders(text, cell_line, where)}
    pairs = {}
    for part in filter(None, text.split(";")):
        key, _, value = part.partition("=")
        if key in _RESERVED_KEYS or key in pairs:
            raise InputError(f"{where}: key {key!r} " + ("is set by the catalogue row itself" if key in _RESERVED_KEYS
                                                          else "given twice"))
        pairs[key] = fill_placeholders(value.strip(), cell_line, where)
    return pairs


def model_settings(row: dict[str, str], cell_line: str | None, where: str = "catalogue") -> dict[str, Any]:
    """What a catalogue row means for one cell line: the family, its options and its extra spec keys.

    Parameters
    ----------
    row : dict[str, str]
        A row of :func:`read_catalogue`.
    cell_line : str, optional
        The job's cell line (fills the placeholders of ``source``).
    where : str
        Names the catalogue in messages.

    Returns
    -------
    dict
        ``family``, ``trainable`` (bool), ``kind_of_output``, ``architecture`` (cnn: ``arch:`` name),
        ``source``, ``tokenizer``, ``max_tokens`` (int or None), ``trust_remote_code`` (bool),
        ``revision``, ``tracks``, ``input_length`` (int or None) and ``spec`` (the other
        ``key=value`` pairs of ``source``, for the family's adapter).
    """
    label = f"{where}, model {row['model']}"
    keys = parse_source(row["source"], cell_line, f"{label}, column source")
    source = keys.pop("source", None)
    tokenizer = keys.pop("tokenizer", None)
    return {
        "family": row["family"],
        "trainable": _boolean(row.get("trainable", ""), f"{label}, column trainable"),
        "kind_of_output": row.get("kind_of_output") or "prob",
        "architecture": source[len("arch:"):] if source and source.startswith("arch:") else None,
        "source": source,
        "tokenizer": tokenizer,
        "max_tokens": _integer(row.get("max_tokens", ""), f"{label}, column max_tokens"),
        "trust_remote_code": _boolean(row.get("trust_remote_code", ""), f"{label}, column trust_remote_code"),
        "revision": row.get("revision") or None,
        "tracks": row.get("tracks") or None,
        "input_length": _integer(row.get("input_length", ""), f"{label}, column input_length"),
        "spec": keys,
    }


def option_flags(options: Iterable[str]) -> str:
    """``--max-tokens, --trust-remote-code`` for ``("max_tokens", "trust_remote_code")`` (argparse dest names).

    Parameters
    ----------
    options : iterable of str
        Option names as argparse stores them.

    Returns
    -------
    str
        Their command-line spellings, comma-separated.
    """
    return ", ".join("--" + o.replace("_", "-") for o in options)


def command_options(catalogue: str | os.PathLike, model: str | None, values: Mapping[str, Any],
                    defaults: Mapping[str, Any], cell_line: str | None = None,
                    data: str | os.PathLike | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``--catalogue``'s row of ``--model-name`` decides for a command (train, oneshot).

    An option the row decides must not be given on the command line as well: one whose value in
    ``values`` differs from its default in ``defaults`` is refused.

    Parameters
    ----------
    catalogue : path-like
        The catalogue (``--catalogue``).
    model : str or None
        The row (``--model-name``).
    values : mapping of str to Any
        The command's values of the options the row decides (argparse dest names).
    defaults : mapping of str to Any
        Their defaults; keys are the options the command lets the row decide.
    cell_line : str, optional
        The job's cell line (fills the placeholders of ``source``); when absent, the first row's of
        the ``data`` split table, if that file exists.
    data : path-like, optional
        The command's split table (``--data``).

    Returns
    -------
    tuple of (dict, dict)
        The row's ``model_settings``, and the values of ``ROW_OPTIONS`` it gives: ``family``,
        ``architecture`` (cnn: the ``arch:`` name, else its default), ``source`` (None for cnn),
        ``tokenizer``, ``max_tokens`` (its default when the row leaves it empty),
        ``trust_remote_code`` and ``revision``.

    Raises
    ------
    InputError
        Without a model name, for an option given as well, or for a catalogue without the row.
    """
    if not model:
        raise InputError("--catalogue needs --model-name (the catalogue row)")
    given = [o for o in defaults if o in values and values[o] != defaults[o]]
    if given:
        raise InputError(f"--catalogue: the row of {model} decides {option_flags(given)}; "
                         "give them there, not as options")
    if not cell_line and data and Path(data).exists():
        cell_line = str(read_tsv(data, nrows=1)["cell_line"].iloc[0])
    settings = model_settings(catalogue_row(catalogue, model), cell_line, str(catalogue))
    cnn = settings["family"] == "cnn"  # its source is the architecture
    options = {"family": settings["family"],
               "architecture": (settings["architecture"] if cnn else None) or defaults.get("architecture"),
               "source": None if cnn else settings["source"], "tokenizer": settings["tokenizer"],
               "max_tokens": settings["max_tokens"] if settings["max_tokens"] is not None else defaults.get("max_tokens"),
               "trust_remote_code": settings["trust_remote_code"], "revision": settings["revision"]}
    return settings, options


def _boolean(text: str, where: str) -> bool:
    """true/false (any case; empty = false)."""
    value = text.strip().lower()
    if value not in ("", "true", "false"):
        raise InputError(f"{where}: expected true or false, got {text!r}")
    return value == "true"


def _integer(text: str, where: str) -> int | None:
    """A positive integer, or None for an empty cell."""
    if not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{where}: expected an integer, got {text!r}") from None
    if value < 1:
        raise InputError(f"{where}: expected a positive integer, got {value}")
    return value
