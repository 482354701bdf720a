"""Where and in what arithmetic a model runs: the one device and precision resolver.

``--device`` and ``--precision`` of ``train``, ``score`` and ``oneshot`` are resolved here, by
one function each (:func:`resolve_device`, :func:`resolve_precision`). Torch is imported only
inside the functions that ask it about the hardware, so that the command line (which imports
``runtime`` and so this module for every command) does not import torch.

Precision: ``auto`` means two things, by purpose, and so the resolver takes ``training``:

- scoring (``training=False``, choices ``PRECISIONS``): the fastest precision that meets the
  scoring accuracy budget on the device (``MEETS_BUDGET``; docs/performance.md and
  models/precision.py say why that is fp32 on every device today);
- training (``training=True``, choices ``TRAIN_PRECISIONS``: no fp64): mixed precision on a
  GPU (bf16 where the card has it, else fp16), fp32 on a CPU, also one with native bf16 (bf16
  training on a CPU without it ran ~20x slower; training is not held to the scoring budget, but
  its CPU default stays exact). fp16 training needs a CUDA GPU.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp64", "bf16", "fp16")  # scoring
TRAIN_PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # training (autocast over fp32 weights, or fp32)
# CPU features with native bf16 arithmetic (names as in /proc/cpuinfo)
BF16_FEATURES = frozenset({"avx512_bf16", "amx_bf16"})
# Precisions whose scores met the scoring accuracy budget when measured (docs/performance.md, the
# benchmark's budget lines); scoring's ``auto`` picks the fastest of these that the device offers.
MEETS_BUDGET = frozenset({"fp32", "fp64"})
# training's ``auto``: the fastest of these that the device offers
TRAIN_AUTO = {"cuda": frozenset({"bf16", "fp16", "fp32"}), "cpu": frozenset({"fp32"})}


def cpu_features() -> set[str]:
    """The bf16-relevant features torch detects on this CPU (a subset of BF16_FEATURES)."""
    import torch

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

    Parameters
    ----------
    capability : str or None
        ATen CPU capability; detected when None.
    features : iterable of str or None
        CPU feature flags (any case); detected when None.

    Returns
    -------
    bool
    """
    if capability is None:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    features = cpu_features() if features is None else {f.lower() for f in features}
    return capability.upper().startswith("AVX512") and bool(BF16_FEATURES & set(features))


def resolve_device(device: str = "auto") -> str:
    """``cpu`` or ``cuda``; ``auto`` picks cuda when a GPU is visible.

    Parameters
    ----------
    device : str
        One of ``DEVICES``: ``auto``, ``cpu`` or ``cuda``.

    Returns
    -------
    str

    Raises
    ------
    InputError
        For an unknown device, or ``cuda`` without a visible GPU.
    """
    if device not in DEVICES:
        raise InputError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
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
        import torch

        return ("bf16", "fp16", "fp32", "fp64") if torch.cuda.is_bf16_supported() else ("fp16", "fp32", "fp64")
    return ("bf16", "fp32", "fp64") if cpu_native_bf16(capability, features) else ("fp32", "fp64")


def resolve_precision(precision: str, device: str = "cpu", capability: str | None = None,
                      features: Iterable[str] | None = None, *, training: bool = False) -> str:
    """A concrete precision for ``precision`` on ``device``, for scoring or for training.

    Parameters
    ----------
    precision : str
        One of ``PRECISIONS`` (scoring) or ``TRAIN_PRECISIONS`` (``training``).
    device : str
        ``cpu`` or ``cuda[:n]`` (a resolved device, :func:`resolve_device`).
    capability, features : str, iterable of str, optional
        CPU dispatch level and feature names (detected when not given; see :func:`cpu_native_bf16`).
    training : bool
        Training's choices and ``auto`` rule instead of scoring's (the module docstring).

    Returns
    -------
    str
        fp32, fp64, bf16 or fp16: scoring's ``auto`` is the first precision of :func:`speed_order`
        in ``MEETS_BUDGET``; training's is the first in ``TRAIN_AUTO`` of the device's kind.
    """
    choices = TRAIN_PRECISIONS if training else PRECISIONS
    if precision not in choices:
        raise InputError(f"--precision must be one of {', '.join(choices)}{' for training' if training else ''}, "
                         f"not {precision!r}")
    if precision != "auto":
        if training and precision == "fp16" and device == "cpu":
            raise InputError("--precision fp16: fp16 training needs a CUDA GPU (use fp32 or bf16 on CPUs)")
        return precision
    if training:
        allowed = TRAIN_AUTO["cuda" if str(device).startswith("cuda") else "cpu"]
    else:
        allowed = MEETS_BUDGET
    return next(p for p in speed_order(device, capability, features) if p in allowed)
