"""`-profile study --published DIR`: the study's benchmark from its published files, through the pipeline.

Nothing is trained or scored: the eight published datasets are prepared from their source files,
the study's per-variant outputs of its 22 models imported (IMPORT_PREDICTIONS, study score), pooled,
evaluated and reported; the ninth dataset (Weiss 2021 NPC), absent from the published files, is
reported as unavailable. Runs on ../shared/data/published (REGVARBENCH_PUBLISHED) and skips, saying
why, where that folder is absent. The pooled n per cell line is checked against the study's text
(the same accounting as tests/unit/test_evaluate_real.py, which takes the CLI route).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from ..unit.test_evaluate_real import DATASETS, NOT_KEPT, POOLS, STUDY_N, ZERO_MEAN
from ..unit.test_report import SECTION_IDS
from ..unit.test_report_browser import CHROMIUM, IdParser, chromium
from .helpers import read_trace, run_nextflow

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

STUDY_MODELS = 22


@pytest.fixture(scope="module")
def study_run(nextflow, published, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_study")
    outdir = workdir / "results"
    caps = workdir / "caps.config"  # a small machine's caps, as a site sets them (docs/usage.md)
    caps.write_text("process.resourceLimits = [cpus: 2, memory: 6.GB, time: 48.h]\n"
                    "executor.$local.queueSize = 2\n")
    proc = run_nextflow(nextflow, workdir, "-profile", "study", "--published", str(published), "-c", str(caps),
                        "--bootstrap", "20", "--outdir", str(outdir), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return outdir, proc


def table(outdir, name: str) -> pd.DataFrame:
    return pd.read_csv(outdir / "evaluation" / "tables" / f"{name}.tsv", sep="\t")


def raw_effects(published, dataset: str) -> pd.Series:
    """The measured log2 effect of each data row of a source file (index: 0-based data row), read
    with pandas from the published file by the study's definition (published/README.md); NaN where
    a row carries no variant effect (GSE87711's Ref rows)."""
    cell, fmt, name = DATASETS[dataset]
    path = published / "experimental" / name
    with np.errstate(divide="ignore", invalid="ignore"):
        if fmt == "sure_raqtl":
            raw = pd.read_csv(path, sep="\t")
            return np.log2(raw[f"{cell.lower()}.alt.mean"] / raw[f"{cell.lower()}.ref.mean"])
        raw = pd.read_csv(path, encoding="utf-8-sig")
        if fmt == "kircher2019_satmut":
            return raw["VariantExpressionEffect (log2)"].astype(float)
        if fmt == "vockley2015_mpra":
            return np.log2(pd.to_numeric(raw["effect"], errors="coerce"))
        if fmt == "birnbaum2014_eexon":
            return pd.to_numeric(raw["HeLa effect size"], errors="coerce")
        assert fmt == "ulirsch2016_mpra", fmt
        key = ["dbSNP", "chr", "pos", "ref", "alt", "bot", "top"]  # a Ref/Mut pair of oligos: Mut - Ref median
        ref_median = raw[raw["type"] == "Ref"].set_index(key)["CTRL.median"]
        mut = raw[raw["type"] == "Mut"]
        effect = pd.Series(np.nan, index=raw.index)
        effect[mut.index] = mut["CTRL.median"].to_numpy() - ref_median.loc[list(mut[key].itertuples(index=False))].to_numpy()
        return effect


def study_scores(predictions: pd.DataFrame) -> pd.Series:
    """The study's variant score from its published outputs, its formula written out, no epsilon."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logits = np.log2(expit(predictions["alt_1"] - predictions["alt_0"]) / expit(predictions["ref_1"] - predictions["ref_0"]))
        probs = np.log2(predictions["alt_p"] / predictions["ref_p"])
    kind = predictions["kind"]
    return pd.Series(np.where(kind == "logits2", logits, np.where(kind == "prob", probs, predictions["score"])),
                     index=predictions.index)


@pytest.fixture(scope="module")
def recomputed(study_run, published):
    """Per dataset: (model, effect, score) for each published prediction of a row the pipeline kept,
    joined on the source row from the raw files alone; and per cell line the rows not kept."""
    outdir, _ = study_run
    joined, not_kept = {}, {}
    for dataset, (cell, _fmt, _name) in DATASETS.items():
        predictions = pd.read_csv(published / "predictions" / f"{dataset}.predictions.tsv.gz", sep="\t")
        predictions = predictions.assign(effect=raw_effects(published, dataset).reindex(predictions["row"]).to_numpy(),
                                         score=study_scores(predictions))
        skipped = set(pd.read_csv(outdir / "variants" / f"{dataset}.skipped.tsv", sep="\t")["row"])
        dropped = predictions["row"].isin(skipped)
        not_kept[cell] = not_kept.get(cell, 0) + predictions.loc[dropped, "row"].nunique()
        joined[dataset] = predictions.loc[~dropped, ["model", "effect", "score"]]
    return joined, not_kept


def check_pearson(row: pd.Series, pairs: pd.DataFrame, what) -> None:
    finite = np.isfinite(pairs["score"]) & np.isfinite(pairs["effect"])
    assert (row["n"], row["n_dropped"]) == (finite.sum(), (~finite).sum()), what
    r = stats.pearsonr(pairs.loc[finite, "score"], pairs.loc[finite, "effect"])[0]
    assert abs(row["pearson_r"] - r) <= 1e-9, (what, row["pearson_r"], r)


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


def test_pearson_equals_an_independent_recomputation(study_run, recomputed):
    """Every model's per-dataset and per-cell-line Pearson r equals scipy's on the raw files joined
    here (the study's score formula, no epsilon), to 1e-9; rows the pipeline did not keep are the
    counted ones (GSE87711's paired Ref rows, one unparsable HeLa row)."""
    outdir, _ = study_run
    joined, not_kept = recomputed
    assert not_kept == NOT_KEPT
    by_dataset = table(outdir, "correlation_by_dataset").set_index(["model", "group"])
    by_cell = table(outdir, "correlation_by_cell_line").set_index(["model", "group"])
    checked = 0
    for dataset, pairs in joined.items():
        for model, group in pairs.groupby("model"):
            check_pearson(by_dataset.loc[(model, dataset)], group, (model, dataset))
            checked += 1
    for cell, datasets in POOLS.items():
        pooled = pd.concat([joined[d] for d in datasets])
        for model, group in pooled.groupby("model"):
            check_pearson(by_cell.loc[(model, cell)], group, (model, cell))
            checked += 1
    assert checked == len(by_dataset) + len(by_cell) == 22 * 8 - 18 + 22 * 3


# what the published files allow: no LD blocks or loci, no enhancer detection, no one-shot twins (docs/reproducing-the-study.md)
NOT_REPRODUCIBLE = {"ld", "loci", "enhancer-detection", "finetuned-vs-oneshot"}


def test_report_has_every_section_with_real_values(study_run, tmp_path):
    """The study's report in headless Chromium: every section is there after the page's script ran,
    and each one the published files allow holds its tables and figures (not "Not available")."""
    outdir, _ = study_run
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (set REGVARBENCH_CHROMIUM)")
    done = chromium(["--dump-dom", (outdir / "report" / "index.html").as_uri()], tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    parser = IdParser()
    parser.feed(dom)
    assert [s for s in SECTION_IDS if s not in parser.ids] == []
    assert int(parser.root.get("data-sortable-tables", "0")) >= 10
    for section, following in zip(SECTION_IDS, SECTION_IDS[1:] + ["</main>"]):
        body = dom[dom.index(f'id="{section}"'):dom.index(following if following == "</main>" else f'id="{following}"')]
        if section in NOT_REPRODUCIBLE:
            assert "Not available in this run" in body, section
        else:
            assert "<table" in body, section
            assert section in ("summary", "run-metadata", "per-cell-line") or "data:image/png;base64," in body, section
    per_cell = dom[dom.index('id="per-cell-line"'):dom.index('id="model-comparison"')]
    assert all(f"{cell} pearson" in per_cell for cell in STUDY_N)
