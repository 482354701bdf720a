"""Provenance you can check: the sha256 of every input file and model file a run used, and each model's revision.

``regvarbench evaluate --inputs ... --model-dirs ...`` writes ``provenance.tsv`` beside the other
tables (the pipeline also publishes it to ``pipeline_info/``, and the report shows it), so a rerun
can be compared file by file. One row per:

- ``input``: a file the run read (samplesheets, variant sources, peak files, genome, chain, catalogue);
- ``model``: a model directory (its family, source, the hub revision asked for and the commit the
  weights resolved to; ``resolved_revision`` is empty for local checkpoints and trained-from-scratch
  models; ``seed``, the seed its training or probe fitting used, from its spec);
- ``model_file``: a file inside a model directory (weights, tokenizer, spec), or a weights file the
  model read from outside it (recorded by the family in spec ``weights_sha256``: {location: sha256}).

Names are file names (inputs) or paths relative to the model directory: work-directory paths
are not stable across runs, so the table of a rerun on the same inputs is byte-identical.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from .artifacts import read_spec
from .io import InputError

PROVENANCE_COLUMNS = ["kind", "model", "cell_line", "name", "sha256", "bytes", "family", "source", "revision",
                      "resolved_revision", "seed"]
BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(BLOCK), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read for its checksum: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def describe_files(paths) -> list[dict]:
    """File name and sha256 of each file, sorted by name then digest.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files to describe.

    Returns
    -------
    list of dict
        ``{"name": file name, "sha256": hex digest}`` per file.
    """
    out = [{"name": Path(p).name, "sha256": sha256_file(p)} for p in paths]
    return sorted(out, key=lambda d: (d["name"], d["sha256"]))


def input_rows(paths) -> list[dict]:
    """``input`` rows of the provenance table, one per existing file (directories: each file in them).

    Parameters
    ----------
    paths : iterable of str or PathLike
        Input files or folders as staged.

    Returns
    -------
    list of dict
        Rows with PROVENANCE_COLUMNS keys.
    """
    rows = []
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            name = f.name if not path.is_dir() else f"{path.name}/{f.relative_to(path)}"
            rows.append(_row("input", name=name, sha256=sha256_file(f), bytes=f.stat().st_size))
    return rows


def model_rows(model_dir: str | os.PathLike) -> list[dict]:
    """The ``model`` row and ``model_file`` rows of one model directory (with spec.json).

    Parameters
    ----------
    model_dir : str or PathLike
        A directory written by ``regvarbench train`` or ``oneshot``.

    Returns
    -------
    list of dict
        Rows with PROVENANCE_COLUMNS keys: the model first, then its files by name.
    """
    model_dir = Path(model_dir)
    spec = read_spec(model_dir)[0] if (model_dir / "spec.json").is_file() else {}  # a bare metrics folder
    model, cell_line = str(spec.get("model_name", model_dir.name)), str(spec.get("cell_line", ""))
    rows = [_row("model", model=model, cell_line=cell_line, name=model_dir.name,
                 family=str(spec.get("family", "cnn" if spec else "")), source=str(spec.get("source") or spec.get("architecture") or ""),
                 revision=str(spec.get("revision") or ""), resolved_revision=str(spec.get("resolved_revision") or ""),
                 seed="" if spec.get("seed") is None else str(spec["seed"]))]
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rows.append(_row("model_file", model=model, cell_line=cell_line, name=str(f.relative_to(model_dir)),
                         sha256=sha256_file(f), bytes=f.stat().st_size))
    external = spec.get("weights_sha256") or {}
    if not isinstance(external, dict):
        raise InputError(f"{model_dir / 'spec.json'}: weights_sha256 must map weight locations to sha256 digests")
    for location, digest in sorted(external.items()):
        rows.append(_row("model_file", model=model, cell_line=cell_line, name=str(location), sha256=str(digest)))
    return rows


def provenance_table(inputs, model_dirs) -> pd.DataFrame:
    """The provenance table of a run: its input files, then its models and their files.

    Parameters
    ----------
    inputs : iterable of str or PathLike
        Files (or folders) the run read.
    model_dirs : iterable of str or PathLike
        Model directories the run scored with.

    Returns
    -------
    pandas.DataFrame
        PROVENANCE_COLUMNS; inputs sorted by name and digest, models by (model, cell line).
    """
    rows = sorted(input_rows(inputs), key=lambda r: (r["name"], r["sha256"]))
    per_model = [model_rows(d) for d in model_dirs]
    for block in sorted(per_model, key=lambda b: (b[0]["model"], b[0]["cell_line"], b[0]["name"])):
        rows.extend(block)
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)


def _row(kind: str, **values) -> dict:
    row = dict.fromkeys(PROVENANCE_COLUMNS, "")
    row.update(kind=kind, **values)
    return row
