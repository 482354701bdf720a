"""Benchmark statistics as pure functions over arrays: correlations with bootstrap intervals,
direction of effect, agreement at rising experimental certainty, causal-SNP retrieval in LD blocks.

Every function takes plain arrays (or one tidy frame), never mutates its inputs and returns a
dict or a new frame; grouping, file handling and the CLI live in ``evaluate.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

MIN_PAIRS = 3  # below this a correlation is reported as NaN, not an error
PVALUE_THRESHOLDS = (0.5, 0.1, 0.05, 5e-5, 1e-5)
TOPK = (1, 2, 3)
LD_RANKINGS = ("pos_score", "neg_score", "abs_score")  # ld_topk.tsv and rank's --ranking; pos_score: the study's, highest first
_BOOT_CHUNK = 100  # bootstrap replicates per vectorised block (bounds memory at 100 x n floats)

CORRELATION_COLUMNS = [
    "n", "n_dropped", "pearson_r", "pearson_p", "spearman_r", "spearman_p",
    "pearson_ci_low", "pearson_ci_high", "spearman_ci_low", "spearman_ci_high",
]


def finite_pairs(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep pairs where both values are finite.

    Returns (x_kept, y_kept, n_dropped) as float arrays.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} vs {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], int((~keep).sum())


def resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """How often each of n items is drawn in ``size`` bootstrap resamples (with replacement).

    Returns an int array of shape (size, n), each row summing to n. Drawing indices and counting
    them keeps the random stream identical to the usual ``rng.integers(0, n, (size, n))``.
    """
    idx = rng.integers(0, n, size=(size, n))
    flat = idx + (np.arange(size) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=size * n).reshape(size, n)


def weighted_correlations(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman r of the resamples described by ``counts``, without materialising them.

    A resample that draws item i c_i times is the weighted sample (x, y, c). Pearson r is the
    weighted Pearson r; Spearman r is the weighted Pearson r of the resample's average ranks,
    which for a value v are (weight of smaller values) + (weight of values equal to v + 1) / 2.

    Parameters: x, y float arrays (n,); counts int array (B, n).
    Returns: (pearson (B,), spearman (B,)); NaN where a resample is constant.
    """
    w = np.asarray(counts, dtype=float)
    pearson = _weighted_pearson(x, y, w)
    spearman = _weighted_pearson(_weighted_ranks(x, w), _weighted_ranks(y, w), w)
    return pearson, spearman


def _weighted_ranks(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average ranks (B, n) of v within each weighted resample (rows of w)."""
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    cum = np.cumsum(np.take(w, order, axis=1), axis=1)  # weight up to and including each item
    new_value = np.r_[True, sorted_v[1:] != sorted_v[:-1]]
    if new_value.all():  # no ties: rank = weight below + (own weight + 1) / 2
        ranks_sorted = cum - (np.take(w, order, axis=1) - 1.0) / 2.0
    else:  # ties share the average rank of their group
        ends = np.flatnonzero(np.r_[new_value[1:], True])
        upto = cum[:, ends]
        below = np.concatenate([np.zeros((w.shape[0], 1)), upto[:, :-1]], axis=1)
        ranks_sorted = np.take((below + upto + 1.0) / 2.0, np.cumsum(new_value) - 1, axis=1)
    return np.take(ranks_sorted, np.argsort(order), axis=1)


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row-wise weighted Pearson r; x, y are (n,) or (B, n), w is (B, n).

    Uses weighted sums of centred values (matrix-vector products when x, y are shared).
    """
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    total = w.sum(axis=1)
    if x.ndim == 1 and y.ndim == 1:
        sx, sy = w @ x, w @ y
        sxx, syy, sxy = w @ (x * x), w @ (y * y), w @ (x * y)
    else:
        wx, wy = w * x, w * y
        sx, sy = wx.sum(axis=1), wy.sum(axis=1)
        sxx = np.einsum("ij,ij->i", wx, np.broadcast_to(x, w.shape))
        syy = np.einsum("ij,ij->i", wy, np.broadcast_to(y, w.shape))
        sxy = np.einsum("ij,ij->i", wx, np.broadcast_to(y, w.shape))
    vx = sxx - sx * sx / total
    vy = syy - sy * sy / total
    cov = sxy - sx * sy / total
    scale_x = sxx.max(initial=0.0) or 1.0
    scale_y = syy.max(initial=0.0) or 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    # constant resamples give 0/0 (up to rounding); rounding can push |r| a hair above 1
    r[(vx <= 1e-12 * scale_x) | (vy <= 1e-12 * scale_y)] = np.nan
    return np.clip(r, -1.0, 1.0)


def bootstrap_correlations(x, y, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman r over ``n_boot`` paired bootstrap resamples.

    The generator is seeded afresh on every call, so a group's interval does not depend on
    which groups were computed before it. Returns two float arrays of length n_boot.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    pearson, spearman = [], []
    for start in range(0, n_boot, _BOOT_CHUNK):
        counts = resample_counts(rng, len(x), min(_BOOT_CHUNK, n_boot - start))
        p, s = weighted_correlations(x, y, counts)
        pearson.append(p)
        spearman.append(s)
    if not pearson:
        return np.empty(0), np.empty(0)
    return np.concatenate(pearson), np.concatenate(spearman)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval, ignoring NaN replicates; (NaN, NaN) if none are finite.

    Parameters
    ----------
    samples : array_like of float
        Bootstrap replicates of a statistic.
    level : float
        Coverage, e.g. 0.95.

    Returns
    -------
    tuple of float
        ``(low, high)``, the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.
    """
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)


def correlate(score, effect, n_boot: int = 1000, seed: int = 0, replicates=None) -> dict:
    """Pearson and Spearman correlation of predicted scores with measured effects.

    Pairs with a non-finite score or effect are dropped and counted. With fewer than
    ``MIN_PAIRS`` pairs (or constant input) the statistics are NaN. Intervals are 95 %
    percentile bootstrap intervals over ``n_boot`` paired resamples (none if n_boot is 0).
    ``replicates(x, y)`` may supply the bootstrap replicates (e.g. from a cache shared with
    ``compare_correlations``); it must return ``bootstrap_correlations(x, y, n_boot, seed)``.

    Returns a dict with the keys of ``CORRELATION_COLUMNS``.
    """
    x, y, dropped = finite_pairs(score, effect)
    out = dict.fromkeys(CORRELATION_COLUMNS, float("nan"))
    out["n"], out["n_dropped"] = int(x.size), dropped
    if x.size < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pr = stats.pearsonr(x, y)
        sr = stats.spearmanr(x, y)
    out.update(pearson_r=float(pr.statistic), pearson_p=float(pr.pvalue),
               spearman_r=float(sr.statistic), spearman_p=float(sr.pvalue))
    if n_boot > 0:
        boot_p, boot_s = (replicates or (lambda u, v: bootstrap_correlations(u, v, n_boot, seed)))(x, y)
        out["pearson_ci_low"], out["pearson_ci_high"] = percentile_interval(boot_p)
        out["spearman_ci_low"], out["spearman_ci_high"] = percentile_interval(boot_s)
    return out


def direction_fractions(score, effect) -> dict:
    """How often the sign of the score matches the sign of the measured effect, per direction.

    Variants with a zero or non-finite effect, or a non-finite score, are left out. A score of
    exactly 0 predicts neither direction (it counts as a miss for both up and down variants).

    Parameters
    ----------
    score, effect : array_like of float, shape (n,)
        Predicted scores and measured effects of the same variants.

    Returns
    -------
    dict
        n_up, n_down (int), frac_up_predicted_up, frac_down_predicted_down (float, NaN for a
        direction without variants).
    """
    return _fractions(*_signed_pairs(score, effect))


def _signed_pairs(score, effect) -> tuple[np.ndarray, np.ndarray]:
    """The scores (n,) of the variants with a finite score and a non-zero finite effect, and
    whether each was measured up (bool, (n,))."""
    x, y, _ = finite_pairs(score, effect)
    keep = y != 0
    return x[keep], y[keep] > 0


def _fractions(x: np.ndarray, up: np.ndarray) -> dict:
    """``direction_fractions`` of ``_signed_pairs``' output."""
    n_up, n_down = int(up.sum()), int((~up).sum())
    nan = float("nan")
    return dict(n_up=n_up, n_down=n_down,
                frac_up_predicted_up=float((x[up] > 0).mean()) if n_up else nan,
                frac_down_predicted_down=float((x[~up] < 0).mean()) if n_down else nan)


def direction_metrics(score, effect) -> dict:
    """How well the sign of the score matches the sign of the measured effect.

    The fractions are those of ``direction_fractions`` (same variants left out). sign_auroc /
    sign_auprc rank variants by score against "measured up"; sign_f1 scores the call
    "score > 0" against "measured up". Sign metrics are NaN unless both classes occur.

    Returns a dict: n_up, n_down, frac_up_predicted_up, frac_down_predicted_down,
    balanced_accuracy, sign_auroc, sign_auprc, sign_f1.
    """
    x, up = _signed_pairs(score, effect)
    out = _fractions(x, up)
    nan = float("nan")
    out.update(balanced_accuracy=(out["frac_up_predicted_up"] + out["frac_down_predicted_down"]) / 2.0,
               sign_auroc=nan, sign_auprc=nan, sign_f1=nan)
    if out["n_up"] and out["n_down"]:
        out.update(sign_auroc=float(roc_auc_score(up, x)),
                   sign_auprc=float(average_precision_score(up, x)),
                   sign_f1=float(f1_score(up, x > 0, zero_division=0.0)))
    return out


def significance_rows(score, effect, pvalue, thresholds=PVALUE_THRESHOLDS) -> list[dict]:
    """Correlation and direction among variants measured with p-value <= each threshold.

    Variants without a finite p-value are left out at every threshold. Returns one dict per
    threshold: pvalue_max, n, pearson_r, spearman_r, frac_up_predicted_up,
    frac_down_predicted_down (n counts finite score/effect pairs).
    """
    score = np.asarray(score, dtype=float)
    effect = np.asarray(effect, dtype=float)
    pvalue = np.asarray(pvalue, dtype=float)
    rows = []
    for t in thresholds:
        keep = np.isfinite(pvalue) & (pvalue <= t)
        corr = correlate(score[keep], effect[keep], n_boot=0)
        direction = direction_fractions(score[keep], effect[keep])
        rows.append(dict(pvalue_max=float(t), n=corr["n"], pearson_r=corr["pearson_r"],
                         spearman_r=corr["spearman_r"],
                         frac_up_predicted_up=direction["frac_up_predicted_up"],
                         frac_down_predicted_down=direction["frac_down_predicted_down"]))
    return rows


def rank_in_block(keys: np.ndarray, target: int) -> int:
    """1-based rank of item ``target`` when items are sorted by ``keys`` descending.

    Ties are resolved against the target: it is placed after every item with an equal key,
    so a model that cannot tell the SNPs of a block apart earns no credit for it.

    Parameters
    ----------
    keys : array_like of float, shape (n,)
        Ranking key of each item of the block (``ranking_key``).
    target : int
        Index of the item ranked (the causal variant).

    Returns
    -------
    int
        In 1..n.
    """
    keys = np.asarray(keys, dtype=float)
    return int((keys >= keys[target]).sum())


def ld_topk(block_id, is_causal, score, ranking: str = "neg_score", ks=TOPK) -> dict:
    """Retrieval of causal SNPs among their LD partners.

    Rankings: ``pos_score`` puts the highest score first (the study's ranking); ``neg_score``
    puts the most negative score (most activity-disrupting) first; ``abs_score`` puts the
    largest |score| (largest predicted effect either way) first.
    Variants with a non-finite score are removed before ranking. Each causal SNP is ranked
    among itself and the non-causal members of its block (ties against it, see
    ``rank_in_block``); blocks without a causal SNP are skipped. The random expectation for
    one causal SNP among m candidates is min(k, m) / m.

    Returns a dict: n_blocks (causal SNPs evaluated; one per block in the usual design),
    top<k> (fraction ranked within the top k) and random_top<k> (mean random expectation).
    """
    if ranking not in LD_RANKINGS:
        raise ValueError(f"ranking must be one of {LD_RANKINGS}, got {ranking!r}")
    frame = pd.DataFrame({"block": np.asarray(block_id), "causal": np.asarray(is_causal, dtype=bool),
                          "score": np.asarray(score, dtype=float)})
    frame = frame[np.isfinite(frame["score"])]
    frame = frame.assign(key=ranking_key(frame["score"].to_numpy(), ranking))
    ranks, sizes = [], []
    for _, block in frame.groupby("block", sort=True):
        partners = block.loc[~block["causal"], "key"].to_numpy()
        for causal_key in block.loc[block["causal"], "key"].to_numpy():
            keys = np.concatenate([[causal_key], partners])
            ranks.append(rank_in_block(keys, 0))
            sizes.append(keys.size)
    ranks_a, sizes_a = np.asarray(ranks), np.asarray(sizes, dtype=float)
    out: dict = {"n_blocks": len(ranks)}
    for k in ks:
        out[f"top{k}"] = float((ranks_a <= k).mean()) if ranks else float("nan")
    for k in ks:
        out[f"random_top{k}"] = float((np.minimum(k, sizes_a) / sizes_a).mean()) if ranks else float("nan")
    return out


def ranking_key(score, ranking: str) -> np.ndarray:
    """The key variants are ranked by, largest first: how each ranking reads a score.

    Parameters
    ----------
    score : array_like of float, shape (n,)
        Variant scores (alt vs ref).
    ranking : str
        ``pos_score`` (highest score first: the largest predicted gain of activity, the study's
        ranking of LD partners), ``abs_score`` (largest |score| first: the largest predicted
        effect either way) or ``neg_score`` (most negative first: the most disrupting).

    Returns
    -------
    numpy.ndarray of float, shape (n,)
    """
    if ranking not in LD_RANKINGS:
        raise ValueError(f"ranking must be one of {LD_RANKINGS}, got {ranking!r}")
    score = np.asarray(score, dtype=float)
    return score.copy() if ranking == "pos_score" else np.abs(score) if ranking == "abs_score" else -score


def parse_bool(values) -> np.ndarray:
    """Read an is_causal-style column (1/0, true/false, yes/no; any case) as booleans.

    Parameters
    ----------
    values : array_like
        The column's cells (empty and NaN read as false).

    Returns
    -------
    numpy.ndarray of bool, shape (n,)

    Raises
    ------
    ValueError
        For a cell that is none of these values.
    """
    text = pd.Series(values).astype(str).str.strip().str.lower()
    truth = text.isin(["1", "1.0", "true", "t", "yes", "y"])
    falsity = text.isin(["0", "0.0", "false", "f", "no", "n", "", "nan"])
    if not (truth | falsity).all():
        bad = sorted(set(text[~(truth | falsity)]))[:5]
        raise ValueError(f"not a boolean value: {', '.join(bad)}")
    return truth.to_numpy()


COMPARISON_COLUMNS = ["n", "r_a", "r_b", "r_ab", "z", "p", "spearman_diff", "diff_ci_low", "diff_ci_high"]


def steiger_test(r_a, r_b, r_ab, n) -> tuple[float, float]:
    """Two-sided z test of r_a = r_b for two correlations sharing a variable (dependent, overlapping).

    r_a = corr(A, Y), r_b = corr(B, Y) and r_ab = corr(A, B), all on the same n observations
    (here: two models' scores and the measured effect). Steiger (1980, Psychol. Bull. 87:245) in
    the form of Meng, Rosenthal & Rubin (1992, Psychol. Bull. 111:172), eq. 1:

        z = (atanh r_a - atanh r_b) * sqrt((n - 3) / (2 (1 - r_ab) h))
        h = (1 - f rbar2) / (1 - rbar2),  f = min(1, (1 - r_ab) / (2 (1 - rbar2))),
        rbar2 = (r_a^2 + r_b^2) / 2

    and p = 2 (1 - Phi(|z|)). z > 0 when r_a > r_b. Works elementwise on arrays. Identical
    scores (r_ab = 1, r_a = r_b) give z = 0, p = 1; n < 4 or |r| = 1 otherwise give NaN.
    Returns (z, p) as floats (or arrays for array input).
    """
    r_a, r_b, r_ab, n = (np.asarray(v, dtype=float) for v in (r_a, r_b, r_ab, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        rbar2 = (r_a ** 2 + r_b ** 2) / 2.0
        f = np.minimum(1.0, (1.0 - r_ab) / (2.0 * (1.0 - rbar2)))
        h = (1.0 - f * rbar2) / (1.0 - rbar2)
        z = (np.arctanh(r_a) - np.arctanh(r_b)) * np.sqrt((n - 3.0) / (2.0 * (1.0 - r_ab) * h))
    same = (r_ab >= 1.0) & (r_a == r_b)
    z = np.where(same, 0.0, z)
    z = np.where((n < 4) | ~np.isfinite(z), np.nan, z)
    p = 2.0 * stats.norm.sf(np.abs(z))
    if z.ndim == 0:
        return float(z), float(p)
    return z, p


def pair_correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson and Spearman r of two vectors (scipy's, warnings of constant input silenced).

    Parameters
    ----------
    x, y : numpy.ndarray of float, shape (n,)
        Finite values, n >= 2.

    Returns
    -------
    (float, float)
        Pearson r and Spearman r (NaN for constant input).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.pearsonr(x, y).statistic), float(stats.spearmanr(x, y).statistic)


def compare_correlations(score_a, score_b, effect, n_boot: int = 1000, seed: int = 0,
                         replicates=None, correlations=None) -> dict:
    """Is model A's score more correlated with the effect than model B's, on the same variants?

    Triples with a non-finite value are dropped. Pearson r's are compared with ``steiger_test``;
    the Spearman difference (rho_a - rho_b) gets a 95 % percentile interval from a paired
    bootstrap: both models are correlated on the same resamples, which holds because
    ``bootstrap_correlations`` draws its resamples from ``seed`` and n alone.
    ``replicates(x, y)`` may supply the replicates (e.g. from a cache shared with ``correlate``);
    it must return ``bootstrap_correlations(x, y, n_boot, seed)``. ``correlations(x, y)`` may
    supply each model's correlation with the effect (e.g. from a cache shared by every pair of a
    group); it must return ``pair_correlations(x, y)``.

    Returns a dict with the keys of ``COMPARISON_COLUMNS`` (NaN where undefined).
    """
    a = np.asarray(score_a, dtype=float)
    b = np.asarray(score_b, dtype=float)
    y = np.asarray(effect, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    a, b, y = a[keep], b[keep], y[keep]
    out = dict.fromkeys(COMPARISON_COLUMNS, float("nan"))
    out["n"] = int(y.size)
    if y.size < MIN_PAIRS + 1 or np.ptp(a) == 0 or np.ptp(b) == 0 or np.ptp(y) == 0:
        return out
    correlations = correlations or pair_correlations
    (r_a, rho_a), (r_b, rho_b) = correlations(a, y), correlations(b, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_ab = float(stats.pearsonr(a, b).statistic)
    rho = rho_a - rho_b
    z, p = steiger_test(r_a, r_b, r_ab, y.size)
    out.update(r_a=r_a, r_b=r_b, r_ab=r_ab, z=z, p=p, spearman_diff=rho)
    if n_boot > 0:
        boot = replicates or (lambda u, v: bootstrap_correlations(u, v, n_boot, seed))
        out["diff_ci_low"], out["diff_ci_high"] = percentile_interval(boot(a, y)[1] - boot(b, y)[1])
    return out


def adjust_pvalues(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's false_discovery_control); NaN stays NaN.

    Parameters
    ----------
    p : array_like of float
        P-values.

    Returns
    -------
    numpy.ndarray of float, same shape as ``p``
        Adjusted over the finite p-values only.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = stats.false_discovery_control(p[finite], method="bh")
    return out
