"""The CUDA paths: training and scoring on a GPU in mixed precision. Skipped without a GPU (this
project's CI machines have none); run them where one is visible: `pytest tests/unit/test_gpu.py`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import load_model

from .test_models_hf import build_esm_checkpoint
from .test_score import saturation_windows
from .test_models_hf import synthetic_split as hf_split
from .test_train import synthetic_split

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to torch")


def train(tmp_path, data, outdir, *extra) -> int:
    return cli.main(["train", "--data", str(data), "--model-name", "m", "--epochs", "6", "--patience", "6",
                     "--outdir", str(tmp_path / outdir), *extra])


def test_cnn_trains_on_the_gpu_in_mixed_precision(tmp_path):
    """auto precision on a GPU: bf16 (fp16 on cards without bf16) autocast; it learns the planted
    motif as on the CPU, and the CPU reloads the model for scoring."""
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    assert train(tmp_path, data, "gpu", "--device", "cuda") == 0
    target = tmp_path / "gpu" / "m__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    assert spec["training"]["device"] == "cuda"
    assert spec["training"]["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert (detection["auroc"] > 0.9).all(), detection
    seqs = synthetic_split()["sequence"].tolist()[:64]
    cpu, gpu = load_model(target, device="cpu"), load_model(target, device="cuda")
    np.testing.assert_allclose(gpu.predict(seqs), cpu.predict(seqs), atol=1e-4)


def test_gpu_training_pauses_and_resumes(tmp_path):
    """--time-limit 0 on a GPU: the resumed run reproduces the uninterrupted curve (CUDA kernels
    are deterministic where torch has such kernels; the others only warn, hence a tolerance)."""
    data = write_tsv(synthetic_split(n=240, length=150), tmp_path / "HepG2.split.tsv")
    ck = ["--checkpoint-dir", str(tmp_path / "ck")]
    assert train(tmp_path, data, "paused", "--device", "cuda", *ck, "--time-limit", "0") == 75
    assert train(tmp_path, data, "paused", "--device", "cuda", *ck) == 0
    assert train(tmp_path, data, "whole", "--device", "cuda") == 0
    curves = [read_tsv(tmp_path / d / "m__HepG2" / "training_curve.tsv") for d in ("paused", "whole")]
    pd.testing.assert_frame_equal(*curves, rtol=1e-4)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_gpus_train_data_parallel(tmp_path):
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    assert train(tmp_path, data, "ddp", "--device", "cuda", "--processes", "2") == 0
    spec = json.loads((tmp_path / "ddp" / "m__HepG2" / "spec.json").read_text())
    assert spec["training"]["processes"] == 2
    assert (read_tsv(tmp_path / "ddp" / "m__HepG2" / "enhancer_detection.tsv")["auroc"] > 0.9).all()


def test_fine_tuning_on_the_gpu(tmp_path):
    source = build_esm_checkpoint(tmp_path / "src")
    data = write_tsv(hf_split(), tmp_path / "HepG2.split.tsv")
    assert train(tmp_path, data, "hf", "--family", "hf", "--source", source, "--max-tokens", "32",
                 "--lr", "1e-3", "--device", "cuda") == 0
    spec = json.loads((tmp_path / "hf" / "m__HepG2" / "spec.json").read_text())
    assert spec["training"]["device"] == "cuda" and spec["training"]["precision"] in ("bf16", "fp16")


def test_scoring_on_the_gpu_agrees_with_the_cpu(tmp_path):
    """score --device cuda: fp32 outputs within 1e-4 of the CPU's; bf16 within 0.05 (autocast)."""
    data = write_tsv(synthetic_split(n=240, length=150), tmp_path / "HepG2.split.tsv")
    assert train(tmp_path, data, "m", "--device", "cpu", "--epochs", "2") == 0
    rng = np.random.default_rng(0)
    refs = ["".join(rng.choice(list("ACGT"), 150)) for _ in range(40)]
    alts = [r[:75] + ("A" if r[75] != "A" else "C") + r[76:] for r in refs]
    windows = write_tsv(pd.DataFrame({"variant_id": [f"v{i}" for i in range(40)], "dataset": "toy",
                                      "cell_line": "HepG2", "ref_seq": refs, "alt_seq": alts, "n_padded": 0}),
                        tmp_path / "w" / "toy.windows.00000.tsv")
    out = {}
    for device, precision in (("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "bf16")):
        d = tmp_path / f"s_{device}_{precision}"
        assert cli.main(["score", "--model", str(tmp_path / "m" / "m__HepG2"), "--windows", str(windows),
                         "--device", device, "--precision", precision, "--outdir", str(d)]) == 0
        out[device, precision] = read_tsv(d / "m.toy.00000.scores.tsv")
    np.testing.assert_allclose(out["cuda", "fp32"]["ref_output"], out["cpu", "fp32"]["ref_output"], atol=1e-4)
    np.testing.assert_allclose(out["cuda", "bf16"]["ref_output"], out["cpu", "fp32"]["ref_output"], atol=0.05)


def test_auto_scoring_precision_on_the_gpu_is_exact_fp32(tmp_path):
    """The accuracy budget holds on GPUs too: auto is fp32 there, with TF32 off, and its scores
    agree with fp64 on the CPU to fp32 rounding (docs/performance.md)."""
    from regvarbench.models.precision import budget_figures, resolve_precision
    from regvarbench.score import score_windows, set_precision

    assert resolve_precision("auto", "cuda") == "fp32"
    windows = saturation_windows(n_refs=4, length=200, seed=1)
    spec = {"model_name": "rand", "architecture": "cnn_small", "input_length": 200, "seed": 2}
    cpu = load_model(spec)
    set_precision(cpu, "fp64")
    exact = score_windows(cpu, windows)["score"].to_numpy()
    gpu = load_model(spec, device="cuda")
    assert set_precision(gpu, "auto", "cuda") == "fp32"
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    figures = budget_figures(exact, score_windows(gpu, windows)["score"].to_numpy())
    assert figures["meets_budget"], figures
