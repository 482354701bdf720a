"""`regvarbench train --catalogue`: the catalogue row decides the family and its options; models
scored as published (trednet, sei, the study's fine-tuned hf checkpoints) get their spec and
enhancer-detection table and nothing is fitted. Weights come from local files, ``file://`` URLs
or ``https://`` URLs looked up in the weights directory (no download)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from regvarbench import cli
from regvarbench.catalogue import STUDY_BIOSAMPLES, model_settings, parse_source, read_catalogue
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import load_model

from .test_models_hf import build_esm_checkpoint, offline, synthetic_split  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
TREDNET = ROOT / "tests" / "fixtures" / "trednet_keras"
SEI = ROOT / "tests" / "fixtures" / "sei"


def write_catalogue(path: Path, rows: list[dict[str, str]]) -> Path:
    """A catalogue with the real one's columns and these rows."""
    with open(ROOT / "assets" / "models.csv", newline="") as fh:
        columns = next(csv.reader(fh))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_source_cells_plain_keyed_and_per_cell_line():
    assert parse_source("arch:cnn_small", "HepG2") == {"source": "arch:cnn_small"}
    url = "https://zenodo.org/record/1/files/w.hdf5?download=1"  # '=' inside a URL is not a key
    assert parse_source(url, None) == {"source": url}
    assert parse_source("phase_one=/w/p1.h5;phase_two=/w/p2_{cell_line}.h5", "K562") == {
        "phase_one": "/w/p1.h5", "phase_two": "/w/p2_K562.h5"}
    assert parse_source("tanoManzo/x_ft_{biosample}_1kbpHG19_DHSs_H3K27AC", "HepG2") == {
        "source": "tanoManzo/x_ft_BioS73_1kbpHG19_DHSs_H3K27AC"}
    with pytest.raises(InputError, match="the study has none for 'cellA'"):
        parse_source("tanoManzo/x_ft_{biosample}", "cellA")
    with pytest.raises(InputError, match="'family' is set by the catalogue row"):
        parse_source("family=cnn;source=x", "HepG2")


def test_study_checkpoint_rows_resolve_per_cell_line():
    """One row per study model; its hub id per cell line follows the study's pattern and biosample ids."""
    rows = read_catalogue(ROOT / "assets" / "models.csv")
    study = {name: row for name, row in rows.items() if name.endswith("_study")}
    assert len(study) == 18
    for name, row in study.items():
        base = rows[name[:-len("_study")]]
        assert (row["family"], row["trainable"], row["architecture_class"]) == ("hf", "false", base["architecture_class"])
        for cell, biosample in STUDY_BIOSAMPLES.items():
            settings = model_settings(row, cell)
            assert settings["source"].startswith("tanoManzo/") and settings["trainable"] is False
            assert settings["source"].endswith(f"_ft_{biosample}_1kbpHG19_DHSs_H3K27AC"), (name, settings["source"])
    geneformer = model_settings(study["geneformer_study"], "K562")
    assert geneformer["tokenizer"] == "tanoManzo/Geneformer_ft_Hepg2_1kbpHG19_DHSs_H3K27AC"  # as the study
    assert model_settings(study["dnabert2_study"], "HepG2")["source"] == "tanoManzo/dnabert2_ft_BioS73_1kbpHG19_DHSs_H3K27AC"


def test_catalogue_options_are_not_given_twice(tmp_path):
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    rc = cli.main(["train", "--catalogue", str(ROOT / "assets" / "models.csv"), "--model-name", "cnn_small",
                   "--family", "hf", "--data", str(data), "--outdir", str(tmp_path / "out")])
    assert rc == 2 and not (tmp_path / "out").exists()


def test_trednet_from_the_weights_directory_is_scored_as_published(tmp_path, capsys):
    """https:// URLs are looked up by file name in --weights-dir: the download's code path, without
    the download. Nothing is fitted; SCORE loads the written directory."""
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(TREDNET / "phase_one.h5", weights / "p1.h5")
    shutil.copy(TREDNET / "phase_two.h5", weights / "p2_HepG2.h5")
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "trednet", "family": "trednet", "architecture_class": "cnn", "trainable": "false",
        "kind_of_output": "prob", "source": "phase_one=https://example.org/w/p1.h5;phase_two=https://example.org/w/p2_{cell_line}.h5"}])
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    argv = ["train", "--catalogue", str(catalogue), "--model-name", "trednet", "--data", str(data),
            "--outdir", str(tmp_path / "out")]
    assert cli.main(argv) == 2  # nothing in the default cache
    err = capsys.readouterr().err
    assert "model trednet" in err and "https://example.org/w/p1.h5" in err
    assert cli.main([*argv, "--weights-dir", str(weights)]) == 0
    target = tmp_path / "out" / "trednet__HepG2"
    assert sorted(p.name for p in target.iterdir()) == ["enhancer_detection.tsv", "spec.json"]  # no weights, no curve
    spec = json.loads((target / "spec.json").read_text())
    assert spec["family"] == "trednet" and spec["trainable"] is False and spec["input_length"] == 2000
    assert spec["phase_two"] == "https://example.org/w/p2_HepG2.h5" and spec["weights_dir"] == str(weights)
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert detection["split"].tolist() == ["valid", "test"] and detection["n"].tolist() == [4, 4]
    seqs = read_tsv(data)["sequence"].tolist()[:5]
    direct = load_model({"family": "trednet", "cell_line": "HepG2", "phase_one": str(weights / "p1.h5"),
                         "phase_two": str(weights / "p2_HepG2.h5")}).predict(seqs)
    np.testing.assert_array_equal(load_model(target).predict(seqs), direct)


def test_missing_published_weights_leave_a_marker_with_skip_unavailable(tmp_path):
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "trednet", "family": "trednet", "architecture_class": "cnn", "trainable": "false",
        "kind_of_output": "prob", "source": "https://github.com/okurman/TREDNet"}])
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    rc = cli.main(["train", "--catalogue", str(catalogue), "--model-name", "trednet", "--data", str(data),
                   "--weights-dir", str(tmp_path / "empty"), "--skip-unavailable", "--outdir", str(tmp_path / "out")])
    assert rc == 0
    marker = read_tsv(tmp_path / "out" / "trednet__HepG2" / "unavailable.tsv")
    reason = marker["reason"].iloc[0]
    assert "TREDNet_weights_phase_one.hdf5" in reason and str(tmp_path / "empty") in reason


@pytest.mark.skipif(not (SEI / "sei_tiny.pth").exists(), reason="width-reduced Sei fixture not built")
def test_sei_row_is_scored_as_published(tmp_path):
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "sei", "family": "sei", "architecture_class": "cnn", "trainable": "false",
        "kind_of_output": "tracks", "source": f"sei_weights=file://{SEI / 'sei_tiny.pth'}", "tracks": "HepG2:0,1"}])
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--catalogue", str(catalogue), "--model-name", "sei", "--data", str(data),
                     "--outdir", str(tmp_path / "out")]) == 0
    target = tmp_path / "out" / "sei__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    assert spec["family"] == "sei" and spec["trainable"] is False and not (target / "model.pt").exists()
    assert spec["sei_weights"] == f"file://{SEI / 'sei_tiny.pth'}"
    assert load_model(target).predict(["ACGT" * 30]).shape == (1,)


def test_study_checkpoint_row_is_scored_without_fine_tuning(tmp_path, offline):  # noqa: F811
    """A fine-tuned checkpoint per cell line ({cell_line} in source) scored as published: the
    model directory holds no checkpoint of its own and predicts what the source predicts."""
    source = build_esm_checkpoint(tmp_path / "ckpt_HepG2")
    catalogue = write_catalogue(tmp_path / "models.csv", [{
        "model": "nt_tiny_study", "family": "hf", "architecture_class": "transformer", "trainable": "false",
        "kind_of_output": "prob", "max_tokens": "32", "trust_remote_code": "false",
        "source": f"{tmp_path}/ckpt_{{cell_line}}"}])
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--catalogue", str(catalogue), "--model-name", "nt_tiny_study", "--data", str(data),
                     "--outdir", str(tmp_path / "out")]) == 0
    target = tmp_path / "out" / "nt_tiny_study__HepG2"
    assert sorted(p.name for p in target.iterdir()) == ["enhancer_detection.tsv", "spec.json"]
    spec = json.loads((target / "spec.json").read_text())
    assert spec["source"] == source and spec["checkpoint"] is None and spec["trainable"] is False
    assert "training" not in spec and "epochs_run" not in spec
    seqs = read_tsv(data)["sequence"].tolist()[:6]
    direct = load_model({"family": "hf", "model_name": "x", "source": source, "max_tokens": 32}).predict(seqs)
    np.testing.assert_array_equal(load_model(target).predict(seqs), direct)


def test_catalogue_options_fill_once(tmp_path):
    """Data-parallel workers re-enter run() with the filled-in options: applying again changes nothing."""
    import argparse

    from regvarbench import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_args(["--catalogue", str(ROOT / "assets" / "models.csv"), "--model-name", "nt_v2_50m_multi",
                              "--cell-line", "HepG2", "--outdir", str(tmp_path)])
    once = train.apply_catalogue(args)
    assert (once.family, once.source, once.trust_remote_code, once.published) == (
        "hf", "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species", True, False)
    assert vars(train.apply_catalogue(once)) == vars(once)
