"""Shared fixtures: paths of the checkout, the published data and the nextflow command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = Path(os.environ.get("REGVARBENCH_PUBLISHED", ROOT.parent / "shared" / "data" / "published"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def published() -> Path:
    """The study's published data (never committed); tests needing it skip where it is absent."""
    if not PUBLISHED.is_dir():
        pytest.skip(f"published data not found at {PUBLISHED} (set REGVARBENCH_PUBLISHED)")
    return PUBLISHED


@pytest.fixture(scope="session")
def nextflow() -> str:
    """The nextflow command installed by scripts/install-nextflow (or one on PATH)."""
    exe = ROOT / ".venv" / "bin" / "nextflow"
    if exe.exists():
        return str(exe)
    found = shutil.which("nextflow")
    if not found:
        pytest.skip("nextflow not installed: run scripts/setup")
    return found
