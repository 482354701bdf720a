"""TREDNet-style two-phase CNN (architecture ``trednet``), in PyTorch.

TREDNet (Hudaiberdiev et al. 2023, PNAS; okurman/TREDNet) has two phases. Phase one is a
DeepSEA-like multi-task CNN over 2 kb trained genome-wide on 1,924 chromatin profiles (TF
ChIP-seq, histone marks, DNase). Phase two is a smaller network trained per tissue on enhancers,
whose input is each region's phase-one prediction vector; phase one stays fixed.

Here phase one is a multi-task CNN (conv, batch norm, ReLU, max-pool stages, global max pool,
dense, one sigmoid output per task) and phase two a small dense classifier on phase-one
features. What we have instead of 1,924 profiles: the enhancer labels of every cell line whose
split table is given (``regvarbench train --phase1-data``; the training table is always one
task). A region's label for task *t* is 1 when it overlaps an enhancer (label-1 row) of cell
line *t*, else 0, so a HepG2 enhancer shared with K562 is positive for both. Phase-one rows are
the train (fit) and valid (early stopping) rows of all tables, minus any overlapping the
training table's held-out rows (see :func:`phase1_dataset`), so no held-out region is seen.

Deviation: with a handful of tasks the prediction vector alone is a thin input, so by default
phase two also sees phase one's last hidden layer (``phase2_features: predictions+hidden``;
``predictions`` gives TREDNet's choice), and it is a dense network rather than TREDNet's small
CNN over the 1,924-long vector (a convolution over a few unordered tasks means nothing).

Published weights (Keras HDF5 on Zenodo) do not fit this network (2 kb input, 1,924 outputs,
flatten + dense): family ``trednet`` (models/trednet_keras.py) reads them as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..io import InputError

DEFAULTS = {"channels": [64, 64, 64], "kernel_sizes": [15, 7, 5], "pool_sizes": [4, 4],
            "phase1_dense": 64, "dropout": 0.2, "tasks": ["enhancer"],
            "phase2_features": "predictions+hidden", "phase2_dense": 32, "freeze_phase1": True}


class PhaseOne(nn.Module):
    """Multi-task CNN: (n, 4, L) one-hot -> ((n, tasks) logits, (n, phase1_dense) hidden)."""

    def __init__(self, channels: list[int], kernel_sizes: list[int], pool_sizes: list[int],
                 dense: int, dropout: float, n_tasks: int) -> None:
        super().__init__()
        if not (len(channels) == len(kernel_sizes) == len(pool_sizes) + 1):
            raise InputError("trednet: need len(channels) == len(kernel_sizes) == len(pool_sizes) + 1")
        layers: list[nn.Module] = []
        in_ch = 4
        for i, (out_ch, k) in enumerate(zip(channels, kernel_sizes)):
            layers += [nn.Conv1d(in_ch, out_ch, k, padding=k // 2), nn.BatchNorm1d(out_ch), nn.ReLU()]
            if i < len(pool_sizes):
                layers.append(nn.MaxPool1d(pool_sizes[i], ceil_mode=True))
            in_ch = out_ch
        self.trunk = nn.Sequential(*layers)
        self.hidden = nn.Sequential(nn.Linear(in_ch, dense), nn.ReLU(), nn.Dropout(dropout))
        self.out = nn.Linear(dense, n_tasks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Task logits and the hidden layer they are read from.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA (A, C, G, T rows), in the dtype of the weights.

        Returns
        -------
        tuple of torch.Tensor
            Logits, shape (n, tasks), and the hidden layer (after ReLU and dropout), shape (n, phase1_dense).
        """
        hidden = self.hidden(self.trunk(x).amax(dim=2))
        return self.out(hidden), hidden


class PhaseOneTasks(nn.Module):
    """Phase one alone, (n, tasks) logits: the module the trainer fits in phase one."""

    def __init__(self, phase1: PhaseOne) -> None:
        super().__init__()
        self.phase1 = phase1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Phase one's task logits.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA, in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n, tasks)
        """
        return self.phase1(x)[0]


class TREDNetLike(nn.Module):
    """Phase one (multi-task CNN) feeding phase two (enhancer classifier): one logit per sequence."""

    def __init__(self, channels: list[int], kernel_sizes: list[int], pool_sizes: list[int],
                 phase1_dense: int, dropout: float, tasks: list[str], phase2_features: str,
                 phase2_dense: int, freeze_phase1: bool) -> None:
        super().__init__()
        if not tasks or len(set(tasks)) != len(tasks):
            raise InputError(f"trednet: 'tasks' must be distinct names, got {tasks}")
        if phase2_features not in ("predictions", "predictions+hidden"):
            raise InputError(f"trednet: phase2_features must be 'predictions' or 'predictions+hidden', "
                             f"not {phase2_features!r}")
        self.tasks = list(tasks)
        self.phase2_features = phase2_features
        self.freeze_phase1 = bool(freeze_phase1)
        self.phase1 = PhaseOne(channels, kernel_sizes, pool_sizes, phase1_dense, dropout, len(tasks))
        n_in = len(tasks) + (phase1_dense if phase2_features == "predictions+hidden" else 0)
        self.phase2 = nn.Sequential(nn.Linear(n_in, phase2_dense), nn.ReLU(), nn.Dropout(dropout),
                                    nn.Linear(phase2_dense, 1))

    def train(self, mode: bool = True) -> "TREDNetLike":
        """A frozen phase one stays in eval mode (fixed batch-norm statistics, no dropout).

        Parameters
        ----------
        mode : bool
            Training mode (True) or eval mode (False) for the module; phase one only when not frozen.

        Returns
        -------
        TREDNetLike
            ``self``.
        """
        super().train(mode)
        if self.freeze_phase1:
            self.phase1.eval()
        return self

    def phase2_parameters_only(self) -> None:
        """Freeze phase one's weights for phase-two training when ``freeze_phase1`` is set."""
        self.phase1.requires_grad_(not self.freeze_phase1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One enhancer logit per sequence: phase two on phase one's sigmoid predictions (and hidden layer).

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA, in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        logits, hidden = self.phase1(x)
        features = torch.sigmoid(logits)
        if self.phase2_features == "predictions+hidden":
            features = torch.cat([features, hidden], dim=1)
        return self.phase2(features).squeeze(1)


def predict_task_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """(n, tasks) float64 logits of a multi-task module on its own device, eval mode, no gradients.

    Parameters
    ----------
    model : torch.nn.Module
        A float32 multi-task module (``PhaseOneTasks``) mapping (batch, 4, L) to (batch, tasks); its
        training mode is restored afterwards.
    x : torch.Tensor, shape (n, 4, L)
        One-hot input of any dtype (uint8 from ``cnn.encode``), cast to float32 per batch.
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    numpy.ndarray, float64, shape (n, tasks)
        Shape (0, 0) for an empty ``x``.
    """
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.inference_mode():
            out = [model(x[i:i + batch_size].to(device).float()).double().cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


def _overlaps(table: pd.DataFrame, intervals: pd.DataFrame) -> np.ndarray:
    """Whether each [start, end) row of ``table`` overlaps any row of ``intervals`` on its chrom."""
    hit = np.zeros(len(table), dtype=bool)
    chroms = table["chrom"].astype(str).to_numpy()
    for chrom, group in intervals.groupby(intervals["chrom"].astype(str)):
        starts, ends = group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64)
        order = np.argsort(starts, kind="stable")
        starts, max_end = starts[order], np.maximum.accumulate(ends[order])
        rows = np.flatnonzero(chroms == chrom)
        if len(rows) == 0:
            continue
        q_start = table["start"].to_numpy(np.int64)[rows]
        q_end = table["end"].to_numpy(np.int64)[rows]
        k = np.searchsorted(starts, q_end, side="left")  # intervals starting before the query ends
        hit[rows] = (k > 0) & (max_end[np.maximum(k - 1, 0)] > q_start)
    return hit


def phase1_dataset(target: pd.DataFrame, others: list[pd.DataFrame]) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Phase-one tasks and rows: {"train", "valid"} -> table with ``sequence`` and one 0/1 column per task.

    ``target`` is the (validated) table phase two trains on; ``others`` are further cell lines'
    validated split tables. Rows keep their own table's split; a region listed twice is kept
    once (the target's copy first). Train rows overlapping the target's valid or test rows, and
    valid rows overlapping its test rows, are dropped: phase one never sees phase two's held-out
    regions, whatever split the other tables used.

    Parameters
    ----------
    target : pandas.DataFrame
        Validated split table of the training cell line (``chrom``, ``start``, ``end``, ``sequence``,
        ``label``, ``split``, ``cell_line``).
    others : list of pandas.DataFrame
        Validated split tables of other cell lines, one per cell line.

    Returns
    -------
    tuple
        The task names (list of str: the cell lines, the target's first) and a dict
        ``{"train", "valid"} -> pandas.DataFrame``: the rows with their own columns plus one int64
        0/1 column per task.

    Raises
    ------
    InputError
        Two tables of one cell line, or no train or valid rows left.
    """
    tables = [target, *others]
    tasks = [str(t["cell_line"].iloc[0]) for t in tables]
    if len(set(tasks)) != len(tasks):
        raise InputError(f"--phase1-data: one split table per cell line; got cell lines {tasks}")
    rows = pd.concat([t[t["split"].isin(["train", "valid"])] for t in tables], ignore_index=True)
    rows = rows.drop_duplicates(["chrom", "start", "end"], keep="first").reset_index(drop=True)
    held_valid, held_test = (target[target["split"] == s] for s in ("valid", "test"))
    leak = _overlaps(rows, held_test) | ((rows["split"] == "train").to_numpy() & _overlaps(rows, held_valid))
    rows = rows[~leak].reset_index(drop=True)
    for task, table in zip(tasks, tables):
        rows[task] = _overlaps(rows, table[table["label"] == 1]).astype(np.int64)
    parts = {s: rows[rows["split"] == s].reset_index(drop=True) for s in ("train", "valid")}
    for split, part in parts.items():
        if len(part) == 0:
            raise InputError(f"trednet phase one: no {split} rows left after removing held-out overlaps")
    return tasks, parts
