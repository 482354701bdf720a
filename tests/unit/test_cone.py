"""Receptive-field (cone) reuse agrees with full forward passes; unsupported layouts use full passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import Adapter, cnn, load_model
from regvarbench.score import score_windows

# Cone vs full pass, on logits: float64 ~1e-15 observed; float32 ~1e-8 observed (the stated
# tolerance, docs/performance.md and models/cone.py, is 1e-5).
TOL = {"fp64": 1e-9, "fp32": 1e-5}


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def perturb_batch_norm(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial running statistics, so eval-mode batch norm is a real affine map."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(1 + torch.randn(m.num_features, generator=gen) * 0.3)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.3)


def variant_set(rng: np.random.Generator, length: int, n_refs: int = 3, n_random: int = 4, refs=None):
    """References (with some N) and every alt base at both ends, the middle and random positions."""
    refs = refs or ["".join(rng.choice(list("ACGTN"), length, p=[0.24, 0.24, 0.24, 0.24, 0.04])) for _ in range(n_refs)]
    alts, index = [], []
    for r, ref in enumerate(refs):
        positions = {0, 1, 2, length - 3, length - 2, length - 1, length // 2, *rng.integers(0, length, n_random).tolist()}
        for pos in sorted(p for p in positions if 0 <= p < length):
            for base in "ACGTN":
                if base != ref[pos]:
                    alts.append(ref[:pos] + base + ref[pos + 1:])
                    index.append(r)
    # an unchanged alt and a two-base alt take the other paths
    alts.append(refs[0])
    index.append(0)
    two = list(refs[-1])
    two[1], two[-1] = ("A" if two[1] != "A" else "C"), ("G" if two[-1] != "G" else "T")
    alts.append("".join(two))
    index.append(len(refs) - 1)
    return refs, np.array(index), alts


def assert_agrees(adapter, refs, index, alts, batch_size=16, precision="fp64") -> None:
    adapter.set_precision(precision)
    ref_p, alt_p = adapter.predict_variants(refs, index, alts, batch_size=batch_size)
    full_ref, full_alt = adapter.predict(refs, batch_size), adapter.predict(alts, batch_size)
    np.testing.assert_allclose(logit(ref_p), logit(full_ref), rtol=0, atol=TOL[precision])
    np.testing.assert_allclose(logit(alt_p), logit(full_alt), rtol=0, atol=TOL[precision])
    assert adapter.last_variant_counts == {"cone": len(alts) - 2, "full": 1, "unchanged": 1}
    # the variants really move the output, so agreement is not agreement with the reference
    assert np.median(np.abs(logit(full_alt) - logit(full_ref[index]))) > 1e-5
    # and the folded, channels-last passes agree with the unmodified network's own forward in float64
    plain = cnn.predict_logits(adapter.model, cnn.encode(alts, len(refs[0])), batch_size, precision="fp64")
    np.testing.assert_allclose(logit(alt_p), plain, rtol=0, atol=TOL[precision])


@pytest.mark.parametrize("length", [1000, 101, 120, 37, 6])
@pytest.mark.parametrize("hyper", [{}, {"kernel_sizes": [8, 6, 5], "pool_sizes": [3, 4]},
                                   {"channels": [8, 8, 8], "batch_norm": False, "conv_dropout": 0.1},
                                   {"global_pool": "avg"}, {"global_pool": "max", "kernel_sizes": [8, 6, 5]}])
def test_cone_matches_full_pass_random_weights(length, hyper):
    adapter = load_model({"architecture": "cnn_small", "input_length": length, "seed": length,
                          "hyperparameters": hyper})
    assert adapter.supports_cone
    perturb_batch_norm(adapter.model, seed=length)
    refs, index, alts = variant_set(np.random.default_rng(length), length)
    assert_agrees(adapter, refs, index, alts)


@pytest.mark.parametrize("length", [1000, 37])
@pytest.mark.parametrize("hyper", [{}, {"kernel_sizes": [8, 6, 5], "pool_sizes": [3, 4]}, {"global_pool": "avg"},
                                   {"global_pool": "max"}])
def test_cone_matches_full_pass_in_float32(length, hyper):
    adapter = load_model({"architecture": "cnn_small", "input_length": length, "seed": length + 1,
                          "hyperparameters": hyper})
    perturb_batch_norm(adapter.model, seed=length)
    refs, index, alts = variant_set(np.random.default_rng(length), length)
    assert_agrees(adapter, refs, index, alts, precision="fp32")


def test_cone_matches_full_pass_trained_weights():
    """A few optimiser steps on a planted-motif task move weights and batch-norm statistics."""
    rng = np.random.default_rng(5)
    length, motif = 200, "TGACTCA"
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(64)]
    labels = np.arange(64) % 2
    seqs = [s[:90] + motif + s[97:] if y else s for s, y in zip(seqs, labels)]
    spec = {"architecture": "cnn_small", "input_length": length, "hyperparameters": {"channels": [16, 16, 16]}}
    torch.manual_seed(0)
    model = cnn.build_model(spec)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = cnn.encode(seqs).float(), torch.tensor(labels, dtype=torch.float32)
    model.train()
    for _ in range(15):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        optimiser.step()
    adapter = cnn.CNNAdapter(model, spec)
    assert adapter.supports_cone
    refs, index, alts = variant_set(rng, length, refs=[seqs[1], seqs[2]])  # with and without the motif
    alts.append(seqs[1][:93] + "G" + seqs[1][94:])  # breaks the planted motif
    index = np.append(index, 0)
    assert_agrees(adapter, refs, index, alts)


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_cone_output_does_not_depend_on_batch_composition(precision):
    adapter = load_model({"architecture": "cnn_small", "input_length": 150, "seed": 2})
    adapter.set_precision(precision)
    refs, index, alts = variant_set(np.random.default_rng(2), 150, n_refs=4)
    _, all_alts = adapter.predict_variants(refs, index, alts, batch_size=32)
    keep = np.arange(len(alts))[::7]
    used = sorted(set(index[keep]))
    remap = {r: i for i, r in enumerate(used)}
    _, some = adapter.predict_variants([refs[r] for r in used], np.array([remap[r] for r in index[keep]]),
                                       [alts[i] for i in keep], batch_size=32)
    assert np.array_equal(some, all_alts[keep])  # bit-identical, not just close


class CountingAdapter(Adapter):
    def __init__(self, adapter) -> None:
        self.inner, self.name, self.spec, self.calls = adapter, adapter.name, adapter.spec, []
        self.supports_cone = adapter.supports_cone

    def predict(self, seqs, batch_size=None):
        self.calls.append(("predict", len(seqs)))
        return self.inner.predict(seqs, batch_size=batch_size)

    def predict_variants(self, refs, index, alts, batch_size=None):
        self.calls.append(("predict_variants", len(refs), len(alts)))
        return self.inner.predict_variants(refs, index, alts, batch_size=batch_size)


def satmut_windows(length: int = 90, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(3):
        ref = "".join(rng.choice(list("ACGT"), length))
        for pos in range(0, length, 9):
            for base in "ACGT":
                if base != ref[pos]:
                    rows.append({"variant_id": f"v{r}:{pos}{base}", "dataset": "satmut", "cell_line": "HepG2",
                                 "ref_seq": ref, "alt_seq": ref[:pos] + base + ref[pos + 1:], "n_padded": 0})
    rows.append(dict(rows[0], variant_id="dup"))  # a duplicated pair is scored once
    return pd.DataFrame(rows)


@pytest.mark.parametrize("spec,cone", [
    ({"architecture": "cnn_small", "input_length": 90}, True),
    ({"architecture": "cnn_small", "input_length": 90, "hyperparameters": {"global_pool": "avg"}}, True),
    ({"architecture": "cnn_small", "input_length": 90, "hyperparameters": {"global_pool": "max"}}, True),
    ({"architecture": "deepsea_like", "input_length": 90,
      "hyperparameters": {"channels": [8, 8, 8], "dense": 8, "kernel_sizes": [5, 5, 5], "pool_sizes": [2, 2]}}, False),
    ({"architecture": "motif_scan", "input_length": 90}, False)])
def test_score_windows_uses_cones_only_where_supported(spec, cone):
    windows = satmut_windows()
    adapter = CountingAdapter(load_model(spec))
    assert adapter.supports_cone is cone
    scores = score_windows(adapter, windows, batch_size=32)
    n_pairs = len(windows) - 1
    assert adapter.calls == ([("predict_variants", 3, n_pairs)] if cone else [("predict", 3 + n_pairs)])
    full = score_windows(adapter, windows, batch_size=32, cone=False)
    assert adapter.calls[-1] == ("predict", 3 + n_pairs)
    np.testing.assert_allclose(scores["score"], full["score"], rtol=0, atol=1e-9)  # fp64 adapters
    assert scores["variant_id"].tolist() == windows["variant_id"].tolist()


def test_no_cone_flag(tmp_path):
    windows = satmut_windows()
    spec = {"model_name": "rand", "architecture": "cnn_small", "input_length": 90, "cell_line": "HepG2"}
    model_dir = cnn.save_model(tmp_path / "rand__HepG2", load_model({**spec, "seed": 4}).model, spec)
    path = write_tsv(windows, tmp_path / "satmut.windows.0.tsv")
    for flag, out in (([], "cone"), (["--no-cone"], "full")):
        assert cli.main(["score", "--model", str(model_dir), "--windows", str(path), "--batch-size", "32",
                         "--precision", "fp32", *flag, "--outdir", str(tmp_path / out)]) == 0
    cone, full = (read_tsv(tmp_path / d / "rand.satmut.0.scores.tsv") for d in ("cone", "full"))
    np.testing.assert_allclose(cone["score"], full["score"], rtol=0, atol=1e-5)  # fp32, pinned
    assert cone["score"].abs().max() > 1e-4


def test_unsupported_layouts_have_no_plan():
    from torch import nn

    from regvarbench.models.cone import build_cone_plan

    model = cnn.build_model({"architecture": "cnn_small"})
    assert build_cone_plan(model) is not None
    swapped = cnn.build_model({"architecture": "cnn_small"})
    swapped.features[1], swapped.features[2] = swapped.features[2], swapped.features[1]  # ReLU before norm
    assert build_cone_plan(swapped) is None
    strided = cnn.build_model({"architecture": "cnn_small"})
    strided.features[0] = nn.Conv1d(4, 64, 15, padding=7, stride=2)
    assert build_cone_plan(strided) is None
