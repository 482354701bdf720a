"""Enhancer detection metrics: how well a model tells enhancers from controls (enhancer_detection.tsv).

The metrics layer (ARCHITECTURE.md), beside ``metrics`` (variant-effect statistics);
``detection_table`` builds the table of every model directory. sklearn is
imported inside the functions, so that scoring, which imports this module through the model
adapters (``sigmoid``), does not pay for it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .contracts import DETECTION_COLUMNS

log = logging.getLogger(__name__)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function in float64.

    Not ``score_kinds.sigmoid`` (exp of the log-sigmoid): the two formulas differ in the last
    bits, and each keeps the tables it has always written byte-identical.

    Parameters
    ----------
    logits : array_like of float
        Logits, any shape.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``logits``
        Probabilities in [0, 1].
    """
    logits = np.asarray(logits, dtype=np.float64)
    return np.where(logits >= 0, 1 / (1 + np.exp(-np.abs(logits))),
                    np.exp(-np.abs(logits)) / (1 + np.exp(-np.abs(logits))))


def detection_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """auROC, auPRC (average precision) and F1 at probability 0.5; NaN where undefined.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        0/1 labels (1 = enhancer).
    probs : array_like of float, shape (n,)
        Predicted probabilities of being an enhancer.

    Returns
    -------
    dict of str -> float
        ``auroc``, ``auprc`` and ``f1``; all NaN when ``labels`` is empty, auROC and auPRC NaN when
        only one class is present.
    """
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    labels = np.asarray(labels)
    nan = float("nan")
    if len(labels) == 0:
        return {"auroc": nan, "auprc": nan, "f1": nan}
    both = len(np.unique(labels)) == 2
    return {
        "auroc": float(roc_auc_score(labels, probs)) if both else nan,
        "auprc": float(average_precision_score(labels, probs)) if both else nan,
        "f1": float(f1_score(labels, (np.asarray(probs) >= 0.5).astype(int), zero_division=0)),
    }


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score cut-off (predict positive at >=) with the highest F1; the lowest on ties.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        0/1 labels.
    scores : numpy.ndarray of float, shape (n,)
        Model outputs on any scale.

    Returns
    -------
    float
        One of the values of ``scores``; NaN when ``scores`` is empty.
    """
    order = np.argsort(-scores, kind="stable")
    y, s = labels[order], scores[order]
    tp = np.cumsum(y)
    last = np.r_[s[1:] != s[:-1], True]  # cut after each run of equal scores
    f1 = 2 * tp / (np.arange(1, len(y) + 1) + y.sum())
    f1 = np.where(last, f1, -1.0)
    return float(s[int(np.argmax(f1))]) if len(s) else float("nan")


def f1_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """F1 of predicting an enhancer where ``scores >= threshold``.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        0/1 labels.
    scores : numpy.ndarray of float, shape (n,)
        Model outputs on any scale.
    threshold : float
        The cut-off, e.g. from ``best_f1_threshold``.

    Returns
    -------
    float
        F1 (0 where it is undefined).
    """
    from sklearn.metrics import f1_score

    return float(f1_score(labels, scores >= threshold, zero_division=0))


def detection_table(model: str, cell_line: str, labels: dict[str, np.ndarray], scores: dict[str, np.ndarray],
                    threshold: float | None = None) -> pd.DataFrame:
    """The rows of ``enhancer_detection.tsv``: one per split of ``scores``, in their order.

    Parameters
    ----------
    model, cell_line : str
        The ``model`` and ``cell_line`` columns.
    labels, scores : dict of str -> numpy.ndarray, shape (n,)
        Per split, the 0/1 labels and the model's outputs (probabilities, or scores on any scale
        with a ``threshold``).
    threshold : float, optional
        F1 predicts an enhancer at ``scores >= threshold``; without one, at probability 0.5.

    Returns
    -------
    pandas.DataFrame
        ``contracts.DETECTION_COLUMNS``: model, cell_line, split, n, auroc, auprc, f1.
    """
    rows = []
    for split, values in scores.items():
        metrics = detection_metrics(labels[split], values)
        if threshold is not None:
            metrics["f1"] = f1_at(labels[split], values, threshold)
        rows.append({"model": model, "cell_line": cell_line, "split": split, "n": len(labels[split]), **metrics})
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


def log_detection(table: pd.DataFrame, note: str = "") -> None:
    """One log line per row of a detection table (``note`` follows the split, e.g. " (as published)").

    Parameters
    ----------
    table : pandas.DataFrame
        ``contracts.DETECTION_COLUMNS``, as from ``detection_table``.
    note : str, optional
        Text logged after each split name.
    """
    for row in table.to_dict("records"):
        log.info("%s %s%s: auROC %.4f auPRC %.4f F1 %.4f (n=%d)", row["model"], row["split"], note,
                 row["auroc"], row["auprc"], row["f1"], row["n"])
