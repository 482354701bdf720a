"""oneshot: an untrained network read by a linear probe, saved as a spec, reloaded and scored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from regvarbench import cli, oneshot
from regvarbench.catalogue import read_catalogue as read_catalogue_rows
from regvarbench.evaluate import read_catalogue, read_pairs
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import load_model
from regvarbench.models.probe import features, last_linear
from regvarbench.score import score_windows

from .test_models_hf import build_esm_checkpoint, offline  # noqa: F401 (fixture)
from .test_models_hf import synthetic_split as hf_split
from .test_models_hf import variant_windows
from .test_published_route import write_catalogue
from .test_train import synthetic_split

CATALOGUE = str(Path(__file__).resolve().parents[2] / "assets" / "models.csv")


def test_cnn_oneshot_probe_learns_from_random_features(tmp_path):
    """Random conv features + a probe still separate planted-motif enhancers from random DNA.

    With global average pooling (random features pooled by max sit at chance: measured auROC
    0.40-0.51 with cnn_small's default max+avg, 0.62-0.77 with avg)."""
    data = write_tsv(synthetic_split(n=600, length=200), tmp_path / "HepG2.split.tsv")
    assert cli.main(["oneshot", "--data", str(data), "--model-name", "cnn_small", "--max-train", "300",
                     "--hyperparameters", '{"global_pool": "avg"}', "--outdir", str(tmp_path / "out")]) == 0
    target = tmp_path / "out" / "cnn_small_oneshot__HepG2"
    assert sorted(p.name for p in target.iterdir()) == ["enhancer_detection.tsv", "spec.json"]
    spec = json.loads((target / "spec.json").read_text())
    assert spec["oneshot_of"] == "cnn_small" and spec["probe"]["n_train"] == 300
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert detection["split"].tolist() == ["valid", "test"]
    assert (detection["auroc"] > 0.6).all(), detection  # better than chance without any training

    adapter = load_model(target)
    table = read_tsv(data)
    test = table[table["split"] == "test"]
    probs = adapter.predict(test["sequence"].tolist())
    assert probs.shape == (len(test),) and np.all((probs >= 0) & (probs <= 1))
    # the probe's features do not depend on batch mates (fixed-size, padded batches)
    seqs = test["sequence"].tolist()[:10]
    assert np.array_equal(features(adapter.base, seqs, 4)[3], features(adapter.base, seqs[3:4], 4)[0])
    # same inputs, same spec
    assert cli.main(["oneshot", "--data", str(data), "--model-name", "cnn_small", "--max-train", "300",
                     "--hyperparameters", '{"global_pool": "avg"}', "--outdir", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "cnn_small_oneshot__HepG2" / "spec.json").read_bytes() == \
        (target / "spec.json").read_bytes()


def test_hf_oneshot_reads_pretrained_checkpoint_and_scores(tmp_path):
    source = build_esm_checkpoint(tmp_path / "esm")
    data = write_tsv(hf_split(), tmp_path / "HepG2.split.tsv")
    assert cli.main(["oneshot", "--data", str(data), "--model-name", "nt_tiny", "--family", "hf",
                     "--source", source, "--max-tokens", "64", "--outdir", str(tmp_path / "out")]) == 0
    target = tmp_path / "out" / "nt_tiny_oneshot__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    adapter = load_model(target)
    assert spec["probe"]["n_features"] == last_linear(adapter.model).in_features
    scores = score_windows(adapter, variant_windows())
    assert scores["model"].eq("nt_tiny_oneshot").all() and np.isfinite(scores["score"]).all()


def test_oneshot_bad_input(tmp_path, capsys):
    data = write_tsv(synthetic_split(n=60, length=50), tmp_path / "HepG2.split.tsv")
    assert cli.main(["oneshot", "--data", str(data), "--model-name", "x", "--family", "hf",
                     "--outdir", str(tmp_path)]) == 2
    assert "needs --source" in capsys.readouterr().err
    one_label = read_tsv(data).assign(label=1)
    bad = write_tsv(one_label, tmp_path / "bad.split.tsv")
    assert cli.main(["oneshot", "--data", str(bad), "--model-name", "x", "--outdir", str(tmp_path)]) == 2
    assert "needs both enhancers" in capsys.readouterr().err


def test_evaluate_pairs_oneshot_models_by_name(tmp_path):
    assert read_pairs(None, ["a", "a_oneshot", "b_oneshot", "c"]) == [("a_oneshot", "a")]
    catalogue = tmp_path / "models.csv"
    catalogue.write_text("model,family,architecture_class\na,hf,transformer\n")
    meta = read_catalogue(catalogue, ["a", "a_oneshot", "z"]).set_index("model")
    assert meta.loc["a_oneshot", "architecture_class"] == "transformer"
    assert meta.loc["z", "family"] == "unknown"


def test_unavailable_checkpoint_is_skipped_with_a_marker(tmp_path, offline, capsys):  # noqa: F811
    # offline: the hub flags are read at import; the variable alone left every lookup retrying the
    # closed network until it timed out (90 s)
    data = write_tsv(hf_split(), tmp_path / "HepG2.split.tsv")
    argv = ["oneshot", "--data", str(data), "--model-name", "nt_absent", "--family", "hf",
            "--source", "regvarbench-tests/absent-checkpoint", "--outdir", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    assert "nt_absent" in capsys.readouterr().err
    assert cli.main([*argv, "--skip-unavailable"]) == 0
    marker = tmp_path / "out" / "nt_absent_oneshot__HepG2"
    assert json.loads((marker / "spec.json").read_text())["unavailable"] is True
    assert read_tsv(marker / "unavailable.tsv")["source"].tolist() == ["regvarbench-tests/absent-checkpoint"]


def _spec(outdir, name: str) -> dict:
    return json.loads((outdir / f"{name}_oneshot__HepG2" / "spec.json").read_text())


def test_cnn_row_of_the_catalogue_decides_the_architecture(tmp_path):
    """``--catalogue`` with a cnn row writes the spec the explicit flags write (its ``arch:`` name,
    not the default cnn_small); --hyperparameters and the probe's options stay options."""
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "scan", "family": "cnn", "architecture_class": "cnn", "source": "arch:motif_scan",
        "trainable": "true", "kind_of_output": "prob"}])
    data = write_tsv(synthetic_split(n=60, length=50), tmp_path / "HepG2.split.tsv")
    common = ["oneshot", "--data", str(data), "--model-name", "scan", "--max-train", "20", "--seed", "3",
              "--hyperparameters", '{"filters": 8}']
    assert cli.main([*common, "--catalogue", str(catalogue), "--outdir", str(tmp_path / "row")]) == 0
    assert cli.main([*common, "--family", "cnn", "--architecture", "motif_scan",
                     "--outdir", str(tmp_path / "flags")]) == 0
    spec = _spec(tmp_path / "row", "scan")
    assert spec["architecture"] == "motif_scan" and spec["hyperparameters"]["filters"] == 8
    assert spec == _spec(tmp_path / "flags", "scan")
    assert (tmp_path / "row" / "scan_oneshot__HepG2" / "enhancer_detection.tsv").read_bytes() == \
        (tmp_path / "flags" / "scan_oneshot__HepG2" / "enhancer_detection.tsv").read_bytes()


def test_hf_row_of_the_catalogue_decides_source_and_options(tmp_path, offline):  # noqa: F811
    """An hf row: source and tokenizer (``{cell_line}`` filled from --data's cell line), max_tokens
    and revision from the row give the spec of the explicit flags."""
    source = build_esm_checkpoint(tmp_path / "esm_HepG2")
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "nt_tiny", "family": "hf", "architecture_class": "transformer", "trainable": "true",
        "kind_of_output": "prob", "max_tokens": "64", "trust_remote_code": "false", "revision": "main",
        "source": f"source={tmp_path}/esm_" + "{cell_line}" + f";tokenizer={tmp_path}/esm_" + "{cell_line}"}])
    data = write_tsv(hf_split(), tmp_path / "HepG2.split.tsv")
    common = ["oneshot", "--data", str(data), "--model-name", "nt_tiny", "--max-train", "40"]
    assert cli.main([*common, "--catalogue", str(catalogue), "--outdir", str(tmp_path / "row")]) == 0
    assert cli.main([*common, "--family", "hf", "--source", source, "--tokenizer", source, "--max-tokens", "64",
                     "--revision", "main", "--outdir", str(tmp_path / "flags")]) == 0
    spec = _spec(tmp_path / "row", "nt_tiny")
    assert (spec["family"], spec["source"], spec["tokenizer"], spec["max_tokens"], spec["revision"]) == (
        "hf", source, source, 64, "main")
    assert spec == _spec(tmp_path / "flags", "nt_tiny")


def test_catalogue_rows_give_the_flags_the_pipeline_passed(tmp_path):
    """Every row ONESHOT probes (a trainable cnn or hf row of the shipped catalogue) fills in the
    options the ONESHOT module chose in Groovy before (hf: --source, --max-tokens when the row has
    one, --trust-remote-code when true; cnn: --architecture, the source without ``arch:``)."""
    parser = argparse.ArgumentParser()
    oneshot.add_arguments(parser)
    base = ["--data", str(tmp_path / "absent.tsv"), "--outdir", str(tmp_path)]
    probed = {name: row for name, row in read_catalogue_rows(CATALOGUE).items()
              if row["family"] in oneshot.FAMILIES and row["trainable"] == "true"}
    assert {"cnn_small", "trednet_like", "sei_like", "dnabert2", "nt_500m_1000g"} <= set(probed)
    for name, row in probed.items():
        if row["family"] == "hf":
            flags = ["--family", "hf", "--source", row["source"], *(["--max-tokens", row["max_tokens"]]
                     if row["max_tokens"] else []), *(["--trust-remote-code"] if row["trust_remote_code"] == "true" else [])]
        else:
            flags = ["--family", "cnn", "--architecture", row["source"].removeprefix("arch:")]
        filled = oneshot.apply_catalogue(parser.parse_args([*base, "--model-name", name, "--catalogue", CATALOGUE]))
        explicit = parser.parse_args([*base, "--model-name", name, *flags])
        assert {**vars(filled), "catalogue": None} == vars(explicit), name


def test_catalogue_decided_option_given_as_well_is_refused(tmp_path, capsys):
    data = write_tsv(synthetic_split(n=60, length=50), tmp_path / "HepG2.split.tsv")
    for extra, flags in ((["--family", "hf"], "--family"), (["--architecture", "trednet"], "--architecture"),
                         (["--max-tokens", "64", "--trust-remote-code"], "--max-tokens, --trust-remote-code")):
        assert cli.main(["oneshot", "--data", str(data), "--catalogue", CATALOGUE, "--model-name", "cnn_small",
                         *extra, "--outdir", str(tmp_path / "out")]) == 2
        assert f"the row of cnn_small decides {flags}; give them there" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_catalogue_row_of_another_family_is_refused(tmp_path, capsys):
    data = write_tsv(synthetic_split(n=60, length=50), tmp_path / "HepG2.split.tsv")
    for name, family in (("trednet", "trednet"), ("motif_jaspar", "motif")):
        assert cli.main(["oneshot", "--data", str(data), "--catalogue", CATALOGUE, "--model-name", name,
                         "--outdir", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert f"model {name} is of family '{family}'; one-shot probes cnn and hf rows only" in err, err
    assert cli.main(["oneshot", "--data", str(data), "--catalogue", CATALOGUE, "--model-name", "absent",
                     "--outdir", str(tmp_path / "out")]) == 2
    assert "no model 'absent' in the catalogue" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
