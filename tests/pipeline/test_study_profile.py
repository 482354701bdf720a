"""`-profile study --published DIR`: the study's benchmark from its published files, through the pipeline.

Nothing is trained or scored: the eight published datasets are prepared from their source files,
the study's per-variant outputs of its 22 models imported (IMPORT_PREDICTIONS, study score), pooled,
evaluated and reported; the ninth dataset (Weiss 2021 NPC), absent from the published files, is
reported as unavailable. Runs on ../shared/data/published (REGVARBENCH_PUBLISHED) and skips, saying
why, where that folder is absent. The pooled n per cell line is checked against the study's text
(the same accounting as tests/unit/test_evaluate_real.py, which takes the CLI route).
"""

from __future__ import annotations

import pandas as pd
import pytest

from ..unit.test_evaluate_real import NOT_KEPT, STUDY_N, ZERO_MEAN
from .helpers import read_trace, run_nextflow

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

STUDY_MODELS = 22


@pytest.fixture(scope="module")
def study_run(nextflow, published, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_study")
    outdir = workdir / "results"
    proc = run_nextflow(nextflow, workdir, "-profile", "study", "--published", str(published),
                        "--bootstrap", "20", "--max_cpus", "2", "--max_memory", "6.GB", "--outdir", str(outdir),
                        timeout=1200)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return outdir, proc


def table(outdir, name: str) -> pd.DataFrame:
    return pd.read_csv(outdir / "evaluation" / "tables" / f"{name}.tsv", sep="\t")


def test_nothing_trained_every_dataset_prepared(study_run):
    outdir, _ = study_run
    ran = [row["process"].split(":")[-1] for row in read_trace(outdir)]
    assert sorted(set(ran)) == ["EVALUATE", "IMPORT_PREDICTIONS", "PREPARE_VARIANTS", "RANK", "REPORT"]
    assert ran.count("PREPARE_VARIANTS") == 9 and ran.count("IMPORT_PREDICTIONS") == 8
    assert not (outdir / "models").exists() and not (outdir / "regions").exists()


def test_missing_dataset_reported_unavailable(study_run):
    outdir, proc = study_run
    summary = pd.read_csv(outdir / "variants" / "summary.tsv", sep="\t")
    weiss = summary[summary["dataset"] == "Weiss2021_NPC"]
    assert weiss[["reason", "kind", "rows_in"]].values.tolist() == [["source_unavailable", "unavailable", 0]]
    assert "weiss2021_lentimpra_npc.tsv" in weiss["detail"].iloc[0]
    assert "Weiss2021_NPC: source file not found" in proc.stdout + proc.stderr
    report = (outdir / "report" / "index.html").read_text()
    assert "Weiss2021_NPC" in report and "unavailable (file not found: experimental/weiss2021_lentimpra_npc.tsv)" in report


def test_every_published_model_evaluated_with_its_architecture(study_run):
    outdir, _ = study_run
    by_dataset = table(outdir, "correlation_by_dataset")
    assert by_dataset["model"].nunique() == STUDY_MODELS
    assert set(by_dataset["group"]) == {"hepg2.sign.id.LP190708", "k562.sign.id.LP190708", "SORT1", "GSE68331_SNP",
                                        "GSE87711", "Hela_PPARG", "Hela_SORL1", "Hela_TRAF3IP2"}
    report = (outdir / "report" / "index.html").read_text()
    for model in by_dataset["model"].unique():
        assert model in report, model


def test_pooled_n_against_the_study(study_run):
    """Every difference from the study's pooled n is a counted one (docs/contracts.md)."""
    outdir, _ = study_run
    by_cell = table(outdir, "correlation_by_cell_line").set_index(["model", "group"])
    for cell, n in STUDY_N.items():
        row = by_cell.loc[("trednet", cell)]
        assert row["n"] + row["n_dropped"] + NOT_KEPT[cell] == n, (cell, row.to_dict())
        assert row["n_dropped"] == ZERO_MEAN[cell]
    assert "NPC" not in set(by_cell.index.get_level_values("group"))
