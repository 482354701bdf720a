"""Variant score definitions, by name: how a model's reference and alternative outputs become one
variant score. The single home of every definition (model specs name one in ``score_kind``,
``import-predictions --score`` picks one for imported probabilities and logits).

- ``study``: the comparative study's score, no epsilon. From two-class logits,
  log2(sigmoid(alt margin) / sigmoid(ref margin)) with margin = logit_1 - logit_0, computed as a
  difference of log-sigmoids (finite for every finite margin: no 0/0 where a probability would
  underflow); from probabilities, log2(alt / ref). A zero or negative probability gives a
  non-finite score, which evaluation drops and counts (``n_dropped``), as the study did.
- ``log2ratio_eps``: log2((alt + eps) / (ref + eps)), eps = 1e-6 (always finite on [0, 1]); the
  default of our own probability models. ``log2ratio`` is its older spelling in model specs.
- ``diff``: alt - ref, for outputs already on a log scale (motif log-odds).

Everything is computed in float64. The score table's columns (``SCORE_COLUMNS``) are in
``contracts``.
"""

from __future__ import annotations

import numpy as np

from .io import InputError

EPS = 1e-6
STUDY = "study"
LOG2RATIO_EPS = "log2ratio_eps"
DIFF = "diff"
SCORE_KINDS = (STUDY, LOG2RATIO_EPS, DIFF)
ALIASES = {"log2ratio": LOG2RATIO_EPS}  # spelling in specs written before the definitions had names
_LN2 = np.log(2.0)


def resolve_score_kind(kind: str) -> str:
    """The canonical name of a score definition; InputError for an unknown one.

    Parameters
    ----------
    kind : str
        A name of ``SCORE_KINDS`` or one of its ``ALIASES``.

    Returns
    -------
    str
        The name in ``SCORE_KINDS``.
    """
    name = ALIASES.get(kind, kind)
    if name not in SCORE_KINDS:
        raise InputError(f"unknown score_kind {kind!r}; known: {', '.join(SCORE_KINDS)} "
                         f"({', '.join(f'{k} = {v}' for k, v in ALIASES.items())})")
    return name


def variant_score(ref: np.ndarray | float, alt: np.ndarray | float, kind: str = STUDY) -> np.ndarray:
    """Variant score from reference and alternative outputs (probabilities or log-scale scores).

    Parameters
    ----------
    ref, alt : array_like, shape (n,) or scalar
        Model outputs for the reference and the alternative sequence.
    kind : str
        ``study`` (log2(alt / ref), non-finite where an output is 0), ``log2ratio_eps``
        (log2((alt + 1e-6) / (ref + 1e-6))), ``diff`` (alt - ref), or an alias of these.

    Returns
    -------
    numpy.ndarray, float64, shape of the inputs
    """
    ref = np.asarray(ref, dtype=np.float64)
    alt = np.asarray(alt, dtype=np.float64)
    kind = resolve_score_kind(kind)
    if kind == DIFF:
        return alt - ref
    if kind == LOG2RATIO_EPS:
        return np.log2((alt + EPS) / (ref + EPS))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(alt / ref)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """Natural log of the logistic function, exact for large |x| (no underflow to log(0)).

    Parameters
    ----------
    x : array_like, shape (n,)

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return -np.logaddexp(0.0, -x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in float64, stable for large |x| (NaN stays NaN).

    Parameters
    ----------
    x : array_like, shape (n,)

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
    """
    return np.exp(log_sigmoid(x))


def logits_score(ref_margin: np.ndarray, alt_margin: np.ndarray, kind: str = STUDY) -> np.ndarray:
    """Variant score of a two-class classifier from its margins (logit_1 - logit_0).

    Parameters
    ----------
    ref_margin, alt_margin : array_like, shape (n,)
        Enhancer-minus-control logit of the reference and the alternative sequence.
    kind : str
        ``study``: log2(sigmoid(alt_margin) / sigmoid(ref_margin)) as a difference of
        log-sigmoids; ``log2ratio_eps``: the epsilon ratio of the two sigmoids.

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
    """
    kind = resolve_score_kind(kind)
    if kind == STUDY:
        return (log_sigmoid(alt_margin) - log_sigmoid(ref_margin)) / _LN2
    if kind == LOG2RATIO_EPS:
        return variant_score(sigmoid(ref_margin), sigmoid(alt_margin), kind)
    raise InputError(f"score_kind {kind!r} does not apply to two-class logits (use {STUDY} or {LOG2RATIO_EPS})")
