"""Train a CNN enhancer classifier on one cell line's split table (``regvarbench train``).

``--family hf`` fine-tunes a Hugging Face checkpoint instead (regvarbench.models.hf), writing the
same directory layout so ``regvarbench score`` loads either.

Binary cross-entropy on enhancer (1) vs control (0) sequences; early stopping on validation loss
keeps the best epoch's weights. Seeds, a seeded DataLoader generator and deterministic torch
algorithms make two runs with the same inputs, seed and thread count produce the same weights
and byte-identical tables.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import importlib
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from . import __version__
from .artifacts import check_model_name, model_dir, read_spec, training_fingerprint, write_spec
from .catalogue import DEFAULT_MAX_TOKENS, ROW_OPTIONS, command_options, option_flags
from .contracts import DETECTION_FILE, SPLITS, validate_split_table
from .detection import best_f1_threshold, detection_metrics, detection_table, log_detection
from .device import DEVICES, TRAIN_PRECISIONS
from .io import InputError, atomic_path, json_object_option, read_tsv, write_tsv
from .models import FAMILIES, cnn, load_model, motif, tracks, trednet
from .models.unavailable import run_skipping_unavailable
from .runtime import (Runtime, TrainingPaused, deterministic_algorithms, distributed_env, launch, make_runtime,
                      seed_everything)

log = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 256
CHECKPOINT = Path("checkpoint") / "last.pt"  # in DIR/<model>__<cell>/ while training; removed after
HF_TRAINER_DIR = "trainer"  # hf: the Trainer's epoch checkpoints in DIR/<model>__<cell>/ while training


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights besides the data."""

    model_name: str = "cnn_small"
    architecture: str = "cnn_small"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    epochs: int = 30
    patience: int = 4
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    reverse_complement_augment: bool = False


@dataclass
class TrainResult:
    model: nn.Module
    spec: dict[str, Any]
    curve: pd.DataFrame  # epoch, train_loss, valid_loss, valid_auroc
    detection: pd.DataFrame  # model, cell_line, split, n, auroc, auprc, f1
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)  # more tables, written as <name>.tsv
    checkpoint: Path | None = None  # the checkpoint file training used (removed once outputs are written)


def bce_with_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy from logits, in float64 and stable for large |logit|.

    Parameters
    ----------
    logits : array_like of float
        Logits, any shape.
    labels : array_like of float
        0/1 labels, the shape of ``logits``.

    Returns
    -------
    float
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _augment_reverse_complement(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Reverse-complement a random half of a one-hot ACGT batch (channel flip = complement)."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None], x.flip(1, 2), x)


def train_model(table: pd.DataFrame, config: TrainConfig, source: str = "<table>", *,
                phase1_tables: list[tuple[str, pd.DataFrame]] | None = None,
                phase1_weights: str | Path | None = None, checkpoint: str | Path | None = None,
                checkpoint_dir: str | Path | None = None, resume: bool = True,
                runtime: Runtime | None = None,
                on_epoch_end: Callable[[str, int], None] | None = None) -> TrainResult:
    """Fit a CNN on the table's train rows, early-stopping on its valid rows; evaluate valid/test.

    ``trednet`` first fits its phase one on ``phase1_tables`` ((source, split table) of other cell
    lines; the training table is always a task) or loads it from ``phase1_weights`` (a trained
    trednet model directory). ``checkpoint``: a file rewritten after every epoch (model,
    optimizer, epoch, torch RNG states, early-stopping state, curve); with ``resume`` an existing
    one written for the same data and settings is continued, which gives the weights an
    uninterrupted run gives. ``checkpoint_dir`` instead: the file is ``<dir>/<fingerprint>/last.pt``,
    so runs with other data or settings never meet each other's checkpoints (a directory shared by
    retries of a pipeline task). ``runtime``: device, precision, processes and time limit
    (default: this process, the visible GPU if any, else the CPU). ``on_epoch_end(phase, epoch)``
    runs after each checkpoint.

    Parameters
    ----------
    table : pandas.DataFrame
        A split table of one cell line (the columns of ``contracts.SPLIT_COLUMNS``).
    config : TrainConfig
        Model name, architecture, hyper-parameters and optimisation settings.
    source : str, optional
        Where ``table`` came from, for messages and the spec.
    phase1_tables : list of (str, pandas.DataFrame) or None, optional
        trednet only: (source, split table) of other cell lines for phase one.
    phase1_weights : str or pathlib.Path or None, optional
        trednet only: a trained trednet model directory to take phase one from.
    checkpoint : str or pathlib.Path or None, optional
        Checkpoint file.
    checkpoint_dir : str or pathlib.Path or None, optional
        Folder of checkpoints keyed by fingerprint (not with ``checkpoint``).
    resume : bool, optional
        Continue from an existing checkpoint of the same data and settings.
    runtime : Runtime or None, optional
        Where training runs; ``make_runtime()`` when None.
    on_epoch_end : callable or None, optional
        Called as ``on_epoch_end(phase, epoch)`` after each epoch's checkpoint.

    Returns
    -------
    TrainResult
        The model with its best weights (in eval mode), spec, training curve, detection rows for the
        valid and test splits (``contracts.DETECTION_COLUMNS``), extra tables and the checkpoint path.

    Raises
    ------
    InputError
        For a bad model name, epochs, patience or batch size below 1, phase-one options without
        trednet or given both ways, both ``checkpoint`` and ``checkpoint_dir``, or an invalid table.
    """
    check_model_name(config.model_name)
    if config.epochs < 1 or config.patience < 1 or config.batch_size < 1:
        raise InputError("--epochs, --patience and --batch-size must be at least 1")
    df = validate_split_table(table, source)
    others = [(src, validate_split_table(t, src)) for src, t in (phase1_tables or [])]
    if config.architecture != "trednet" and (others or phase1_weights):
        raise InputError("--phase1-data and --phase1-weights apply to --architecture trednet only")
    if others and phase1_weights:
        raise InputError("give --phase1-data (train phase one) or --phase1-weights (load it), not both")
    if checkpoint is not None and checkpoint_dir is not None:
        raise InputError("give a checkpoint file or a checkpoint directory, not both")
    runtime = runtime or make_runtime()
    cell_line = str(df["cell_line"].iloc[0])
    input_length = int(len(df["sequence"].iloc[0]))
    hyperparameters = cnn.resolve_hyperparameters(config.architecture, config.hyperparameters)
    phase1: dict[str, Any] | None = None
    if config.architecture == "trednet":
        phase1 = _phase1_setup(df, source, others, phase1_weights, hyperparameters, input_length)
    parts = {s: df[df["split"] == s] for s in SPLITS}
    x = {s: cnn.encode(p["sequence"].tolist()) for s, p in parts.items()}
    y = {s: p["label"].to_numpy() for s, p in parts.items()}
    log.info("training %s (%s) on %s: %s sequences of %d bp", config.model_name, config.architecture,
             cell_line, ", ".join(f"{len(y[s])} {s}" for s in SPLITS), input_length)

    seed_everything(config.seed)
    spec: dict[str, Any] = {"model_name": config.model_name, "family": cnn.FAMILY,
                            "architecture": config.architecture, "hyperparameters": hyperparameters,
                            "input_length": input_length, "cell_line": cell_line, "seed": config.seed}
    fingerprint = training_fingerprint(config, spec | {"runtime": runtime.summary()}, [df, *(t for _, t in others)],
                               phase1["summary"] if phase1 else None)
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir) / fingerprint[:16] / CHECKPOINT.name
    ckpt = _Checkpoint(Path(checkpoint), fingerprint) if checkpoint is not None else None
    state = None
    if ckpt is not None and resume:
        runtime.accelerator.wait_for_everyone()  # read only once every process got here (one-process: no-op)
        state = ckpt.load()
        runtime.accelerator.wait_for_everyone()  # and every process has read it before process 0 replaces it
    extra: dict[str, pd.DataFrame] = {}
    with deterministic_algorithms(runtime.device):
        model = cnn.build_model(spec)
        context: dict[str, Any] = {}
        if phase1 is not None:
            context["phase1"] = _fit_phase1(model, phase1, config, runtime, ckpt, state, on_epoch_end)
            spec["phase1"] = phase1["summary"] | {k: v for k, v in context["phase1"].items() if k != "records"}
            if "records" in context["phase1"]:
                extra["phase1_curve"] = _curve(context["phase1"]["records"])
            model.phase2_parameters_only()
        curve, best_state, best_epoch = _fit(model, x, y, config, runtime=runtime, ckpt=ckpt, state=state,
                                             context=context, on_epoch_end=on_epoch_end)
    model.requires_grad_(True)
    model.load_state_dict(best_state)
    model.eval()

    probs = {s: cnn.sigmoid(cnn.predict_logits(model, x[s], EVAL_BATCH_SIZE)) for s in ("valid", "test")}
    detection = detection_table(config.model_name, cell_line, y, probs)
    training = {k: v for k, v in asdict(config).items() if k not in ("model_name", "architecture", "hyperparameters", "seed")}
    spec.update({
        "training": {**training, "threads": torch.get_num_threads(), **runtime.summary()},
        "epochs_run": int(len(curve)), "best_epoch": int(best_epoch),
        "best_valid_loss": float(curve.loc[curve["epoch"] == best_epoch, "valid_loss"].iloc[0]),
        "n_train": len(y["train"]), "n_valid": len(y["valid"]), "n_test": len(y["test"]),
        "torch_version": torch.__version__, "regvarbench_version": __version__,
    })
    log_detection(detection)
    return TrainResult(model=model, spec=spec, curve=curve, detection=detection, extra=extra,
                       checkpoint=ckpt.path if ckpt is not None else None)


def _phase1_setup(df: pd.DataFrame, source: str, others: list[tuple[str, pd.DataFrame]],
                  weights: str | Path | None, hyperparameters: dict[str, Any], input_length: int) -> dict[str, Any]:
    """trednet phase one: its data (tasks, encoded rows) or its loaded weights; sets ``tasks``."""
    if weights is not None:
        p1_spec, p1_weights = read_spec(weights)
        if p1_spec.get("architecture") != "trednet" or not p1_weights.exists():
            raise InputError(f"--phase1-weights {weights}: not a trained trednet model directory "
                             "(spec.json with architecture trednet and model.pt)")
        shared = ("channels", "kernel_sizes", "pool_sizes", "phase1_dense", "dropout", "tasks")
        hyperparameters.update({k: p1_spec["hyperparameters"][k] for k in shared})
        state = torch.load(p1_weights, map_location="cpu", weights_only=True)
        return {"weights": {k: v for k, v in state.items() if k.startswith("phase1.")},
                "summary": {"weights": str(weights), "tasks": list(hyperparameters["tasks"]),
                            "weights_sha256": hashlib.sha256(p1_weights.read_bytes()).hexdigest()}}
    tasks, parts = trednet.phase1_dataset(df, [t for _, t in others])
    hyperparameters["tasks"] = tasks
    return {"x": {s: cnn.encode(p["sequence"].tolist(), input_length) for s, p in parts.items()},
            "y": {s: p[tasks].to_numpy(dtype=np.float64) for s, p in parts.items()},
            "summary": {"tasks": tasks, "sources": [source, *(src for src, _ in others)],
                        "n_train": len(parts["train"]), "n_valid": len(parts["valid"]),
                        "positives_train": {t: int(parts["train"][t].sum()) for t in tasks}}}


def _fit_phase1(model: nn.Module, phase1: dict[str, Any], config: TrainConfig, runtime: Runtime,
                ckpt: "_Checkpoint | None",
                state: dict[str, Any] | None, on_epoch_end: Callable[[str, int], None] | None) -> dict[str, Any]:
    """Load or fit trednet's phase one (multi-task, early stopping); returns what the spec records."""
    tasks_module = trednet.PhaseOneTasks(model.phase1)
    if "weights" in phase1:
        try:
            tasks_module.load_state_dict(phase1["weights"])
        except RuntimeError as exc:
            raise InputError(f"--phase1-weights: cannot load phase one: {exc}") from exc
        return {}
    if state is not None and state["phase"] == "model":  # phase one finished before the interruption
        return state["context"]["phase1"]
    log.info("trednet phase one: %d tasks (%s), %d train / %d valid rows", len(phase1["summary"]["tasks"]),
             ", ".join(phase1["summary"]["tasks"]), len(phase1["y"]["train"]), len(phase1["y"]["valid"]))
    curve, best_state, best_epoch = _fit(
        tasks_module, phase1["x"], phase1["y"], config, runtime=runtime, phase="phase1", ckpt=ckpt, state=state,
        predict=lambda m, xs: trednet.predict_task_logits(m, xs, EVAL_BATCH_SIZE), on_epoch_end=on_epoch_end)
    tasks_module.load_state_dict(best_state)
    return {"records": curve.to_dict("records"), "epochs_run": int(len(curve)), "best_epoch": int(best_epoch),
            "best_valid_loss": float(curve["valid_loss"].min())}


def _curve(records: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=["epoch", "train_loss", "valid_loss", "valid_auroc"])


def _mean_auroc(labels: np.ndarray, logits: np.ndarray) -> float:
    """auROC of one task, or the mean over tasks (columns) that have both classes."""
    if np.ndim(labels) == 1:
        return detection_metrics(labels, cnn.sigmoid(logits))["auroc"]
    values = [roc_auc_score(labels[:, j], logits[:, j]) for j in range(labels.shape[1])
              if len(np.unique(labels[:, j])) == 2]
    return float(np.mean(values)) if values else float("nan")


class _Checkpoint:
    """The last epoch's training state in one file, replaced atomically after every epoch."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path, self.fingerprint = path, fingerprint

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which, do not guess
            raise InputError(f"checkpoint {self.path} cannot be read ({exc}); remove it or use --no-resume") from exc
        if state.get("fingerprint") != self.fingerprint:
            raise InputError(f"checkpoint {self.path} was written for other data or settings; "
                             "remove it or use --no-resume")
        if state.get("threads") != torch.get_num_threads():
            log.warning("checkpoint %s was written with %s torch threads, now %d: the resumed weights may "
                        "differ in the last bits from an uninterrupted run", self.path, state.get("threads"),
                        torch.get_num_threads())
        log.info("resuming from %s: %s after epoch %d", self.path, state["phase"], state["epoch"])
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write the state under a temporary name beside the checkpoint, then rename it onto it:
        a reader (or a rerun after a kill) sees the previous checkpoint or this one, whole.

        Parameters
        ----------
        state : dict of str -> Any
            The training state (saved with the fingerprint and torch's thread count added).
        """
        with atomic_path(self.path) as tmp:
            torch.save({**state, "fingerprint": self.fingerprint, "threads": torch.get_num_threads()}, tmp)


def _fit(model: nn.Module, x: dict[str, torch.Tensor], y: dict[str, np.ndarray], config: TrainConfig, *,
         runtime: Runtime, phase: str = "model", predict: Callable[[nn.Module, torch.Tensor], np.ndarray] | None = None,
         ckpt: _Checkpoint | None = None, state: dict[str, Any] | None = None,
         context: dict[str, Any] | None = None,
         on_epoch_end: Callable[[str, int], None] | None = None) -> tuple[pd.DataFrame, dict[str, torch.Tensor], int]:
    """Epoch loop with early stopping; returns the curve, the best weights and the best epoch.

    ``y`` holds 0/1 labels, one per row (one logit per sequence) or a column per task. With
    ``state`` from a checkpoint of the same ``phase`` the loop continues after its epoch.

    Data-parallel (``runtime.world_size`` > 1): every process draws the same shuffled batch and
    trains on its share of the rows (row i of the batch goes to process i mod N); the summed loss
    is scaled by N so DDP's gradient average equals the one-process gradient of the whole batch.
    Batch-norm statistics are per process, as in plain DDP. After each epoch the buffers of
    process 0 are copied to all, and process 0's validation record decides early stopping for all.
    """
    from accelerate.utils import broadcast_object_list, gather_object

    device, world, rank = runtime.device, runtime.world_size, runtime.rank
    predict = predict or (lambda m, xs: cnn.predict_logits(m, xs, EVAL_BATCH_SIZE, device=device))
    loader_gen = torch.Generator().manual_seed(config.seed)
    augment_gen = torch.Generator().manual_seed(config.seed + 1 + rank)
    loader = DataLoader(range(len(y["train"])), batch_size=config.batch_size, shuffle=True,
                        generator=loader_gen)
    y_train = torch.tensor(y["train"], dtype=torch.float32)
    model.to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    records: list[dict[str, float]] = []
    best_loss, best_epoch, best_state = float("inf"), 0, _cpu_copy(model.state_dict())
    start = 1
    if state is not None and state["phase"] == phase:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        loader_gen.set_state(state["rng"]["loader"])
        augment_gen.set_state(state["rng"]["augment"][rank])
        torch.set_rng_state(state["rng"]["torch"][rank])
        if device == "cuda" and state["rng"].get("cuda"):
            torch.cuda.set_rng_state(state["rng"]["cuda"][rank])
        records, best_loss, best_epoch = list(state["records"]), state["best_loss"], state["best_epoch"]
        best_state, start = state["best_state"], state["epoch"] + 1
        if state["epoch"] - best_epoch >= config.patience:
            start = config.epochs + 1  # it had stopped early already
    net, optimizer = runtime.accelerator.prepare(model, optimizer)  # DDP-wrapped with several processes
    bar = tqdm(range(start, config.epochs + 1), desc=phase if phase != "model" else "epochs", unit="epoch",
               disable=None if runtime.is_main else True)
    for epoch in bar:
        started = time.perf_counter()
        net.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for idx in loader:
            share, weight = idx[rank::world], float(world)
            if len(share) == 0:  # a last batch smaller than the process count: a zero-weight row keeps DDP in step
                share, weight = idx[:1], 0.0
            xb = x["train"][share].to(device).float()
            if config.reverse_complement_augment:
                xb = _augment_reverse_complement(xb, augment_gen)
            optimizer.zero_grad()
            loss = loss_fn(net(xb), y_train[share].to(device))
            runtime.accelerator.backward(loss * weight)
            optimizer.step()
            total += loss.detach().double() * (weight > 0)
        # batch-norm statistics of the epoch's final weights over every training row (each process
        # computes the same from the same rows), so validation and scoring see exact population
        # statistics instead of a moving average over weights that kept changing
        recompute_batch_norm(model, x["train"], device)
        if world > 1:
            total = runtime.accelerator.reduce(total, reduction="sum")
            for buffer in model.buffers():  # batch-norm running statistics: process 0's everywhere
                torch.distributed.broadcast(buffer.data, src=0)
        # the fp64 evaluation converts the module in place, which would detach DDP's gradient hooks:
        # with several processes, evaluate a copy
        valid_logits = predict(copy.deepcopy(model) if world > 1 else model, x["valid"])
        record = {"epoch": epoch, "train_loss": float(total) / y_train.numel(),
                  "valid_loss": bce_with_logits(valid_logits, y["valid"]),
                  "valid_auroc": _mean_auroc(y["valid"], valid_logits)}
        record = broadcast_object_list([record])[0]  # one process: returned as given
        records.append(record)
        improved = record["valid_loss"] < best_loss
        if improved:
            best_loss, best_epoch, best_state = record["valid_loss"], epoch, _cpu_copy(model.state_dict())
        if ckpt is not None:
            # one state per process, in rank order ([own state] with one process)
            rng = {"torch": gather_object([torch.get_rng_state()]), "augment": gather_object([augment_gen.get_state()]),
                   "loader": loader_gen.get_state()}
            if device == "cuda":
                rng["cuda"] = gather_object([torch.cuda.get_rng_state()])
            if runtime.is_main:
                ckpt.save({"phase": phase, "epoch": epoch, "model": _cpu_copy(model.state_dict()),
                           "optimizer": optimizer.state_dict(), "rng": rng,
                           "records": records, "best_loss": best_loss, "best_epoch": best_epoch,
                           "best_state": best_state, "context": context or {}})
            runtime.accelerator.wait_for_everyone()
        seconds = time.perf_counter() - started
        bar.set_postfix(train_loss=f"{record['train_loss']:.4f}", valid_loss=f"{record['valid_loss']:.4f}")
        log.info("%sepoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f%s (%.1f s)",
                 "" if phase == "model" else f"{phase} ", epoch, record["train_loss"], record["valid_loss"],
                 record["valid_auroc"], " *" if improved else "", seconds)
        if on_epoch_end is not None:
            on_epoch_end(phase, epoch)
        if epoch - best_epoch >= config.patience:
            log.info("early stop after epoch %d: no validation loss improvement for %d epochs; "
                     "keeping epoch %d", epoch, config.patience, best_epoch)
            break
        # process 0's clock decides for all: processes deciding apart would part ways (one paused,
        # the others waiting for it in the next epoch's gradient exchange)
        if epoch < config.epochs and ckpt is not None and broadcast_object_list([runtime.out_of_time(seconds)])[0]:
            bar.close()
            raise TrainingPaused(f"time limit of {runtime.time_limit:g} s: stopped after {phase} epoch {epoch}; "
                                 f"checkpoint {ckpt.path}; run again to continue")
    bar.close()
    model.to("cpu")
    return _curve(records), best_state, best_epoch


def recompute_batch_norm(model: nn.Module, xs: torch.Tensor, device: str = "cpu",
                         batch_size: int = EVAL_BATCH_SIZE) -> int:
    """Set the running statistics of ``model``'s trainable batch-norm layers to their exact means
    over ``xs`` (one pass, no gradients; other layers in eval mode, so dropout is off).

    Parameters
    ----------
    model : torch.nn.Module
        The network; batch-norm layers whose weights are frozen keep their statistics.
    xs : torch.Tensor, shape (n, ...)
        Inputs as the network takes them (e.g. one-hot (n, 4, length)).
    device : str
        Where the pass runs.
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    int
        How many batch-norm layers were recomputed.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats and all(p.requires_grad for p in m.parameters())]
    if not norms or len(xs) == 0:
        return 0
    was_training, momenta = model.training, [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches of this pass
        m.train()
    try:
        with torch.no_grad():
            for start in range(0, len(xs), batch_size):
                model(xs[start:start + batch_size].to(device).float())
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A detached copy of a state dict on the CPU (best weights and checkpoints stay off the GPU)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def write_outputs(result: TrainResult, outdir: str | Path) -> Path:
    """DIR/<model>__<cell>/ with model.pt, spec.json, training_curve.tsv, enhancer_detection.tsv.

    Each table of ``result.extra`` is written as ``<name>.tsv`` there too.

    Parameters
    ----------
    result : TrainResult
        As from ``train_model``.
    outdir : str or pathlib.Path
        The output directory ``DIR``.

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    target = model_dir(outdir, result.spec["model_name"], result.spec["cell_line"])
    cnn.save_model(target, result.model, result.spec)
    write_tsv(result.curve, target / "training_curve.tsv")
    write_tsv(result.detection, target / DETECTION_FILE)
    for name, table in result.extra.items():
        write_tsv(table, target / f"{name}.tsv")
    return target


# families whose model nothing is fitted for, written by _run_fixed_output
FIXED_OUTPUT_FAMILIES = ("motif", "enformer", "borzoi")
FAMILY_DEFAULTS = {  # per-family defaults of the shared options (hf: the study's fine-tuning)
    "cnn": {f.name: f.default for f in fields(TrainConfig)
            if f.name in ("epochs", "patience", "batch_size", "lr", "weight_decay")},
    "hf": {"epochs": 200, "patience": 5, "batch_size": 8, "lr": 1e-5, "weight_decay": 0.0},
    "motif": {},  # JASPAR PWM baseline: nothing is trained
    "enformer": {}, "borzoi": {},  # one-shot genomic-track models (regvarbench.models.tracks)
    "trednet": {}, "sei": {},  # published weights, scored as published (_run_published)
}
# options a catalogue row decides (train --catalogue); the rest stay options of the command
CATALOGUE_OPTIONS = (*ROW_OPTIONS, "tracks", "input_length", "published")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="split table (<cell>.split.tsv); required except for --family motif")
    parser.add_argument("--model-name", help="name used in output tables and directory "
                        "(required except for --family motif, default motif_jaspar)")
    parser.add_argument("--family", default="cnn", choices=sorted(FAMILY_DEFAULTS),
                        help="cnn: train a CNN from scratch; hf: fine-tune a Hugging Face checkpoint (default cnn)")
    parser.add_argument("--architecture", default="cnn_small", choices=cnn.architecture_names(), help="cnn family")
    parser.add_argument("--hyperparameters", metavar="JSON", default=None,
                        help="cnn family: architecture hyper-parameters overriding its defaults, as a JSON object, "
                        "e.g. '{\"channels\": [64, 64, 64], \"dropout\": 0.2}' (docs/models.md lists them)")
    parser.add_argument("--source", help="hf family: checkpoint directory or Hugging Face hub id")
    parser.add_argument("--tokenizer", help="hf family: tokenizer directory or hub id (default: the --source's)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help=f"hf family: tokens per input, longer inputs centre-cropped (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="hf family: run the modelling code shipped with the checkpoint")
    parser.add_argument("--revision", default=None,
                        help="hf family: hub revision of --source; a commit hash pins its code and weights "
                        "(default: the hub's default branch; ignored for a directory)")
    parser.add_argument("--logging-steps", type=int, default=500, help="hf family: log every N steps (default 500)")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default cnn 30, hf 200)")
    parser.add_argument("--patience", type=int, default=None,
                        help="stop after this many epochs without validation-loss improvement (default cnn 4, hf 5)")
    parser.add_argument("--batch-size", type=int, default=None, help="default cnn 32, hf 8")
    parser.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default cnn 3e-3, hf 1e-5)")
    parser.add_argument("--weight-decay", type=float, default=None, help="default cnn 1e-4, hf 0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--reverse-complement-augment", action="store_true",
                        help="cnn family: reverse-complement a random half of each training batch")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="cnn and hf families: continue from the checkpoint of an interrupted run with the same "
                        "data and settings (default); --no-resume starts afresh")
    parser.add_argument("--checkpoint-dir", metavar="DIR",
                        help="cnn and hf families: keep checkpoints in DIR/<model>__<cell>/<fingerprint>/ (e.g. a "
                        "shared folder that outlives a pipeline task, so a retry continues) instead of "
                        "OUTDIR/<model>__<cell>/checkpoint/ (cnn) or .../trainer/ (hf); removed once the model is written")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="cnn and hf families: stop after the epoch whose successor would end past SECONDS "
                        "(from start), with its checkpoint written, exit status 75; run again to continue")
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="cnn and hf families: cpu, cuda, or auto (default: cuda when a GPU is visible)")
    parser.add_argument("--precision", default="auto", choices=TRAIN_PRECISIONS,
                        help="cnn and hf families: auto (default) = bf16 autocast on GPUs with bf16, fp16 on older "
                        "GPUs, fp32 on CPUs")
    parser.add_argument("--processes", type=int, default=1,
                        help="cnn and hf families: data-parallel training processes on this machine (one per GPU; "
                        "gloo on CPUs), started by this command (default 1)")
    parser.add_argument("--phase1-data", nargs="+", metavar="SPLIT_TSV",
                        help="--architecture trednet: other cell lines' split tables; their enhancer labels "
                        "are phase one's extra tasks (the --data table is always a task)")
    parser.add_argument("--phase1-weights", metavar="MODEL_DIR",
                        help="--architecture trednet: take phase one from this trained trednet model "
                        "directory instead of fitting it (phase two is still trained)")
    parser.add_argument("--cell-line", help="motif family: cell line (picks its default motif set)")
    parser.add_argument("--motifs", help="motif family: comma-separated JASPAR names or matrix IDs "
                        "(default: the cell line's set, see docs/models.md)")
    parser.add_argument("--jaspar-release", default=None, help="motif family: JASPAR release (default: newest in pyjaspar)")
    parser.add_argument("--tracks", help="enformer/borzoi: output tracks, 'CELL:i,j;CELL:k' or 'i,j' (catalogue column)")
    parser.add_argument("--input-length", type=int, default=None,
                        help="enformer/borzoi: bp the model reads (default: the published model's)")
    parser.add_argument("--skip-unavailable", action="store_true",
                        help="a model whose weights cannot be loaded leaves a marker directory "
                             "(unavailable.tsv) instead of failing the run")
    parser.add_argument("--catalogue", metavar="CSV",
                        help="model catalogue (assets/models.csv): the row of --model-name decides the family, "
                        "source and the options of the catalogue's columns (" + option_flags(CATALOGUE_OPTIONS)
                        + "; not to be given with it)")
    parser.add_argument("--published", action="store_true",
                        help="hf family: score the checkpoint as published (e.g. an already fine-tuned one): "
                        "nothing is fitted, the spec and the detection table are written (catalogue: trainable false)")
    parser.add_argument("--weights-dir", metavar="DIR",
                        help="trednet/sei: directory of downloaded published weights, recorded in the spec "
                        "(default at load time: $REGVARBENCH_WEIGHTS, else ~/.cache/regvarbench/weights)")
    parser.add_argument("--outdir", required=True)


def run(args: argparse.Namespace) -> None:
    args = apply_catalogue(args)
    if args.processes < 1:
        raise InputError("--processes must be at least 1")
    if args.processes > 1 and args.family in ("cnn", "hf") and not distributed_env():
        launch(run, args, args.processes)  # each process comes back here, inside the distributed environment
        return
    run_skipping_unavailable(lambda: _run(args), args.skip_unavailable, args.outdir, args.model_name, args.family,
                             args.cell_line, args.data)


def _run(args: argparse.Namespace) -> None:
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    if args.family in FIXED_OUTPUT_FAMILIES:
        _run_fixed_output(args)
        return
    if not args.data or not args.model_name:
        raise InputError(f"--family {args.family} needs --data and --model-name")
    if args.family in ("trednet", "sei") or (args.family == "hf" and args.published):
        _run_published(args)
        return
    if args.published:
        raise InputError(f"--published applies to --family hf (a {args.family} model is trained)")
    path = Path(args.data)
    if not path.exists():
        raise InputError(f"--data: file not found: {path}")
    shared = {k: getattr(args, k) if getattr(args, k) is not None else v
              for k, v in FAMILY_DEFAULTS[args.family].items()}
    if args.family == "hf":
        run_hf(args, path, shared)
        return
    config = TrainConfig(model_name=args.model_name, architecture=args.architecture, seed=args.seed,
                         hyperparameters=json_object_option(args.hyperparameters, "--hyperparameters"),
                         reverse_complement_augment=args.reverse_complement_augment, **shared)
    table = read_tsv(path)
    cell_line = str(validate_split_table(table, str(path))["cell_line"].iloc[0])
    runtime = make_runtime(args.device, args.precision, args.time_limit)
    checkpoint, checkpoint_dir = _checkpoint_location(args, config.model_name, cell_line, CHECKPOINT)
    phase1_tables = []
    for p1 in args.phase1_data or []:
        if not Path(p1).exists():
            raise InputError(f"--phase1-data: file not found: {p1}")
        phase1_tables.append((str(p1), read_tsv(p1)))
    result = train_model(table, config, source=str(path), phase1_tables=phase1_tables,
                         phase1_weights=args.phase1_weights, checkpoint=checkpoint, checkpoint_dir=checkpoint_dir,
                         resume=args.resume, runtime=runtime)
    if not runtime.is_main:  # data-parallel: process 0 writes
        return
    target = write_outputs(result, args.outdir)
    if result.checkpoint is not None:
        _remove_checkpoint(result.checkpoint.parent, checkpoint_dir)  # the finished model replaces it
    log.info("wrote %s (best epoch %d of %d)", target, result.spec["best_epoch"], result.spec["epochs_run"])


def apply_catalogue(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the options of ``--catalogue``'s row for ``--model-name`` filled in (a copy).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``train`` options; without ``catalogue`` they are returned as given.

    Returns
    -------
    argparse.Namespace
        ``CATALOGUE_OPTIONS`` from the row (``published`` = not trainable), ``spec_keys`` (the
        row's extra ``key=value`` spec keys) and ``kind_of_output``.
    """
    if not getattr(args, "catalogue", None) or getattr(args, "catalogue_applied", False):
        return args  # (data-parallel workers re-enter run() with the options already filled in)
    probe = argparse.ArgumentParser()
    add_arguments(probe)
    settings, options = command_options(args.catalogue, args.model_name, vars(args),
                                        {o: probe.get_default(o) for o in CATALOGUE_OPTIONS},
                                        args.cell_line, args.data)
    family = settings["family"]
    if family not in FAMILY_DEFAULTS:
        raise InputError(f"{args.catalogue}: model {args.model_name} is of family {family!r}, which train cannot "
                         f"build (known: {', '.join(sorted(FAMILY_DEFAULTS))})")
    if family == "cnn" and not settings["trainable"]:
        raise InputError(f"{args.catalogue}: model {args.model_name}: a cnn model is trained (trainable true)")
    updates: dict[str, Any] = {**options, "tracks": settings["tracks"], "input_length": settings["input_length"],
                               "published": not settings["trainable"], "spec_keys": settings["spec"],
                               "kind_of_output": settings["kind_of_output"], "catalogue_applied": True}
    if family == "motif":  # its row's source names no checkpoint (cnn's is None already: command_options)
        updates["source"] = None
    return argparse.Namespace(**{**vars(args), **updates})


def _run_published(args: argparse.Namespace) -> None:
    """A model scored as published (trednet, sei, an hf checkpoint already fine-tuned): nothing is fitted.

    Loads the weights once (missing ones fail here, or leave a marker with --skip-unavailable),
    writes ``DIR/<model>__<cell>/spec.json`` and ``enhancer_detection.tsv`` on the valid and test
    rows: F1 at probability 0.5 for probability outputs, else at the cut-off that maximises F1 on
    the valid rows.
    """
    check_model_name(args.model_name)
    path = Path(args.data)
    df = validate_split_table(read_tsv(path), str(path))
    cell_line = str(df["cell_line"].iloc[0])
    spec: dict[str, Any] = {"model_name": args.model_name, "family": args.family, "cell_line": cell_line,
                            "seed": args.seed, **(getattr(args, "spec_keys", None) or {})}
    if args.family == "hf":
        if not args.source:
            raise InputError("--family hf needs --source (a checkpoint directory or Hugging Face hub id)")
        spec.update(source=args.source, tokenizer=args.tokenizer, max_tokens=args.max_tokens,
                    trust_remote_code=args.trust_remote_code, revision=getattr(args, "revision", None) or None,
                    checkpoint=None)  # no checkpoint of its own: the source is the model
    elif args.source:
        spec["source"] = args.source
    if args.tracks:
        spec["tracks"] = args.tracks
    if args.weights_dir:
        spec["weights_dir"] = str(Path(args.weights_dir).resolve())
    adapter = load_model(spec)
    probability = getattr(args, "kind_of_output", "prob") == "prob"
    parts = {s: df[df["split"] == s] for s in ("valid", "test")}
    scores = {s: adapter.predict(p["sequence"].tolist()) for s, p in parts.items()}
    labels = {s: p["label"].to_numpy() for s, p in parts.items()}
    threshold = 0.5 if probability else best_f1_threshold(labels["valid"], scores["valid"])
    detection = detection_table(args.model_name, cell_line, labels, scores, threshold)
    log_detection(detection, " (as published)")
    target = model_dir(args.outdir, args.model_name, cell_line)
    target.mkdir(parents=True, exist_ok=True)
    write_tsv(detection, target / DETECTION_FILE)
    write_spec(target, {**spec, **adapter.spec, "trainable": False, "f1_threshold": threshold, "data": str(path),
                        "n_valid": len(labels["valid"]), "n_test": len(labels["test"]),
                        "regvarbench_version": __version__})
    log.info("wrote %s (as published, nothing fitted)", target)


def _checkpoint_location(args: argparse.Namespace, model_name: str, cell_line: str,
                         default: Path) -> tuple[Path | None, Path | None]:
    """(checkpoint path in the output folder, or None; fingerprint-keyed folder root, or None)."""
    if args.checkpoint_dir:
        return None, model_dir(args.checkpoint_dir, model_name, cell_line)
    path = model_dir(args.outdir, model_name, cell_line) / default
    if path.exists() and not args.resume:
        log.info("--no-resume: starting afresh (%s will be overwritten)", path)
    return path, None


def _remove_checkpoint(folder: Path, keyed_root: Path | None) -> None:
    """Delete a finished run's checkpoint folder (and its <model>__<cell> folder under --checkpoint-dir if empty)."""
    shutil.rmtree(folder, ignore_errors=True)
    if keyed_root is not None:
        with contextlib.suppress(OSError):
            keyed_root.rmdir()


def run_hf(args: argparse.Namespace, path: Path, shared: dict[str, Any]) -> None:
    """``--family hf``: fine-tune a Hugging Face checkpoint (regvarbench.models.hf).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``train`` command line.
    path : pathlib.Path
        The split table (``--data``).
    shared : dict of str -> Any
        The shared options (epochs, patience, batch_size, lr, weight_decay): given values, else the
        hf family's ``FAMILY_DEFAULTS``.

    Raises
    ------
    InputError
        Without ``--source``.
    """
    # by the family registry, as models.load_model does: importing transformers costs every other
    # family's training task seconds (a downward import all the same; tests/unit/test_layering.py)
    hf = importlib.import_module(FAMILIES["hf"])
    if not args.source:
        raise InputError("--family hf needs --source (a checkpoint directory or Hugging Face hub id)")
    if args.reverse_complement_augment:
        log.warning("--reverse-complement-augment is ignored with --family hf")
    config = hf.HFTrainConfig(model_name=args.model_name, source=args.source, tokenizer=args.tokenizer,
                              max_tokens=args.max_tokens, trust_remote_code=args.trust_remote_code,
                              revision=args.revision or None, logging_steps=args.logging_steps, seed=args.seed, **shared)
    table = read_tsv(path)
    cell_line = str(validate_split_table(table, str(path))["cell_line"].iloc[0])
    runtime = make_runtime(args.device, args.precision, args.time_limit)
    trainer_dir, checkpoint_dir = _checkpoint_location(args, config.model_name, cell_line, Path(HF_TRAINER_DIR))
    adapter, spec, curve, detection = hf.train_hf(table, config, source_label=str(path), trainer_dir=trainer_dir,
                                                  checkpoint_dir=checkpoint_dir, resume=args.resume, runtime=runtime)
    if not runtime.is_main:  # data-parallel: process 0 writes
        return
    target = hf.save_outputs(args.outdir, adapter, spec, curve, detection)
    # training finished: its checkpoints are not outputs
    _remove_checkpoint(adapter.trainer_dir, checkpoint_dir)
    log.info("wrote %s (best epoch %d of %d)", target, spec["best_epoch"], spec["epochs_run"])


def _run_fixed_output(args: argparse.Namespace) -> None:
    """``--family motif|enformer|borzoi``: write the model directory of a model nothing is fitted for.

    The network or motif set is built (and, for track models, loaded once, so that an unreachable
    source fails here or leaves a marker with --skip-unavailable rather than failing every scoring
    task). With --data, enhancer detection on the valid and test rows: auROC/auPRC need no
    threshold; F1 uses the cut-off that maximises F1 on the threshold rows, since log-odds and
    track sums have no natural cut-off like probability 0.5. Those rows are the train rows for the
    motif scan and the valid rows for track models (predicting their train rows at 196-524 kb per
    sequence would cost more than the benchmark). Without --data the detection table is header-only.

    Parameters
    ----------
    args : argparse.Namespace
        ``family``, ``model_name``, ``cell_line``, ``data`` and ``outdir`` of ``regvarbench train``;
        motif: ``motifs``, ``jaspar_release``; enformer/borzoi: ``tracks``, ``source``, ``input_length``.

    Raises
    ------
    InputError
        ``--data`` does not exist or fails the split-table checks, or no cell line is given.
    """
    df = None
    if args.data:
        path = Path(args.data)
        if not path.exists():
            raise InputError(f"--data: file not found: {path}")
        df = validate_split_table(read_tsv(path), str(path))
    cell_line = args.cell_line or (str(df["cell_line"].iloc[0]) if df is not None else None)
    if not cell_line:
        raise InputError(f"--family {args.family} needs --cell-line (or --data)")
    if df is not None and str(df["cell_line"].iloc[0]) != str(cell_line):
        log.warning("%s holds cell line %s, the model is for %s", args.data, df["cell_line"].iloc[0], cell_line)
    if args.family == "motif":
        names = [m.strip() for m in args.motifs.split(",") if m.strip()] if args.motifs else None
        spec = motif.build_spec(cell_line, names, args.jaspar_release or motif.DEFAULT_RELEASE,
                                model_name=check_model_name(args.model_name or "motif_jaspar"))
        adapter, threshold_split, splits = motif.load_adapter(spec), "train", SPLITS
    else:
        spec = tracks.build_spec(args.family, check_model_name(args.model_name or args.family), cell_line,
                                 args.tracks, args.source, args.input_length)
        adapter, threshold_split, splits = tracks.load_adapter(spec), "valid", ("valid", "test")
    name = spec["model_name"]
    scores: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    threshold = None
    if df is not None:
        scores = {s: adapter.predict(df.loc[df["split"] == s, "sequence"].tolist()) for s in splits}
        labels = {s: df.loc[df["split"] == s, "label"].to_numpy() for s in splits}
        threshold = best_f1_threshold(labels[threshold_split], scores[threshold_split])
        spec.update({"f1_threshold": threshold, "data": str(args.data), **{f"n_{s}": len(labels[s]) for s in splits}})
    held_out = ("valid", "test")
    detection = detection_table(name, cell_line, {s: labels[s] for s in held_out if s in labels},
                                {s: scores[s] for s in held_out if s in scores}, threshold)
    if df is not None:
        log_detection(detection)
    target = model_dir(args.outdir, name, cell_line)
    target.mkdir(parents=True, exist_ok=True)
    write_tsv(detection, target / DETECTION_FILE)
    write_spec(target, adapter.spec | spec)
    log.info("wrote %s (nothing fitted)", target)

