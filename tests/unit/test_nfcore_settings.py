"""The nf-core lint settings (.nf-core.yml) and the resource caps, checked without nf-core/tools.

nf-core/tools is not a test dependency (docs/testing.md, "nf-core lint", runs it by hand). These
checks keep what it reported at 0 failures from drifting: the settings name files that exist (a
template listed under template_strings) or are really absent (a skipped required file), no new
Jinja-like double-brace placeholder appears outside the listed templates, and the removed --max_cpus,
--max_memory and --max_time do not come back beside process.resourceLimits.
"""

from __future__ import annotations

import json
import mimetypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# nf-core/tools 4.2.1, pipelines/lint/template_strings.py: double braces not after a $ (GitHub
# Actions' ${{ ... }}) and without a colon
TEMPLATE_STRING = re.compile(r"[^$]{{[^:}]*}}")
MAX_PARAMS = re.compile(r"\bmax_(cpus|memory|time)\b")


def lint_settings() -> dict:
    return yaml.safe_load((ROOT / ".nf-core.yml").read_text())["lint"]


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the linter lists the files git tracks")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def test_settings_name_files_that_exist_or_are_absent():
    lint = lint_settings()
    assert lint["nfcore_components"] is False and lint["actions_schema_validation"] is False  # offline
    for path in lint["template_strings"] + lint["nf_test_content"]:
        assert (ROOT / path).is_file(), f"{path}: named in .nf-core.yml but not in the repository"
    for path in lint["files_exist"]:
        assert not (ROOT / path).exists(), f"{path} exists now: drop its skip from .nf-core.yml"
    # the linter does not start without modules.json; there are no nf-core/modules components
    assert json.loads((ROOT / "modules.json").read_text())["repos"] == {}


def test_no_template_strings_outside_the_listed_templates():
    listed = set(lint_settings()["template_strings"])
    found = []
    for path in tracked_files():
        name = path.relative_to(ROOT).as_posix()
        ftype, encoding = mimetypes.guess_type(path)  # the linter skips compressed files and images
        if name in listed or encoding is not None or (ftype or "").startswith(("image", "application/java-archive")):
            continue
        for i, line in enumerate(path.read_text(encoding="latin1").splitlines(), 1):
            found += [f"{name}:{i}: {m}" for m in TEMPLATE_STRING.findall(line)]
    assert not found, "list real templates under template_strings in .nf-core.yml, with why:\n" + "\n".join(found)


def test_resource_caps_are_resource_limits_only():
    configs = [ROOT / "nextflow.config", ROOT / "tests" / "nextflow.config", *sorted((ROOT / "conf").glob("*.config"))]
    for config in configs:  # comments may name the old parameters
        code = re.sub(r"/\*.*?\*/", "", config.read_text(), flags=re.S)
        code = "\n".join(line.split("//")[0] for line in code.splitlines())
        assert not MAX_PARAMS.search(code), config
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    params = {name for group in schema["$defs"].values() for name in group["properties"]}
    assert not {p for p in params if MAX_PARAMS.fullmatch(p)}
    base = (ROOT / "conf" / "base.config").read_text()
    assert re.search(r"^    resourceLimits = \[cpus: \d+, memory: \d+\.GB, time: \d+\.h\]$", base, flags=re.M)
