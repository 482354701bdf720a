"""`regvarbench stub`: every step's stub outputs carry the columns of its contract, and versions.yml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regvarbench import cli, contracts
from regvarbench.stub import MODEL_STEPS, OUTPUTS, stub_outputs
from regvarbench.versions import versions_block

ROOT = Path(__file__).resolve().parents[2]

# each table a stub writes (by how its name ends) and the contract it must follow
CONTRACTS = {
    ".regions.tsv": contracts.REGION_COLUMNS,
    ".regions_summary.tsv": contracts.STEP_SUMMARY_COLUMNS,
    ".sequences.tsv": contracts.SEQUENCE_COLUMNS,
    ".sequences_summary.tsv": contracts.STEP_SUMMARY_COLUMNS,
    ".split.tsv": contracts.SPLIT_COLUMNS,
    ".split_summary.tsv": contracts.SPLIT_SUMMARY_COLUMNS,
    contracts.DETECTION_FILE: contracts.DETECTION_COLUMNS,
    ".variants.tsv": contracts.VARIANT_COLUMNS,
    ".skipped.tsv": contracts.SKIPPED_COLUMNS,
    ".summary.tsv": contracts.VARIANT_SUMMARY_COLUMNS,
    ".windows.00000.tsv": contracts.WINDOWS_FILE_COLUMNS,
    ".windows_summary.tsv": contracts.WINDOWS_SUMMARY_COLUMNS,
    ".scores.tsv": contracts.SCORE_COLUMNS,
    "import_report.tsv": contracts.IMPORT_REPORT_COLUMNS,
    contracts.RANKED_SUFFIX: contracts.RANKED_COLUMNS,
    contracts.TOP_SUFFIX: contracts.TOP_COLUMNS,
}


def _module_stubs() -> dict[str, str]:
    """module folder -> the text of its stub block."""
    return {p.parent.name: p.read_text().split("    stub:\n", 1)[1] for p in (ROOT / "modules" / "local").glob("*/main.nf")}


@pytest.mark.parametrize("step", sorted(OUTPUTS))
def test_stub_headers_are_the_contracts(step, tmp_path):
    args = ["--model-name", "m", "--cell-line", "C"] if step in MODEL_STEPS else ["--prefix", "P"]
    assert cli.main(["stub", step, *args, "--process", f"X:{step}", "--outdir", str(tmp_path)]) == 0
    files = stub_outputs(step, prefix="P", model_name="m", cell_line="C")
    for name, content in files.items():
        path = tmp_path / name
        assert path.is_file(), name
        ending = [e for e in CONTRACTS if name.endswith(e)]
        if isinstance(content, list):  # a table: header only, the contract's columns
            assert len(ending) == 1, f"{name}: no contract in CONTRACTS"
            assert path.read_text() == "\t".join(CONTRACTS[ending[0]]) + "\n"
        else:
            assert not ending, f"{name} should hold its contract's header"
    # versions.yml as `regvarbench versions --process` prints it
    assert (tmp_path / "versions.yml").read_text() == versions_block(f"X:{step}") + "\n"


def test_model_folders_are_named_as_artifacts_names_them():
    assert {Path(n).parent.name for n in stub_outputs("train", model_name="cnn_small", cell_line="HepG2")} == \
        {"cnn_small__HepG2"}
    assert {Path(n).parent.name for n in stub_outputs("oneshot", model_name="cnn_small", cell_line="HepG2")} == \
        {"cnn_small" + contracts.ONESHOT_SUFFIX + "__HepG2"}


def test_every_module_stub_is_one_stub_call():
    """Each module's stub block is one `regvarbench stub <its step>` call: no copied column list, no
    second Python start for versions.yml."""
    stubs = _module_stubs()
    steps = {}
    for module, block in stubs.items():
        calls = re.findall(r"regvarbench (\S+)", block)
        assert len(calls) == 1 and calls[0] == "stub", f"{module}: {calls}"
        assert not re.search(r"\b(printf|touch|echo|mkdir)\b", block), module
        steps[module] = re.search(r"regvarbench stub (\S+)", block).group(1)
    assert sorted(steps.values()) == sorted(OUTPUTS)
    assert all(step.replace("-", "_") == module for module, step in steps.items())


def test_stub_needs_its_names(tmp_path, capsys):
    assert cli.main(["stub", "split", "--process", "X", "--outdir", str(tmp_path)]) == 2
    assert "--prefix" in capsys.readouterr().err
    assert cli.main(["stub", "train", "--prefix", "p", "--process", "X", "--outdir", str(tmp_path)]) == 2
    assert "--model-name" in capsys.readouterr().err


def test_packed_score_stub_names_a_table_per_windows_file(tmp_path, capsys):
    """A SCORE task of several chunks (--score_chunks_per_task) stubs one score table per windows
    file, named as score names it, so that the stub run's channels carry the real run's files."""
    windows = [contracts.windows_file_name("sim_HepG2", f"{k:05d}", loci=True) for k in range(3)]
    assert cli.main(["stub", "score", "--model-name", "cnn_small", "--windows", *windows, "--process", "X:SCORE",
                     "--outdir", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.scores.tsv"))
    assert names == [contracts.scores_file_name("cnn_small", "sim_HepG2", f"{k:05d}") for k in range(3)]
    assert all((tmp_path / n).read_text() == "\t".join(contracts.SCORE_COLUMNS) + "\n" for n in names)
    assert cli.main(["stub", "score", "--windows", *windows, "--process", "X", "--outdir", str(tmp_path)]) == 2
    assert "--model-name" in capsys.readouterr().err

