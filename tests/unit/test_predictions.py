"""import-predictions: kinds, joins and the import report on small tables and on the published files."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest

from regvarbench.cli import main
from regvarbench.io import read_tsv, write_tsv
from regvarbench.score import SCORE_COLUMNS
from regvarbench.score_kinds import logits_score

HEADER = ["dataset", "row", "chrom", "pos", "ref", "alt", "model", "kind", "ref_0", "ref_1", "alt_0", "alt_1",
          "score", "ref_p", "alt_p"]


def log2ratio(ref: float, alt: float) -> float:
    """The study's score (the default, ``--score study``): no epsilon."""
    return math.log2(alt / ref)


def log2ratio_eps(ref: float, alt: float) -> float:
    return math.log2((alt + 1e-6) / (ref + 1e-6))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.fixture
def small(tmp_path):
    """Five variants of dataset dsA (chrom without 'chr') and predictions named by the source stem."""
    v = pd.DataFrame({"variant_id": [f"dsA:{i}" for i in range(5)], "dataset": "dsA", "cell_line": "HepG2",
                      "chrom": "1", "pos": [10, 20, 20, 30, 40], "ref": ["A", "C", "C", "G", "T"],
                      "alt": ["G", "T", "A", "A", "C"], "effect_log2": 0.0, "pvalue": 0.5,
                      "signed_log10p": 0.0, "row": range(5)})
    variants = write_tsv(v, tmp_path / "dsA.variants.tsv")
    e = ""
    rows = [
        ["src.A", 0, "chr1", 10, "A", "G", "m1", "logits2", 0.5, 1.5, -1, 2, e, e, e],
        ["src.A", 1, "chr1", 20, "C", "T", "m1", "logits2", 0, 0, 0, 0, e, e, e],
        ["src.A", 2, "chr1", 21, "C", "A", "m1", "logits2", 0, 0, 0, 1, e, e, e],  # pos disagrees
        ["src.A", 3, "chr1", 30, "G", "A", "m1", "logits2", 0, 1, e, e, e, e, e],  # values missing
        ["src.A", 9, "chr1", 50, "G", "A", "m1", "logits2", 0, 1, 0, 1, e, e, e],  # row not prepared
        ["src.A", 0, "chr1", 10, "A", "G", "m2", "prob", e, e, e, e, e, 0.2, 0.0],
        ["src.A", 1, "chr1", 20, "C", "T", "m2", "prob", e, e, e, e, e, 0.5, 0.5],
        ["src.A", 0, "chr1", 10, "A", "G", "m3", "diff", e, e, e, e, -0.25, e, e],
        ["src.A", 4, "chr1", 40, "T", "C", "m3", "log2ratio", e, e, e, e, 1.5, e, e],
        ["src.A", 4, "chr1", 40, "T", "C", "m3", "log2ratio", e, e, e, e, 2.5, e, e],  # duplicate
        ["src.A", 1, "chr1", 20, "C", "T", "m3", "weird", e, e, e, e, 1.0, e, e],
        ["other", 0, "chr1", 10, "A", "G", "m1", "diff", e, e, e, e, 1.0, e, e],
    ]
    pred = pd.DataFrame(rows, columns=HEADER)
    with_row = tmp_path / "src.A.predictions.tsv.gz"
    with gzip.open(with_row, "wt") as fh:
        pred.to_csv(fh, sep="\t", index=False)
    keyed = pd.DataFrame([["dsA", "1", 20, "C", "A", "m4", "diff", 0.75],
                          ["dsA", "chr1", 30, "G", "A", "m4", "diff", -1.0],
                          ["dsA", "1", 31, "G", "A", "m4", "diff", 9.0]],
                         columns=["dataset", "chrom", "pos", "ref", "alt", "model", "kind", "score"])
    without_row = write_tsv(keyed, tmp_path / "keyed.tsv")
    return tmp_path, variants, with_row, without_row


def run_import(tmp_path, variants, files, *extra) -> int:
    return main(["import-predictions", "--predictions", *map(str, files), "--variants", str(variants),
                 "--outdir", str(tmp_path / "out"), *extra])


def test_kinds_joins_and_report(small):
    tmp, variants, with_row, without_row = small
    assert run_import(tmp, variants, [with_row, without_row], "--dataset-map", "src.A=dsA") == 0
    out = tmp / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "import_report.tsv", "m1.dsA.external.scores.tsv", "m2.dsA.external.scores.tsv",
        "m3.dsA.external.scores.tsv", "m4.dsA.external.scores.tsv"]
    m1 = read_tsv(out / "m1.dsA.external.scores.tsv").set_index("variant_id")
    assert list(m1.reset_index().columns) == SCORE_COLUMNS
    assert list(m1.index) == ["dsA:0", "dsA:1"]
    assert m1.loc["dsA:0", "ref_output"] == pytest.approx(sigmoid(1.0), abs=1e-9)
    assert m1.loc["dsA:0", "score"] == pytest.approx(log2ratio(sigmoid(1.0), sigmoid(3.0)), abs=1e-9)
    assert m1.loc["dsA:1", "score"] == 0
    m2 = read_tsv(out / "m2.dsA.external.scores.tsv").set_index("variant_id")
    assert m2.loc["dsA:0", "score"] == -np.inf  # alt_p = 0: not finite, evaluate drops and counts it
    m3 = read_tsv(out / "m3.dsA.external.scores.tsv").set_index("variant_id")
    assert m3["score"].to_dict() == {"dsA:0": -0.25, "dsA:4": 1.5}  # first of the duplicates
    assert m3["ref_output"].isna().all() and m3["alt_output"].isna().all()
    m4 = read_tsv(out / "m4.dsA.external.scores.tsv").set_index("variant_id")
    assert m4["score"].to_dict() == {"dsA:2": 0.75, "dsA:3": -1.0}  # key join, chr prefix harmonised
    report = read_tsv(out / "import_report.tsv")
    assert list(report.columns) == ["model", "dataset", "row", "reason", "detail", "source"]
    got = sorted(zip(report["model"], report["reason"], report["row"].fillna(-1).astype(int)))
    assert got == sorted([
        ("m1", "row_key_mismatch", 2), ("m1", "missing_values", 3), ("m1", "row_not_in_variants", 9),
        ("m3", "duplicate_prediction", 4), ("m3", "unknown_kind", 1), ("m1", "dataset_not_in_variants", 0),
        ("m4", "key_not_in_variants", -1),
        *[("m1", "no_prediction", r) for r in (2, 3, 4)], *[("m2", "no_prediction", r) for r in (2, 3, 4)],
        *[("m3", "no_prediction", r) for r in (1, 2, 3)], *[("m4", "no_prediction", r) for r in (0, 1, 4)]])
    mismatch = report[report["reason"] == "row_key_mismatch"].iloc[0]
    assert "chr1:21:C>A" in mismatch["detail"] and "1:20:C>A" in mismatch["detail"]
    assert mismatch["source"] == "src.A.predictions.tsv.gz:4"


def test_score_definitions(small):
    """--score log2ratio_eps keeps the epsilon ratio; study logits stay finite where float32 sigmoids underflow."""
    tmp, variants, with_row, without_row = small
    assert run_import(tmp, variants, [with_row, without_row], "--dataset-map", "src.A=dsA",
                      "--score", "log2ratio_eps") == 0
    m1 = read_tsv(tmp / "out" / "m1.dsA.external.scores.tsv").set_index("variant_id")
    assert m1.loc["dsA:0", "score"] == pytest.approx(log2ratio_eps(sigmoid(1.0), sigmoid(3.0)), abs=1e-9)
    m2 = read_tsv(tmp / "out" / "m2.dsA.external.scores.tsv").set_index("variant_id")
    assert m2.loc["dsA:0", "score"] == pytest.approx(log2ratio_eps(0.2, 0.0), rel=1e-9)  # eps keeps it finite
    # margins of -800 and -790: sigmoid is 0 in float64, the log-sigmoid difference is 10 / ln 2
    score = logits_score(np.array([-800.0, 3.0]), np.array([-790.0, 3.0]))
    assert score[0] == pytest.approx(10 / math.log(2), rel=1e-12) and score[1] == 0.0
    assert np.isnan(logits_score(np.array([np.nan]), np.array([1.0]))).all()


def test_one_model_and_a_given_kind(small, capsys):
    """--model keeps one model of a many-model file and names a file without a model column; --kind
    types a file without a kind column (the samplesheet route of the pipeline, one task per row)."""
    tmp, variants, with_row, _ = small
    assert run_import(tmp, variants, [with_row], "--dataset-map", "src.A=dsA", "--model", "m2") == 0
    assert sorted(p.name for p in (tmp / "out").iterdir()) == ["import_report.tsv", "m2.dsA.external.scores.tsv"]
    bare = write_tsv(pd.DataFrame({"dataset": "dsA", "chrom": "1", "pos": [10, 40], "ref": ["A", "T"],
                                   "alt": ["G", "C"], "score": [0.5, -2.0]}), tmp / "bare.tsv")
    assert run_import(tmp, variants, [bare], "--model", "ext", "--kind", "diff", "--outdir", str(tmp / "bare")) == 0
    ext = read_tsv(tmp / "bare" / "ext.dsA.external.scores.tsv").set_index("variant_id")
    assert ext["score"].to_dict() == {"dsA:0": 0.5, "dsA:4": -2.0}
    assert run_import(tmp, variants, [bare], "--model", "ext") == 2  # no kind column, no --kind
    assert "missing column(s) 'kind'" in capsys.readouterr().err
    assert run_import(tmp, variants, [with_row], "--kind", "prob") == 2
    assert "--kind prob applies to files without one" in capsys.readouterr().err
    assert run_import(tmp, variants, [with_row], "--model", "m9") == 2
    assert "no rows of model 'm9'" in capsys.readouterr().err


def test_byte_identical_rerun(small):
    tmp, variants, with_row, without_row = small
    assert run_import(tmp, variants, [with_row, without_row], "--dataset-map", "src.A=dsA") == 0
    first = {p.name: p.read_bytes() for p in (tmp / "out").iterdir()}
    assert run_import(tmp, variants, [with_row, without_row], "--dataset-map", "src.A=dsA") == 0
    assert {p.name: p.read_bytes() for p in (tmp / "out").iterdir()} == first


def test_unmapped_dataset_is_reported_not_dropped(small):
    tmp, variants, with_row, _ = small
    assert run_import(tmp, variants, [with_row]) == 0
    report = read_tsv(tmp / "out" / "import_report.tsv")
    assert set(report["reason"]) == {"dataset_not_in_variants"} and len(report) == 12


def test_bad_arguments_exit_2(small, capsys):
    tmp, variants, with_row, _ = small
    assert run_import(tmp, variants, [with_row], "--dataset-map", "src.A") == 2
    assert "OLD=NEW" in capsys.readouterr().err
    assert run_import(tmp, variants, [with_row], "--dataset-map", "src.A=nope") == 2
    assert "without a variants table: nope" in capsys.readouterr().err
    broken = read_tsv(with_row).drop(columns="kind")
    assert run_import(tmp, variants, [write_tsv(broken, tmp / "broken.tsv")]) == 2
    assert "missing column(s) 'kind'" in capsys.readouterr().err


# ---------------------------------------------------------------- the study's own files

REAL = {"SORT1": ("kircher2019_satmut", "SORT1.csv", "SORT1"),
        "hepg2_raqtl": ("sure_raqtl", "hepg2.sign.id.LP190708.txt.gz", "hepg2.sign.id.LP190708")}


@pytest.fixture(scope="module")
def real_import(published, tmp_path_factory):
    out = tmp_path_factory.mktemp("real")
    variants = []
    for dataset, (fmt, name, _) in REAL.items():
        assert main(["prepare-variants", "--dataset", dataset, "--cell-line", "HepG2", "--format", fmt,
                     "--input", str(published / "experimental" / name), "--outdir", str(out / "v")]) == 0
        variants.append(str(out / "v" / f"{dataset}.variants.tsv"))
    preds = [str(published / "predictions" / f"{stem}.predictions.tsv.gz") for _, _, stem in REAL.values()]
    assert main(["import-predictions", "--predictions", *preds, "--variants", *variants,
                 "--dataset-map", "hepg2.sign.id.LP190708=hepg2_raqtl", "--outdir", str(out / "s")]) == 0
    return published, out / "s"


def raw_line(path, model: str, row: int) -> dict:
    """The prediction line of ``model`` for source row ``row``, read without pandas."""
    with gzip.open(path, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            rec = dict(zip(header, line.rstrip("\n").split("\t")))
            if rec["model"] == model and rec["row"] == str(row):
                return rec
    raise AssertionError(f"no line for {model} row {row}")


def test_real_every_prediction_row_matched(real_import):
    published, out = real_import
    assert read_tsv(out / "import_report.tsv").empty
    tables = sorted(p.name for p in out.glob("*.external.scores.tsv"))
    assert len(tables) == 2 * 22  # 22 models scored both datasets
    for dataset, n in (("SORT1", 1789), ("hepg2_raqtl", 14183)):
        for model in ("dnabert2", "trednet", "sei", "borzoi"):
            table = read_tsv(out / f"{model}.{dataset}.external.scores.tsv")
            assert len(table) == n and table["variant_id"].is_unique
            assert np.isfinite(table["score"]).all()


def test_real_hand_computed_scores(real_import):
    published, out = real_import
    rec = raw_line(published / "predictions" / "SORT1.predictions.tsv.gz", "dnabert2", 3)
    ref = sigmoid(float(rec["ref_1"]) - float(rec["ref_0"]))
    alt = sigmoid(float(rec["alt_1"]) - float(rec["alt_0"]))
    got = read_tsv(out / "dnabert2.SORT1.external.scores.tsv").set_index("variant_id").loc["SORT1:3"]
    assert got["score"] == pytest.approx(log2ratio(ref, alt), rel=1e-8)
    assert got["ref_output"] == pytest.approx(ref, rel=1e-8)
    rec = raw_line(published / "predictions" / "hepg2.sign.id.LP190708.predictions.tsv.gz", "trednet", 1)
    got = read_tsv(out / "trednet.hepg2_raqtl.external.scores.tsv").set_index("variant_id").loc["hepg2_raqtl:1"]
    assert got["score"] == pytest.approx(log2ratio(float(rec["ref_p"]), float(rec["alt_p"])), rel=1e-8)
    rec = raw_line(published / "predictions" / "hepg2.sign.id.LP190708.predictions.tsv.gz", "sei", 2)
    got = read_tsv(out / "sei.hepg2_raqtl.external.scores.tsv").set_index("variant_id").loc["hepg2_raqtl:2"]
    assert got["score"] == float(rec["score"]) and np.isnan(got["ref_output"])
