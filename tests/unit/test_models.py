"""Model adapters: a hand-set motif model behaves as designed; save/load and batching change nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regvarbench.io import InputError
from regvarbench.models import load_model
from regvarbench.models import cnn

MOTIF = "TGACTCA"


def motif_model_spec() -> dict:
    return {"model_name": "motif_toy", "family": "cnn", "architecture": "motif_scan",
            "hyperparameters": {"filters": 1, "kernel_size": len(MOTIF)}, "input_length": 101}


def build_motif_model() -> torch.nn.Module:
    """One filter = the motif's one-hot (7 on a full match, <= 6 otherwise), bias -6, ReLU, max.

    Logit = 6 * relu(match - 6) - 3: +3 with the motif (p ~ 0.95), -3 without (p ~ 0.05).
    """
    model = cnn.build_model(motif_model_spec())
    with torch.no_grad():
        model.conv.weight.copy_(torch.from_numpy(cnn.encode([MOTIF]).numpy().astype(np.float32)))
        model.conv.bias.fill_(-6.0)
        model.linear.weight.fill_(6.0)
        model.linear.bias.fill_(-3.0)
    return model


def random_dna(rng: np.random.Generator, length: int) -> str:
    while True:
        seq = "".join(rng.choice(list("ACGT"), length))
        if MOTIF not in seq and MOTIF not in seq[::-1]:
            return seq


def test_motif_model_responds_to_motif(tmp_path):
    rng = np.random.default_rng(1)
    backgrounds = [random_dna(rng, 101) for _ in range(20)]
    with_motif = [s[:47] + MOTIF + s[54:] for s in backgrounds]
    adapter = load_model(cnn.save_model(tmp_path / "toy", build_motif_model(), motif_model_spec()))
    p_without, p_with = adapter.predict(backgrounds), adapter.predict(with_motif)
    assert adapter.name == "motif_toy"
    assert p_with.shape == (20,) and p_with.dtype == np.float64
    assert np.all(p_with > 0.9) and np.all(p_without < 0.1)
    # one mismatch in the motif is enough to lose it
    broken = [s[:50] + ("A" if s[50] != "A" else "C") + s[51:] for s in with_motif]
    assert np.all(adapter.predict(broken) < 0.1)


def test_save_load_roundtrip_gives_identical_predictions(tmp_path):
    spec = {"model_name": "small", "architecture": "cnn_small", "input_length": 300, "seed": 3}
    adapter = load_model(spec)  # fresh weights seeded from spec["seed"]
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), 300)) for _ in range(40)]
    before = adapter.predict(seqs)
    reloaded = load_model(cnn.save_model(tmp_path / "m", adapter.model, spec))
    assert np.array_equal(before, reloaded.predict(seqs))
    assert reloaded.spec["family"] == "cnn" and reloaded.spec["architecture"] == "cnn_small"
    assert np.all((before >= 0) & (before <= 1))
    # a differently seeded network really predicts something else (the check above can fail)
    assert not np.array_equal(before, load_model({**spec, "seed": 4}).predict(seqs))


def test_predictions_do_not_depend_on_batch_composition():
    adapter = load_model({"model_name": "small", "architecture": "cnn_small", "input_length": 250, "seed": 0})
    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGT"), 250)) for _ in range(60)]
    whole = adapter.predict(seqs, batch_size=64)
    assert np.array_equal(whole[5:12], adapter.predict(seqs[5:12], batch_size=64))
    assert np.array_equal(whole[::-1], adapter.predict(seqs[::-1], batch_size=64))
    # another batch size may change the last bits only
    np.testing.assert_allclose(whole, adapter.predict(seqs, batch_size=7), rtol=1e-12, atol=0)


def test_fit_length_keeps_the_centre_base():
    seq = "AAAAACAAAA" + "G" + "TTTTTTTTT"  # 20 bp, centre index 10 = G
    for length in (7, 8, 20, 31, 32):
        fitted = cnn.fit_length(seq, length)
        assert len(fitted) == length and fitted[length // 2] == "G"


def test_predict_fits_other_lengths_to_the_input_length(tmp_path):
    adapter = load_model(cnn.save_model(tmp_path / "toy", build_motif_model(), motif_model_spec()))
    rng = np.random.default_rng(4)
    core = random_dna(rng, 101)
    core = core[:47] + MOTIF + core[54:]
    # longer windows are centre-cropped to 101 bp (motif kept), shorter ones N-padded
    longer = random_dna(rng, 200) + core + random_dna(rng, 200)
    assert np.all(adapter.predict([core, longer, core[30:71]]) > 0.9)


def test_deepsea_like_builds_for_its_input_length():
    adapter = load_model({"model_name": "ds", "architecture": "deepsea_like", "input_length": 200,
                          "hyperparameters": {"channels": [8, 8, 8], "dense": 4}})
    assert adapter.predict(["ACGT" * 50, "GATA" * 50]).shape == (2,)


def test_bad_specs_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="family"):
        load_model({"family": "martian"})
    with pytest.raises(InputError, match="architecture"):
        load_model({"architecture": "resnet9000"})
    with pytest.raises(InputError, match="spec.json"):
        load_model(tmp_path)
    (tmp_path / "spec.json").write_text('{"architecture": "cnn_small", "family": "cnn"}')
    with pytest.raises(InputError, match="model.pt"):
        load_model(tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_damaged_weights_name_the_file(tmp_path, damage):
    """A weights file cut short or overwritten: one InputError naming the model and the file."""
    spec = {"model_name": "small", "architecture": "cnn_small", "input_length": 300, "seed": 3}
    target = cnn.save_model(tmp_path / "m", load_model(spec).model, spec)
    weights = target / "model.pt"
    data = weights.read_bytes()
    weights.write_bytes({"garbage": b"\x00not a state dict" * 64, "truncated": data[: len(data) // 2],
                         "empty": b""}[damage])
    with pytest.raises(InputError, match=r"model small: cannot load weights .*model\.pt"):
        load_model(target)
