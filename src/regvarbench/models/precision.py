"""Numeric precision and device for inference (``regvarbench score --precision/--device``).

``auto`` is the fastest precision that meets the scoring accuracy budget on the device at hand.
The budget (docs/performance.md, enforced by tests/unit/test_score.py and printed by
benchmarks/score_throughput.py): on a trained model's saturation-mutagenesis scores, against
fp64, Spearman >= 0.9999 and no score that is non-zero in fp64 collapsing to exactly 0.
Measured: fp32 meets it by orders of magnitude; bf16 and fp16 autocast do not (on a trained
``cnn_small``, bf16 gave Spearman 0.9967 and 8.8 % of scores exactly 0: the difference of two
outputs that differ by a few parts in a thousand is mostly rounding at bf16's 1 part in 256).
So ``auto`` is fp32 on every device today, also on CPUs with AVX-512 BF16/AMX and on GPUs
(where TF32 is switched off for fp32 scoring, see :func:`exact_fp32`); bf16 and fp16 stay
available by name for screening, at their documented cost. fp64 is the slowest and the most
exact; fp32 and fp64 keep a sequence's output independent of the other sequences in its
(fixed-size) batch, reduced precisions on GPUs need not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

# the choice of device and precision (one resolver for scoring and training) is regvarbench.device;
# its names are importable from here too, where the arithmetic of each precision lives
from ..device import (BF16_FEATURES, DEVICES, MEETS_BUDGET, PRECISIONS, cpu_features,  # noqa: F401 (re-exported)
                      cpu_native_bf16, resolve_device, resolve_precision, speed_order)

DTYPES = {"fp32": torch.float32, "fp64": torch.float64, "bf16": torch.bfloat16, "fp16": torch.float16}
# The scoring accuracy budget against fp64 (docs/performance.md).
BUDGET_SPEARMAN = 0.9999


def budget_figures(reference: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """How far ``scores`` are from ``reference`` (fp64) scores of the same variants.

    Parameters
    ----------
    reference : numpy.ndarray, shape (n,)
        Variant scores computed in fp64.
    scores : numpy.ndarray, shape (n,)
        The same variants' scores in the precision under test.

    Returns
    -------
    dict
        ``spearman`` and ``pearson`` (against the reference), ``collapsed_to_zero`` (how many
        scores are exactly 0 where the reference is not), ``max_abs_diff``, ``n`` and
        ``meets_budget`` (Spearman >= BUDGET_SPEARMAN and nothing collapsed).
    """
    reference = np.asarray(reference, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if reference.shape != scores.shape or reference.ndim != 1 or len(reference) < 3:
        raise ValueError(f"need two equal 1-d score arrays of 3 or more, got {reference.shape} and {scores.shape}")
    # Spearman = Pearson of average ranks (scipy.stats' definition; scipy.stats itself costs every
    # scoring and training task ~1 s of import)
    ranks = [pd.Series(a).rank(method="average").to_numpy() for a in (reference, scores)]
    spearman = float(np.corrcoef(*ranks)[0, 1])
    collapsed = int(np.sum((scores == 0) & (reference != 0)))
    return {"n": len(reference), "spearman": spearman, "pearson": float(np.corrcoef(reference, scores)[0, 1]),
            "collapsed_to_zero": collapsed, "max_abs_diff": float(np.max(np.abs(scores - reference))),
            "meets_budget": bool(spearman >= BUDGET_SPEARMAN and collapsed == 0)}


def exact_fp32(device: str | torch.device) -> None:
    """Keep fp32 matrix products and convolutions in full fp32 on ``device`` (no TF32 on GPUs).

    TF32 (10-bit mantissa) is what PyTorch's cuDNN convolutions use by default on Ampere and
    newer cards; fp32 scoring turns it off so that ``fp32`` means fp32 on every device.

    Parameters
    ----------
    device : str or torch.device
        Device scored on; only a ``cuda`` device changes anything (the global
        ``torch.backends.cuda.matmul.allow_tf32`` and ``torch.backends.cudnn.allow_tf32`` flags).

    Returns
    -------
    None
    """
    if torch.device(device).type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def compute_dtype(precision: str) -> torch.dtype:
    """dtype of weights and inputs: fp64 or fp32 (bf16/fp16 run as fp32 under autocast).

    Parameters
    ----------
    precision : str
        One of ``PRECISIONS`` (``fp32``, ``fp64``, ``bf16``, ``fp16``).

    Returns
    -------
    torch.dtype
        ``torch.float64`` for ``fp64``, else ``torch.float32``.
    """
    return torch.float64 if precision == "fp64" else torch.float32


@contextlib.contextmanager
def autocast(precision: str, device: str | torch.device = "cpu") -> Iterator[None]:
    """torch.autocast to bf16/fp16 for those precisions; nothing for fp32/fp64.

    Parameters
    ----------
    precision : str
        One of ``PRECISIONS``; ``bf16`` and ``fp16`` autocast to that dtype.
    device : str or torch.device
        Device whose type (``cpu``, ``cuda``) the autocast applies to.

    Returns
    -------
    contextlib.AbstractContextManager
        A context manager yielding None.
    """
    if precision in ("bf16", "fp16"):
        with torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision]):
            yield
    else:
        yield
