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
import logging
import random
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from . import __version__
from .io import InputError, read_tsv, require_columns, write_tsv
from .models import cnn

log = logging.getLogger(__name__)

SPLIT_COLUMNS = ["region_id", "chrom", "start", "end", "label", "cell_line", "sequence", "split"]
SPLITS = ("train", "valid", "test")
DETECTION_COLUMNS = ["model", "cell_line", "split", "n", "auroc", "auprc", "f1"]  # enhancer_detection.tsv
EVAL_BATCH_SIZE = 256
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


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


def validate_split_table(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Checked copy of a split table: one cell line, 0/1 labels, known splits, equal lengths."""
    require_columns(table, SPLIT_COLUMNS, source)
    df = table.copy()
    if df["sequence"].isna().any():
        raise InputError(f"{source}: empty 'sequence' in row(s) {_rows(df['sequence'].isna())}")
    df["sequence"] = df["sequence"].astype(str).str.upper()
    labels = pd.to_numeric(df["label"], errors="coerce")
    if not labels.isin([0, 1]).all():
        raise InputError(f"{source}: column 'label' must be 0 or 1; bad row(s) {_rows(~labels.isin([0, 1]))}")
    df["label"] = labels.astype(int)
    bad_split = ~df["split"].isin(SPLITS)
    if bad_split.any():
        raise InputError(f"{source}: column 'split' must be one of {', '.join(SPLITS)}; "
                         f"found {sorted(map(str, df.loc[bad_split, 'split'].unique()))}")
    cells = df["cell_line"].astype(str).unique()
    if len(cells) != 1:
        raise InputError(f"{source}: column 'cell_line' must hold one cell line; found {sorted(cells)}")
    lengths = df["sequence"].str.len().unique()
    if len(lengths) != 1:
        raise InputError(f"{source}: column 'sequence' must hold sequences of one length; "
                         f"found lengths {sorted(int(x) for x in lengths)[:10]}")
    for split in ("train", "valid"):
        y = df.loc[df["split"] == split, "label"]
        if y.nunique() < 2:
            raise InputError(f"{source}: split {split!r} needs both enhancers (label 1) and controls "
                             f"(label 0); it has {len(y)} row(s) with labels {sorted(y.unique().tolist())}")
    return df


def _rows(mask: pd.Series) -> str:
    idx = np.flatnonzero(mask.to_numpy())
    return ", ".join(str(i) for i in idx[:5]) + (" ..." if len(idx) > 5 else "")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch global RNGs (the model's initial weights come from torch's)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Ask torch for deterministic kernels while training, then restore the caller's setting."""
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def bce_with_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy from logits, in float64 and stable for large |logit|."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def detection_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """auROC, auPRC (average precision) and F1 at probability 0.5; NaN where undefined."""
    labels = np.asarray(labels)
    nan = float("nan")
    if len(labels) == 0:
        return {"auroc": nan, "auprc": nan, "f1": nan}
    both = len(np.unique(labels)) == 2
    return {
        "auroc": float(roc_auc_score(labels, probs)) if both else nan,
        "auprc": float(average_precision_score(labels, probs)) if both else nan,
        "f1": float(f1_score(labels, (np.asarray(probs) >= 0.5).astype(int), zero_division=0)),
    }


def _augment_reverse_complement(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Reverse-complement a random half of a one-hot ACGT batch (channel flip = complement)."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None], x.flip(1, 2), x)


def train_model(table: pd.DataFrame, config: TrainConfig, source: str = "<table>") -> TrainResult:
    """Fit a CNN on the table's train rows, early-stopping on its valid rows; evaluate valid/test."""
    if not _NAME_RE.match(config.model_name):
        raise InputError(f"--model-name {config.model_name!r}: use letters, digits, '_' and '-' only")
    if config.epochs < 1 or config.patience < 1 or config.batch_size < 1:
        raise InputError("--epochs, --patience and --batch-size must be at least 1")
    df = validate_split_table(table, source)
    cell_line = str(df["cell_line"].iloc[0])
    input_length = int(len(df["sequence"].iloc[0]))
    hyperparameters = cnn.resolve_hyperparameters(config.architecture, config.hyperparameters)
    parts = {s: df[df["split"] == s] for s in SPLITS}
    x = {s: cnn.encode(p["sequence"].tolist()) for s, p in parts.items()}
    y = {s: p["label"].to_numpy() for s, p in parts.items()}
    log.info("training %s (%s) on %s: %s sequences of %d bp", config.model_name, config.architecture,
             cell_line, ", ".join(f"{len(y[s])} {s}" for s in SPLITS), input_length)

    seed_everything(config.seed)
    spec: dict[str, Any] = {"model_name": config.model_name, "family": cnn.FAMILY,
                            "architecture": config.architecture, "hyperparameters": hyperparameters,
                            "input_length": input_length, "cell_line": cell_line, "seed": config.seed}
    with deterministic_algorithms():
        model = cnn.build_model(spec)
        curve, best_state, best_epoch = _fit(model, x, y, config)
    model.load_state_dict(best_state)
    model.eval()

    rows = []
    for split in ("valid", "test"):
        probs = cnn.sigmoid(cnn.predict_logits(model, x[split], EVAL_BATCH_SIZE))
        rows.append({"model": config.model_name, "cell_line": cell_line, "split": split,
                     "n": len(y[split]), **detection_metrics(y[split], probs)})
    detection = pd.DataFrame(rows, columns=DETECTION_COLUMNS)
    training = {k: v for k, v in asdict(config).items() if k not in ("model_name", "architecture", "hyperparameters", "seed")}
    spec.update({
        "training": {**training, "threads": torch.get_num_threads()},
        "epochs_run": int(len(curve)), "best_epoch": int(best_epoch),
        "best_valid_loss": float(curve.loc[curve["epoch"] == best_epoch, "valid_loss"].iloc[0]),
        "n_train": len(y["train"]), "n_valid": len(y["valid"]), "n_test": len(y["test"]),
        "torch_version": torch.__version__, "regvarbench_version": __version__,
    })
    for row in rows:
        log.info("%s %s: auROC %.4f auPRC %.4f F1 %.4f (n=%d)", config.model_name, row["split"],
                 row["auroc"], row["auprc"], row["f1"], row["n"])
    return TrainResult(model=model, spec=spec, curve=curve, detection=detection)


def _fit(model: nn.Module, x: dict[str, torch.Tensor], y: dict[str, np.ndarray],
         config: TrainConfig) -> tuple[pd.DataFrame, dict[str, torch.Tensor], int]:
    """Epoch loop with early stopping; returns the curve, the best weights and the best epoch."""
    loader_gen = torch.Generator().manual_seed(config.seed)
    augment_gen = torch.Generator().manual_seed(config.seed + 1)
    loader = DataLoader(range(len(y["train"])), batch_size=config.batch_size, shuffle=True,
                        generator=loader_gen)
    y_train = torch.tensor(y["train"], dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    records: list[dict[str, float]] = []
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
    bar = tqdm(range(1, config.epochs + 1), desc="epochs", unit="epoch", disable=None)
    for epoch in bar:
        started = time.perf_counter()
        model.train()
        total = 0.0
        for idx in loader:
            xb = x["train"][idx].float()
            if config.reverse_complement_augment:
                xb = _augment_reverse_complement(xb, augment_gen)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()
        valid_logits = cnn.predict_logits(model, x["valid"], EVAL_BATCH_SIZE)
        record = {"epoch": epoch, "train_loss": total / len(y_train),
                  "valid_loss": bce_with_logits(valid_logits, y["valid"]),
                  "valid_auroc": detection_metrics(y["valid"], cnn.sigmoid(valid_logits))["auroc"]}
        records.append(record)
        improved = record["valid_loss"] < best_loss
        if improved:
            best_loss, best_epoch, best_state = record["valid_loss"], epoch, copy.deepcopy(model.state_dict())
        bar.set_postfix(train_loss=f"{record['train_loss']:.4f}", valid_loss=f"{record['valid_loss']:.4f}")
        log.info("epoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f%s (%.1f s)", epoch,
                 record["train_loss"], record["valid_loss"], record["valid_auroc"],
                 " *" if improved else "", time.perf_counter() - started)
        if epoch - best_epoch >= config.patience:
            log.info("early stop after epoch %d: no validation loss improvement for %d epochs; "
                     "keeping epoch %d", epoch, config.patience, best_epoch)
            break
    bar.close()
    curve = pd.DataFrame(records, columns=["epoch", "train_loss", "valid_loss", "valid_auroc"])
    return curve, best_state, best_epoch


def write_outputs(result: TrainResult, outdir: str | Path) -> Path:
    """DIR/<model>__<cell>/ with model.pt, spec.json, training_curve.tsv, enhancer_detection.tsv."""
    target = Path(outdir) / f"{result.spec['model_name']}__{result.spec['cell_line']}"
    cnn.save_model(target, result.model, result.spec)
    write_tsv(result.curve, target / "training_curve.tsv")
    write_tsv(result.detection, target / "enhancer_detection.tsv")
    return target


FAMILY_DEFAULTS = {  # per-family defaults of the shared options (hf: the study's fine-tuning)
    "cnn": {f.name: f.default for f in fields(TrainConfig)
            if f.name in ("epochs", "patience", "batch_size", "lr", "weight_decay")},
    "hf": {"epochs": 200, "patience": 5, "batch_size": 8, "lr": 1e-5, "weight_decay": 0.0},
    "motif": {},  # JASPAR PWM baseline: nothing is trained
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="split table (<cell>.split.tsv); required except for --family motif")
    parser.add_argument("--model-name", help="name used in output tables and directory "
                        "(required except for --family motif, default motif_jaspar)")
    parser.add_argument("--family", default="cnn", choices=sorted(FAMILY_DEFAULTS),
                        help="cnn: train a CNN from scratch; hf: fine-tune a Hugging Face checkpoint (default cnn)")
    parser.add_argument("--architecture", default="cnn_small", choices=cnn.architecture_names(), help="cnn family")
    parser.add_argument("--source", help="hf family: checkpoint directory or Hugging Face hub id")
    parser.add_argument("--tokenizer", help="hf family: tokenizer directory or hub id (default: the --source's)")
    parser.add_argument("--max-tokens", type=int, default=512,
                        help="hf family: tokens per input, longer inputs centre-cropped (default 512)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="hf family: run the modelling code shipped with the checkpoint")
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
    parser.add_argument("--cell-line", help="motif family: cell line (picks its default motif set)")
    parser.add_argument("--motifs", help="motif family: comma-separated JASPAR names or matrix IDs "
                        "(default: the cell line's set, see docs/models.md)")
    parser.add_argument("--jaspar-release", default=None, help="motif family: JASPAR release (default: newest in pyjaspar)")
    parser.add_argument("--outdir", required=True)


def run(args: argparse.Namespace) -> None:
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    if args.family == "motif":
        _run_motif(args)
        return
    if not args.data or not args.model_name:
        raise InputError(f"--family {args.family} needs --data and --model-name")
    path = Path(args.data)
    if not path.exists():
        raise InputError(f"--data: file not found: {path}")
    shared = {k: getattr(args, k) if getattr(args, k) is not None else v
              for k, v in FAMILY_DEFAULTS[args.family].items()}
    if args.family == "hf":
        run_hf(args, path, shared)
        return
    config = TrainConfig(model_name=args.model_name, architecture=args.architecture, seed=args.seed,
                         reverse_complement_augment=args.reverse_complement_augment, **shared)
    result = train_model(read_tsv(path), config, source=str(path))
    target = write_outputs(result, args.outdir)
    log.info("wrote %s (best epoch %d of %d)", target, result.spec["best_epoch"], result.spec["epochs_run"])


def run_hf(args: argparse.Namespace, path: Path, shared: dict[str, Any]) -> None:
    """``--family hf``: fine-tune a Hugging Face checkpoint (regvarbench.models.hf)."""
    from .models import hf

    if not args.source:
        raise InputError("--family hf needs --source (a checkpoint directory or Hugging Face hub id)")
    if args.reverse_complement_augment:
        log.warning("--reverse-complement-augment is ignored with --family hf")
    config = hf.HFTrainConfig(model_name=args.model_name, source=args.source, tokenizer=args.tokenizer,
                              max_tokens=args.max_tokens, trust_remote_code=args.trust_remote_code,
                              logging_steps=args.logging_steps, seed=args.seed, **shared)
    adapter, spec, curve, detection = hf.train_hf(read_tsv(path), config, source_label=str(path))
    target = hf.save_outputs(args.outdir, adapter, spec, curve, detection)
    log.info("wrote %s (best epoch %d of %d)", target, spec["best_epoch"], spec["epochs_run"])


def _run_motif(args: argparse.Namespace) -> None:
    """``--family motif``: write a JASPAR PWM model (nothing to fit); held-out detection if --data.

    F1 uses the score threshold that maximises F1 on the table's train rows (log-odds sums have no
    natural cut-off like probability 0.5); auROC/auPRC need no threshold.
    """
    import json

    from .models import motif

    if not args.cell_line:
        raise InputError("--family motif needs --cell-line")
    names = [m.strip() for m in args.motifs.split(",") if m.strip()] if args.motifs else None
    spec = motif.build_spec(args.cell_line, names, args.jaspar_release or motif.DEFAULT_RELEASE,
                            model_name=args.model_name or "motif_jaspar")
    if not _NAME_RE.match(spec["model_name"]):
        raise InputError(f"--model-name {spec['model_name']!r}: use letters, digits, '_' and '-' only")
    adapter = motif.load_adapter(spec)
    target = Path(args.outdir) / f"{spec['model_name']}__{args.cell_line}"
    target.mkdir(parents=True, exist_ok=True)
    if args.data:
        path = Path(args.data)
        if not path.exists():
            raise InputError(f"--data: file not found: {path}")
        df = validate_split_table(read_tsv(path), str(path))
        if str(df["cell_line"].iloc[0]) != str(args.cell_line):
            log.warning("%s holds cell line %s, motif set is for %s", path, df["cell_line"].iloc[0], args.cell_line)
        scores = {s: adapter.predict(df.loc[df["split"] == s, "sequence"].tolist()) for s in SPLITS}
        labels = {s: df.loc[df["split"] == s, "label"].to_numpy() for s in SPLITS}
        threshold = _best_f1_threshold(labels["train"], scores["train"])
        rows = []
        for split in ("valid", "test"):
            metrics = detection_metrics(labels[split], scores[split])
            metrics["f1"] = float(f1_score(labels[split], scores[split] >= threshold, zero_division=0))
            rows.append({"model": spec["model_name"], "cell_line": args.cell_line, "split": split,
                         "n": len(labels[split]), **metrics})
            log.info("%s %s: auROC %.4f auPRC %.4f F1 %.4f (n=%d)", spec["model_name"], split,
                     metrics["auroc"], metrics["auprc"], metrics["f1"], len(labels[split]))
        spec.update({"f1_threshold": threshold, "data": str(path), "n_train": len(labels["train"]),
                     "n_valid": len(labels["valid"]), "n_test": len(labels["test"])})
        write_tsv(pd.DataFrame(rows, columns=DETECTION_COLUMNS),
                  target / "enhancer_detection.tsv")
    (target / "spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s (%s)", target, ", ".join(f"{m['name']}={m['matrix_id']}" for m in spec["motifs"]))


def _best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score cut-off (predict positive at >=) with the highest F1; the lowest on ties."""
    order = np.argsort(-scores, kind="stable")
    y, s = labels[order], scores[order]
    tp = np.cumsum(y)
    last = np.r_[s[1:] != s[:-1], True]  # cut after each run of equal scores
    f1 = 2 * tp / (np.arange(1, len(y) + 1) + y.sum())
    f1 = np.where(last, f1, -1.0)
    return float(s[int(np.argmax(f1))]) if len(s) else float("nan")
