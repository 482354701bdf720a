"""evaluate on the study's own data: every published dataset prepared from its source file, the
study's per-variant predictions imported, and the pooled tables checked against scipy.

HepG2 pools the SuRE raQTL, SORT1 and GSE68331 sets, HeLa the three eExon sets, K562 the SuRE
raQTL and GSE87711 sets. The expected values are recomputed here from the written variants and
score tables with pandas and scipy only, so the test checks evaluate's joins, pooling and
accounting, not just that it runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from regvarbench.cli import main

pytestmark = pytest.mark.slow

# dataset (= the predictions file stem) -> cell line, format, source file
DATASETS = {
    "hepg2.sign.id.LP190708": ("HepG2", "sure_raqtl", "hepg2.sign.id.LP190708.txt.gz"),
    "SORT1": ("HepG2", "kircher2019_satmut", "SORT1.csv"),
    "GSE68331_SNP": ("HepG2", "vockley2015_mpra", "GSE68331_SNP.csv"),
    "k562.sign.id.LP190708": ("K562", "sure_raqtl", "k562.sign.id.LP190708.txt.gz"),
    "GSE87711": ("K562", "ulirsch2016_mpra", "GSE87711.csv"),
    "Hela_PPARG": ("HeLa", "birnbaum2014_eexon", "Hela_PPARG.csv"),
    "Hela_SORL1": ("HeLa", "birnbaum2014_eexon", "Hela_SORL1.csv"),
    "Hela_TRAF3IP2": ("HeLa", "birnbaum2014_eexon", "Hela_TRAF3IP2.csv"),
}
POOLS = {"HepG2": ["hepg2.sign.id.LP190708", "SORT1", "GSE68331_SNP"],
         "HeLa": ["Hela_PPARG", "Hela_SORL1", "Hela_TRAF3IP2"],
         "K562": ["k562.sign.id.LP190708", "GSE87711"]}
MODELS = ["dnabert2", "trednet", "sei"]  # one of each output kind: logits2, prob, diff


@pytest.fixture(scope="module")
def real_eval(published, tmp_path_factory):
    out = tmp_path_factory.mktemp("real_eval")
    sheet = pd.DataFrame([{"dataset": d, "cell_line": c, "format": f,
                           "path": str(published / "experimental" / name), "genome_build": "hg19"}
                          for d, (c, f, name) in DATASETS.items()])
    sheet.to_csv(out / "datasets.csv", index=False)
    assert main(["prepare-variants", "--samplesheet", str(out / "datasets.csv"), "--outdir", str(out / "v")]) == 0
    variants = [str(out / "v" / f"{d}.variants.tsv") for d in DATASETS]
    preds = [str(published / "predictions" / f"{d}.predictions.tsv.gz") for d in DATASETS]
    assert main(["import-predictions", "--predictions", *preds, "--variants", *variants,
                 "--outdir", str(out / "s")]) == 0
    scores = [str(p) for m in MODELS for d in DATASETS
              if (p := out / "s" / f"{m}.{d}.external.scores.tsv").exists()]
    assert len(scores) == 3 * 8 - 1  # the study scored k562 raQTL with Sei, TREDNet, Enformer, Borzoi only
    assert main(["evaluate", "--variants", *variants, "--scores", *scores, "--bootstrap", "50",
                 "--seed", "7", "--outdir", str(out / "e")]) == 0
    return out


def joined(out, model: str, datasets: list[str]) -> pd.DataFrame:
    """Variants of the ``datasets`` that ``model`` scored, with its score, joined independently of evaluate."""
    frames = []
    for d in datasets:
        if not (out / "s" / f"{model}.{d}.external.scores.tsv").exists():
            continue
        v = pd.read_csv(out / "v" / f"{d}.variants.tsv", sep="\t", usecols=["variant_id", "effect_log2"])
        s = pd.read_csv(out / "s" / f"{model}.{d}.external.scores.tsv", sep="\t", usecols=["variant_id", "score"])
        frames.append(v.merge(s, on="variant_id", how="inner", validate="1:1"))
    return pd.concat(frames, ignore_index=True)


def table(out, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "e" / "tables" / f"{name}.tsv", sep="\t").set_index(["model", "group"])


def check_group(row: pd.Series, pairs: pd.DataFrame) -> None:
    finite = np.isfinite(pairs["score"]) & np.isfinite(pairs["effect_log2"])
    x, y = pairs.loc[finite, "score"].to_numpy(), pairs.loc[finite, "effect_log2"].to_numpy()
    assert row["n"] == finite.sum() and row["n_dropped"] == (~finite).sum()
    pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
    assert row["pearson_r"] == pytest.approx(pearson[0], abs=1e-9)
    assert row["spearman_r"] == pytest.approx(spearman[0], abs=1e-9)
    assert row["pearson_p"] == pytest.approx(pearson[1], rel=1e-6, abs=1e-300)
    assert row["spearman_p"] == pytest.approx(spearman[1], rel=1e-6, abs=1e-300)
    assert row["pearson_ci_low"] <= row["pearson_r"] <= row["pearson_ci_high"]


def test_every_dataset_prepared_and_scored(real_eval):
    summary = pd.concat([pd.read_csv(real_eval / "v" / f"{d}.summary.tsv", sep="\t") for d in DATASETS])
    summary = summary.set_index("dataset")
    assert set(summary.index) == set(DATASETS)
    assert (summary["rows_in"] == summary["rows_kept"] + summary["rows_skipped"]).all()
    unscored = pd.read_csv(real_eval / "e" / "tables" / "unscored.tsv", sep="\t")
    assert unscored.empty, unscored.head()


def test_per_dataset_correlations_match_scipy(real_eval):
    by_dataset = table(real_eval, "correlation_by_dataset")
    for model in MODELS:
        for d in DATASETS:
            if (model, d) in by_dataset.index:
                check_group(by_dataset.loc[(model, d)], joined(real_eval, model, [d]))
    assert len(by_dataset.loc[list(MODELS)]) == 3 * 8 - 1


def test_cell_line_pools_match_scipy(real_eval):
    by_cell = table(real_eval, "correlation_by_cell_line")
    by_dataset = table(real_eval, "correlation_by_dataset")
    for model in MODELS:
        for cell, datasets in POOLS.items():
            row = by_cell.loc[(model, cell)]
            check_group(row, joined(real_eval, model, datasets))
            # the pool is exactly the union of its datasets' finite pairs
            assert row["n"] == sum(by_dataset.loc[(model, d), "n"] for d in datasets
                                   if (model, d) in by_dataset.index)
    overall = pd.read_csv(real_eval / "e" / "tables" / "correlation_overall.tsv", sep="\t").set_index("model")
    for model in MODELS:
        check_group(overall.loc[model], joined(real_eval, model, list(DATASETS)))


def test_direction_counts_match(real_eval):
    direction = table(real_eval, "direction")
    for model in MODELS:
        pairs = joined(real_eval, model, ["SORT1"])
        pairs = pairs[np.isfinite(pairs["score"]) & np.isfinite(pairs["effect_log2"])]
        up, down = pairs[pairs.effect_log2 > 0], pairs[pairs.effect_log2 < 0]
        row = direction.loc[(model, "SORT1")]
        assert row["n_up"] == len(up) and row["n_down"] == len(down)
        assert row["frac_up_predicted_up"] == pytest.approx((up.score > 0).mean())
        assert row["frac_down_predicted_down"] == pytest.approx((down.score < 0).mean())


# the study's text gives the pooled n per cell line as the sum of its datasets' source rows
STUDY_N = {"HepG2": 16255, "K562": 19321, "HeLa": 5241}
NOT_KEPT = {"HepG2": 0, "K562": 42, "HeLa": 1}  # GSE87711's Ref rows; Hela_TRAF3IP2 row 1672
ZERO_MEAN = {"HepG2": 120, "K562": 6, "HeLa": 0}  # raQTL rows with a zero mean: non-finite effect, dropped


def test_pooled_n_against_the_study(real_eval):
    """Every difference from the study's pooled n is a counted, documented one (docs/contracts.md):
    n_dropped = the raQTL rows with a zero mean (non-finite effect; the study's mask dropped them
    too, its text counts rows); K562 misses the 42 Ref rows of GSE87711's Ref/Mut oligo pairs (one
    variant per pair); HeLa misses Hela_TRAF3IP2 row 1672 (ref = alt = T, skipped)."""
    by_cell = table(real_eval, "correlation_by_cell_line")
    skipped = {d: pd.read_csv(real_eval / "v" / f"{d}.skipped.tsv", sep="\t") for d in DATASETS}
    assert (skipped["GSE87711"]["reason"] == "paired_reference_row").sum() == 42
    traf = skipped["Hela_TRAF3IP2"]  # skipped as not_snv, or ref_equals_alt where indels are kept
    assert traf["row"].tolist() == [1672] and traf["reason"].iloc[0] in ("not_snv", "ref_equals_alt")
    for cell, n in STUDY_N.items():
        row = by_cell.loc[("trednet", cell)]
        assert row["n"] + row["n_dropped"] + NOT_KEPT[cell] == n
        assert row["n_dropped"] == ZERO_MEAN[cell]
    # the study's score of every published logit and probability is finite: nothing else is dropped
    assert by_cell["n_dropped"].groupby(level="group").max().to_dict() == ZERO_MEAN
