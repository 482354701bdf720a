"""Numeric precision and device for inference (``regvarbench score --precision/--device``).

``auto`` is bf16 autocast where the hardware computes bf16 natively (CUDA GPUs, CPUs with
AVX-512 BF16 or AMX), fp32 everywhere else. On a CPU without native bf16 (AVX2 only), bf16
autocast is emulated and ran ~20x slower than fp32 (docs/performance.md), hence the check.
fp64 is the slowest and the most exact; fp32 and fp64 keep a sequence's output independent of
the other sequences in its (fixed-size) batch, reduced precisions on GPUs need not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch

from ..io import InputError

PRECISIONS = ("auto", "fp32", "fp64", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"fp32": torch.float32, "fp64": torch.float64, "bf16": torch.bfloat16, "fp16": torch.float16}
# CPU features with native bf16 arithmetic (names as in /proc/cpuinfo)
BF16_FEATURES = frozenset({"avx512_bf16", "amx_bf16"})


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


def resolve_precision(precision: str, device: str = "cpu", capability: str | None = None,
                      features: Iterable[str] | None = None) -> str:
    """A concrete precision (fp32, fp64, bf16 or fp16) for ``precision`` on ``device``."""
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_native_bf16(capability, features) else "fp32"


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
