"""Tests of alignstat.stats against SciPy, statsmodels and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from alignstat import ConfidenceInterval
from alignstat.stats import (
    adjust_pvalues,
    paired_comparison,
    paired_ttest,
    pearson_r,
    significance_stars,
    wilcoxon_signed_rank,
)

ALTS = ["two-sided", "less", "greater"]

# ------------------------------------------------------------------- t-test


def test_ttest_hand_computed():
    # d = (1, 2, 3): mean 2, sd 1, t = 2 sqrt(3); with 2 df the t CDF is
    # 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - t / sqrt(2 + t^2) = 1 - sqrt(12/14)
    res = paired_ttest([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert res.statistic == pytest.approx(2 * np.sqrt(3), rel=1e-14)
    assert res.pvalue == pytest.approx(1 - np.sqrt(12 / 14), rel=1e-12)
    assert res.df == 2 and res.n == 3 and res.mean_difference == 2.0


@pytest.mark.parametrize("alternative", ALTS)
def test_ttest_matches_scipy(rng, alternative):
    x = rng.normal(size=(4, 30))
    y = x + rng.normal(0.2, 1.0, size=(4, 30))
    res = paired_ttest(x, y, alternative=alternative)
    ref = stats.ttest_rel(x, y, axis=-1, alternative=alternative)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-10)
    np.testing.assert_allclose(res.df, ref.df)
    lo, hi = res.confidence_interval(0.9)
    rci = ref.confidence_interval(0.9)
    np.testing.assert_allclose(lo, rci.low, rtol=1e-10)
    np.testing.assert_allclose(hi, rci.high, rtol=1e-10)


def test_ttest_nan_pairs_dropped_per_row(rng):
    x = rng.normal(size=(3, 12))
    y = rng.normal(size=(3, 12))
    x[0, 2] = np.nan
    y[1, [0, 5]] = np.nan
    res = paired_ttest(x, y)
    for i in range(3):
        ok = ~(np.isnan(x[i]) | np.isnan(y[i]))
        ref = stats.ttest_rel(x[i, ok], y[i, ok])
        assert res.pvalue[i] == pytest.approx(ref.pvalue, rel=1e-10)
        assert res.n[i] == ok.sum()
    one = paired_ttest([1.0, np.nan], [0.0, 2.0])
    assert np.isnan(one.statistic) and np.isnan(one.pvalue) and one.n == 1


# ----------------------------------------------------------------- Wilcoxon


def test_wilcoxon_hand_computed():
    # all five differences positive: R+ = 15 = max, exact P(R+ = 15) = 1/32
    res = wilcoxon_signed_rank([1.0, 2, 3, 4, 5], [0.0, 0, 0, 0, 0])
    assert res.r_plus == 15 and res.statistic == 0
    assert res.pvalue == pytest.approx(2 / 32, rel=1e-14)
    assert res.method == "exact"
    g = wilcoxon_signed_rank([1.0, 2, 3, 4, 5], [0.0, 0, 0, 0, 0], alternative="greater")
    assert g.pvalue == pytest.approx(1 / 32, rel=1e-14)


@pytest.mark.parametrize("alternative", ALTS)
@pytest.mark.parametrize(
    "case",
    ["exact", "ties_small", "ties_large", "zeros_small", "zeros_large", "large"],
)
def test_wilcoxon_matches_scipy(rng, alternative, case):
    if case == "exact":
        x, y = rng.normal(size=20), rng.normal(0.3, 1, size=20)
    elif case == "ties_small":
        x, y = rng.integers(0, 4, 11).astype(float), rng.integers(0, 5, 11).astype(float)
    elif case == "ties_large":
        x, y = rng.integers(0, 6, 40).astype(float), rng.integers(0, 7, 40).astype(float)
    elif case == "zeros_small":
        x = rng.normal(size=9)
        y = x + np.r_[0.0, rng.normal(0.5, 1, 8)]
    elif case == "zeros_large":
        x = rng.normal(size=35)
        y = x + np.r_[0.0, 0.0, rng.normal(0.5, 1, 33)]
    else:
        x, y = rng.normal(size=80), rng.normal(0.1, 1, size=80)
    res = wilcoxon_signed_rank(x, y, alternative=alternative)
    ref = stats.wilcoxon(x, y, alternative=alternative)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("method", ["exact", "asymptotic"])
@pytest.mark.parametrize("correction", [False, True])
def test_wilcoxon_forced_methods(rng, method, correction):
    x, y = rng.normal(size=25), rng.normal(0.4, 1, size=25)
    res = wilcoxon_signed_rank(x, y, method=method, correction=correction)
    ref = stats.wilcoxon(x, y, method=method, correction=correction)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    if method == "asymptotic" and not correction:
        # z of R+ against its normal approximation, by hand
        d = x - y
        r = stats.rankdata(np.abs(d))
        z = (r[d > 0].sum() - 25 * 26 / 4) / np.sqrt(25 * 26 * 51 / 24)
        assert res.zstatistic == pytest.approx(z, rel=1e-12)


def test_wilcoxon_batch_and_nan(rng):
    x = rng.normal(size=(2, 3, 15))
    y = rng.normal(size=(2, 3, 15))
    x[1, 2, :4] = np.nan
    res = wilcoxon_signed_rank(x, y)
    assert res.pvalue.shape == (2, 3)
    ok = ~np.isnan(x[1, 2])
    assert res.pvalue[1, 2] == pytest.approx(stats.wilcoxon(x[1, 2, ok], y[1, 2, ok]).pvalue)
    assert res.n[1, 2] == 11
    assert res.pvalue[0, 1] == pytest.approx(stats.wilcoxon(x[0, 1], y[0, 1]).pvalue)


# ----------------------------------------------------------------- Pearson


def test_pearson_hand_computed():
    # x = 1..4, y = (1, 3, 2, 4): r = 0.8; Fisher z = atanh(0.8), se = 1/sqrt(1)
    res = pearson_r([1.0, 2, 3, 4], [1.0, 3, 2, 4])
    assert res.statistic == pytest.approx(0.8, rel=1e-14)
    q = stats.norm.ppf(0.975)
    ci = res.confidence_interval()
    assert ci.low == pytest.approx(np.tanh(np.arctanh(0.8) - q), rel=1e-12)
    assert ci.high == pytest.approx(np.tanh(np.arctanh(0.8) + q), rel=1e-12)
    # t = 0.8 sqrt(2 / 0.36) with 2 df: p = 1 - t / sqrt(2 + t^2)
    t = 0.8 * np.sqrt(2 / 0.36)
    assert res.pvalue == pytest.approx(1 - t / np.sqrt(2 + t**2), rel=1e-12)


@pytest.mark.parametrize("alternative", ALTS)
def test_pearson_matches_scipy(rng, alternative):
    x = rng.normal(size=(3, 40))
    y = 0.4 * x + rng.normal(size=(3, 40))
    res = pearson_r(x, y, alternative=alternative)
    ours = res.confidence_interval(0.9)
    assert isinstance(ours, ConfidenceInterval)
    for i in range(3):
        ref = stats.pearsonr(x[i], y[i], alternative=alternative)
        ci = ref.confidence_interval(0.9)
        assert res.statistic[i] == pytest.approx(ref.statistic, rel=1e-12)
        assert res.pvalue[i] == pytest.approx(ref.pvalue, rel=1e-9)
        assert ours.low[i] == pytest.approx(ci.low, rel=1e-12, abs=1e-15)
        assert ours.high[i] == pytest.approx(ci.high, rel=1e-12, abs=1e-15)


def test_pearson_edge_cases():
    res = pearson_r([1.0, 1, 1, 1], [1.0, 2, 3, 4])
    assert np.isnan(res.statistic) and np.isnan(res.pvalue)
    res = pearson_r([1.0, 2, np.nan, 4, 5], [2.0, 4, 1, 8, 10])
    assert res.n == 4 and res.statistic == pytest.approx(1.0)
    assert res.pvalue == 0.0
    res = pearson_r([1.0, 2, 3], [3.0, 1, 2])
    assert np.isnan(res.confidence_interval().low) and res.n == 3


# ------------------------------------------------------------ multiplicity


def test_adjust_hand_computed():
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.03], adjust="holm"), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.03], adjust="bh"), [0.03, 0.04, 0.04])


@pytest.mark.parametrize("method, sm", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_matches_statsmodels(rng, method, sm):
    p = rng.uniform(0, 0.2, size=(4, 6)) ** 2
    p[1, 3] = np.nan
    p[2, 0] = p[0, 0]  # a tie
    res = adjust_pvalues(p, adjust=method)
    ok = ~np.isnan(p)
    ref = multipletests(p[ok], method=sm)[1]
    np.testing.assert_allclose(res[ok], ref, rtol=1e-13)
    assert np.isnan(res[1, 3])
    assert np.all(np.isnan(adjust_pvalues([np.nan, np.nan])))
    np.testing.assert_array_equal(adjust_pvalues(p, adjust=None), p)  # None: unadjusted


# ------------------------------------------------------------------- stars


def test_significance_stars():
    p = [0.2, 0.05, 0.0499, 0.01, 0.0099, 0.001, 0.00099, np.nan, 0.0]
    assert list(significance_stars(p)) == ["", "", "*", "*", "**", "**", "***", "", "***"]
    assert significance_stars(0.003) == "**"


@pytest.mark.parametrize("test", ["t", "wilcoxon"])
def test_paired_comparison_frame(rng, test):
    x = rng.normal(size=(3, 20))
    y = x + rng.normal(0.5, 1, size=(3, 20))
    df = paired_comparison(x, y, test=test, labels=["a", "b", "c"], adjust="holm")
    assert list(df.columns) == ["comparison", "test", "n", "mean_x", "mean_y", "mean_difference",
                                "statistic", "df", "pvalue", "pvalue_adj", "adjust", "stars"]
    assert list(df["comparison"]) == ["a", "b", "c"] and set(df["test"]) == {test}
    ref = stats.ttest_rel if test == "t" else stats.wilcoxon
    for i in range(3):
        assert df.loc[i, "pvalue"] == pytest.approx(ref(x[i], y[i]).pvalue)
        assert df.loc[i, "statistic"] == pytest.approx(ref(x[i], y[i]).statistic)
    np.testing.assert_allclose(df["pvalue_adj"], multipletests(df["pvalue"], method="holm")[1])
    assert set(df["adjust"]) == {"holm"}
    assert list(df["stars"]) == list(significance_stars(df["pvalue_adj"].to_numpy()))
    np.testing.assert_allclose(df["mean_difference"], (x - y).mean(axis=1))
    plain = paired_comparison(x, y, test=test)
    assert "pvalue_adj" not in plain.columns
    assert list(plain["stars"]) == list(significance_stars(plain["pvalue"].to_numpy()))


def test_ttest_interval_is_the_one_interval_type(rng):
    x, y = rng.normal(size=30), rng.normal(0.3, 1, size=30)
    ci = paired_ttest(x, y).confidence_interval(0.9)
    assert isinstance(ci, ConfidenceInterval)
    ref = stats.ttest_rel(x, y).confidence_interval(0.9)
    assert ci.low == pytest.approx(ref.low, rel=1e-12) and ci.high == pytest.approx(ref.high, rel=1e-12)
    low, high = ci  # unpacks like scipy's
    assert low < high


# -------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: paired_ttest([1.0, 2], [1.0, 2, 3]), ValueError, "must have the same shape"),
        (lambda: paired_ttest([1.0, 2], [1.0, 2], alternative="two"), ValueError,
         "`alternative` must be one of"),
        (lambda: paired_ttest(1.0, 2.0), ValueError, "at least one dimension"),
        (lambda: paired_ttest(["a"], ["b"]), TypeError, "arrays of numbers"),
        (lambda: paired_ttest([np.inf, 1], [1.0, 2]), ValueError, "infinite"),
        (lambda: wilcoxon_signed_rank([1.0], [2.0], method="perm"), ValueError,
         "`method` must be one of"),
        (lambda: wilcoxon_signed_rank([1.0], [2.0], correction="yes"), TypeError,
         "`correction` must be True or False"),
        (lambda: pearson_r([1.0, 2], [1.0, 2]).confidence_interval(95), ValueError,
         "`confidence_level` must lie strictly"),
        (lambda: paired_ttest([1.0, 2], [1.0, 3]).confidence_interval("x"), TypeError,
         "`confidence_level` must be a number"),
        (lambda: adjust_pvalues([0.1, 1.2]), ValueError, r"`p` must hold p-values in \[0, 1\]"),
        (lambda: adjust_pvalues([0.1], adjust="bonferroni"), ValueError, "`adjust` must be one of"),
        (lambda: paired_comparison([1.0, 2], [1.0, 3], test="z"), ValueError,
         r"`test` must be one of \['t', 'wilcoxon'\]"),
        (lambda: significance_stars(-0.1), ValueError, "`p` must hold p-values"),
        (lambda: paired_comparison([[1.0, 2]], [[1.0, 3]], labels=["a", "b"]), ValueError,
         "`labels` must have one entry per row"),
        (lambda: paired_comparison([1.0, 2], [1.0, 3], adjust="by"), ValueError,
         "`adjust` must be one of"),
    ],
)
def test_validation_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_docstring_examples():
    import doctest

    import alignstat.stats as module

    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


# --------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(0, 1)))
def test_adjusted_pvalues_properties(p):
    holm = adjust_pvalues(p, adjust="holm")
    bh = adjust_pvalues(p, adjust="bh")
    assert np.all(holm >= p - 1e-15) and np.all(bh >= p - 1e-15)
    assert np.all(holm >= bh - 1e-15)  # Holm controls FWER, so it is never less strict
    assert np.all((holm <= 1) & (bh <= 1))
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(holm[order]) >= -1e-15) and np.all(np.diff(bh[order]) >= -1e-15)


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 40), st.floats(-0.9, 0.9), st.integers(0, 2**32 - 1))
def test_pearson_interval_contains_r_and_agrees_with_p(n, rho, seed):
    g = np.random.default_rng(seed)
    x = g.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * g.normal(size=n)
    res = pearson_r(x, y)
    ci = res.confidence_interval()
    assert ci.low <= res.statistic <= ci.high
    # Fisher-z interval excludes 0 about when the t-test rejects (both approximate)
    if res.pvalue < 0.01:
        assert ci.low > 0 or ci.high < 0
