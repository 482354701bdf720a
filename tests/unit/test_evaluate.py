"""evaluate: joins, accounting of unscored variants, pooling and determinism on synthetic tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from regvarbench import evaluate, metrics
from regvarbench.cli import main
from regvarbench.io import read_tsv, write_tsv

DATASETS = {"dsA": ("HepG2", 40), "dsB": ("HepG2", 30), "dsC": ("K562", 35), "dsE": ("K562", 2)}


def build_inputs(root, seed: int = 0) -> dict:
    """Variants for 4 effect datasets + 1 LD dataset, scores of two models, training tables.

    m1 scores everything (dsA in two chunks); m2 scores dsA (two variants missing, one NaN
    score) and dsC only. dsA has one variant with a NaN effect.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    variants, paths = {}, {"variants": [], "scores": [], "training": []}
    for ds, (cell, n) in DATASETS.items():
        effect = rng.normal(size=n)
        if ds == "dsA":
            effect[4] = np.nan
        variants[ds] = pd.DataFrame({
            "variant_id": [f"{ds}:{i}" for i in range(n)], "dataset": ds, "cell_line": cell,
            "chrom": "chr1", "pos": np.arange(n) * 100 + 1, "ref": "A", "alt": "G",
            "effect_log2": effect, "pvalue": rng.uniform(0, 1, n) ** 6,
            "signed_log10p": 0.0, "row": np.arange(n)})
    n_ld = 12
    variants["ldD"] = pd.DataFrame({
        "variant_id": [f"ldD:{i}" for i in range(n_ld)], "dataset": "ldD", "cell_line": "K562",
        "chrom": "chr2", "pos": np.arange(n_ld) + 1, "ref": "C", "alt": "T", "effect_log2": np.nan,
        "pvalue": np.nan, "signed_log10p": np.nan, "row": np.arange(n_ld),
        "block_id": np.repeat(["b1", "b2", "b3"], 4), "is_causal": [1, 0, 0, 0] * 3})
    for ds, df in variants.items():
        paths["variants"].append(write_tsv(df, root / f"{ds}.variants.tsv"))

    def scores_for(model, ds, ids):
        effect = variants[ds].set_index("variant_id")["effect_log2"].reindex(ids).fillna(0).to_numpy()
        score = 0.6 * effect + rng.normal(size=len(ids))
        return pd.DataFrame({"variant_id": ids, "dataset": ds, "model": model,
                             "ref_output": 0.5, "alt_output": 0.5, "score": score})

    for ds, df in variants.items():
        ids = df["variant_id"].tolist()
        if ds == "dsA":
            paths["scores"].append(write_tsv(scores_for("m1", ds, ids[:20]), root / "m1.dsA.0.scores.tsv"))
            paths["scores"].append(write_tsv(scores_for("m1", ds, ids[20:]), root / "m1.dsA.1.scores.tsv"))
        else:
            paths["scores"].append(write_tsv(scores_for("m1", ds, ids), root / f"m1.{ds}.0.scores.tsv"))
    m2a = scores_for("m2", "dsA", [v for v in variants["dsA"]["variant_id"] if v not in ("dsA:3", "dsA:7")])
    m2a.loc[m2a["variant_id"] == "dsA:10", "score"] = np.nan
    paths["scores"].append(write_tsv(m2a, root / "m2.dsA.0.scores.tsv"))
    paths["scores"].append(write_tsv(scores_for("m2", "dsC", variants["dsC"]["variant_id"].tolist()),
                                     root / "m2.dsC.0.scores.tsv"))
    for model in ("m1", "m2"):
        train = pd.DataFrame({"model": model, "cell_line": ["HepG2", "HepG2"], "split": ["test", "valid"],
                              "n": [100, 50], "auroc": [0.9, 0.8], "auprc": [0.85, 0.75], "f1": [0.8, 0.7]})
        paths["training"].append(write_tsv(train, root / f"{model}__HepG2" / "enhancer_detection.tsv"))
    catalogue = root / "models.csv"
    catalogue.write_text("model,family,architecture_class,source\nm1,cnn,CNN,local\n")
    paths["catalogue"] = catalogue
    paths["variant_frames"] = variants
    return paths


def run_evaluate(paths, outdir, bootstrap: int = 200, order=slice(None)) -> int:
    argv = ["evaluate", "--variants", *map(str, paths["variants"][order]),
            "--scores", *map(str, paths["scores"][order]),
            "--training", *map(str, paths["training"]), "--catalogue", str(paths["catalogue"]),
            "--bootstrap", str(bootstrap), "--seed", "3", "--outdir", str(outdir)]
    return main(argv)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    paths = build_inputs(root / "in")
    assert run_evaluate(paths, root / "out") == 0
    return paths, root / "out" / "tables"


def joined(paths, model, datasets):
    """Independent join of one model's scores with effects, ordered by (dataset, variant_id)."""
    scores = pd.concat([read_tsv(p) for p in paths["scores"]])
    scores = scores[(scores["model"] == model) & scores["dataset"].isin(datasets)]
    effects = pd.concat([paths["variant_frames"][d] for d in datasets])[["variant_id", "effect_log2"]]
    return scores.merge(effects, on="variant_id").sort_values(["dataset", "variant_id"])


def test_tables_written(evaluated):
    _, tables = evaluated
    for name in ("correlation_by_dataset", "correlation_by_cell_line", "correlation_overall", "direction",
                 "significance_bins", "ld_topk", "enhancer_detection", "unscored", "scored_variants"):
        assert (tables / f"{name}.tsv").exists(), name
    corr = read_tsv(tables / "correlation_by_dataset.tsv")
    assert list(corr.columns[:12]) == ["model", "group", "n", "n_dropped", "pearson_r", "pearson_p", "spearman_r",
                                       "spearman_p", "pearson_ci_low", "pearson_ci_high", "spearman_ci_low",
                                       "spearman_ci_high"]


def test_per_dataset_correlation_and_dropped(evaluated):
    paths, tables = evaluated
    corr = read_tsv(tables / "correlation_by_dataset.tsv").set_index(["model", "group"])
    assert "ldD" not in corr.index.get_level_values("group")  # no effects -> excluded altogether
    m2 = corr.loc[("m2", "dsA")]
    # 40 variants, 2 unscored; of the 38 pairs one has a NaN effect and one a NaN score
    assert (m2["n"], m2["n_dropped"]) == (36, 2)
    j = joined(paths, "m2", ["dsA"])
    expect = metrics.correlate(j["score"], j["effect_log2"], n_boot=200, seed=3)
    assert m2["pearson_r"] == pytest.approx(expect["pearson_r"], abs=1e-9)
    assert m2["spearman_ci_low"] == pytest.approx(expect["spearman_ci_low"], abs=1e-9)
    small = corr.loc[("m1", "dsE")]
    assert small["n"] == 2 and np.isnan(small["pearson_r"]) and np.isnan(small["pearson_ci_low"])


def test_cell_line_pools_its_datasets(evaluated):
    paths, tables = evaluated
    by_cell = read_tsv(tables / "correlation_by_cell_line.tsv").set_index(["model", "group"])
    j = joined(paths, "m1", ["dsA", "dsB"])
    expect = metrics.correlate(j["score"], j["effect_log2"], n_boot=200, seed=3)
    got = by_cell.loc[("m1", "HepG2")]
    for key in metrics.CORRELATION_COLUMNS:
        assert got[key] == pytest.approx(expect[key], abs=1e-9), key
    overall = read_tsv(tables / "correlation_overall.tsv").set_index(["model", "group"])
    assert overall.loc[("m1", "all"), "n"] + overall.loc[("m1", "all"), "n_dropped"] == 40 + 30 + 35 + 2
    assert overall.loc[("m1", "all"), "architecture_class"] == "CNN"
    assert overall.loc[("m2", "all"), "architecture_class"] == "unknown"


def test_unscored_variants_reported(evaluated):
    _, tables = evaluated
    unscored = read_tsv(tables / "unscored.tsv")
    assert sorted(map(tuple, unscored.to_numpy().tolist())) == [
        ("m2", "dsA:10", "non_finite_score"), ("m2", "dsA:3", "no_score"), ("m2", "dsA:7", "no_score")]
    record = json.loads((tables / "evaluation.json").read_text())
    pair = {(p["model"], p["dataset"]): p for p in record["counts"]["per_model_dataset"]}
    assert pair[("m2", "dsA")] == {"model": "m2", "dataset": "dsA", "variants": 40, "scored": 38,
                                   "no_score": 2, "non_finite_score": 1}
    assert ("m2", "dsB") not in pair  # never scored by m2: not counted as missing
    assert record["seed"] == 3 and record["bootstrap"] == 200
    assert record["counts"]["variants_total"] == 40 + 30 + 35 + 2 + 12
    names = {f["name"] for f in record["inputs"]["scores"]}
    assert "m1.dsA.1.scores.tsv" in names
    assert all(len(f["sha256"]) == 64 for f in record["inputs"]["variants"])


def test_direction_significance_ld_training(evaluated):
    paths, tables = evaluated
    direction = read_tsv(tables / "direction.tsv").set_index(["model", "group"])
    j = joined(paths, "m1", ["dsB"])
    expect = metrics.direction_metrics(j["score"], j["effect_log2"])
    assert direction.loc[("m1", "dsB"), "frac_up_predicted_up"] == pytest.approx(expect["frac_up_predicted_up"])
    sig = read_tsv(tables / "significance_bins.tsv")
    assert set(sig["level"]) == {"dataset", "cell_line", "overall"}
    assert sorted(sig["pvalue_max"].unique()) == sorted(metrics.PVALUE_THRESHOLDS)
    ld = read_tsv(tables / "ld_topk.tsv")
    assert len(ld) == 3 and set(ld["ranking"]) == {"pos_score", "neg_score", "abs_score"} \
        and set(ld["model"]) == {"m1"}
    assert (ld["n_blocks"] == 3).all() and (ld["random_top1"] == 0.25).all()
    training = read_tsv(tables / "enhancer_detection.tsv")
    assert len(training) == 4 and list(training.columns) == ["model", "cell_line", "split", "n", "auroc",
                                                            "auprc", "f1"]
    scored = read_tsv(tables / "scored_variants.tsv")
    assert list(scored.columns) == ["model", "variant_id", "dataset", "cell_line", "effect_log2", "pvalue", "score"]
    assert len(scored) == 40 + 30 + 35 + 2 + 12 + 38 + 35


def test_byte_identical_whatever_the_file_order(evaluated, tmp_path):
    paths, tables = evaluated
    assert run_evaluate(paths, tmp_path / "again", order=slice(None, None, -1)) == 0
    for f in sorted(tables.iterdir()):
        assert (tmp_path / "again" / "tables" / f.name).read_bytes() == f.read_bytes(), f.name


def test_bad_inputs_exit_2(evaluated, tmp_path, capsys):
    paths, _ = evaluated
    broken = read_tsv(paths["scores"][0]).drop(columns="score")
    bad = dict(paths, scores=[write_tsv(broken, tmp_path / "bad.scores.tsv")])
    assert run_evaluate(bad, tmp_path / "o1") == 2
    assert "missing column(s) 'score'" in capsys.readouterr().err
    twice = dict(paths, scores=[paths["scores"][0], paths["scores"][0]])
    assert run_evaluate(twice, tmp_path / "o2") == 2
    assert "scored a variant twice" in capsys.readouterr().err
    missing = dict(paths, scores=[*paths["scores"], str(tmp_path / "absent.scores.tsv")])
    assert run_evaluate(missing, tmp_path / "o3") == 2
    assert "file not found: " in capsys.readouterr().err


def test_model_comparison(evaluated):
    paths, tables = evaluated
    comp = read_tsv(tables / "model_comparison.tsv")
    assert list(comp.columns) == ["model_a", "model_b", "group", "level", "n", "r_a", "r_b", "r_ab", "z", "p",
                                  "p_adj", "spearman_diff", "diff_ci_low", "diff_ci_high"]
    # m2 scored dsA and dsC only: pairs exist there, for their cell lines and overall
    assert sorted(zip(comp["level"], comp["group"])) == sorted([("dataset", "dsA"), ("dataset", "dsC"),
                                                                ("cell_line", "HepG2"), ("cell_line", "K562"),
                                                                ("overall", "all")])
    assert set(zip(comp["model_a"], comp["model_b"])) == {("m1", "m2")}
    row = comp.set_index("group").loc["dsA"]
    a = joined(paths, "m1", ["dsA"]).set_index("variant_id")
    b = joined(paths, "m2", ["dsA"]).set_index("variant_id")
    common = sorted(set(a.index) & set(b.index))
    expect = metrics.compare_correlations(a.loc[common, "score"], b.loc[common, "score"],
                                          a.loc[common, "effect_log2"], n_boot=200, seed=3)
    assert row["n"] == expect["n"] == 36  # 38 scored by both, minus a NaN score and a NaN effect
    for key in ("r_a", "r_b", "r_ab", "z", "p", "spearman_diff", "diff_ci_low", "diff_ci_high"):
        assert row[key] == pytest.approx(expect[key], abs=1e-9), key
    np.testing.assert_allclose(comp["p_adj"], metrics.adjust_pvalues(comp["p"]), rtol=1e-9)
    # without a pair_of column in the catalogue: header only
    fvo = read_tsv(tables / "finetuned_vs_oneshot.tsv")
    assert fvo.empty and list(fvo.columns[:4]) == ["oneshot", "finetuned", "group", "level"]


def test_model_comparison_with_shared_correlations_equals_pair_by_pair():
    """Each model's correlation with the effect is computed once per group and shared by its pairs;
    every row must be exactly what compare_correlations gives for that pair alone."""
    rng = np.random.default_rng(5)
    effect = rng.normal(size=60)
    frames = []
    for i, model in enumerate(["m1", "m2", "m3", "m4"]):
        score = effect * (0.2 * i) + rng.normal(size=60)
        if model == "m3":
            score[[4, 9]] = np.nan  # m3 leaves two variants unscored: its pairs are on 58 variants
        frames.append(pd.DataFrame({"model": model, "variant_id": [f"v{k:02d}" for k in range(60)],
                                    "dataset": np.where(np.arange(60) < 30, "dsA", "dsB"), "cell_line": "HepG2",
                                    "score": score, "effect_log2": effect}))
    scored = pd.concat(frames, ignore_index=True).dropna(subset=["score"])
    table = evaluate.table_model_comparison(scored, n_boot=50, seed=1)
    assert len(table) == 6 * 4  # 6 pairs x (2 datasets, 1 cell line, overall)
    for row in table.itertuples():
        g = scored if row.level == "overall" else scored[scored[row.level] == row.group]
        wide = g.pivot(index="variant_id", columns="model", values="score").dropna(subset=[row.model_a, row.model_b])
        y = g.drop_duplicates("variant_id").set_index("variant_id").loc[wide.index, "effect_log2"]
        expect = metrics.compare_correlations(wide[row.model_a], wide[row.model_b], y, n_boot=50, seed=1)
        for key in ("n", "r_a", "r_b", "r_ab", "z", "p", "spearman_diff", "diff_ci_low", "diff_ci_high"):
            assert getattr(row, key) == expect[key], (row.model_a, row.model_b, row.group, key)


def test_finetuned_vs_oneshot(evaluated, tmp_path):
    paths, _ = evaluated
    catalogue = tmp_path / "models.csv"
    catalogue.write_text("model,family,architecture_class,pair_of\nm1,cnn,CNN,\nm2,hf,transformer,m1\n")
    assert run_evaluate(dict(paths, catalogue=catalogue), tmp_path / "out", bootstrap=0) == 0
    tables = tmp_path / "out" / "tables"
    fvo = read_tsv(tables / "finetuned_vs_oneshot.tsv")
    assert list(fvo.columns) == ["oneshot", "finetuned", "group", "level", "n_oneshot", "n_finetuned",
                                 "f1_oneshot", "f1_finetuned", "pearson_r_oneshot", "pearson_r_finetuned",
                                 "spearman_r_oneshot", "spearman_r_finetuned"]
    assert set(zip(fvo["oneshot"], fvo["finetuned"])) == {("m2", "m1")}
    row = fvo.set_index("group").loc["HepG2"]
    corr = read_tsv(tables / "correlation_by_cell_line.tsv").set_index(["model", "group"])
    assert row["pearson_r_oneshot"] == pytest.approx(corr.loc[("m2", "HepG2"), "pearson_r"])
    assert row["spearman_r_finetuned"] == pytest.approx(corr.loc[("m1", "HepG2"), "spearman_r"])
    assert (row["f1_oneshot"], row["f1_finetuned"]) == (0.8, 0.8)  # test split preferred over valid
    by_dataset = fvo[fvo["level"] == "dataset"].set_index("group")
    assert by_dataset.loc["dsB", "n_finetuned"] == 30 and np.isnan(by_dataset.loc["dsB", "pearson_r_oneshot"])
    assert by_dataset.loc["dsB", "f1_oneshot"] == 0.8  # the dataset's cell line
    assert np.isnan(fvo.set_index("group").loc["K562", "f1_finetuned"])  # no K562 training
    bad = tmp_path / "bad.csv"
    bad.write_text("model,family,architecture_class,pair_of\nm2,hf,transformer,nope\n")
    assert run_evaluate(dict(paths, catalogue=bad), tmp_path / "o2", bootstrap=0) == 2
