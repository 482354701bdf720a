"""Linear probes: a trainable model scored without training its weights ("one-shot").

The study compared each fine-tuned model with the same model used as it comes. A pretrained
language model has no enhancer head, so "as it comes" means its representation read by a
linear classifier: the probe. Features are the input of the network's last ``nn.Linear``
(the classification head's own input: for a Hugging Face classifier the pooled or projected
sequence embedding, for a CNN the pooled convolutional features), captured by a forward
pre-hook, so every architecture gets a probe without code of its own. The backbone keeps its
pretrained weights (``hf``) or its seeded initial weights (``cnn``: a random-feature baseline,
since a CNN trained from scratch has nothing before training).

The probe (standardisation and logistic-regression coefficients) lives in ``spec["probe"]`` as
plain numbers, so a one-shot model directory is just its spec.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..detection import sigmoid
from ..io import InputError
from .base import Adapter
from .cnn import encode


def last_linear(model: nn.Module) -> nn.Linear:
    """The network's last ``nn.Linear`` in registration order (its output layer).

    Parameters
    ----------
    model : torch.nn.Module
        Any network.

    Returns
    -------
    torch.nn.Linear

    Raises
    ------
    InputError
        The network has no ``nn.Linear``.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InputError(f"{type(model).__name__} has no nn.Linear layer to read features from")
    return linears[-1]


def _batches(adapter: Adapter, seqs: list[str], batch_size: int):
    """(model inputs, rows used) per batch; every batch has ``batch_size`` rows (the last padded by
    repeating its first row), so a sequence's features never depend on its batch mates."""
    if adapter.tokenizer is not None:  # hf: token tensors padded to max_tokens
        enc = adapter.encode(seqs)
        tensors = dict(enc)
    else:
        length = adapter.spec.get("input_length")
        dtype = next(adapter.model.parameters()).dtype
        tensors = {"x": encode(seqs, int(length) if length else None).to(dtype=dtype)}
    for start in range(0, len(seqs), batch_size):
        batch = {k: v[start:start + batch_size] for k, v in tensors.items()}
        n = len(next(iter(batch.values())))
        if n < batch_size:
            batch = {k: torch.cat([v, v[:1].expand(batch_size - n, *v.shape[1:])]) for k, v in batch.items()}
        batch = {k: v.to(adapter.device) for k, v in batch.items()}
        yield (batch if "x" not in batch else batch["x"]), n


def features(adapter: Adapter, seqs: list[str], batch_size: int = 64) -> np.ndarray:
    """Input of the last linear layer for each sequence, float64, shape (n, d).

    Parameters
    ----------
    adapter : CNNAdapter or HFAdapter
        An adapter with ``.model``, ``.spec`` and ``.device``; one with a ``.tokenizer`` (hf) is fed
        its ``encode`` tensors, others one-hot sequences fitted to the spec's ``input_length``.
    seqs : list of str
        DNA sequences.
    batch_size : int
        Rows per forward pass (the last batch padded with copies of its first row).

    Returns
    -------
    numpy.ndarray, float64, shape (n, d)
        d = ``in_features`` of the last linear layer.
    """
    layer = last_linear(adapter.model)
    if len(seqs) == 0:
        return np.zeros((0, layer.in_features))
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_pre_hook(
        lambda _m, inputs: captured.append(inputs[0].detach().to("cpu", torch.float64)))
    was_training = adapter.model.training
    adapter.model.eval()
    rows = []
    try:
        with torch.inference_mode():
            for batch, n in _batches(adapter, list(seqs), batch_size):
                captured.clear()
                _ = adapter.model(**batch) if isinstance(batch, dict) else adapter.model(batch)
                if len(captured) != 1:
                    raise RuntimeError(f"probe: the last linear layer ran {len(captured)} times in one pass")
                rows.append(captured[0].reshape(captured[0].shape[0], -1)[:n])
    finally:
        handle.remove()
        adapter.model.train(was_training)
    return torch.cat(rows).numpy()


def fit_probe(x: np.ndarray, labels: np.ndarray, seed: int, c: float = 1.0) -> dict[str, Any]:
    """Standardise the features and fit an L2 logistic regression; returns the probe as plain lists.

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n, d)
        Features (``features``).
    labels : numpy.ndarray of int, shape (n,)
        0/1 enhancer labels.
    seed : int
        ``random_state`` of the logistic regression.
    c : float
        Inverse L2 regularisation strength (scikit-learn's ``C``).

    Returns
    -------
    dict
        ``mean``, ``scale`` and ``coef`` (lists of d floats; a zero scale is stored as 1),
        ``intercept``, ``C`` and ``n_features``: JSON-able, for ``spec["probe"]``.
    """
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    clf.fit((x - mean) / scale, labels)
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": clf.coef_[0].tolist(),
            "intercept": float(clf.intercept_[0]), "C": c, "n_features": int(x.shape[1])}


def probe_logits(probe: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Logits of the fitted probe for features ``x``.

    Parameters
    ----------
    probe : dict
        A probe from ``fit_probe``.
    x : numpy.ndarray of float, shape (n, d)
        Features.

    Returns
    -------
    numpy.ndarray, float64, shape (n,)

    Raises
    ------
    InputError
        ``d`` differs from the probe's number of coefficients.
    """
    mean, scale, coef = (np.asarray(probe[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
    if x.shape[1] != coef.size:
        raise InputError(f"probe expects {coef.size} features, the network gives {x.shape[1]}")
    return ((x - mean) / scale) @ coef + float(probe["intercept"])


class ProbeAdapter(Adapter):
    """Enhancer probability = sigmoid(probe(features)) of an untrained (pretrained or seeded) network."""

    def __init__(self, base: Adapter, spec: dict[str, Any], batch_size: int = 64) -> None:
        self.base, self.spec = base, spec
        self.model = base.model
        self.name = str(spec.get("model_name", base.name))
        self.probe = spec["probe"]
        self.batch_size = batch_size

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Enhancer probabilities in [0, 1], float64, shape (n,).

        Parameters
        ----------
        seqs : list of str
            DNA sequences.
        batch_size : int, optional
            Rows per forward pass; default ``self.batch_size``.

        Returns
        -------
        numpy.ndarray, float64, shape (n,)

        Raises
        ------
        InputError
            The network's features do not match the probe's size.
        """
        if len(seqs) == 0:
            return np.zeros(0, dtype=np.float64)
        return sigmoid(probe_logits(self.probe, features(self.base, list(seqs), batch_size or self.batch_size)))
