"""Receptive-field ("cone") reuse for scoring single-base variants with ``cnn_small`` and Sei.

A single-base change alters a convolutional network's activations only inside a cone around it
(the idea behind fastISM, Nair et al. 2022). So an alternative allele is scored by running the
reference once, caching each stage's output, and recomputing only a fixed-width slice of every
stage from the previous stage's cached reference values with the mutated slice pasted in. The
global average pool is then corrected by the slice's summed difference; the global max is the
larger of the slice's maximum and the reference's maximum outside the slice (from running maxima
of the reference's last stage, from the left and from the right: exact, max has no rounding);
the dense head runs on the corrected pooled vector.

Supported layout (``CNNSmall`` with ``global_pool`` ``"avg"``, ``"max"`` or ``"max+avg"``): stages
of Conv1d (stride 1, dilation 1, zero padding of any width), optional BatchNorm1d (eval mode with
running statistics, i.e. affine), ReLU, optional MaxPool1d (stride = kernel, no padding,
ceil_mode either way), dropout (identity in eval), then the global pooling and the head. Anything else gives ``None`` from
:func:`build_cone_plan`, and the caller scores with full passes.

Speed: batch norm is folded into the convolution, every stage runs as a 2-D convolution of
height 1 on channels-last tensors (oneDNN computes these 2-4x faster in fp32 on CPU than
``Conv1d``), max-pooling precedes the ReLU, and the first stage of a reference pass is computed
from base codes as sums of 3-mer weight rows (:func:`trimer_table`). Full passes of such a model
(:func:`plan_logits`) use the same code, so cone and full-pass outputs differ only by the order
of additions: on logits ~1e-8 in fp32 (tolerance 1e-5, tested) and ~1e-15 in fp64 (1e-9).

Residual towers (published Sei, models/sei.py ``tower_patch``) use the :class:`Patch` functions at
the end of this module instead: layer by layer (convolutions of any dilation, max-pools,
position-wise layers, residual sums), no folding or channels-last rewriting, the model's own
weights and ``F.conv1d``; exact up to float summation order in the same way.

Determinism: every slice has the same width for every variant (windows are shifted, not
clipped, at sequence ends), and every batch of slices, like every reference batch, is padded to
exactly ``min(batch_size, BLOCK)`` rows. fp32 and fp64 CPU kernels compute each row of a
fixed-size batch the same way wherever it sits and whatever the other rows hold (tested), so a
variant's output depends only on its own reference and alternative sequence, never on which
other variants share its file or batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .precision import autocast, compute_dtype

CHANNELS_LAST = torch.channels_last
GLOBAL_POOLS = ("avg", "max", "max+avg")  # CNNSmall's global poolings, in its order of concatenation


@dataclass(frozen=True)
class Stage:
    conv: nn.Conv1d
    norm: nn.Module | None
    pool: int  # max-pool kernel = stride; 1 means no pooling
    ceil_mode: bool = True


@dataclass(frozen=True)
class Folded:
    """A stage with batch norm folded in: weight (out, in, 1, k) channels-last, bias (out,)."""

    weight: torch.Tensor
    bias: torch.Tensor
    padding: int
    pool: int
    ceil_mode: bool


def build_cone_plan(model: nn.Module) -> list[Stage] | None:
    """The model's stages if its layout is one cone reuse supports, else None.

    Parameters
    ----------
    model : torch.nn.Module
        A network with ``features`` (an ``nn.Sequential``), ``head`` and a ``global_pool`` of
        ``GLOBAL_POOLS`` (``CNNSmall``); anything else gives None.

    Returns
    -------
    list of Stage or None
        One ``Stage`` per convolution, in order; None for an unsupported layout.
    """
    features, head = getattr(model, "features", None), getattr(model, "head", None)
    if (not isinstance(features, nn.Sequential) or head is None
            or getattr(model, "global_pool", None) not in GLOBAL_POOLS):
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
        elif (isinstance(layer, nn.BatchNorm1d) and layer.track_running_stats and conv is not None
              and norm is None and not relu):
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


def fold(stages: list[Stage], dtype: torch.dtype, device: str | torch.device = "cpu") -> list[Folded]:
    """Stages with eval-mode batch norm folded into the convolution, in float64 then cast.

    Computed on every call (a few small tensors), so weights changed in place are picked up.

    Parameters
    ----------
    stages : list of Stage
        From :func:`build_cone_plan`.
    dtype : torch.dtype
        dtype of the folded weights and biases.
    device : str or torch.device
        Device they are put on.

    Returns
    -------
    list of Folded
        Per stage: weight (out, in, 1, k) channels-last, bias (out,), padding, pool, ceil_mode.
    """
    folded = []
    with torch.no_grad():
        for stage in stages:
            conv = stage.conv
            w = conv.weight.detach().to(torch.float64)
            b = conv.bias.detach().to(torch.float64) if conv.bias is not None else torch.zeros(len(w), dtype=torch.float64)
            if stage.norm is not None:
                bn = stage.norm
                scale = 1 / torch.sqrt(bn.running_var.to(torch.float64) + bn.eps)
                if bn.weight is not None:
                    scale = scale * bn.weight.detach().to(torch.float64)
                shift = -bn.running_mean.to(torch.float64) * scale
                if bn.bias is not None:
                    shift = shift + bn.bias.detach().to(torch.float64)
                w, b = w * scale[:, None, None], b * scale + shift
            weight = w[:, :, None, :].to(device=device, dtype=dtype).contiguous(memory_format=CHANNELS_LAST)
            folded.append(Folded(weight, b.to(device=device, dtype=dtype), conv.padding[0], stage.pool,
                                 stage.ceil_mode))
    return folded


def _stage(f: Folded, h: torch.Tensor, padding: int) -> torch.Tensor:
    """conv (+ folded norm), ReLU, max-pool of a (B, C, 1, L) channels-last tensor.

    Max-pools before the ReLU (they commute exactly), so the ReLU touches 1/pool of the values.
    """
    h = F.conv2d(h, f.weight, f.bias, padding=(0, padding))
    if f.pool > 1:
        h = F.max_pool2d(h, (1, f.pool), ceil_mode=f.ceil_mode)
    return torch.relu_(h)


def _blc(h: torch.Tensor) -> torch.Tensor:
    """(B, C, 1, L) channels-last -> its (B, L, C) view (no copy)."""
    return h.squeeze(2).permute(0, 2, 1)


def _nc1l(h: torch.Tensor) -> torch.Tensor:
    """(B, L, C) -> (B, C, 1, L) channels-last (no copy when contiguous)."""
    return h.permute(0, 2, 1).unsqueeze(2).contiguous(memory_format=CHANNELS_LAST)


def one_hot_batch(codes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Base codes (B, L) (dna.base_codes: 0-3, 4 = N) -> one-hot (B, 4, 1, L) channels-last.

    A table lookup writes the (B, L, 4) memory layout channels-last needs, with no transpose.

    Parameters
    ----------
    codes : torch.Tensor of integers, shape (B, L)
        Base codes, 0-3 for A, C, G, T and 4 for N.
    dtype : torch.dtype
        dtype of the one-hot values.

    Returns
    -------
    torch.Tensor, dtype ``dtype``, shape (B, 4, 1, L)
        One-hot, channels-last memory layout; N is an all-zero column.
    """
    table = torch.cat([torch.eye(4, dtype=dtype, device=codes.device), torch.zeros((1, 4), dtype=dtype, device=codes.device)])
    return table[codes.long()].permute(0, 2, 1).unsqueeze(2)


def trimer_table(f: Folded) -> torch.Tensor:
    """The first convolution as sums over 3-mers: row 125 g + code3 holds taps 3g..3g+2's weights.

    A one-hot convolution's output at a position is the sum of one weight column per tap, so taps
    are grouped in threes (5^3 = 125 rows per group, N contributing zero) and the last row is the
    bias: ceil(k/3) + 1 row lookups and adds per position instead of 4k multiply-adds
    (``F.embedding_bag``), ~1.5x faster than the convolution on CPU.

    Parameters
    ----------
    f : Folded
        The first stage (weight (C, 4, 1, k), bias (C,)).

    Returns
    -------
    torch.Tensor, shape (125 * ceil(k / 3) + 1, C)
        Weight rows of every 3-mer of each tap group, then the bias row; dtype of ``f.weight``.
    """
    w = f.weight[:, :, 0, :]  # (C, 4, k)
    c, _, k = w.shape
    groups = -(-k // 3)
    w = torch.cat([w, w.new_zeros((c, 4, 3 * groups - k))], 2)
    w = torch.cat([w, w.new_zeros((c, 1, 3 * groups))], 1)  # base code 4 (N): zero
    per_tap = [w[:, :, j::3].permute(2, 1, 0) for j in range(3)]  # 3 x (G, 5, C)
    table = per_tap[0][:, :, None, None] + per_tap[1][:, None, :, None] + per_tap[2][:, None, None, :]
    return torch.cat([table.reshape(groups * 125, c), f.bias[None]])


def _first_stage(f: Folded, table: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """The first stage from base codes (B, L) through :func:`trimer_table`; (B, C, 1, L') channels-last."""
    b, length = codes.shape
    k = f.weight.shape[3]
    groups = -(-k // 3)
    out_len = length + 2 * f.padding - k + 1
    cp = F.pad(codes.long(), (f.padding, f.padding + 3 * groups - k), value=4)
    trimer = cp[:, :-2] * 25 + cp[:, 1:-1] * 5 + cp[:, 2:]
    idx = torch.stack([trimer[:, 3 * g:3 * g + out_len] + 125 * g for g in range(groups)]
                      + [torch.full((b, out_len), 125 * groups, device=codes.device)], 2)
    h = F.embedding_bag(idx.reshape(b * out_len, groups + 1), table, mode="sum")
    h = _nc1l(h.reshape(b, out_len, -1))
    if f.pool > 1:
        h = F.max_pool2d(h, (1, f.pool), ceil_mode=f.ceil_mode)
    return torch.relu_(h)


def reference_pass(model: nn.Module, folded: list[Folded], x: torch.Tensor, codes: torch.Tensor | None = None,
                   table: torch.Tensor | None = None) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Every stage's output as (B, L, C), the pooled vectors and the logits of a (padded) batch.

    ``x`` is a one-hot batch from :func:`one_hot_batch`; with its ``codes`` and the first stage's
    :func:`trimer_table` the first stage runs as 3-mer lookups instead of a convolution.

    Parameters
    ----------
    model : torch.nn.Module
        The ``CNNSmall`` the stages came from (its ``global_pool`` and ``head`` are used).
    folded : list of Folded
        Its stages, from :func:`fold`.
    x : torch.Tensor, shape (B, 4, 1, L)
        One-hot batch, channels-last, in the folded dtype.
    codes : torch.Tensor of integers, shape (B, L), optional
        The batch's base codes; needed with ``table``.
    table : torch.Tensor, optional
        :func:`trimer_table` of ``folded[0]``; without it the first stage is a convolution.

    Returns
    -------
    tuple
        ``acts``: list of torch.Tensor, the input and each stage's output as (B, L_s, C_s) views;
        ``pooled``: torch.Tensor, shape (B, C) or (B, 2C) for max+avg; ``logits``: torch.Tensor, shape (B,).
    """
    h = x
    acts = [_blc(h)]
    for i, f in enumerate(folded):
        h = _first_stage(f, table, codes) if i == 0 and table is not None else _stage(f, h, f.padding)
        acts.append(_blc(h))
    pooled = global_pool(acts[-1], model.global_pool)
    return acts, pooled, model.head(pooled).squeeze(1)


def global_pool(last: torch.Tensor, kind: str) -> torch.Tensor:
    """CNNSmall's global pooling of a (B, L, C) stage output: (B, C), or (B, 2C) for max+avg.

    Parameters
    ----------
    last : torch.Tensor, shape (B, L, C)
        The last stage's output.
    kind : str
        ``avg``, ``max`` or ``max+avg`` (max then mean, concatenated).

    Returns
    -------
    torch.Tensor, shape (B, C), or (B, 2C) for ``max+avg``
    """
    if kind == "avg":
        return last.mean(dim=1)
    if kind == "max":
        return last.amax(dim=1)
    return torch.cat([last.amax(dim=1), last.mean(dim=1)], dim=1)


def running_maxima(last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maxima of a (B, L, C) stage output over positions [0, i] and [i, L), each (B, L + 1, C)
    with an -inf row at the open end, for the max outside a cone's slice.

    Parameters
    ----------
    last : torch.Tensor, shape (B, L, C)
        The last stage's output.

    Returns
    -------
    tuple of torch.Tensor, each shape (B, L + 1, C)
        ``from_left[:, i]``, the max over positions [0, i) (row 0 is -inf), and ``from_right[:, i]``,
        the max over [i, L) (row L is -inf).
    """
    pad = torch.full_like(last[:, :1], float("-inf"))
    from_left = torch.cat([pad, torch.cummax(last, dim=1).values], dim=1)  # [:, i] = max over [0, i)
    from_right = torch.cat([torch.cummax(last.flip(1), dim=1).values.flip(1), pad], dim=1)  # [:, i] = max over [i, L)
    return from_left, from_right


def cone_logits(model: nn.Module, folded: list[Folded], acts: list[torch.Tensor], pooled_ref: torch.Tensor,
                rows: torch.Tensor, pos: torch.Tensor, alt_column: torch.Tensor,
                maxima: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Alt logits for variants at ``pos`` of reference rows ``rows`` of ``acts`` (from reference_pass).

    ``alt_column`` (B, 1, 4) is the alternative base's one-hot column. The slice [lo, lo + w) of
    each stage's input holds every position that can differ from the reference. ``maxima``
    (:func:`running_maxima` of ``acts[-1]``) is needed for a global max.

    Parameters
    ----------
    model : torch.nn.Module
        The ``CNNSmall`` (its ``global_pool`` and ``head`` are used).
    folded : list of Folded
        Its stages, from :func:`fold`.
    acts : list of torch.Tensor
        Stage inputs and outputs of the reference batch, (R, L_s, C_s) each (:func:`reference_pass`).
    pooled_ref : torch.Tensor, shape (R, C) or (R, 2C)
        The reference batch's pooled vectors.
    rows : torch.Tensor, int64, shape (B,)
        Reference row of each variant.
    pos : torch.Tensor, int64, shape (B,)
        Position of each variant's changed base.
    alt_column : torch.Tensor, shape (B, 1, 4)
        One-hot column of each alternative base.
    maxima : tuple of torch.Tensor, optional
        ``running_maxima(acts[-1])``; required when ``global_pool`` is ``max`` or ``max+avg``.

    Returns
    -------
    torch.Tensor, shape (B,)
        One alternative logit per variant.
    """
    device = pos.device
    lo, w, new = pos, 1, alt_column
    for s, f in enumerate(folded):
        a, nxt = acts[s], acts[s + 1]
        length, out_len = a.shape[1], nxt.shape[1]
        k, p, q = f.weight.shape[3], f.padding, f.pool
        conv_len = length + 2 * p - k + 1
        w_next = min((w + k - 2) // q + 2, out_len)
        first = torch.div(lo + p - k + 1, q, rounding_mode="floor").clamp(min=0)
        start = first.clamp(max=out_len - w_next)
        idx = start[:, None] * q - p + torch.arange(w_next * q + k - 1, device=device)
        inside = (idx >= 0) & (idx < length)
        vals = a[rows[:, None], idx.clamp(0, length - 1)]  # (B, J, C)
        rel = idx - lo[:, None]
        in_slice = (rel >= 0) & (rel < w)
        pasted = new.gather(1, rel.clamp(0, w - 1)[:, :, None].expand(-1, -1, new.shape[2]))
        vals = torch.where(in_slice[:, :, None], pasted, vals) * inside[:, :, None].to(vals.dtype)
        h = _blc(F.conv2d(_nc1l(vals), f.weight, f.bias))  # (B, J', C), contiguous
        if q > 1:  # columns past the conv output's end are what ceil_mode pads with: -inf
            j = start[:, None] * q + torch.arange(w_next * q, device=device)
            h = h.masked_fill((j >= conv_len)[:, :, None], float("-inf"))
            h = h.reshape(len(h), w_next, q, h.shape[2]).amax(dim=2)
        else:
            h = h[:, :w_next]
        lo, w, new = start, w_next, torch.relu(h)
    last = acts[-1]
    old = last[rows[:, None], lo[:, None] + torch.arange(w, device=device)]
    kind = model.global_pool
    parts = []
    if kind in ("max", "max+avg"):
        from_left, from_right = maxima
        outside = torch.maximum(from_left[rows, lo], from_right[rows, lo + w])  # max over [0, lo) and [lo + w, L)
        parts.append(torch.maximum(outside, new.amax(dim=1)).to(pooled_ref.dtype))
    if kind in ("avg", "max+avg"):
        channels = last.shape[2]
        correction = (new.to(pooled_ref.dtype) - old.to(pooled_ref.dtype)).sum(dim=1) / last.shape[1]
        parts.append(pooled_ref[rows, -channels:] + correction)
    return model.head(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]).squeeze(1)


# Largest number of rows per reference / cone batch. Fixed (not data-dependent) so outputs stay
# independent of batch composition; small, because fp32 CPU convolutions ran fastest per row in
# batches of 32-64 (cache-sized), and so a file with few distinct windows wastes little padding.
BLOCK = 64


def _padded(codes: np.ndarray, size: int) -> np.ndarray:
    """Codes with rows of N (code 4, an all-zero one-hot) appended up to ``size`` rows."""
    if len(codes) >= size:
        return codes
    return np.concatenate([codes, np.full((size - len(codes), codes.shape[1]), 4, dtype=codes.dtype)])


def plan_logits(model: nn.Module, stages: list[Stage], codes: np.ndarray, batch_size: int,
                device: str | torch.device = "cpu", precision: str = "fp64") -> np.ndarray:
    """Full-pass logits (float64 array) of base codes (n, L) (dna.base_codes) through the folded plan.

    The model (its head) must already be in ``compute_dtype(precision)`` and in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        The ``CNNSmall`` the plan came from.
    stages : list of Stage
        From :func:`build_cone_plan`.
    codes : numpy.ndarray of integers, shape (n, L)
        Base codes (0-3, 4 = N).
    batch_size : int
        Rows per pass, capped at ``BLOCK``; the last batch is padded with N rows.
    device : str or torch.device
        Device the passes run on.
    precision : str
        ``fp64``, ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
    """
    dtype = compute_dtype(precision)
    batch_size = min(batch_size, BLOCK)
    folded = fold(stages, dtype, device)
    table = trimer_table(folded[0])
    out = np.empty(len(codes), dtype=np.float64)
    with torch.inference_mode(), autocast(precision, device):
        for i in range(0, len(codes), batch_size):
            batch = codes[i:i + batch_size]
            n = len(batch)
            padded = torch.from_numpy(_padded(batch, batch_size)).to(device)
            out[i:i + n] = reference_pass(model, folded, one_hot_batch(padded, dtype), padded, table)[2][:n] \
                .double().cpu().numpy()
    return out


def predict_variant_logits(model: nn.Module, stages: list[Stage], ref_codes: np.ndarray, ref_index: np.ndarray,
                           alt_codes: np.ndarray, batch_size: int, device: str | torch.device = "cpu",
                           precision: str = "fp64") -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Reference logits (one per row of ``ref_codes``) and alt logits (one per row of ``alt_codes``).

    Inputs are base codes (n, L) (dna.base_codes). ``ref_index[v]`` is the row of ``ref_codes``
    that variant ``v`` mutates. Alts differing from their reference at one base are scored by
    cone reuse; identical ones take the reference logit; those differing at several bases get
    full passes. The model must be in ``compute_dtype(precision)`` and in eval mode. Batches hold
    ``min(batch_size, BLOCK)`` rows, padded. Returns counts of each kind too.
    """
    ref_index = np.asarray(ref_index, dtype=np.int64)
    n_ref, n_alt = len(ref_codes), len(alt_codes)
    ref_out = np.empty(n_ref, dtype=np.float64)
    alt_out = np.empty(n_alt, dtype=np.float64)
    diff = alt_codes != ref_codes[ref_index] if n_alt else np.zeros((0, 0), dtype=bool)
    n_diff = diff.sum(axis=1)
    pos_all = diff.argmax(axis=1) if n_alt else np.zeros(0, dtype=np.int64)
    single = np.flatnonzero(n_diff == 1)
    multi = np.flatnonzero(n_diff > 1)
    same = np.flatnonzero(n_diff == 0)
    dtype = compute_dtype(precision)
    batch_size = min(batch_size, BLOCK)
    folded = fold(stages, dtype, device)
    table = trimer_table(folded[0])
    order = single[np.argsort(ref_index[single], kind="stable")]
    bounds = np.searchsorted(ref_index[order], np.arange(0, n_ref + batch_size, batch_size))
    with torch.inference_mode(), autocast(precision, device):
        for b, r0 in enumerate(range(0, n_ref, batch_size)):
            batch = ref_codes[r0:r0 + batch_size]
            n = len(batch)
            padded = torch.from_numpy(_padded(batch, batch_size)).to(device)
            acts, pooled, logits = reference_pass(model, folded, one_hot_batch(padded, dtype), padded, table)
            maxima = running_maxima(acts[-1]) if model.global_pool != "avg" else None
            ref_out[r0:r0 + n] = logits[:n].double().cpu().numpy()
            todo = order[bounds[b]:bounds[b + 1]]
            for c0 in range(0, len(todo), batch_size):
                chunk = todo[c0:c0 + batch_size]
                m = len(chunk)
                fill = np.concatenate([chunk, np.full(batch_size - m, chunk[0])])
                rows = torch.from_numpy(ref_index[fill] - r0).to(device)
                pos = torch.from_numpy(pos_all[fill]).to(device)
                base = torch.from_numpy(alt_codes[fill, pos_all[fill]][:, None]).to(device)
                column = one_hot_batch(base, dtype)[:, :, 0, :].permute(0, 2, 1)  # (B, 1, 4)
                alt_out[chunk] = cone_logits(model, folded, acts, pooled, rows, pos, column,
                                             maxima)[:m].double().cpu().numpy()
    if len(multi):
        alt_out[multi] = plan_logits(model, stages, alt_codes[multi], batch_size, device, precision)
    alt_out[same] = ref_out[ref_index[same]]
    return ref_out, alt_out, {"cone": len(single), "full": len(multi), "unchanged": len(same)}


# Patches: cone reuse for residual towers (Sei)
#
# The stage machinery above serves CNNSmall's plain stack. A tower with residual sums, "linear"
# convolutions without ReLU, dilations and pools inside sequential blocks (Sei's, models/sei.py)
# is handled layer by layer instead: a Patch holds the values of positions [lo, lo + w) of an
# activation, the only ones that can differ from the reference there; every layer maps a patch
# to the patch of its output from the cached reference input around it. Slices are shifted, not
# clipped, at sequence ends, and widths depend only on the layer sizes and the first patch's
# width, so every variant of a batch has the same shapes.

POINTWISE = (nn.ReLU, nn.Dropout, nn.Identity, nn.BatchNorm1d)  # position-wise in eval mode


@dataclass(frozen=True)
class Patch:
    """Positions ``[lo, lo + w)`` of a (B, C, L) activation that may differ from the reference.

    ``lo`` is (B,) int64 (one start per row), ``vals`` (B, C, w) their values; every other
    position equals the cached reference row.
    """

    lo: torch.Tensor
    vals: torch.Tensor

    @property
    def w(self) -> int:
        return int(self.vals.shape[2])


def window(ref: torch.Tensor, rows: torch.Tensor, start: torch.Tensor, width: int, patch: Patch | None = None,
           fill: float = 0.0) -> torch.Tensor:
    """Positions ``[start, start + width)`` of reference rows with ``patch`` pasted in.

    Parameters
    ----------
    ref : torch.Tensor, shape (R, C, L)
        Cached reference activation.
    rows : torch.Tensor, shape (B,), int64
        Row of ``ref`` of each patch row.
    start : torch.Tensor, shape (B,), int64
        First position of each row's window (may be negative or run past L).
    width : int
        Window width.
    patch : Patch, optional
        Alternative values, pasted where they fall inside the window.
    fill : float
        Value of positions outside ``[0, L)`` (0 for zero padding, -inf for ceil-mode pooling).

    Returns
    -------
    torch.Tensor, shape (B, C, width)
    """
    length = ref.shape[2]
    idx = start[:, None] + torch.arange(width, device=ref.device)
    vals = ref[rows[:, None], :, idx.clamp(0, length - 1)].permute(0, 2, 1)  # (B, width, C) -> (B, C, width)
    if patch is not None:
        rel = idx - patch.lo[:, None]
        inside = (rel >= 0) & (rel < patch.w)
        pasted = patch.vals.gather(2, rel.clamp(0, patch.w - 1)[:, None, :].expand(-1, vals.shape[1], -1))
        vals = torch.where(inside[:, None, :], pasted.to(vals.dtype), vals)
    outside = (idx < 0) | (idx >= length)
    return vals.masked_fill(outside[:, None, :], fill)


def conv_patch(conv: nn.Conv1d, ref_in: torch.Tensor, rows: torch.Tensor, patch: Patch) -> Patch:
    """The patch of a stride-1, zero-padded Conv1d's output (any dilation) from its input's patch.

    Parameters
    ----------
    conv : nn.Conv1d
        Stride 1, integer padding, zero padding mode.
    ref_in : torch.Tensor, shape (R, C_in, L_in)
        The convolution's reference input.
    rows : torch.Tensor, shape (B,), int64
        Reference row of each patch row.
    patch : Patch
        Of the input, values (B, C_in, w).

    Returns
    -------
    Patch
        Of the output, values (B, C_out, min(w + dilation (k - 1), L_out)): every output position
        the input patch reaches.
    """
    if conv.stride != (1,) or isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise ValueError(f"cone reuse needs stride-1 zero-padded convolutions, not {conv}")
    k, d, p = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
    reach = d * (k - 1)
    out_len = ref_in.shape[2] + 2 * p - reach
    w = min(patch.w + reach, out_len)
    start = (patch.lo + p - reach).clamp(min=0).clamp(max=out_len - w)
    vals = window(ref_in, rows, start - p, w + reach, patch)
    return Patch(start, F.conv1d(vals, conv.weight, conv.bias, dilation=d, groups=conv.groups))


def pool_patch(pool: nn.MaxPool1d, ref_in: torch.Tensor, rows: torch.Tensor, patch: Patch) -> Patch:
    """The patch of a MaxPool1d's output (stride = kernel, no padding; floor or ceil mode) from its input's.

    Parameters
    ----------
    pool : nn.MaxPool1d
    ref_in : torch.Tensor, shape (R, C, L_in)
        The pool's reference input.
    rows : torch.Tensor, shape (B,), int64
    patch : Patch
        Of the input, values (B, C, w).

    Returns
    -------
    Patch
        Of the output, values (B, C, min((w + q - 2) // q + 1, L_out)) for kernel q: every pooled
        position whose window meets the patch (max is exact, no rounding).
    """
    q, s, p, d = pool.kernel_size, pool.stride, pool.padding, pool.dilation
    if not (isinstance(q, int) and s == q and p == 0 and d == 1):
        raise ValueError(f"cone reuse needs max-pools with stride = kernel and no padding, not {pool}")
    length = ref_in.shape[2]
    out_len = -(-length // q) if pool.ceil_mode else length // q
    w = min((patch.w + q - 2) // q + 1, out_len)
    start = torch.div(patch.lo, q, rounding_mode="floor").clamp(min=0, max=out_len - w)
    vals = window(ref_in, rows, start * q, w * q, patch, fill=float("-inf"))
    return Patch(start, F.max_pool1d(vals, q))


def pointwise_patch(layer: nn.Module, patch: Patch) -> Patch:
    """A position-wise layer (ReLU; dropout, identity, batch norm in eval mode) applied to a patch.

    Parameters
    ----------
    layer : torch.nn.Module
        One of ``POINTWISE``; batch norm and dropout must be in eval mode.
    patch : Patch
        Of the layer's input, values (B, C, w).

    Returns
    -------
    Patch
        Same ``lo``, values ``layer(patch.vals)``.

    Raises
    ------
    ValueError
        The layer is not position-wise (or is batch norm or dropout in training mode).
    """
    if not isinstance(layer, POINTWISE) or (layer.training and not isinstance(layer, (nn.ReLU, nn.Identity))):
        raise ValueError(f"cone reuse: {layer} is not position-wise (batch norm and dropout need eval mode)")
    return Patch(patch.lo, layer(patch.vals))


def add_patches(a: Patch, ref_a: torch.Tensor, b: Patch, ref_b: torch.Tensor, rows: torch.Tensor) -> Patch:
    """The patch of ``a + b`` (a residual sum) on the wider patch's span, which must hold the narrower's.

    Parameters
    ----------
    a, b : Patch
        Patches of the two summands, values (B, C, w_a) and (B, C, w_b).
    ref_a, ref_b : torch.Tensor, shape (R, C, L)
        Their reference activations.
    rows : torch.Tensor, shape (B,), int64

    Returns
    -------
    Patch
        Values (B, C, max(w_a, w_b)).
    """
    (wide, _), (narrow, ref_narrow) = sorted([(a, ref_a), (b, ref_b)], key=lambda t: -t[0].w)
    if not bool(((narrow.lo >= wide.lo) & (narrow.lo + narrow.w <= wide.lo + wide.w)).all()):
        raise RuntimeError("cone reuse: a residual sum's narrower patch lies outside the wider one")
    return Patch(wide.lo, wide.vals + window(ref_narrow, rows, wide.lo, wide.w, narrow))


def paste(ref: torch.Tensor, rows: torch.Tensor, patch: Patch) -> torch.Tensor:
    """Whole alternative rows: reference rows ``ref[rows]`` (B, C, L) with the patch written in.

    Parameters
    ----------
    ref : torch.Tensor, shape (R, C, L)
        Reference activation.
    rows : torch.Tensor, int64, shape (B,)
        Row of ``ref`` of each patch row.
    patch : Patch
        Values (B, C, w) at ``[lo, lo + w)`` (inside [0, L)).

    Returns
    -------
    torch.Tensor, shape (B, C, L)
        A copy, dtype of ``ref``.
    """
    out = ref[rows].clone()
    idx = patch.lo[:, None] + torch.arange(patch.w, device=ref.device)
    out.scatter_(2, idx[:, None, :].expand(-1, out.shape[1], -1), patch.vals.to(out.dtype))
    return out


def sequential_reference(block: nn.Sequential, x: torch.Tensor, cache: dict) -> torch.Tensor:
    """``block(x)``, caching the input of each Conv1d and MaxPool1d (keyed by the layer) for
    :func:`sequential_patch`.

    Parameters
    ----------
    block : torch.nn.Sequential
        The block to run.
    x : torch.Tensor, shape (R, C, L)
        Its input (reference rows).
    cache : dict
        Filled in place: layer -> its input tensor.

    Returns
    -------
    torch.Tensor
        ``block(x)``.
    """
    for layer in block:
        if isinstance(layer, (nn.Conv1d, nn.MaxPool1d)):
            cache[layer] = x
        x = layer(x)
    return x


def sequential_patch(block: nn.Sequential, patch: Patch, cache: dict, rows: torch.Tensor) -> Patch:
    """The patch of ``block``'s output from its input's: convolutions, max-pools and position-wise layers.

    Parameters
    ----------
    block : nn.Sequential
        Run through :func:`sequential_reference` on the reference rows, which filled ``cache``.
    patch : Patch
        Of the block's input, values (B, C, w).
    cache : dict
        Reference inputs of the block's convolutions and pools, (R, C, L) each.
    rows : torch.Tensor, shape (B,), int64
        Reference row of each patch row.

    Returns
    -------
    Patch
        Of the block's output.
    """
    for layer in block:
        if isinstance(layer, nn.Conv1d):
            patch = conv_patch(layer, cache[layer], rows, patch)
        elif isinstance(layer, nn.MaxPool1d):
            patch = pool_patch(layer, cache[layer], rows, patch)
        else:
            patch = pointwise_patch(layer, patch)
    return patch
