"""Hugging Face sequence classifiers: fine-tune and score any AutoModelForSequenceClassification.

One adapter serves every checkpoint of the study's language models (DNABERT-2, Nucleotide
Transformer, GENA-LM, HyenaDNA, Geneformer, ...): each brings its own tokenizer, and the enhancer
probability is sigmoid(logit_enhancer - logit_control) of a 2-class head. A trained model directory
holds ``spec.json`` and ``checkpoint/`` (``save_pretrained`` of the best model and its tokenizer)
beside the same ``training_curve.tsv`` and ``enhancer_detection.tsv`` as a CNN, so ``regvarbench
score`` loads either.

Inputs longer than ``max_tokens`` are cropped around their centre (not cut at the right end):
variant windows put the variant at the centre, and a right truncation of a character-level
tokenization (HyenaDNA) would drop everything past base ~510 of a 1 kb window.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, EarlyStoppingCallback, Trainer,
                          TrainerCallback, TrainingArguments)
from transformers.trainer_callback import PrinterCallback

from ..io import InputError, write_tsv
from . import write_spec
from .cnn import fit_length, sigmoid
from .unavailable import ModelUnavailableError, first_line

log = logging.getLogger(__name__)

FAMILY = "hf"
CHECKPOINT_DIR = "checkpoint"
DEFAULT_MAX_TOKENS = 512
# Errors transformers / huggingface_hub raise for a checkpoint that cannot be had: not on disk and
# not fetchable (OSError), a malformed id (HFValidationError is a ValueError), remote code
# needing a missing package (ImportError), a config without a classifier mapping (KeyError).
_LOAD_ERRORS = (OSError, ValueError, ImportError, KeyError)


@dataclass(frozen=True)
class HFTrainConfig:
    """Fine-tuning settings; the defaults are the study's (batch 8, lr 1e-5, <= 200 epochs, patience 5)."""

    model_name: str
    source: str
    tokenizer: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    trust_remote_code: bool = False
    epochs: int = 200
    patience: int = 5
    batch_size: int = 8
    lr: float = 1e-5
    weight_decay: float = 0.0
    logging_steps: int = 500
    seed: int = 0


def load_pretrained(source: str, tokenizer_source: str | None = None, trust_remote_code: bool = False,
                    model_name: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) for a local checkpoint directory or a hub id; a 2-label head if it has none.

    Any failure to get the weights or the tokenizer (offline, unknown id, missing files) is a
    ModelUnavailableError (an InputError) naming the model and the source.
    """
    label = model_name or source
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source or source, trust_remote_code=trust_remote_code)
    except _LOAD_ERRORS as exc:
        raise ModelUnavailableError(label, tokenizer_source or source,
                                    f"no tokenizer: {first_line(exc)}") from exc
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=2, trust_remote_code=trust_remote_code)
    except _LOAD_ERRORS as exc:
        raise ModelUnavailableError(label, source, f"no weights: {first_line(exc)}") from exc
    if tokenizer.pad_token is None:
        raise InputError(f"model {label}: the tokenizer of {tokenizer_source or source!r} has no padding token")
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def crop_to_tokens(seqs: list[str], tokenizer: Any, max_tokens: int) -> list[str]:
    """Centre-crop each sequence until its tokenization (special tokens included) fits max_tokens.

    The centre base (index len // 2, where variant windows put the variant) stays at the centre.
    """
    budget = max_tokens - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise InputError(f"max_tokens {max_tokens} leaves no room besides the special tokens")
    out = list(seqs)
    todo = list(range(len(out)))
    while todo:
        counts = [len(ids) for ids in tokenizer([out[i] for i in todo], add_special_tokens=False)["input_ids"]]
        longer = []
        for i, n in zip(todo, counts):
            if n > budget:
                length = len(out[i])
                keep = min(length - 1, max(1, math.floor(length * budget / n)))
                out[i] = fit_length(out[i], keep)
                longer.append(i)
        todo = longer
    return out


class HFAdapter:
    """Enhancer probability = sigmoid(logit_1 - logit_0) of a 2-class sequence classifier.

    Every forward pass has the same shape (``batch_size`` rows, padded to ``max_tokens``), so a
    sequence's output does not depend on which sequences share its batch, nor on how a windows
    table was chunked.
    """

    def __init__(self, model: Any, tokenizer: Any, spec: dict[str, Any], device: str = "cpu",
                 batch_size: int = 32) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.spec = spec
        self.name = str(spec.get("model_name", spec.get("source", "hf")))
        self.device = device
        self.batch_size = batch_size
        self.max_tokens = int(spec.get("max_tokens") or DEFAULT_MAX_TOKENS)

    def encode(self, seqs: list[str]) -> dict[str, torch.Tensor]:
        """Token tensors padded to max_tokens, after fitting to input_length and centre-cropping."""
        seqs = [s.upper() for s in seqs]
        length = self.spec.get("input_length")
        if length:
            seqs = [fit_length(s, int(length)) for s in seqs]
        # tokenised once; only sequences whose tokens exceed max_tokens are cropped and tokenised again
        enc = self.tokenizer(seqs, truncation=False)
        ids = enc["input_ids"]
        longer = [i for i, row in enumerate(ids) if len(row) > self.max_tokens]
        if longer:
            cropped = crop_to_tokens([seqs[i] for i in longer], self.tokenizer, self.max_tokens)
            again = self.tokenizer(cropped, truncation=False)
            for key in enc.keys():
                for j, i in enumerate(longer):
                    enc[key][i] = again[key][j]
        # padding an existing encoding is what we mean here; transformers' advice to fast tokenizers
        # (tokenise and pad in one call) would mean tokenising twice
        getattr(self.tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
        return dict(self.tokenizer.pad(enc, padding="max_length", max_length=self.max_tokens, return_tensors="pt"))

    def logit_differences(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """logit_1 - logit_0 per sequence, float64."""
        size = batch_size or self.batch_size
        enc = self.encode(seqs)
        out = np.empty(len(seqs), dtype=np.float64)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in tqdm(range(0, len(seqs), size), desc="predict", unit="batch", disable=None, leave=False):
                    batch = {k: v[start:start + size] for k, v in enc.items()}
                    n = len(next(iter(batch.values())))
                    if n < size:  # fill with copies of the first row: same shape for every batch
                        batch = {k: torch.cat([v, v[:1].expand(size - n, *v.shape[1:])]) for k, v in batch.items()}
                    logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits[:n]
                    logits = logits.detach().to("cpu", torch.float64).numpy()
                    if logits.shape[1] != 2:
                        raise InputError(f"model {self.name}: expected a 2-class head, got {logits.shape[1]} outputs")
                    out[start:start + n] = logits[:, 1] - logits[:, 0]
        finally:
            self.model.train(was_training)
        return out

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Enhancer probabilities in [0, 1], float64, shape (n,)."""
        if len(seqs) == 0:
            return np.zeros(0, dtype=np.float64)
        return sigmoid(self.logit_differences(list(seqs), batch_size))


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None, device: str = "cpu") -> HFAdapter:
    """The fine-tuned checkpoint beside spec.json, or (spec dict without weights) spec["source"] itself.

    A hub or local checkpoint without a trained head gets one seeded from ``spec["seed"]``.
    """
    spec = dict(spec)
    if weights is not None:
        checkpoint = Path(weights).parent / spec.get("checkpoint", CHECKPOINT_DIR)
        if not checkpoint.is_dir():
            raise InputError(f"model {spec.get('model_name', '?')}: fine-tuned checkpoint not found: {checkpoint}")
        source, tokenizer_source = str(checkpoint), None
    else:
        if not spec.get("source"):
            raise InputError("an hf model spec needs 'source' (a checkpoint directory or hub id)")
        source, tokenizer_source = str(spec["source"]), spec.get("tokenizer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.get("seed", 0)))
        model, tokenizer = load_pretrained(source, tokenizer_source, bool(spec.get("trust_remote_code", False)),
                                           spec.get("model_name"))
    return HFAdapter(model, tokenizer, spec, device=device)


def _mixed_precision(precision: str) -> dict[str, bool]:
    """TrainingArguments flags for a concrete training precision (regvarbench.runtime.train_precision).

    Data-parallel training comes from the process environment: ``regvarbench train --processes N``
    (or torchrun / accelerate launch) starts N processes and the Trainer runs DDP across them.
    """
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}



class _Examples(torch.utils.data.Dataset):
    """Tokenized sequences with labels, padded per batch by the Trainer's collator."""

    def __init__(self, encodings: dict[str, list[list[int]]], labels: np.ndarray) -> None:
        self.encodings, self.labels = encodings, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {**{k: v[i] for k, v in self.encodings.items()}, "labels": int(self.labels[i])}


def train_hf(table: pd.DataFrame, config: HFTrainConfig, source_label: str = "<table>",
             trainer_dir: str | os.PathLike | None = None, resume: bool = True, callbacks: tuple = (),
             runtime: Any = None, checkpoint_dir: str | os.PathLike | None = None,
             ) -> tuple[HFAdapter, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fine-tune on the train rows with early stopping on validation loss; (adapter, spec, curve, detection).

    ``trainer_dir``: where the Trainer keeps its epoch checkpoints (model, optimizer, scheduler, RNG
    states, early-stopping state, and the training curve so far); with ``resume`` a run finds the
    last one there and continues from it after a kill (without ``resume`` the folder is emptied
    first). Without it, a temporary folder is used.
    ``checkpoint_dir`` instead: the Trainer's folder is ``<dir>/<fingerprint>/``, so runs with other
    data or settings never meet (a folder shared by the retries of a pipeline task).
    ``callbacks``: extra TrainerCallbacks (tests interrupt a run with one). ``runtime``
    (regvarbench.runtime.Runtime): device, precision and time limit; default: this process, the
    visible GPU if any. At the time limit the run stops after an epoch's checkpoint (TrainingPaused).
    """
    import transformers

    from .. import __version__
    from ..runtime import make_runtime
    from ..train import (DETECTION_COLUMNS, SPLITS, _NAME_RE, _fingerprint, detection_metrics,
                         deterministic_algorithms, seed_everything, validate_split_table)

    if not _NAME_RE.match(config.model_name):
        raise InputError(f"--model-name {config.model_name!r}: use letters, digits, '_' and '-' only")
    if min(config.epochs, config.patience, config.batch_size, config.logging_steps, config.max_tokens) < 1:
        raise InputError("--epochs, --patience, --batch-size, --logging-steps and --max-tokens must be at least 1")
    df = validate_split_table(table, source_label)
    cell_line = str(df["cell_line"].iloc[0])
    input_length = int(len(df["sequence"].iloc[0]))
    parts = {s: df[df["split"] == s] for s in SPLITS}
    y = {s: p["label"].to_numpy() for s, p in parts.items()}
    runtime = runtime or make_runtime()
    device = runtime.device
    if trainer_dir is not None and checkpoint_dir is not None:
        raise InputError("give a Trainer folder or a checkpoint directory, not both")
    fingerprint = _fingerprint(config, {"device": device, "runtime": runtime.summary()}, [df], None)
    if checkpoint_dir is not None:
        trainer_dir = Path(checkpoint_dir) / fingerprint[:16]
    if trainer_dir is not None and not resume and runtime.is_main:  # start afresh: no stale epochs left
        shutil.rmtree(trainer_dir, ignore_errors=True)
    log.info("fine-tuning %s (%s) on %s: %s sequences of %d bp, <= %d tokens", config.model_name, config.source,
             cell_line, ", ".join(f"{len(y[s])} {s}" for s in SPLITS), input_length, config.max_tokens)

    seed_everything(config.seed)
    model, tokenizer = load_pretrained(config.source, config.tokenizer, config.trust_remote_code, config.model_name)
    spec: dict[str, Any] = {"model_name": config.model_name, "family": FAMILY, "source": config.source,
                            "tokenizer": config.tokenizer, "checkpoint": CHECKPOINT_DIR,
                            "max_tokens": config.max_tokens, "trust_remote_code": config.trust_remote_code,
                            "input_length": input_length, "cell_line": cell_line, "seed": config.seed}
    adapter = HFAdapter(model, tokenizer, spec, device=device)

    def examples(split: str) -> _Examples:
        seqs = crop_to_tokens(parts[split]["sequence"].tolist(), tokenizer, config.max_tokens)
        enc = tokenizer(seqs, truncation=True, max_length=config.max_tokens)
        return _Examples({k: list(v) for k, v in enc.items()}, y[split])

    recorder = _CurveRecorder()

    class _Trainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            result = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                          num_items_in_batch=num_items_in_batch)
            if model.training:  # prediction_step also calls compute_loss, in eval mode
                recorder.losses.append(float((result[0] if return_outputs else result).detach()))
            return result

        def _load_optimizer_and_scheduler(self, checkpoint):
            # several CPU processes: the Trainer maps the optimizer state to args.device, "cpu:0",
            # which torch.load cannot restore; the CPU is where it belongs anyway
            if checkpoint is None or self.args.world_size == 1 or self.args.device.type != "cpu":
                return super()._load_optimizer_and_scheduler(checkpoint)
            self.optimizer.load_state_dict(torch.load(Path(checkpoint) / "optimizer.pt", map_location="cpu",
                                                      weights_only=True))
            self.lr_scheduler.load_state_dict(torch.load(Path(checkpoint) / "scheduler.pt", weights_only=True))

    def compute_metrics(pred) -> dict[str, float]:
        logits = np.asarray(pred.predictions, dtype=np.float64)
        return {"auroc": detection_metrics(pred.label_ids, sigmoid(logits[:, 1] - logits[:, 0]))["auroc"]}

    persistent = trainer_dir is not None
    with (contextlib.nullcontext(str(trainer_dir)) if persistent
          else tempfile.TemporaryDirectory(prefix="hf-trainer-")) as scratch, deterministic_algorithms(device):
        last = _last_checkpoint(scratch) if persistent and resume else None
        if persistent:  # a checkpoint is only continued with the data and settings that wrote it
            stamp = Path(scratch) / "fingerprint.txt"
            if last is not None and (not stamp.is_file() or stamp.read_text() != fingerprint):
                raise InputError(f"checkpoint {last} was written for other data or settings; "
                                 "remove it or use --no-resume")
            if runtime.is_main:
                stamp.parent.mkdir(parents=True, exist_ok=True)
                stamp.write_text(fingerprint)
        if last is not None:
            recorder.records = json.loads((last / CURVE_FILE).read_text())
            log.info("resuming from %s (after epoch %d)", last, len(recorder.records))
        args = TrainingArguments(
            output_dir=scratch, per_device_train_batch_size=config.batch_size,
            per_device_eval_batch_size=max(config.batch_size, 32), learning_rate=config.lr,
            weight_decay=config.weight_decay, num_train_epochs=config.epochs, eval_strategy="epoch",
            # a resumable run keeps the optimizer, scheduler and RNG states, and the best and the last epoch
            save_strategy="epoch", save_only_model=not persistent, save_total_limit=2 if persistent else 1,
            load_best_model_at_end=True,
            metric_for_best_model="eval_loss", greater_is_better=False, logging_strategy="steps",
            logging_steps=config.logging_steps, seed=config.seed, data_seed=config.seed, report_to=[],
            use_cpu=device == "cpu", dataloader_num_workers=0, disable_tqdm=True,
            # mixed precision on GPUs by default (bf16 where the card has it, else fp16); fp32 on CPUs,
            # where bf16 without native support is a slowdown (regvarbench.runtime.train_precision)
            **_mixed_precision(runtime.precision))
        trainer = _Trainer(model=model, args=args, train_dataset=examples("train"), eval_dataset=examples("valid"),
                           processing_class=tokenizer, compute_metrics=compute_metrics,
                           callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience), recorder,
                                      *callbacks, *([_TimeLimit(runtime)] if persistent else [])])
        trainer.remove_callback(PrinterCallback)  # it prints; the recorder logs instead
        trainer.train(resume_from_checkpoint=str(last) if last is not None else None)
        adapter.model = trainer.model.to(device).eval()  # the best epoch's weights (load_best_model_at_end)
        adapter.trainer_dir = Path(scratch) if persistent else None  # for the caller to remove once saved

    curve = pd.DataFrame(recorder.records, columns=["epoch", "train_loss", "valid_loss", "valid_auroc"])
    best_epoch = int(curve.loc[curve["valid_loss"].idxmin(), "epoch"])
    rows = []
    for split in ("valid", "test"):
        probs = adapter.predict(parts[split]["sequence"].tolist())
        rows.append({"model": config.model_name, "cell_line": cell_line, "split": split, "n": len(y[split]),
                     **detection_metrics(y[split], probs)})
    detection = pd.DataFrame(rows, columns=DETECTION_COLUMNS)
    training = {k: v for k, v in asdict(config).items()
                if k not in ("model_name", "source", "tokenizer", "max_tokens", "trust_remote_code", "seed")}
    spec.update({"training": {**training, "threads": torch.get_num_threads(), **runtime.summary()},
                 "epochs_run": int(len(curve)), "best_epoch": best_epoch,
                 "best_valid_loss": float(curve["valid_loss"].min()),
                 "n_train": len(y["train"]), "n_valid": len(y["valid"]), "n_test": len(y["test"]),
                 "torch_version": torch.__version__, "transformers_version": transformers.__version__,
                 "regvarbench_version": __version__})
    for row in rows:
        log.info("%s %s: auROC %.4f auPRC %.4f F1 %.4f (n=%d)", config.model_name, row["split"],
                 row["auroc"], row["auprc"], row["f1"], row["n"])
    return adapter, spec, curve, detection


CURVE_FILE = "regvarbench_curve.json"  # the training curve so far, inside each Trainer checkpoint


def _last_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The newest Trainer checkpoint in ``folder`` that holds our curve, or None."""
    found = [p for p in Path(folder).glob("checkpoint-*") if (p / CURVE_FILE).is_file()
             and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


class _CurveRecorder(TrainerCallback):
    """Trainer callback: one training-curve row per evaluation (= per epoch)."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.records: list[dict[str, float]] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> None:
        metrics = metrics or {}
        self.records.append({"epoch": int(round(state.epoch or 0)),
                             "train_loss": float(np.mean(self.losses)) if self.losses else float("nan"),
                             "valid_loss": float(metrics["eval_loss"]),
                             "valid_auroc": float(metrics.get("eval_auroc", float("nan")))})
        self.losses.clear()
        log.info("epoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f", *self.records[-1].values())

    def on_save(self, args, state, control, **kwargs) -> None:
        """The curve so far goes into the checkpoint just written, so a resumed run has it."""
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir() and state.is_world_process_zero:
            (folder / CURVE_FILE).write_text(json.dumps(self.records))

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        if logs and "loss" in logs:
            log.info("step %d/%d: loss %.4f", state.global_step, state.max_steps, logs["loss"])


class _TimeLimit(TrainerCallback):
    """Stop after an epoch's checkpoint when one more epoch would pass the runtime's time limit."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.epoch_started = time.monotonic()

    def on_epoch_begin(self, args, state, control, **kwargs) -> None:
        self.epoch_started = time.monotonic()

    def on_save(self, args, state, control, **kwargs) -> None:
        from ..runtime import TrainingPaused

        last = state.epoch is not None and state.epoch >= args.num_train_epochs
        if control.should_training_stop or last or not self.runtime.out_of_time(time.monotonic() - self.epoch_started):
            return
        self.runtime.accelerator.wait_for_everyone()  # every process past the checkpoint before any stops
        raise TrainingPaused(f"time limit of {self.runtime.time_limit:g} s: stopped after epoch {int(state.epoch)}; "
                             f"checkpoint in {args.output_dir}; run again to continue")


def save_outputs(outdir: str | os.PathLike, adapter: HFAdapter, spec: dict[str, Any], curve: pd.DataFrame,
                 detection: pd.DataFrame) -> Path:
    """DIR/<model>__<cell>/ with checkpoint/, spec.json, training_curve.tsv, enhancer_detection.tsv."""
    target = Path(outdir) / f"{spec['model_name']}__{spec['cell_line']}"
    target.mkdir(parents=True, exist_ok=True)
    adapter.model.save_pretrained(target / CHECKPOINT_DIR)
    adapter.tokenizer.save_pretrained(target / CHECKPOINT_DIR)
    write_spec(target, {**spec, "family": FAMILY})
    write_tsv(curve, target / "training_curve.tsv")
    write_tsv(detection, target / "enhancer_detection.tsv")
    return target
