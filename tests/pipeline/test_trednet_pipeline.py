"""trednet_like in the pipeline: phase one multi-task over every cell line of the run, as TREDNet.

`-profile test` simulates two cell lines (HepG2, K562); TRAIN_MODELS gives each trednet TRAIN job
the other cell lines' split tables as --phase1-data. Two epochs per phase keep the run short.
"""

from __future__ import annotations

import json

import pytest

from .helpers import read_trace, run_nextflow

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def trednet_run(nextflow, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_trednet")
    outdir = workdir / "results"
    proc = run_nextflow(nextflow, workdir, "-profile", "test", "--models", "trednet_like", "--oneshot", "false",
                        "--train_epochs", "2", "--train_patience", "1", "--outdir", str(outdir))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    cells = sorted(p.name for p in (outdir / "regions").iterdir() if (p / f"{p.name}.split.tsv").exists())
    assert len(cells) >= 2, f"the test profile should simulate several cell lines, got {cells}"
    return workdir, outdir, cells


def test_phase_one_has_every_cell_line_as_task(trednet_run):
    """Each cell line's model: all cell lines as tasks, its own table first, the others sorted."""
    _, outdir, cells = trednet_run
    for cell in cells:
        spec = json.loads((outdir / "models" / f"trednet_like__{cell}" / "spec.json").read_text())
        others = [c for c in cells if c != cell]
        assert spec["phase1"]["tasks"] == [cell, *others], cell
        assert spec["phase1"]["sources"] == [f"{cell}.split.tsv", *(f"phase1/{c}.split.tsv" for c in others)], cell
        # every task is learnt from positives of its own cell line, not an all-zero column
        assert all(spec["phase1"]["positives_train"][c] > 0 for c in cells), spec["phase1"]["positives_train"]


def test_train_command_passes_phase_one_tables(trednet_run):
    workdir, outdir, cells = trednet_run
    rows = [row for row in read_trace(outdir) if row["process"].split(":")[-1] == "TRAIN"]
    assert sorted(row["tag"] for row in rows) == [f"trednet_like__{c}" for c in cells]
    for row in rows:
        cell = row["tag"].split("__")[1]
        (taskdir,) = (workdir / "work").glob(f"{row['hash']}*")
        script = (taskdir / ".command.sh").read_text()
        tables = " ".join(f"phase1/{c}.split.tsv" for c in cells if c != cell)
        assert f"--phase1-data {tables}" in script, script
