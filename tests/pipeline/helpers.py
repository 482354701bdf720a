"""Running the pipeline from tests."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_nextflow(nextflow: str, workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    """``nextflow run <checkout> ARGS`` inside workdir (its own .nextflow cache and work/)."""
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.setdefault("NXF_ANSI_LOG", "false")
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run([nextflow, "run", str(ROOT), "-ansi-log", "false", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def read_trace(outdir: Path) -> list[dict]:
    """Rows of the newest execution trace in <outdir>/pipeline_info."""
    traces = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))
    assert traces, f"no execution trace in {outdir}/pipeline_info"
    with open(traces[-1]) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def nextflow_env(extra: dict | None = None) -> dict:
    """The environment run_nextflow gives Nextflow, plus extra variables (e.g. SLURM_CONF)."""
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.setdefault("NXF_ANSI_LOG", "false")
    env.update(extra or {})
    return env


def run_nextflow_env(nextflow: str, workdir: Path, env: dict, *args: str,
                     timeout: int = 1500) -> subprocess.CompletedProcess:
    """``nextflow run <checkout> ARGS`` inside workdir with the given environment (see nextflow_env)."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run([nextflow, "run", str(ROOT), "-ansi-log", "false", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def tail_text(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, or a note that it is missing (for failure messages)."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({path}: {exc.strerror})"
