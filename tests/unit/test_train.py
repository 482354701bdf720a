"""Training: learns a planted motif, stops early keeping the best weights, and is reproducible."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import cnn, load_model
from regvarbench.train import TrainConfig, bce_with_logits, train_model, write_outputs

MOTIFS = ("TGACTCA",)


def synthetic_split(n: int = 600, length: int = 200, seed: int = 0, informative: bool = True) -> pd.DataFrame:
    """Enhancers carry 3 planted motifs, controls are random DNA; splits 400/100/100 of 600.

    With ``informative=False`` labels are shuffled, so nothing can be learned.
    """
    rng = np.random.default_rng(seed)
    rows = []
    labels = np.tile([1, 0], n // 2)
    for i, label in enumerate(labels):
        seq = list("".join(rng.choice(list("ACGT"), length)))
        if label:
            for j in range(3):
                motif = MOTIFS[j % len(MOTIFS)]
                at = int(rng.integers(0, length - len(motif)))
                seq[at:at + len(motif)] = motif
        rows.append({"region_id": f"r{i}", "chrom": "chr1", "start": i * 1000, "end": i * 1000 + length,
                     "label": int(label), "cell_line": "HepG2", "sequence": "".join(seq),
                     "split": "train" if i < 2 * n // 3 else ("valid" if i < 5 * n // 6 else "test")})
    df = pd.DataFrame(rows)
    if not informative:
        df["label"] = rng.permutation(df["label"].to_numpy())
    return df


def test_cli_train_learns_planted_motif(tmp_path):
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    rc = cli.main(["train", "--data", str(data), "--model-name", "cnn_small", "--epochs", "10",
                   "--patience", "4", "--threads", str(torch.get_num_threads()),
                   "--outdir", str(tmp_path / "out")])
    assert rc == 0
    target = tmp_path / "out" / "cnn_small__HepG2"
    assert sorted(p.name for p in target.iterdir()) == [
        "enhancer_detection.tsv", "model.pt", "spec.json", "training_curve.tsv"]
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert list(detection.columns) == ["model", "cell_line", "split", "n", "auroc", "auprc", "f1"]
    assert detection["split"].tolist() == ["valid", "test"] and detection["n"].tolist() == [100, 100]
    assert (detection["auroc"] > 0.9).all() and (detection["auprc"] > 0.9).all(), detection
    curve = read_tsv(target / "training_curve.tsv")
    assert list(curve.columns) == ["epoch", "train_loss", "valid_loss", "valid_auroc"]
    spec = json.loads((target / "spec.json").read_text())
    assert spec["family"] == "cnn" and spec["architecture"] == "cnn_small"
    assert spec["input_length"] == 200 and spec["cell_line"] == "HepG2" and spec["seed"] == 0
    assert spec["epochs_run"] == len(curve) and 1 <= spec["best_epoch"] <= spec["epochs_run"]
    assert spec["hyperparameters"]["kernel_sizes"] == [15, 7, 5] and spec["torch_version"] == torch.__version__
    # the saved model is the adapter scoring will use: enhancers score higher than controls
    test = synthetic_split().query("split == 'test'")
    probs = load_model(target).predict(test["sequence"].tolist())
    assert probs[test["label"].to_numpy() == 1].mean() > probs[test["label"].to_numpy() == 0].mean() + 0.3


def test_early_stopping_keeps_best_weights():
    config = TrainConfig(model_name="noise", epochs=40, patience=2, lr=1e-2, batch_size=32)
    table = synthetic_split(n=240, length=150, informative=False)
    result = train_model(table, config)
    curve = result.curve
    assert len(curve) < 40
    best = int(curve.loc[curve["valid_loss"].idxmin(), "epoch"])
    assert result.spec["best_epoch"] == best and result.spec["epochs_run"] == best + 2
    # the returned model is the best epoch's, not the last one's
    valid = table[table["split"] == "valid"]
    logits = cnn.predict_logits(result.model, cnn.encode(valid["sequence"].tolist()))
    assert bce_with_logits(logits, valid["label"]) == pytest.approx(curve["valid_loss"].min(), rel=1e-12)
    assert curve["valid_loss"].iloc[-1] > curve["valid_loss"].min()


def test_same_seed_gives_same_weights_and_bytes(tmp_path):
    table = synthetic_split(n=240, length=150)
    config = TrainConfig(model_name="det", epochs=3, patience=3, batch_size=32, reverse_complement_augment=True)
    runs = [train_model(table, config) for _ in range(2)]
    a, b = (r.model.state_dict() for r in runs)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    dirs = [write_outputs(r, tmp_path / f"run{i}") for i, r in enumerate(runs)]
    for name in ("training_curve.tsv", "enhancer_detection.tsv", "spec.json"):
        assert (dirs[0] / name).read_bytes() == (dirs[1] / name).read_bytes(), name
    other = train_model(table, TrainConfig(**{**config.__dict__, "seed": 1})).model.state_dict()
    assert not all(torch.equal(a[k], other[k]) for k in a)


def test_bad_split_tables_raise_input_error():
    table = synthetic_split(n=60, length=150)
    with pytest.raises(InputError, match="'sequence'"):
        train_model(table.drop(columns=["sequence"]), TrainConfig(), source="x.split.tsv")
    with pytest.raises(InputError, match="cell_line"):
        train_model(table.assign(cell_line=["HepG2", "K562"] * 30), TrainConfig())
    mixed = table.copy()
    mixed.loc[0, "sequence"] = mixed.loc[0, "sequence"][:-1]
    with pytest.raises(InputError, match="one length"):
        train_model(mixed, TrainConfig())
    with pytest.raises(InputError, match="split"):
        train_model(table.assign(split="holdout"), TrainConfig())
    with pytest.raises(InputError, match="model-name"):
        train_model(table, TrainConfig(model_name="bad.name"))


class Interrupted(Exception):
    """Stands in for a kill: raised after an epoch's checkpoint is written."""


def interrupt_at(phase: str, epoch: int):
    def hook(p: str, e: int) -> None:
        if (p, e) == (phase, epoch):
            raise Interrupted(f"{p} epoch {e}")
    return hook


def assert_same_result(a, b) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    pd.testing.assert_frame_equal(a.curve, b.curve)
    pd.testing.assert_frame_equal(a.detection, b.detection)
    assert json.dumps(a.spec, sort_keys=True) == json.dumps(b.spec, sort_keys=True)
    assert a.extra.keys() == b.extra.keys() and all(a.extra[k].equals(b.extra[k]) for k in a.extra)


RESUME_CASES = {  # architecture, hyper-parameters, informative labels, where the "kill" happens
    "cnn_small": ("cnn_small", {"channels": [16, 16, 16], "dense": 8}, True, ("model", 2)),
    "after_early_stop": ("cnn_small", {"channels": [16, 16, 16], "dense": 8}, False, None),
    "trednet_phase1": ("trednet", {"channels": [16, 16, 16], "phase1_dense": 16, "phase2_dense": 8}, True,
                       ("phase1", 1)),
    "trednet_phase2": ("trednet", {"channels": [16, 16, 16], "phase1_dense": 16, "phase2_dense": 8}, True,
                       ("model", 1)),
}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_resumed_training_equals_an_uninterrupted_run(tmp_path, case):
    architecture, hyperparameters, informative, stop = RESUME_CASES[case]
    table = synthetic_split(n=240, length=150, informative=informative)
    config = TrainConfig(model_name="r", architecture=architecture, hyperparameters=hyperparameters,
                         epochs=4 if informative else 12, patience=4 if informative else 1,
                         reverse_complement_augment=True)
    whole = train_model(table, config)
    if stop is None:  # killed right after the epoch that triggered early stopping
        assert whole.spec["epochs_run"] < config.epochs
        stop = ("model", whole.spec["epochs_run"])
    checkpoint = tmp_path / "checkpoint" / "last.pt"
    with pytest.raises(Interrupted):
        train_model(table, config, checkpoint=checkpoint, on_epoch_end=interrupt_at(*stop))
    saved = torch.load(checkpoint, weights_only=True)
    assert (saved["phase"], saved["epoch"]) == stop and len(saved["records"]) == stop[1]
    epochs_seen: list[tuple[str, int]] = []
    resumed = train_model(table, config, checkpoint=checkpoint, on_epoch_end=lambda p, e: epochs_seen.append((p, e)))
    assert_same_result(whole, resumed)
    # only the epochs after the checkpoint were run again
    expected_first = None if case == "after_early_stop" else (stop[0], stop[1] + 1)
    assert (epochs_seen[0] if epochs_seen else None) == expected_first
    # without resume the same call starts afresh (the counter sees epoch 1 again) and agrees too
    fresh_epochs: list[tuple[str, int]] = []
    fresh = train_model(table, config, checkpoint=checkpoint, resume=False,
                        on_epoch_end=lambda p, e: fresh_epochs.append((p, e)))
    assert fresh_epochs[0][1] == 1
    assert_same_result(whole, fresh)


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    table = synthetic_split(n=120, length=150)
    config = TrainConfig(model_name="r", hyperparameters={"channels": [8, 8, 8], "dense": 4}, epochs=2, patience=2)
    checkpoint = tmp_path / "last.pt"
    with pytest.raises(Interrupted):
        train_model(table, config, checkpoint=checkpoint, on_epoch_end=interrupt_at("model", 1))
    with pytest.raises(InputError, match="other data or settings"):
        train_model(table, TrainConfig(**{**config.__dict__, "lr": 1e-2}), checkpoint=checkpoint)
    other_data = table.assign(label=table["label"].to_numpy()[::-1])
    with pytest.raises(InputError, match="--no-resume"):
        train_model(other_data, config, checkpoint=checkpoint)
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot be read"):
        train_model(table, config, checkpoint=checkpoint)


def test_cli_train_resumes_from_the_checkpoint_in_its_outdir(tmp_path):
    table = synthetic_split(n=240, length=150)
    data = write_tsv(table, tmp_path / "HepG2.split.tsv")
    # what `regvarbench train --epochs 3` trains (cnn family defaults), interrupted after epoch 1
    config = TrainConfig(model_name="cnn_small", epochs=3)
    whole = train_model(table, config)
    target = tmp_path / "out" / "cnn_small__HepG2"
    with pytest.raises(Interrupted):
        train_model(table, config, checkpoint=target / "checkpoint" / "last.pt", on_epoch_end=interrupt_at("model", 1))
    rc = cli.main(["train", "--data", str(data), "--model-name", "cnn_small", "--epochs", "3",
                   "--outdir", str(tmp_path / "out")])
    assert rc == 0
    assert not (target / "checkpoint").exists()  # removed once the model is written
    state = torch.load(target / "model.pt", weights_only=True)
    assert all(torch.equal(state[k], v) for k, v in whole.model.state_dict().items())
    assert json.loads((target / "spec.json").read_text())["epochs_run"] == 3
