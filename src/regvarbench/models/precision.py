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
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import torch

from ..io import InputError

PRECISIONS = ("auto", "fp32", "fp64", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"fp32": torch.float32, "fp64": torch.float64, "bf16": torch.bfloat16, "fp16": torch.float16}
# CPU features with native bf16 arithmetic (names as in /proc/cpuinfo)
BF16_FEATURES = frozenset({"avx512_bf16", "amx_bf16"})
# The scoring accuracy budget against fp64 (docs/performance.md).
BUDGET_SPEARMAN = 0.9999
# Precisions whose scores met the budget when measured (docs/performance.md, the benchmark's
# budget lines); ``auto`` picks the fastest of these that the device offers.
MEETS_BUDGET = frozenset({"fp32", "fp64"})


def cpu_features() -> set[str]:
    """The bf16-relevant features torch detects on this CPU (a subset of BF16_FEATURES)."""
    found = set()
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        found.add("avx512_bf16")
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        found.add("amx_bf16")
    return found


def cpu_native_bf16(capability: str | None = None, features: Iterable[str] | None = None) -> bool:
    """True when the CPU computes bf16 natively: AVX-512 capability plus AVX-512 BF16 or AMX.

    ``capability`` is torch.backends.cpu.get_cpu_capability() ("AVX2", "AVX512", ...) and
    ``features`` CPU feature names; both are detected when not given (tests inject them).
    ``ATEN_CPU_CAPABILITY=avx2`` makes torch (and so this check) behave as on an AVX2 CPU.
    """
    capability = torch.backends.cpu.get_cpu_capability() if capability is None else capability
    features = cpu_features() if features is None else {f.lower() for f in features}
    return capability.upper().startswith("AVX512") and bool(BF16_FEATURES & set(features))


def resolve_device(device: str = "auto") -> str:
    """``cpu`` or ``cuda``; ``auto`` picks cuda when a GPU is visible."""
    if device not in DEVICES:
        raise InputError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to torch")
    return device


def speed_order(device: str = "cpu", capability: str | None = None,
                features: Iterable[str] | None = None) -> tuple[str, ...]:
    """The concrete precisions ``device`` offers, fastest first.

    Parameters
    ----------
    device : str
        ``cpu`` or ``cuda[:n]``.
    capability, features : str, iterable of str, optional
        CPU dispatch level and feature names (detected when not given; see :func:`cpu_native_bf16`).

    Returns
    -------
    tuple of str
        e.g. ``("bf16", "fp32", "fp64")`` on a CPU with AMX, ``("fp32", "fp64")`` on an AVX2 CPU
        (emulated bf16 ran ~20x slower than fp32 there, so it is not offered as faster).
    """
    if str(device).startswith("cuda"):
        return ("bf16", "fp16", "fp32", "fp64") if torch.cuda.is_bf16_supported() else ("fp16", "fp32", "fp64")
    return ("bf16", "fp32", "fp64") if cpu_native_bf16(capability, features) else ("fp32", "fp64")


def resolve_precision(precision: str, device: str = "cpu", capability: str | None = None,
                      features: Iterable[str] | None = None) -> str:
    """A concrete precision (fp32, fp64, bf16 or fp16) for ``precision`` on ``device``.

    ``auto`` is the first precision of :func:`speed_order` that is in :data:`MEETS_BUDGET`.
    """
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    return next(p for p in speed_order(device, capability, features) if p in MEETS_BUDGET)


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
    """
    if torch.device(device).type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def compute_dtype(precision: str) -> torch.dtype:
    """dtype of weights and inputs: fp64 or fp32 (bf16/fp16 run as fp32 under autocast)."""
    return torch.float64 if precision == "fp64" else torch.float32


@contextlib.contextmanager
def autocast(precision: str, device: str | torch.device = "cpu") -> Iterator[None]:
    """torch.autocast to bf16/fp16 for those precisions; nothing for fp32/fp64."""
    if precision in ("bf16", "fp16"):
        with torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision]):
            yield
    else:
        yield
