"""metrics: checked against independent scipy / scikit-learn computations and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from regvarbench import metrics


@pytest.fixture
def pairs():
    rng = np.random.default_rng(7)
    x = rng.normal(size=200)
    y = 0.5 * x + rng.normal(size=200)
    return x, y


def test_correlate_matches_scipy(pairs):
    x, y = pairs
    out = metrics.correlate(x, y, n_boot=200, seed=1)
    pr, sr = stats.pearsonr(x, y), stats.spearmanr(x, y)
    assert out["n"] == 200 and out["n_dropped"] == 0
    assert out["pearson_r"] == pytest.approx(pr.statistic, abs=1e-12)
    assert out["pearson_p"] == pytest.approx(pr.pvalue, rel=1e-9)
    assert out["spearman_r"] == pytest.approx(sr.statistic, abs=1e-12)
    assert out["spearman_p"] == pytest.approx(sr.pvalue, rel=1e-9)


def test_bootstrap_ci_contains_estimate_and_is_deterministic(pairs):
    x, y = pairs
    a = metrics.correlate(x, y, n_boot=300, seed=3)
    b = metrics.correlate(x, y, n_boot=300, seed=3)
    c = metrics.correlate(x, y, n_boot=300, seed=4)
    assert a == b
    assert a["pearson_ci_low"] != c["pearson_ci_low"]
    assert a["pearson_ci_low"] < a["pearson_r"] < a["pearson_ci_high"]
    assert a["spearman_ci_low"] < a["spearman_r"] < a["spearman_ci_high"]


def test_bootstrap_replicates_equal_explicit_resamples():
    """The weighted shortcut must give what scipy gives on the materialised resamples (with ties)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=60).astype(float)  # many ties
    y = x + rng.normal(size=60)
    idx = np.random.default_rng(11).integers(0, 60, size=(25, 60))
    counts = metrics.resample_counts(np.random.default_rng(11), 60, 25)
    p, s = metrics.weighted_correlations(x, y, counts)
    expect_p = [stats.pearsonr(x[i], y[i]).statistic for i in idx]
    expect_s = [stats.spearmanr(x[i], y[i]).statistic for i in idx]
    np.testing.assert_allclose(p, expect_p, atol=1e-12)
    np.testing.assert_allclose(s, expect_s, atol=1e-12)


def test_bootstrap_interval_matches_percentiles_of_explicit_resamples(pairs):
    x, y = pairs
    out = metrics.correlate(x, y, n_boot=150, seed=5)
    rng = np.random.default_rng(5)
    idx = rng.integers(0, len(x), size=(100, len(x)))  # first chunk
    idx = np.vstack([idx, rng.integers(0, len(x), size=(50, len(x)))])
    boot = [stats.pearsonr(x[i], y[i]).statistic for i in idx]
    assert out["pearson_ci_low"] == pytest.approx(np.quantile(boot, 0.025), abs=1e-12)
    assert out["pearson_ci_high"] == pytest.approx(np.quantile(boot, 0.975), abs=1e-12)


def test_non_finite_pairs_dropped_and_counted(pairs):
    x, y = pairs
    x2, y2 = x.copy(), y.copy()
    x2[[0, 5]] = np.nan
    y2[9] = np.inf
    x2[20] = -np.inf
    out = metrics.correlate(x2, y2, n_boot=0)
    keep = np.ones(len(x), bool)
    keep[[0, 5, 9, 20]] = False
    assert (out["n"], out["n_dropped"]) == (196, 4)
    assert out["n"] + out["n_dropped"] == len(x)
    assert out["pearson_r"] == pytest.approx(stats.pearsonr(x[keep], y[keep]).statistic, abs=1e-12)
    assert np.isnan(out["pearson_ci_low"])  # no bootstrap requested


@pytest.mark.parametrize("x,y", [([1.0, 2.0], [2.0, 1.0]), ([], []), ([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]),
                                 ([1.0, np.nan, 2.0, 3.0], [1.0, 2.0, np.nan, 3.0])])
def test_small_or_constant_groups_give_nan(x, y):
    out = metrics.correlate(x, y, n_boot=50, seed=0)
    assert np.isnan(out["pearson_r"]) and np.isnan(out["spearman_ci_high"])
    assert out["n"] + out["n_dropped"] == len(x)


def test_direction_hand_made():
    effect = [1.0, 2.0, 0.5, -1.0, -2.0, 0.0, 3.0, np.nan]
    score = [0.3, -0.1, 0.0, -0.4, 0.2, 5.0, 1.0, 1.0]
    out = metrics.direction_metrics(score, effect)
    # up: scores 0.3, -0.1, 0.0, 1.0 -> 2 of 4 predicted up; down: -0.4, 0.2 -> 1 of 2
    assert (out["n_up"], out["n_down"]) == (4, 2)
    assert out["frac_up_predicted_up"] == 0.5
    assert out["frac_down_predicted_down"] == 0.5
    assert out["balanced_accuracy"] == 0.5
    up = np.array([1, 1, 1, 0, 0, 1])
    s = np.array([0.3, -0.1, 0.0, -0.4, 0.2, 1.0])
    assert out["sign_auroc"] == pytest.approx(roc_auc_score(up, s))
    assert out["sign_auprc"] == pytest.approx(average_precision_score(up, s))
    assert out["sign_f1"] == pytest.approx(f1_score(up, s > 0))


def test_direction_fractions_are_those_of_direction_metrics(pairs):
    """significance_rows takes only the fractions; they must be the very numbers of the full table."""
    x, y = pairs
    for keep in (slice(None), slice(0, 7), slice(0, 0)):
        full, fractions = metrics.direction_metrics(x[keep], y[keep]), metrics.direction_fractions(x[keep], y[keep])
        for key, value in fractions.items():
            assert value == full[key] or (np.isnan(value) and np.isnan(full[key])), key
        assert list(fractions) == ["n_up", "n_down", "frac_up_predicted_up", "frac_down_predicted_down"]


def test_direction_one_class_has_nan_sign_metrics():
    out = metrics.direction_metrics([1.0, -1.0, 2.0], [1.0, 1.0, 1.0])
    assert out["n_down"] == 0 and np.isnan(out["frac_down_predicted_down"]) and np.isnan(out["sign_auroc"])
    assert out["frac_up_predicted_up"] == pytest.approx(2 / 3)


def test_significance_rows_filter_by_pvalue(pairs):
    x, y = pairs
    p = np.random.default_rng(2).uniform(0, 1, size=len(x)) ** 4
    p[3] = np.nan
    rows = metrics.significance_rows(x, y, p)
    assert [r["pvalue_max"] for r in rows] == list(metrics.PVALUE_THRESHOLDS)
    for r in rows:
        keep = p <= r["pvalue_max"]
        assert r["n"] == keep.sum()
        if keep.sum() >= 3:
            assert r["spearman_r"] == pytest.approx(stats.spearmanr(x[keep], y[keep]).statistic)
    assert [r["n"] for r in rows] == sorted([r["n"] for r in rows], reverse=True)


def test_ld_topk_hand_made():
    # block A: causal has the most negative score -> rank 1 of 3
    # block B: causal third most negative of 4 -> rank 3 (last of 4 by |score|)
    # block C: causal ties with a partner -> ranked after it (rank 2 of 2)
    # block D: no causal SNP -> skipped; block E: causal score NaN -> skipped
    block = ["A", "A", "A", "B", "B", "B", "B", "C", "C", "D", "D", "E", "E"]
    causal = [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]
    score = [-2.0, 0.5, -1.0, -3.0, -0.5, -1.0, 0.8, -1.0, -1.0, 1.0, 2.0, np.nan, 1.0]
    out = metrics.ld_topk(block, np.array(causal, bool), score, ranking="neg_score")
    assert out["n_blocks"] == 3
    # ranks 1, 3, 2
    assert (out["top1"], out["top2"], out["top3"]) == pytest.approx((1 / 3, 2 / 3, 1.0))
    sizes = np.array([3, 4, 2])
    for k in (1, 2, 3):
        assert out[f"random_top{k}"] == pytest.approx(np.mean(np.minimum(k, sizes) / sizes))
    by_abs = metrics.ld_topk(block, np.array(causal, bool), score, ranking="abs_score")
    # |score|: A causal 2.0 first; B causal 0.5 is last of 4; C tie -> rank 2
    assert (by_abs["top1"], by_abs["top2"], by_abs["top3"]) == pytest.approx((1 / 3, 2 / 3, 2 / 3))
    assert by_abs["random_top2"] == out["random_top2"]
    by_pos = metrics.ld_topk(block, np.array(causal, bool), score, ranking="pos_score")
    # highest score first (the study's ranking): A causal -2.0 last of 3; B -0.5 after 0.8; C tie -> 2
    assert (by_pos["top1"], by_pos["top2"], by_pos["top3"]) == pytest.approx((0.0, 2 / 3, 1.0))


def test_ld_topk_constant_model_gets_no_credit():
    out = metrics.ld_topk(["A"] * 4, [True, False, False, False], [0.0] * 4)
    assert out["top3"] == 0.0 and out["random_top1"] == 0.25


def test_parse_bool():
    assert metrics.parse_bool(["1", "0", "True", "false", 1, 0]).tolist() == [True, False, True, False, True, False]
    with pytest.raises(ValueError):
        metrics.parse_bool(["maybe"])


# ---------------------------------------------------------------- comparing two models


def test_steiger_hand_computed_example():
    # r_a = .5, r_b = .3, r_ab = .4, n = 103, by hand:
    # atanh(.5) - atanh(.3) = 0.549306 - 0.309520 = 0.239786; rbar2 = (.25 + .09) / 2 = .17
    # f = .6 / (2 * .83) = 0.361446; h = (1 - 0.361446 * .17) / .83 = 1.130788
    # z = 0.239786 * sqrt(100 / (2 * .6 * 1.130788)) = 0.239786 * 8.58457 = 2.05846; p = 2 (1 - Phi(z)) = 0.03955
    z, p = metrics.steiger_test(0.5, 0.3, 0.4, 103)
    assert z == pytest.approx(2.05846, abs=1e-4)
    assert p == pytest.approx(0.03955, abs=1e-4)
    z_swapped, p_swapped = metrics.steiger_test(0.3, 0.5, 0.4, 103)
    assert z_swapped == pytest.approx(-z) and p_swapped == pytest.approx(p)
    # f capped at 1: r_ab = -.9 makes (1 - r_ab) / (2 (1 - rbar2)) > 1, then h = 1
    z, _ = metrics.steiger_test(0.5, 0.3, -0.9, 103)
    assert z == pytest.approx(0.239786 * np.sqrt(100 / (2 * 1.9)), abs=1e-4)
    assert metrics.steiger_test(0.4, 0.4, 1.0, 50) == (0.0, 1.0)
    assert np.isnan(metrics.steiger_test(0.5, 0.3, 0.4, 3)[0])


def simulated_rates(rho_a: float, rho_b: float, n: int = 100, sims: int = 2000, seed: int = 0) -> float:
    """Fraction of simulations where steiger_test rejects at alpha = 0.05."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(sims, n))
    shared = rng.normal(size=(sims, n))  # the two scores also share noise (r_ab > r_a r_b)
    a = rho_a * y + np.sqrt(1 - rho_a ** 2) * (0.6 * shared + 0.8 * rng.normal(size=(sims, n)))
    b = rho_b * y + np.sqrt(1 - rho_b ** 2) * (0.6 * shared + 0.8 * rng.normal(size=(sims, n)))

    def corr(u, v):
        u = u - u.mean(axis=1, keepdims=True)
        v = v - v.mean(axis=1, keepdims=True)
        return (u * v).sum(axis=1) / np.sqrt((u * u).sum(axis=1) * (v * v).sum(axis=1))

    _, p = metrics.steiger_test(corr(a, y), corr(b, y), corr(a, b), n)
    return float((p < 0.05).mean())


def test_steiger_type_one_error_near_alpha():
    rate = simulated_rates(0.4, 0.4)
    # 2000 simulations: binomial sd of the rate is ~0.005
    assert 0.035 < rate < 0.065, rate


def test_steiger_has_power_against_unequal_correlations():
    assert simulated_rates(0.5, 0.2) > 0.8


def test_compare_correlations_paired_bootstrap():
    rng = np.random.default_rng(2)
    y = rng.normal(size=120)
    a = 0.7 * y + rng.normal(size=120)
    b = 0.2 * y + rng.normal(size=120)
    b[5] = np.nan  # dropped from both
    out = metrics.compare_correlations(a, b, y, n_boot=300, seed=4)
    keep = np.isfinite(b)
    assert out["n"] == 119
    assert out["r_a"] == pytest.approx(stats.pearsonr(a[keep], y[keep]).statistic)
    assert out["r_ab"] == pytest.approx(stats.pearsonr(a[keep], b[keep]).statistic)
    expect_diff = stats.spearmanr(a[keep], y[keep]).statistic - stats.spearmanr(b[keep], y[keep]).statistic
    assert out["spearman_diff"] == pytest.approx(expect_diff)
    # the interval comes from the same explicit resamples for both models
    counts = metrics.resample_counts(np.random.default_rng(4), 119, 300)
    idx = [np.repeat(np.arange(119), c) for c in counts]
    diffs = [stats.spearmanr(a[keep][i], y[keep][i]).statistic - stats.spearmanr(b[keep][i], y[keep][i]).statistic
             for i in idx]
    low, high = np.quantile(diffs, [0.025, 0.975])
    assert (out["diff_ci_low"], out["diff_ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert out["diff_ci_low"] < out["spearman_diff"] < out["diff_ci_high"]
    assert out["z"] > 0 and out["p"] < 0.05
    assert metrics.compare_correlations(a, b, y, n_boot=300, seed=4) == out


def test_adjust_pvalues_benjamini_hochberg():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    # sorted finite: .01, .03, .04, .5 -> .01*4/1, .03*4/2, .04*4/3, .5 -> monotone from the top
    expect = [0.04, np.nan, 0.0533333333, 0.0533333333, 0.5]
    np.testing.assert_allclose(metrics.adjust_pvalues(p), expect, rtol=1e-8)
