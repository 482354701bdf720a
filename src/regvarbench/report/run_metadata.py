"""The report's run metadata: Nextflow and pipeline versions, the run's identity, its parameters
and seeds, the software versions of every task, and links to the run records in ``pipeline_info/``.

The pipeline writes ``pipeline_info/run_info.json`` (PIPELINE_INITIALISATION) and hands REPORT the
``versions.yml`` blocks of every task before it; ``regvarbench report --run-info ...
--software-versions ...`` turns them into tables here. Input and model checksums come from the
provenance table of ``evaluate`` (see :mod:`regvarbench.provenance`), shown beside these.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from ..io import InputError, open_text

# run_info.json keys shown in the "Run" table, in this order, with their labels
RUN_FIELDS = (("pipeline", "pipeline"), ("pipeline_version", "pipeline version"),
              ("nextflow_version", "Nextflow version"), ("run_name", "run name"), ("session_id", "session id"),
              ("start", "started"), ("resumed", "resumed (-resume)"), ("profile", "profile"),
              ("command_line", "command line"), ("container_engine", "container engine"),
              ("revision", "pipeline revision"), ("commit_id", "pipeline commit"), ("user", "user"),
              ("launch_dir", "launch directory"), ("work_dir", "work directory"))


def read_run_info(path: str | Path) -> dict:
    """The run_info.json the pipeline writes, checked for its ``params`` object.

    Parameters
    ----------
    path : str or Path
        run_info.json.

    Returns
    -------
    dict
        The JSON object: run fields (see RUN_FIELDS), ``params`` (name -> value) and
        ``run_records`` (paths relative to the run's --outdir).
    """
    with open_text(path) as fh:
        text = fh.read()
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(info, dict) or not isinstance(info.get("params", {}), dict):
        raise InputError(f"{path}: expected a JSON object with a 'params' object (the pipeline's run_info.json)")
    return info


def read_software_versions(path: str | Path) -> pd.DataFrame:
    """Software versions of the run's tasks: one row per tool and version, with the processes using it.

    Parameters
    ----------
    path : str or Path
        Concatenated ``versions.yml`` blocks (``"<process>": {tool: version}``), as Nextflow's
        collectFile writes them.

    Returns
    -------
    pandas.DataFrame
        Columns ``tool``, ``version``, ``processes`` (short process names, comma-separated), sorted by
        tool and version. A tool with two versions in one run has two rows.
    """
    with open_text(path) as fh:
        text = fh.read()
    try:
        blocks = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(blocks, dict) or not all(isinstance(tools, dict) for tools in blocks.values()):
        raise InputError(f"{path}: expected '\"<process>\": {{tool: version}}' blocks (versions.yml)")
    uses: dict[tuple[str, str], set[str]] = {}
    for process, tools in blocks.items():
        for tool, version in tools.items():
            uses.setdefault((str(tool), str(version)), set()).add(str(process).split(":")[-1])
    rows = [(tool, version, ", ".join(sorted(procs))) for (tool, version), procs in sorted(uses.items())]
    return pd.DataFrame(rows, columns=["tool", "version", "processes"])


def run_table(info: dict) -> pd.DataFrame:
    """The run's identity as (field, value) rows, in RUN_FIELDS order; fields the file lacks are left out.

    Parameters
    ----------
    info : dict
        run_info.json.

    Returns
    -------
    pandas.DataFrame
        Columns ``field`` (the label of ``RUN_FIELDS``) and ``value`` (str); empty values are left out too.
    """
    rows = [(label, _text(info[key])) for key, label in RUN_FIELDS if key in info and info[key] not in (None, "")]
    return pd.DataFrame(rows, columns=["field", "value"])


def params_table(info: dict) -> pd.DataFrame:
    """Every parameter of the run as (parameter, value) rows, sorted by name.

    Parameters
    ----------
    info : dict
        run_info.json (its ``params``).

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter`` (``--<name>``) and ``value`` (str).
    """
    params = info.get("params") or {}
    return pd.DataFrame([(f"--{k}", _text(v)) for k, v in sorted(params.items())], columns=["parameter", "value"])


def seeds_table(info: dict | None, evaluation: dict, provenance: pd.DataFrame | None) -> pd.DataFrame:
    """Every seed the run's numbers depend on: seed parameters, the bootstrap's, and each model's.

    Parameters
    ----------
    info : dict or None
        run_info.json (its ``params``: ``seed`` and every ``*_seed`` parameter), or None.
    evaluation : dict
        evaluation.json (its ``seed``: the bootstrap's).
    provenance : pandas.DataFrame or None
        provenance.tsv (its ``model`` rows' ``seed``: training or probe fitting).

    Returns
    -------
    pandas.DataFrame
        Columns ``seed`` (what it seeds) and ``value``.
    """
    rows = []
    params = (info or {}).get("params") or {}
    for name in sorted(k for k in params if k == "seed" or k.endswith("_seed")):
        rows.append((f"--{name}", _text(params[name])))
    if evaluation.get("seed") is not None:
        rows.append(("evaluate (bootstrap intervals)", _text(evaluation["seed"])))
    if provenance is not None and "seed" in provenance.columns:
        models = provenance[(provenance["kind"] == "model")].astype(object).fillna("")
        for r in models.itertuples(index=False):
            if str(r.seed) != "":
                rows.append((f"model {r.model} ({r.cell_line})" if r.cell_line else f"model {r.model}",
                             _text(r.seed)))
    return pd.DataFrame(rows, columns=["seed", "value"])


def record_links(info: dict | None, outdir_href: str) -> list[tuple[str, str]]:
    """(name, href) of each run record the pipeline writes (execution report first).

    Parameters
    ----------
    info : dict or None
        run_info.json; its ``run_records`` are paths relative to the run's --outdir.
    outdir_href : str
        The run's --outdir relative to the report's folder (the pipeline publishes the report to
        ``<outdir>/report/``, so ``..``).

    Returns
    -------
    list of (str, str)
    """
    records = [str(r) for r in ((info or {}).get("run_records") or [])]
    records.sort(key=lambda r: (not Path(r).name.startswith("execution_report"), r))
    base = outdir_href.rstrip("/")
    return [(r, f"{base}/{r}" if base else r) for r in records]


def _text(value) -> str:
    """A JSON value as the report shows it: booleans lower-case, lists and objects as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)
