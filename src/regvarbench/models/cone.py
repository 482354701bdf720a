"""Receptive-field ("cone") reuse for scoring single-base variants with ``cnn_small``.

A single-base change alters a convolutional network's activations only inside a cone around it
(the idea behind fastISM, Nair et al. 2022). So an alternative allele is scored by running the
reference once, caching each stage's output, and recomputing only a fixed-width slice of every
stage from the previous stage's cached reference values with the mutated slice pasted in. The
global average pool is then corrected by the slice's summed difference, and the dense head runs
on the corrected pooled vector.

Supported layout (``CNNSmall`` with ``global_pool="avg"``): stages of Conv1d (stride 1, dilation
1, zero padding of any width), optional BatchNorm1d (eval mode, i.e. affine), ReLU, optional
MaxPool1d (stride = kernel, no padding, ceil_mode either way), dropout (identity in eval), then
global average and the head. Anything else gives ``None`` from :func:`build_cone_plan`, and the
caller scores with full passes.

Agreement with a full float64 forward pass is ~1e-12 on logits (tests allow 1e-9): the slices are
recomputed with the same float64 kernels, only summed in a different order.

Determinism: every slice has the same width for every variant (windows are shifted, not
clipped, at sequence ends), and every batch of slices, like every reference batch, is padded to
exactly ``batch_size`` rows. A variant's output therefore depends only on its own reference and
alternative sequence, never on which other variants share its file or batch (for a given
``--batch-size``; batches hold min(batch_size, BLOCK) rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Stage:
    conv: nn.Conv1d
    norm: nn.Module | None
    pool: int  # max-pool kernel = stride; 1 means no pooling
    ceil_mode: bool = True


def build_cone_plan(model: nn.Module) -> list[Stage] | None:
    """The model's stages if its layout is one cone reuse supports, else None."""
    features, head = getattr(model, "features", None), getattr(model, "head", None)
    if not isinstance(features, nn.Sequential) or head is None or getattr(model, "global_pool", None) != "avg":
        return None
    stages: list[Stage] = []
    conv: nn.Conv1d | None = None
    norm: nn.Module | None = None
    relu = False  # order within a stage must be conv, [norm], ReLU, [pool], [dropout]
    for layer in features:
        if isinstance(layer, nn.Conv1d):
            if conv is not None:
                if not relu:
                    return None
                stages.append(Stage(conv, norm, 1))
            if (layer.stride != (1,) or layer.dilation != (1,) or layer.groups != 1
                    or isinstance(layer.padding, str) or layer.padding_mode != "zeros"):
                return None
            conv, norm, relu = layer, None, False
        elif isinstance(layer, nn.BatchNorm1d) and conv is not None and norm is None and not relu:
            norm = layer
        elif isinstance(layer, nn.ReLU) and conv is not None and not relu:
            relu = True
        elif isinstance(layer, nn.Dropout) and (relu or (conv is None and stages)):
            continue  # identity in eval mode
        elif isinstance(layer, nn.MaxPool1d) and conv is not None and relu:
            k, s, p, d = (layer.kernel_size, layer.stride, layer.padding, layer.dilation)
            if not (isinstance(k, int) and s == k and p == 0 and d == 1):
                return None
            stages.append(Stage(conv, norm, k, bool(layer.ceil_mode)))
            conv, norm, relu = None, None, False
        else:
            return None
    if conv is not None:
        if not relu:
            return None
        stages.append(Stage(conv, norm, 1))
    return stages or None


def _apply_stage(stage: Stage, x: torch.Tensor) -> torch.Tensor:
    h = F.conv1d(x, stage.conv.weight, stage.conv.bias, padding=stage.conv.padding[0])
    if stage.norm is not None:
        h = stage.norm(h)
    h = torch.relu(h)
    if stage.pool > 1:
        h = F.max_pool1d(h, stage.pool, ceil_mode=stage.ceil_mode)
    return h


def reference_pass(model: nn.Module, stages: list[Stage], x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every stage's output for a (padded) batch, and the logits; same ops as ``model.forward``."""
    acts = [x]
    for stage in stages:
        acts.append(_apply_stage(stage, acts[-1]))
    logits = model.head(acts[-1].mean(dim=2)).squeeze(1)
    return acts, logits


def _take(a: torch.Tensor, rows: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """a[rows[b], :, idx[b, j]] as (B, C, J); idx must be in range."""
    channels = torch.arange(a.shape[1], device=a.device)
    return a[rows[:, None, None], channels[None, :, None], idx[:, None, :]]


def cone_logits(model: nn.Module, stages: list[Stage], acts: list[torch.Tensor], rows: torch.Tensor,
                pos: torch.Tensor, alt_column: torch.Tensor) -> torch.Tensor:
    """Alt logits for variants at ``pos`` of reference rows ``rows`` of ``acts``.

    ``alt_column`` (B, 4, 1) is the alternative base's one-hot column. The slice [lo, lo + w) of
    each stage's input holds every position that can differ from the reference.
    """
    device = pos.device
    lo, w, new = pos, 1, alt_column
    for s, stage in enumerate(stages):
        a, nxt = acts[s], acts[s + 1]
        length, out_len = a.shape[2], nxt.shape[2]
        k, p, q = stage.conv.kernel_size[0], stage.conv.padding[0], stage.pool
        conv_len = length + 2 * p - k + 1
        w_next = min((w + k - 2) // q + 2, out_len)
        first = torch.div(lo + p - k + 1, q, rounding_mode="floor").clamp(min=0)
        start = first.clamp(max=out_len - w_next)
        idx = start[:, None] * q - p + torch.arange(w_next * q + k - 1, device=device)
        inside = (idx >= 0) & (idx < length)
        vals = _take(a, rows, idx.clamp(0, length - 1))
        rel = idx - lo[:, None]
        in_slice = (rel >= 0) & (rel < w)
        pasted = new.gather(2, rel.clamp(0, w - 1)[:, None, :].expand(-1, new.shape[1], -1))
        vals = torch.where(in_slice[:, None, :], pasted, vals) * inside[:, None, :].to(vals.dtype)
        h = F.conv1d(vals, stage.conv.weight, stage.conv.bias)
        if stage.norm is not None:
            h = stage.norm(h)
        h = torch.relu(h)
        if q > 1:
            j = start[:, None] * q + torch.arange(w_next * q, device=device)
            h = F.max_pool1d(h.masked_fill((j >= conv_len)[:, None, :], float("-inf")), q)
        else:
            h = h[:, :, :w_next]
        lo, w, new = start, w_next, h
    last = acts[-1]
    old = _take(last, rows, lo[:, None] + torch.arange(w, device=device))
    pooled = last.mean(dim=2)[rows] + (new - old).sum(dim=2) / last.shape[2]
    return model.head(pooled).squeeze(1)


# Rows per reference / cone batch. Fixed (not data-dependent) so outputs stay independent of batch
# composition; small, so a file with few distinct windows wastes little on padding rows, and
# float64 CPU convolutions were no faster per row in batches of 256 than of 32.
BLOCK = 32


def _padded(x: torch.Tensor, size: int) -> torch.Tensor:
    if len(x) >= size:
        return x
    return torch.cat([x, torch.zeros((size - len(x), *x.shape[1:]), dtype=x.dtype, device=x.device)])


def predict_variant_logits(model: nn.Module, stages: list[Stage], x_ref: torch.Tensor, ref_index: np.ndarray,
                           x_alt: torch.Tensor, batch_size: int, device: str | torch.device = "cpu"
                           ) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Reference logits (one per row of ``x_ref``) and alt logits (one per row of ``x_alt``).

    ``ref_index[v]`` is the row of ``x_ref`` that variant ``v`` mutates. Alts differing from their
    reference at one base are scored by cone reuse; identical ones take the reference logit; those
    differing at several bases get full passes. Inputs are one-hot uint8 (n, 4, L); the model must
    be float64 and in eval mode. Batches hold ``min(batch_size, BLOCK)`` rows, padded. Returns
    counts of each kind too.
    """
    ref_index = np.asarray(ref_index, dtype=np.int64)
    n_ref, n_alt = len(x_ref), len(x_alt)
    ref_out = np.empty(n_ref, dtype=np.float64)
    alt_out = np.empty(n_alt, dtype=np.float64)
    diff = (x_alt != x_ref[torch.from_numpy(ref_index)]).any(dim=1) if n_alt else torch.zeros((0, 0), dtype=torch.bool)
    n_diff = diff.sum(dim=1).numpy() if n_alt else np.zeros(0, dtype=np.int64)
    pos_all = diff.to(torch.uint8).argmax(dim=1).numpy() if n_alt else np.zeros(0, dtype=np.int64)
    single = np.flatnonzero(n_diff == 1)
    multi = np.flatnonzero(n_diff > 1)
    same = np.flatnonzero(n_diff == 0)
    dtype = torch.float64
    batch_size = min(batch_size, BLOCK)
    order = single[np.argsort(ref_index[single], kind="stable")]
    bounds = np.searchsorted(ref_index[order], np.arange(0, n_ref + batch_size, batch_size))
    with torch.inference_mode():
        for b, r0 in enumerate(range(0, n_ref, batch_size)):
            batch = x_ref[r0:r0 + batch_size].to(device=device, dtype=dtype)
            n = len(batch)
            acts, logits = reference_pass(model, stages, _padded(batch, batch_size))
            ref_out[r0:r0 + n] = logits[:n].cpu().numpy()
            todo = order[bounds[b]:bounds[b + 1]]
            for c0 in range(0, len(todo), batch_size):
                chunk = todo[c0:c0 + batch_size]
                m = len(chunk)
                fill = np.concatenate([chunk, np.full(batch_size - m, chunk[0])])
                rows = torch.from_numpy(ref_index[fill] - r0).to(device)
                pos = torch.from_numpy(pos_all[fill]).to(device=device, dtype=torch.int64)
                column = x_alt[torch.from_numpy(fill)[:, None], :, torch.from_numpy(pos_all[fill])[:, None]]
                column = column.permute(0, 2, 1).to(device=device, dtype=dtype)
                alt_out[chunk] = cone_logits(model, stages, acts, rows, pos, column)[:m].cpu().numpy()
        for c0 in range(0, len(multi), batch_size):
            chunk = multi[c0:c0 + batch_size]
            batch = _padded(x_alt[torch.from_numpy(chunk)].to(device=device, dtype=dtype), batch_size)
            alt_out[chunk] = model(batch)[:len(chunk)].cpu().numpy()
    alt_out[same] = ref_out[ref_index[same]]
    return ref_out, alt_out, {"cone": len(single), "full": len(multi), "unchanged": len(same)}
