"""Small PyTorch CNN enhancer classifiers, built from a JSON-able spec dict.

A spec names an ``architecture`` and its ``hyperparameters``; the same spec rebuilds the same
network when the model is loaded for scoring, so ``spec.json`` + ``model.pt`` is a complete model.
Every architecture maps one-hot DNA (n, 4, L) to one enhancer logit per sequence.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..artifacts import write_spec
from ..detection import sigmoid
from ..dna import base_codes, fit_length, one_hot
from ..io import InputError
from . import sei, trednet
from .base import PrecisionAdapter
from .cone import build_cone_plan, plan_logits, predict_variant_logits
from .precision import autocast, compute_dtype

FAMILY = "cnn"

# Defaults per architecture; a spec's "hyperparameters" override them key by key.
DEFAULTS: dict[str, dict[str, Any]] = {
    "cnn_small": {"channels": [64, 64, 64], "kernel_sizes": [15, 7, 5], "pool_sizes": [4, 4],
                  "dense": 32, "dropout": 0.2, "batch_norm": True, "conv_dropout": 0.0,
                  # max finds a motif wherever it sits, avg counts them: on the synthetic benchmark
                  # max+avg gave K562 test auROC 0.85-0.90 over seeds where avg gave 0.79-0.86
                  "global_pool": "max+avg"},
    "deepsea_like": {"channels": [320, 480, 960], "kernel_sizes": [8, 8, 8], "pool_sizes": [4, 4],
                     "dense": 925, "dropout": [0.2, 0.2, 0.5]},
    # One layer of motif detectors and a global max: a transparent baseline, and the toy model
    # whose weights tests set by hand.
    "motif_scan": {"filters": 16, "kernel_size": 15},
    "sei_like": sei.DEFAULTS,  # Sei's layout scaled down (models/sei.py)
    "trednet": trednet.DEFAULTS,  # two-phase TREDNet-style model (models/trednet.py)
}


class CNNSmall(nn.Module):
    """Three convolutions (same padding, batch norm, ReLU, max-pool between), global max+avg pool.

    Global pooling makes the network length-agnostic and cheap on CPU. Batch norm is what lets it
    leave the chance-level plateau within a few epochs on ~1,000 sequences; in eval mode (always
    used for prediction) it is a fixed affine map, so outputs do not depend on the batch.
    """

    def __init__(self, channels: list[int], kernel_sizes: list[int], pool_sizes: list[int],
                 dense: int, dropout: float, batch_norm: bool = True, conv_dropout: float = 0.0,
                 global_pool: str = "avg") -> None:
        super().__init__()
        if not (len(channels) == len(kernel_sizes) == len(pool_sizes) + 1):
            raise InputError("cnn_small: need len(channels) == len(kernel_sizes) == len(pool_sizes) + 1")
        layers: list[nn.Module] = []
        in_ch = 4
        for i, (out_ch, k) in enumerate(zip(channels, kernel_sizes)):
            layers.append(nn.Conv1d(in_ch, out_ch, k, padding=k // 2))
            if batch_norm:
                layers.append(nn.BatchNorm1d(out_ch))
            layers.append(nn.ReLU())
            if i < len(pool_sizes):
                layers.append(nn.MaxPool1d(pool_sizes[i], ceil_mode=True))
                if conv_dropout:
                    layers.append(nn.Dropout(conv_dropout))
            in_ch = out_ch
        if global_pool not in ("max", "avg", "max+avg"):
            raise InputError(f"cnn_small: global_pool must be 'max', 'avg' or 'max+avg', not {global_pool!r}")
        self.global_pool = global_pool
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear((2 if global_pool == "max+avg" else 1) * in_ch, dense), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhancer logits of a one-hot batch (any length: the pooling is global).

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (batch, 4, length)
            One-hot DNA (channels A, C, G, T), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (batch,)
            One enhancer logit per sequence.
        """
        h = self.features(x)
        pooled = {"max": lambda: h.amax(dim=2), "avg": lambda: h.mean(dim=2),
                  "max+avg": lambda: torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)}[self.global_pool]()
        return self.head(pooled).squeeze(1)


class DeepSEALike(nn.Module):
    """DeepSEA's layout (3 conv + pool + dropout, flatten, dense); needs a fixed input length."""

    def __init__(self, input_length: int, channels: list[int], kernel_sizes: list[int],
                 pool_sizes: list[int], dense: int, dropout: list[float]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch, length = 4, input_length
        for i, (out_ch, k) in enumerate(zip(channels, kernel_sizes)):
            layers += [nn.Conv1d(in_ch, out_ch, k), nn.ReLU()]
            length -= k - 1
            if i < len(pool_sizes):
                layers.append(nn.MaxPool1d(pool_sizes[i]))
                length //= pool_sizes[i]
            layers.append(nn.Dropout(dropout[i]))
            in_ch = out_ch
        if length < 1:
            raise InputError(f"deepsea_like: input_length {input_length} too short for its layers")
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(in_ch * length, dense), nn.ReLU(),
                                  nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhancer logits of a one-hot batch of the network's ``input_length``.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (batch, 4, length)
            One-hot DNA (channels A, C, G, T), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (batch,)
            One enhancer logit per sequence.
        """
        return self.head(self.features(x)).squeeze(1)


class MotifScan(nn.Module):
    """Convolutional motif detectors, ReLU, global max over positions, linear read-out."""

    def __init__(self, filters: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, filters, kernel_size)
        self.linear = nn.Linear(filters, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhancer logits of a one-hot batch (any length of at least ``kernel_size``).

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (batch, 4, length)
            One-hot DNA (channels A, C, G, T), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (batch,)
            One enhancer logit per sequence.
        """
        return self.linear(torch.relu(self.conv(x)).amax(dim=2)).squeeze(1)


def architecture_names() -> list[str]:
    return sorted(DEFAULTS)


def resolve_hyperparameters(architecture: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of an architecture updated with the given values (unknown keys are an error).

    Parameters
    ----------
    architecture : str
        A key of ``DEFAULTS`` (``cnn_small``, ``deepsea_like``, ``motif_scan``, ``sei_like``, ``trednet``).
    overrides : dict, optional
        Hyper-parameters replacing the defaults, key by key.

    Returns
    -------
    dict
        The architecture's full set of hyper-parameters (a new dict).

    Raises
    ------
    InputError
        The architecture is unknown, or ``overrides`` names a key it does not have.
    """
    if architecture not in DEFAULTS:
        raise InputError(f"unknown CNN architecture {architecture!r}; choose from {', '.join(architecture_names())}")
    params = dict(DEFAULTS[architecture])
    unknown = set(overrides or {}) - set(params)
    if unknown:
        raise InputError(f"{architecture}: unknown hyper-parameter(s) {', '.join(sorted(unknown))}")
    params.update(overrides or {})
    return params


def build_model(spec: dict[str, Any]) -> nn.Module:
    """The untrained network a spec describes (weights from the current torch RNG state).

    Parameters
    ----------
    spec : dict
        Model spec: ``architecture`` (default ``cnn_small``), optional ``hyperparameters`` and, for
        ``deepsea_like``, ``input_length``.

    Returns
    -------
    torch.nn.Module
        ``CNNSmall``, ``DeepSEALike``, ``sei.SeiLike``, ``trednet.TREDNetLike`` or ``MotifScan``.

    Raises
    ------
    InputError
        Unknown architecture or hyper-parameter, or a ``deepsea_like`` spec without ``input_length``.
    """
    architecture = spec.get("architecture", "cnn_small")
    params = resolve_hyperparameters(architecture, spec.get("hyperparameters"))
    if architecture == "cnn_small":
        return CNNSmall(**params)
    if architecture == "deepsea_like":
        if not spec.get("input_length"):
            raise InputError("deepsea_like needs 'input_length' in its spec")
        return DeepSEALike(int(spec["input_length"]), **params)
    if architecture == "sei_like":
        return sei.SeiLike(**params)
    if architecture == "trednet":
        return trednet.TREDNetLike(**params)
    return MotifScan(**params)


def encode(seqs: list[str], length: int | None = None) -> torch.Tensor:
    """One-hot uint8 tensor (n, 4, L); sequences are fitted to ``length`` when it is given.

    Parameters
    ----------
    seqs : list of str
        DNA sequences (all of one length unless ``length`` is given).
    length : int, optional
        Length each sequence is fitted to (``dna.fit_length``).

    Returns
    -------
    torch.Tensor, uint8, shape (n, 4, length)
    """
    if length is not None:
        seqs = [fit_length(s, length) for s in seqs]
    return torch.from_numpy(one_hot(list(seqs), dtype=np.uint8))


def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 256,
                   device: str | torch.device = "cpu", progress: bool = False,
                   precision: str = "fp64") -> np.ndarray:
    """Logits (float64 array) for one-hot uint8 input, in eval mode without gradients.

    A sequence's output must not depend on which other sequences share its batch: CPU kernels
    block a batch differently by its size, so every forward pass gets exactly ``batch_size`` rows
    (the last batch is padded with empty sequences). In fp64 and fp32 a row of a fixed-size batch
    is then computed the same way wherever it sits (tests/unit/test_score.py). ``precision`` is
    fp64 (default, what training and evaluation use), fp32, or bf16/fp16 (autocast over fp32
    weights; see models/precision.py).

    Parameters
    ----------
    model : torch.nn.Module
        Network mapping (batch, 4, length) one-hot input to (batch,) logits; it is moved to
        ``device`` and, for the call, to the compute dtype, then given back its dtype and training mode.
    x : torch.Tensor, uint8, shape (n, 4, length)
        One-hot sequences (``encode``).
    batch_size : int
        Rows per forward pass.
    device : str or torch.device
        Device the passes run on.
    progress : bool
        Show a tqdm progress bar.
    precision : str
        ``fp64``, ``fp32``, ``bf16`` or ``fp16`` (not ``auto``).

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
        One logit per sequence.
    """
    was_training = model.training
    model.eval()
    dtype = compute_dtype(precision)
    model_dtype = next(model.parameters()).dtype
    model.to(device=device, dtype=dtype)
    out = np.empty(len(x), dtype=np.float64)
    try:
        with torch.inference_mode(), autocast(precision, device):
            starts = range(0, len(x), batch_size)
            for i in tqdm(starts, desc="predict", unit="batch", disable=None if progress else True, leave=False):
                batch = x[i:i + batch_size].to(device=device, dtype=dtype)
                n = len(batch)
                if n < batch_size:
                    pad = torch.zeros((batch_size - n, *batch.shape[1:]), dtype=dtype, device=device)
                    batch = torch.cat([batch, pad])
                out[i:i + n] = model(batch)[:n].double().cpu().numpy()
    finally:
        model.to(dtype=model_dtype)
        model.train(was_training)
    return out


class CNNAdapter(PrecisionAdapter):
    """Enhancer probability = sigmoid(logit) of a CNN; sequences fitted to the spec's input length.

    ``precision`` (fp64 by default; ``regvarbench score`` sets it from ``--precision``) is the
    arithmetic of every prediction; the model is held in its compute dtype (float64 for fp64,
    float32 otherwise).
    """

    def __init__(self, model: nn.Module, spec: dict[str, Any], device: str = "cpu",
                 batch_size: int = 256, precision: str = "fp64") -> None:
        self.model = model.to(device=device).eval()
        self.spec = spec
        self.name = str(spec.get("model_name", spec.get("architecture", "cnn")))
        self.device = device
        self.batch_size = batch_size
        self.set_precision(precision)
        # receptive-field reuse for single-base variants, where the layout allows it (models/cone.py)
        self.cone_plan = build_cone_plan(self.model)
        self.supports_cone = self.cone_plan is not None
        self.last_variant_counts: dict[str, int] = {}

    def _fitted(self, seqs: list[str]) -> list[str]:
        length = self.spec.get("input_length")
        if length is None and len({len(s) for s in seqs}) > 1:
            raise InputError(f"model {self.name}: sequences differ in length and the spec has no input_length")
        return [fit_length(s, int(length)) for s in seqs] if length else list(seqs)

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Enhancer probabilities in [0, 1], float64, shape (n,).

        Parameters
        ----------
        seqs : list of str
            DNA sequences, fitted to the spec's ``input_length`` (without one they must share a length).
        batch_size : int, optional
            Rows per forward pass; default ``self.batch_size``.

        Returns
        -------
        numpy.ndarray, float64, shape (n,)

        Raises
        ------
        InputError
            Sequences differ in length and the spec has no ``input_length``.
        """
        if len(seqs) == 0:
            return np.zeros(0, dtype=np.float64)
        seqs = self._fitted(seqs)
        size = batch_size or self.batch_size
        if self.cone_plan is not None:  # the folded, channels-last code of the cone path (models/cone.py)
            logits = plan_logits(self.model.eval(), self.cone_plan, base_codes(seqs), size, self.device, self.precision)
        else:
            logits = predict_logits(self.model, encode(seqs), size, self.device, progress=True, precision=self.precision)
        return sigmoid(logits)

    def predict_variants(self, ref_seqs: list[str], ref_index: np.ndarray, alt_seqs: list[str],
                         batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(reference, alternative) probabilities: one reference pass, then a cone per single-base alt.

        ``ref_index[i]`` is the position in ``ref_seqs`` of the reference that ``alt_seqs[i]``
        mutates. Agrees with ``predict`` within ~1e-7 on logits in fp32, ~1e-15 in fp64 (models/cone.py).

        Parameters
        ----------
        ref_seqs : list of str
            Reference sequences, shape (n_ref,).
        ref_index : numpy.ndarray of int, shape (n_alt,)
            Index into ``ref_seqs`` of each alternative's reference.
        alt_seqs : list of str
            Alternative sequences, shape (n_alt,); one differing from its reference at one base is
            scored by cone reuse, one equal to it takes its logit, others get full passes.
        batch_size : int, optional
            Rows per forward pass; default ``self.batch_size``.

        Returns
        -------
        tuple of numpy.ndarray
            Reference probabilities, float64, shape (n_ref,), and alternative probabilities, float64,
            shape (n_alt,). The path counts are left in ``self.last_variant_counts``.

        Raises
        ------
        InputError
            The architecture has no cone plan, or sequences differ in length without an ``input_length``.
        """
        if self.cone_plan is None:
            raise InputError(f"model {self.name}: architecture has no cone implementation; use predict")
        fitted = self._fitted([*ref_seqs, *alt_seqs])
        if len(ref_seqs) == 0:
            return np.zeros(0, dtype=np.float64), np.zeros(len(alt_seqs), dtype=np.float64)
        codes = base_codes(fitted)
        ref, alt, self.last_variant_counts = predict_variant_logits(
            self.model.eval(), self.cone_plan, codes[:len(ref_seqs)], np.asarray(ref_index), codes[len(ref_seqs):],
            batch_size or self.batch_size, self.device, self.precision)
        return sigmoid(ref), sigmoid(alt)


def save_model(outdir: str | os.PathLike, model: nn.Module, spec: dict[str, Any]) -> Path:
    """Write model.pt (state dict) and spec.json (sorted keys, so reruns are byte-identical).

    Parameters
    ----------
    outdir : str or PathLike
        Model directory (created if missing).
    model : torch.nn.Module
        The trained network.
    spec : dict
        Its spec; ``family`` is set to ``cnn`` in the written copy.

    Returns
    -------
    pathlib.Path
        ``outdir``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "family": FAMILY}
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, outdir / "model.pt")
    write_spec(outdir, spec)
    return outdir


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None, device: str = "cpu") -> CNNAdapter:
    """Rebuild the network from its spec and load its weights (fresh seeded weights if none).

    Parameters
    ----------
    spec : dict
        Model spec (``build_model``); ``seed`` seeds fresh weights.
    weights : str, PathLike or None
        The ``model.pt`` state dict; None builds fresh weights.
    device : str
        Torch device the adapter predicts on.

    Returns
    -------
    CNNAdapter

    Raises
    ------
    InputError
        The weights file is missing or cannot be loaded into the spec's network.
    """
    if weights is None:
        with torch.random.fork_rng(devices=[]):  # leave the caller's RNG stream untouched
            torch.manual_seed(int(spec.get("seed", 0)))
            model = build_model(spec)
    else:
        if not Path(weights).exists():
            raise InputError(f"model weights not found: {weights}")
        model = build_model(spec)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except (RuntimeError, OSError, KeyError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"model {spec.get('model_name', '?')}: cannot load weights {weights} into "
                             f"{spec.get('architecture')} (damaged or not a PyTorch state dict?): {detail}") from exc
    return CNNAdapter(model, spec, device=device)
