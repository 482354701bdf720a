"""TREDNet-style and Sei-style CNNs: train on a tiny synthetic set, save, reload, score variants."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import cnn, load_model, sei, trednet
from regvarbench.models.cone import build_cone_plan
from regvarbench.score import score_windows
from regvarbench.train import TrainConfig, train_model, write_outputs

from .test_train import synthetic_split

TREDNET_TINY = {"channels": [16, 16, 16], "phase1_dense": 16, "phase2_dense": 8}
SEI_TINY = {"channels": [8, 8, 8], "spline_df": 8, "dense": 8}


def k562_table(hepg2: pd.DataFrame) -> pd.DataFrame:
    """A second cell line: the same sequences at other coordinates, half of the enhancers shared."""
    k = hepg2.assign(cell_line="K562", start=hepg2["start"] + 100, end=hepg2["end"] + 100)
    k.loc[k.index % 4 == 0, "label"] = 0  # these are HepG2-only enhancers
    return k


def windows_for(table: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """Single-base variants at the centre of test sequences (the layout score.py reads)."""
    rows = []
    for i, seq in enumerate(table["sequence"].tolist()[:n]):
        mid = len(seq) // 2
        alt = "A" if seq[mid] != "A" else "C"
        rows.append({"variant_id": f"v{i}", "dataset": "toy", "ref_seq": seq, "alt_seq": seq[:mid] + alt + seq[mid + 1:]})
    return pd.DataFrame(rows)


def assert_scores_match_full_passes(adapter, table: pd.DataFrame) -> None:
    windows = windows_for(table)
    assert build_cone_plan(adapter.model) is None and not adapter.supports_cone
    with pytest.raises(InputError, match="no cone"):
        adapter.predict_variants(windows["ref_seq"].tolist(), np.arange(len(windows)), windows["alt_seq"].tolist())
    scores = score_windows(adapter, windows)  # cone requested: falls back to full passes
    np.testing.assert_array_equal(scores["ref_output"], adapter.predict(windows["ref_seq"].tolist()))
    np.testing.assert_array_equal(scores["alt_output"], adapter.predict(windows["alt_seq"].tolist()))


def test_phase1_dataset_labels_by_overlap_and_never_sees_held_out_regions():
    target = pd.DataFrame({
        "region_id": list("abcd"), "chrom": "chr1", "start": [0, 1000, 2000, 3000],
        "end": [100, 1100, 2100, 3100], "label": [1, 0, 1, 0], "cell_line": "HepG2",
        "sequence": ["ACGT" * 25] * 4, "split": ["train", "train", "valid", "test"]})
    other = pd.DataFrame({
        "region_id": list("wxyz") + ["u", "v"], "chrom": "chr1", "start": [50, 5000, 3050, 2050, 7000, 8000],
        "end": [150, 5100, 3150, 2150, 7100, 8100], "label": [1, 0, 1, 1, 1, 0], "cell_line": "K562",
        "sequence": ["ACGT" * 25] * 6, "split": ["train", "train", "valid", "train", "valid", "valid"]})
    tasks, parts = trednet.phase1_dataset(target, [other])
    assert tasks == ["HepG2", "K562"]
    train, valid = parts["train"], parts["valid"]
    # z (train) overlaps the target's valid row c and y (valid) its test row d: both dropped
    assert train["region_id"].tolist() == ["a", "b", "w", "x"]
    assert valid["region_id"].tolist() == ["c", "u", "v"]
    # labels come from overlap with each cell line's enhancers: a overlaps K562's w, w overlaps HepG2's a
    assert train[["HepG2", "K562"]].to_numpy().tolist() == [[1, 1], [0, 0], [1, 1], [0, 0]]
    assert valid[["HepG2", "K562"]].to_numpy().tolist() == [[1, 1], [0, 1], [0, 0]]
    with pytest.raises(InputError, match="one split table per cell line"):
        trednet.phase1_dataset(target, [target])


def test_trednet_two_phases_train_save_reload_score(tmp_path):
    table = synthetic_split(n=240, length=150)
    k562 = k562_table(table)
    write_tsv(table, tmp_path / "HepG2.split.tsv")
    write_tsv(k562, tmp_path / "K562.split.tsv")
    rc = cli.main(["train", "--data", str(tmp_path / "HepG2.split.tsv"), "--model-name", "tred",
                   "--architecture", "trednet", "--phase1-data", str(tmp_path / "K562.split.tsv"),
                   "--epochs", "2", "--patience", "2", "--outdir", str(tmp_path / "out")])
    assert rc == 0
    target = tmp_path / "out" / "tred__HepG2"
    assert sorted(p.name for p in target.iterdir()) == [
        "enhancer_detection.tsv", "model.pt", "phase1_curve.tsv", "spec.json", "training_curve.tsv"]
    spec = json.loads((target / "spec.json").read_text())
    assert spec["hyperparameters"]["tasks"] == ["HepG2", "K562"]
    assert spec["phase1"]["tasks"] == ["HepG2", "K562"] and spec["phase1"]["n_train"] == 320
    # each K562 region overlaps its HepG2 twin: HepG2 labels 80 + 80 rows, K562 labels 40 + 40
    assert spec["phase1"]["positives_train"] == {"HepG2": 160, "K562": 80}
    assert len(read_tsv(target / "phase1_curve.tsv")) == spec["phase1"]["epochs_run"]

    adapter = load_model(target)
    assert isinstance(adapter.model, trednet.TREDNetLike) and adapter.model.phase1.out.out_features == 2
    assert_scores_match_full_passes(adapter, table[table["split"] == "test"])

    # phase two alone on top of the saved phase one: phase one's weights stay exactly as loaded
    config = TrainConfig(model_name="tred2", architecture="trednet", hyperparameters=TREDNET_TINY,
                         epochs=2, patience=2)
    result = train_model(table, config, phase1_weights=target)
    saved = torch.load(target / "model.pt", weights_only=True)
    now = result.model.state_dict()
    assert all(torch.equal(now[k], saved[k]) for k in saved if k.startswith("phase1."))
    assert not torch.equal(now["phase2.0.weight"], saved["phase2.0.weight"])
    assert result.spec["phase1"] == {"weights": str(target), "tasks": ["HepG2", "K562"],
                                     "weights_sha256": hashlib.sha256((target / "model.pt").read_bytes()).hexdigest()}
    # phase one's layout comes from the loaded model, not from the (tiny) hyper-parameters given
    assert result.spec["hyperparameters"]["phase1_dense"] == spec["hyperparameters"]["phase1_dense"] == 64
    with pytest.raises(InputError, match="trednet only"):
        train_model(table, TrainConfig(), phase1_tables=[("k", k562)])


def test_trednet_learns_the_planted_motif():
    table = synthetic_split(n=360, length=150)
    config = TrainConfig(model_name="tred", architecture="trednet", hyperparameters=TREDNET_TINY,
                         epochs=8, patience=3)
    result = train_model(table, config)
    assert result.spec["phase1"]["tasks"] == ["HepG2"]  # no other cell line: phase one has one task
    assert result.detection.set_index("split").loc["test", "auroc"] > 0.8, result.detection


def test_sei_like_trains_saves_reloads_and_scores(tmp_path):
    table = synthetic_split(n=240, length=150)
    config = TrainConfig(model_name="sei", architecture="sei_like", hyperparameters=SEI_TINY, epochs=2, patience=2)
    result = train_model(table, config)
    target = write_outputs(result, tmp_path)
    adapter = load_model(target)
    test = table[table["split"] == "test"]
    reference = cnn.predict_logits(result.model, cnn.encode(test["sequence"].tolist()))
    np.testing.assert_allclose(adapter.predict(test["sequence"].tolist()), cnn.sigmoid(reference), rtol=0, atol=1e-12)
    assert_scores_match_full_passes(adapter, test)
    # B-spline pooling adapts to any length: a longer input gives a different, finite output
    longer = adapter.model(cnn.encode(["ACGT" * 100]).double())
    assert longer.shape == (1,) and torch.isfinite(longer).all()


def test_sei_like_learns_the_planted_motif():
    table = synthetic_split(n=360, length=150)
    config = TrainConfig(model_name="sei", architecture="sei_like", hyperparameters=SEI_TINY | {"channels": [16, 16, 16]},
                         epochs=8, patience=3)
    result = train_model(table, config)
    assert result.detection.set_index("split").loc["test", "auroc"] > 0.85, result.detection


def test_sei_like_keeps_sei_module_names_and_spline_basis():
    model = cnn.build_model({"architecture": "sei_like", "hyperparameters": {
        "channels": [480, 640, 960], "dense": 4, "batch_norm": False}})
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    sei_modules = {"lconv1", "conv1", "lconv2", "conv2", "lconv3", "conv3", "classifier"} | {f"dconv{i}" for i in range(1, 6)}
    assert {k.split(".")[0] for k in shapes} == sei_modules
    # the published sei.pth trunk (keys after 'module.model.') has these names and shapes
    assert shapes["lconv1.0.weight"] == (480, 4, 9) and shapes["conv3.3.weight"] == (960, 960, 9)
    assert shapes["dconv5.1.weight"] == (960, 960, 5) and model.dconv5[1].dilation == (25,)
    assert shapes["classifier.0.weight"] == (4, 960 * 16)
    basis = sei.bspline_basis(256, 16)
    assert basis.shape == (256, 16) and np.allclose(basis.sum(axis=1), 1.0)
    assert np.argmax(basis[0]) == 0 and np.argmax(basis[-1]) == 15
    with pytest.raises(InputError, match="channels"):
        cnn.build_model({"architecture": "sei_like", "hyperparameters": {"channels": [8, 8]}})
