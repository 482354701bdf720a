"""``regvarbench versions``: the versions.yml block every pipeline task emits."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess

from . import __version__

_PACKAGES = ("torch", "transformers", "pandas", "numpy", "scipy", "scikit-learn", "pyfaidx", "pybedtools")


def collect_versions() -> dict[str, str]:
    """Versions of the package, Python, bedtools and the key libraries (missing ones omitted)."""
    versions = {"regvarbench": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    if shutil.which("bedtools"):
        out = subprocess.run(["bedtools", "--version"], capture_output=True, text=True).stdout
        versions["bedtools"] = out.strip().removeprefix("bedtools v")
    return versions


def add_arguments(parser) -> None:
    parser.add_argument("--process", required=True, help="Nextflow task.process name (the YAML key)")


def versions_block(process: str) -> str:
    """The versions.yml block of one task (no final newline): its process name, then each tool's version.

    Parameters
    ----------
    process : str
        The task's process name.

    Returns
    -------
    str
        YAML text.
    """
    return "\n".join([f'"{process}":'] + [f"    {k}: {v}" for k, v in collect_versions().items()])


def run(args) -> None:
    print(versions_block(args.process))
