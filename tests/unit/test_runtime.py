"""Where training runs: precision choice, time-limit pauses that resume exactly, and data-parallel
training in several processes (gloo on this CPU machine: the DDP path a multi-GPU node takes with NCCL)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.device import resolve_precision
from regvarbench.runtime import PAUSED_EXIT

from .test_models_hf import build_esm_checkpoint
from .test_models_hf import synthetic_split as hf_split
from .test_train import synthetic_split


def train_precision(precision: str, device: str, *cpu: object) -> str:
    return resolve_precision(precision, device, *cpu, training=True)


def test_training_precision_choice():
    assert train_precision("auto", "cpu") == "fp32"  # bf16 is emulated (slow) on CPUs without native support
    assert train_precision("auto", "cpu", "AVX512", ["amx_bf16"]) == "fp32"  # and fp32 also where it is native
    assert train_precision("bf16", "cpu") == "bf16"
    if torch.cuda.is_available():
        assert train_precision("auto", "cuda") in ("bf16", "fp16")
    with pytest.raises(InputError, match="fp16 training needs a CUDA GPU"):
        train_precision("fp16", "cpu")
    with pytest.raises(InputError, match="--precision must be one of auto, fp32, bf16, fp16 for training"):
        train_precision("fp64", "cpu")
    assert resolve_precision("fp64", "cpu") == "fp64"  # scoring has fp64


def train(tmp_path: Path, data: Path, outdir: str, *extra: str) -> int:
    return cli.main(["train", "--data", str(data), "--model-name", "m", "--epochs", "3", "--patience", "3",
                     "--threads", "1", "--outdir", str(tmp_path / outdir), *extra])


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path / "m__HepG2" / "model.pt", weights_only=True)


def assert_same_model(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    for name in ("training_curve.tsv", "enhancer_detection.tsv", "spec.json"):
        assert (a / "m__HepG2" / name).read_bytes() == (b / "m__HepG2" / name).read_bytes(), name


def test_time_limit_pauses_after_a_checkpoint_and_the_rerun_continues(tmp_path):
    """--time-limit 0: one epoch, its checkpoint under --checkpoint-dir, exit status 75; the same
    command again resumes there and writes what an uninterrupted run writes, then removes it."""
    data = write_tsv(synthetic_split(n=240, length=150), tmp_path / "HepG2.split.tsv")
    ckdir = tmp_path / "ck"
    assert train(tmp_path, data, "paused", "--checkpoint-dir", str(ckdir), "--time-limit", "0") == PAUSED_EXIT
    saved = list((ckdir / "m__HepG2").glob("*/last.pt"))
    assert len(saved) == 1 and len(saved[0].parent.name) == 16  # keyed by the run's fingerprint
    assert torch.load(saved[0], weights_only=True)["epoch"] == 1
    assert not (tmp_path / "paused" / "m__HepG2" / "model.pt").exists()
    assert train(tmp_path, data, "paused", "--checkpoint-dir", str(ckdir)) == 0
    assert train(tmp_path, data, "whole") == 0
    assert_same_model(tmp_path / "paused", tmp_path / "whole")
    assert not (ckdir / "m__HepG2").exists()  # the finished model replaces its checkpoint
    # other settings under the same directory get their own checkpoint instead of an error
    assert train(tmp_path, data, "other", "--checkpoint-dir", str(ckdir), "--time-limit", "0", "--lr", "0.01") == 75
    assert train(tmp_path, data, "paused2", "--checkpoint-dir", str(ckdir), "--time-limit", "0") == 75
    assert len(list((ckdir / "m__HepG2").glob("*/last.pt"))) == 2


def test_bad_runtime_options_are_clear_errors(tmp_path, capsys):
    data = write_tsv(synthetic_split(n=60, length=50), tmp_path / "HepG2.split.tsv")
    for extra, message in ((["--processes", "0"], "--processes must be at least 1"),
                           (["--time-limit", "-1"], "--time-limit must be >= 0"),
                           (["--precision", "fp16", "--device", "cpu"], "fp16 training needs a CUDA GPU"),
                           (["--hyperparameters", "{dropout: 1}"], "--hyperparameters: not valid JSON"),
                           (["--hyperparameters", "[1]"], "expected a JSON object"),
                           (["--hyperparameters", '{"depth": 3}'], "unknown hyper-parameter")):
        assert train(tmp_path, data, "x", *extra) == 2, extra
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_data_parallel_cnn_training(tmp_path):
    """--processes 2 (DDP over gloo): a paused and resumed two-process run equals an uninterrupted
    one bit for bit; without batch norm and dropout, two processes train what one process trains
    (the batch's gradient is the same sum), up to float rounding that AdamW carries along."""
    data = write_tsv(synthetic_split(n=240, length=150), tmp_path / "HepG2.split.tsv")
    two = ["--processes", "2"]
    assert train(tmp_path, data, "ddp_paused", *two, "--checkpoint-dir", str(tmp_path / "ck"), "--time-limit", "0") == 75
    assert train(tmp_path, data, "ddp_paused", *two, "--checkpoint-dir", str(tmp_path / "ck")) == 0
    assert train(tmp_path, data, "ddp", *two) == 0
    assert_same_model(tmp_path / "ddp_paused", tmp_path / "ddp")
    spec = json.loads((tmp_path / "ddp" / "m__HepG2" / "spec.json").read_text())
    assert spec["training"]["processes"] == 2 and spec["training"]["device"] == "cpu"

    plain = ["--hyperparameters", '{"batch_norm": false, "dropout": 0}', "--epochs", "2"]
    assert train(tmp_path, data, "plain1", *plain) == 0
    assert train(tmp_path, data, "plain2", *plain, *two) == 0
    c1, c2 = (read_tsv(tmp_path / d / "m__HepG2" / "training_curve.tsv") for d in ("plain1", "plain2"))
    pd.testing.assert_frame_equal(c1, c2, rtol=1e-6)
    w1, w2 = weights(tmp_path / "plain1"), weights(tmp_path / "plain2")
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    assert diff < 1e-3, diff  # lr 3e-3 x 10 steps: a per-process gradient (no averaging) moves far more


@pytest.mark.slow
def test_data_parallel_fine_tuning_pauses_and_resumes(tmp_path):
    """The Trainer under --processes 2: paused at the time limit and resumed, it matches an
    uninterrupted two-process run (curve and weights)."""
    source = build_esm_checkpoint(tmp_path / "src")
    data = write_tsv(hf_split(), tmp_path / "HepG2.split.tsv")
    args = ["--family", "hf", "--source", source, "--max-tokens", "32", "--lr", "1e-3", "--processes", "2"]
    assert train(tmp_path, data, "paused", *args, "--checkpoint-dir", str(tmp_path / "ck"), "--time-limit", "0") == 75
    assert len(list((tmp_path / "ck" / "m__HepG2").glob("*/checkpoint-*"))) == 1
    assert train(tmp_path, data, "paused", *args, "--checkpoint-dir", str(tmp_path / "ck")) == 0
    assert train(tmp_path, data, "whole", *args) == 0
    curves = [read_tsv(tmp_path / d / "m__HepG2" / "training_curve.tsv") for d in ("paused", "whole")]
    pd.testing.assert_frame_equal(*curves, rtol=1e-9)
    assert curves[0]["epoch"].tolist() == [1, 2, 3]
    from safetensors.torch import load_file

    a, b = (load_file(tmp_path / d / "m__HepG2" / "checkpoint" / "model.safetensors") for d in ("paused", "whole"))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    spec = json.loads((tmp_path / "whole" / "m__HepG2" / "spec.json").read_text())
    assert spec["training"]["processes"] == 2
    assert not (tmp_path / "ck" / "m__HepG2").exists()


def _spy_on_checkpoint_files(monkeypatch, runtime, names: set[str]) -> list:
    """Events in order: "barrier" for every wait_for_everyone, ("read"|"write", name) for every
    opening of a file named in ``names`` (through io.open, which pathlib and json use; torch.load
    and torch.save through their own spies)."""
    import io

    events: list = []
    wait = runtime.accelerator.wait_for_everyone
    monkeypatch.setattr(runtime.accelerator, "wait_for_everyone", lambda: (events.append("barrier"), wait())[1])
    real_open, real_load, real_save = io.open, torch.load, torch.save

    def note(file, mode: str) -> None:
        if isinstance(file, (str, Path)) and Path(file).name in names:
            events.append(("write" if any(c in mode for c in "wax+") else "read", Path(file).name))

    def spy_open(file, mode="r", *args, **kwargs):
        note(file, mode)
        return real_open(file, mode, *args, **kwargs)

    def spy_load(file, *args, **kwargs):
        note(file, "r")
        return real_load(file, *args, **kwargs)

    def spy_save(obj, file, *args, **kwargs):
        note(file, "w")
        return real_save(obj, file, *args, **kwargs)

    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(torch, "load", spy_load)
    monkeypatch.setattr(torch, "save", spy_save)
    return events


def _check_read_after_barrier_and_never_rewritten_in_place(events: list, names: set[str]) -> None:
    reads = [i for i, e in enumerate(events) if e != "barrier" and e[0] == "read"]
    assert {events[i][1] for i in reads} == names, events  # the resume read them all
    assert "barrier" in events[:reads[0]], events  # ... each process only after the others got there
    assert not [e for e in events if e != "barrier" and e[0] == "write"], events  # temp name + os.replace only


def test_fine_tuning_checkpoint_markers_are_replaced_whole_and_read_after_a_barrier(tmp_path, monkeypatch):
    """Issue 21's race: process 1 of a resumed data-parallel run read fingerprint.txt while process 0
    rewrote it in place (truncate, then write) and took the empty file for another run's checkpoint.
    Now the markers are written under a temporary name and renamed, and read after a barrier."""
    from regvarbench.models import hf
    from regvarbench.runtime import TrainingPaused, make_runtime

    source = build_esm_checkpoint(tmp_path / "src")
    config = hf.HFTrainConfig(model_name="m", source=source, max_tokens=32, epochs=2, patience=2, lr=1e-3)
    with pytest.raises(TrainingPaused):
        hf.train_hf(hf_split(), config, trainer_dir=tmp_path / "t", runtime=make_runtime("cpu", time_limit=0))
    runtime = make_runtime("cpu")
    names = {"fingerprint.txt", "regvarbench_curve.json"}
    events = _spy_on_checkpoint_files(monkeypatch, runtime, names)
    _, _, curve, _ = hf.train_hf(hf_split(), config, trainer_dir=tmp_path / "t", runtime=runtime)
    monkeypatch.undo()
    assert curve["epoch"].tolist() == [1, 2]
    _check_read_after_barrier_and_never_rewritten_in_place(events, names)
    assert sorted(p.name for p in (tmp_path / "t").iterdir() if p.name.endswith(".tmp")) == []


def test_cnn_checkpoint_is_read_after_a_barrier_and_replaced_whole(tmp_path, monkeypatch):
    from regvarbench.runtime import TrainingPaused, make_runtime
    from regvarbench.train import TrainConfig, train_model

    table = synthetic_split(n=240, length=150)
    config = TrainConfig(model_name="m", epochs=2, patience=2)
    with pytest.raises(TrainingPaused):
        train_model(table, config, checkpoint=tmp_path / "last.pt", runtime=make_runtime("cpu", time_limit=0))
    runtime = make_runtime("cpu")
    events = _spy_on_checkpoint_files(monkeypatch, runtime, {"last.pt"})
    result = train_model(table, config, checkpoint=tmp_path / "last.pt", runtime=runtime)
    monkeypatch.undo()
    assert result.curve["epoch"].tolist() == [1, 2]
    _check_read_after_barrier_and_never_rewritten_in_place(events, {"last.pt"})
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def _process_zero_says_in_time(monkeypatch) -> None:
    """Every broadcast decision of the pause (a bool) comes back False, as if process 0's clock said
    'in time' while this process's says 'out of time'; other broadcasts pass through."""
    import accelerate.utils

    real = accelerate.utils.broadcast_object_list

    def broadcast(objects, from_process=0):
        return [False] if objects and isinstance(objects[0], bool) else real(objects, from_process)

    monkeypatch.setattr(accelerate.utils, "broadcast_object_list", broadcast)


def test_cnn_time_limit_pause_follows_process_zero(tmp_path, monkeypatch):
    """Each process decided alone from its own clock: near the limit one could pause while the
    others trained on, waiting for it in the next gradient exchange."""
    from regvarbench.runtime import make_runtime
    from regvarbench.train import TrainConfig, train_model

    _process_zero_says_in_time(monkeypatch)
    result = train_model(synthetic_split(n=240, length=150), TrainConfig(model_name="m", epochs=2, patience=2),
                         checkpoint=tmp_path / "last.pt", runtime=make_runtime("cpu", time_limit=0))
    assert result.curve["epoch"].tolist() == [1, 2]


def test_fine_tuning_time_limit_pause_follows_process_zero(tmp_path, monkeypatch):
    from regvarbench.models import hf
    from regvarbench.runtime import make_runtime

    _process_zero_says_in_time(monkeypatch)
    config = hf.HFTrainConfig(model_name="m", source=build_esm_checkpoint(tmp_path / "src"), max_tokens=32,
                              epochs=2, patience=2, lr=1e-3)
    _, _, curve, _ = hf.train_hf(hf_split(), config, trainer_dir=tmp_path / "t", runtime=make_runtime("cpu", time_limit=0))
    assert curve["epoch"].tolist() == [1, 2]
