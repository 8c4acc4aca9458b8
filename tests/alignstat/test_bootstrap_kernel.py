"""The bootstrap statistic's numba kernel against its NumPy oracle, and the new edge cases.

The oracle (:func:`alignstat._kernels.bootstrap.group_alignment_numpy`) scores
each group's normalised distribution with the NumPy twins of the per-item
metric kernels; the numba kernel calls the per-item kernels themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignstat._kernels.bootstrap import (
    LIKERT,
    WASSERSTEIN,
    _mean_as_distribution,
    group_alignment,
    group_alignment_numpy,
)
from alignstat._kernels.groupsums import grouped_sums, grouped_sums_numpy
from alignstat._kernels.metrics import likert_numpy, wasserstein_numpy
from alignstat.bootstrap import (
    DegenerateIntervalWarning,
    bootstrap_alignment,
    bootstrap_questions,
)


def _problem(rng, metric, C=7, G=5, M=3, Q=6, dtype=np.float64):
    nk = rng.integers(2, 7, Q).astype(np.int64)
    K = int(nk.max())
    pos = np.zeros((Q, K))
    for q in range(Q):
        pos[q, : nk[q]] = np.cumsum(rng.uniform(0.5, 2.0, nk[q]))
    span = pos[np.arange(Q), nk - 1] - pos[:, 0]
    if metric == WASSERSTEIN:
        offs = np.concatenate([[0], np.cumsum(nk)]).astype(np.int64)
        S = rng.gamma(1.0, size=(G, C, int(offs[-1])))
        S[rng.random(S.shape) < 0.2] = 0.0
        S[1, 2, offs[3] : offs[4]] = 0.0  # a group with no weight on question 3 in replicate 2
        model = np.zeros((Q, M, K))
        for q in range(Q):
            d = rng.gamma(1.0, size=(M, nk[q]))
            model[q, :, : nk[q]] = d / d.sum(axis=1, keepdims=True)
        point = np.zeros((Q, 0, K))
    else:
        offs = np.zeros(Q + 1, dtype=np.int64)
        cnt = rng.gamma(2.0, size=(G, C, Q))
        cnt[1, 2, 3] = 0.0
        mu = pos[:, 0] + rng.random((G, C, Q)) * span
        S = np.concatenate([mu * cnt, cnt], axis=2)
        model = np.zeros((Q, 0, K))
        point = np.zeros((Q, M, K))
        for q in range(Q):
            for m in range(M):
                _mean_as_distribution(pos[q, 0] + rng.random() * span[q], pos, q, int(nk[q]),
                                      point[q, m : m + 1])
    mask = rng.random((M, G, Q)) < 0.8
    mask[0, 0] = False  # a cell with no question
    return S.astype(dtype), offs, nk, pos, span, model, point, mask


@pytest.mark.parametrize("metric", [WASSERSTEIN, LIKERT])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_statistic_equals_numpy_oracle(metric, weighted, dtype):
    rng = np.random.default_rng(11 + metric)
    S, offs, nk, pos, span, model, point, mask = _problem(rng, metric, dtype=dtype)
    C, Q, M, G = S.shape[1], nk.shape[0], mask.shape[0], mask.shape[1]
    qw = rng.integers(0, 3, (C, Q)).astype(np.float64) if weighted else None
    a = group_alignment(metric, S, offs, nk, pos, span, model, point, mask, qw,
                        np.empty((C, M, G)))
    b = group_alignment_numpy(metric, S, offs, nk, pos, span, model, point, mask, qw,
                              np.empty((C, M, G)))
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert np.isnan(a[:, 0, 0]).all()  # empty cell
    assert np.isfinite(a).sum() > a.size // 2


def test_numba_statistic_by_hand():
    # one question, options at 0, 1, 3; group counts (1, 0, 1) -> shares (0.5, 0, 0.5)
    # against the model (0, 1, 0): W1 = 0.5 * 1 + 0.5 * 2 = 1.5, alignment 1 - 1.5 / 3 = 0.5
    pos = np.array([[0.0, 1.0, 3.0]])
    S = np.array([[[2.0, 0.0, 2.0]]])  # (G, C, J)
    out = group_alignment(WASSERSTEIN, S, np.array([0, 3]), np.array([3]), pos, np.array([3.0]),
                          np.array([[[0.0, 1.0, 0.0]]]), np.zeros((1, 0, 3)),
                          np.ones((1, 1, 1), dtype=bool), None, np.empty((1, 1, 1)))
    assert out[0, 0, 0] == pytest.approx(0.5, abs=1e-15)
    # Likert: group mean 1.5 (sum 3 over weight 2) against the model mean 1 -> 1 - 0.5 / 3
    model_mean = np.zeros((1, 1, 3))
    _mean_as_distribution(1.0, pos, 0, 3, model_mean[0])
    out = group_alignment(LIKERT, np.array([[[3.0, 2.0]]]), np.zeros(2, dtype=np.int64),
                          np.array([3]), pos, np.array([3.0]), np.zeros((1, 0, 3)), model_mean,
                          np.ones((1, 1, 1), dtype=bool), None, np.empty((1, 1, 1)))
    assert out[0, 0, 0] == pytest.approx(1 - 0.5 / 3, abs=1e-15)


@pytest.mark.parametrize("mu", [0.0, 0.4, 1.0, 2.2, 3.0])
def test_mean_as_distribution_keeps_the_mean(mu):
    pos = np.array([[0.0, 1.0, 3.0]])
    out = np.zeros((1, 3))
    _mean_as_distribution(mu, pos, 0, 3, out)
    assert out.min() >= 0 and out.sum() == pytest.approx(1.0, abs=1e-15)
    assert out[0] @ pos[0] == pytest.approx(mu, abs=1e-15)
    # hence the Likert twin gives the plain formula on it
    r = np.array([0.2, 0.3, 0.5])
    assert likert_numpy(out[0], r, pos[0]) == pytest.approx(1 - abs(mu - r @ pos[0]) / 3, abs=1e-15)
    assert np.isfinite(wasserstein_numpy(out[0], r, pos[0]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grouped_sums_gathering_rows_per_group_equals_twin(dtype):
    rng = np.random.default_rng(4)
    N, C, J = 90, 6, 4
    codes = rng.integers(-1, 4, N)
    F = rng.poisson(1.0, (C, N)).astype(dtype)
    X = rng.random((N, J)).astype(dtype)
    members = np.flatnonzero(codes >= 0)
    perm = members[np.argsort(codes[members], kind="stable")]
    bounds = np.searchsorted(codes[perm], np.arange(5)).astype(np.int64)
    ref = grouped_sums_numpy(F.astype(np.float64), X.astype(np.float64), codes, 4)
    out_a = np.empty((4, C, J), dtype=dtype)
    grouped_sums(F, X[perm], perm, bounds, out_a)
    out_b = np.empty((4, C, J), dtype=dtype)
    grouped_sums(F, X, perm, bounds, out_b, gathered=False, x_buffer=np.empty(N * J, dtype=dtype))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(out_a, ref, rtol=tol)
    np.testing.assert_allclose(out_b, ref, rtol=tol)


def test_single_question_bootstrap_is_nan_with_warning():
    with pytest.warns(DegenerateIntervalWarning, match="fewer than 2 questions"):
        res = bootstrap_questions([0.7], n_resamples=50, rng=0)
    assert res.estimate == pytest.approx(0.7)
    assert np.isnan(res.confidence_interval.low) and np.isnan(res.confidence_interval.high)
    assert np.isnan(res.standard_error)
    assert res.n_resamples_valid == 50
    with pytest.warns(DegenerateIntervalWarning):  # also BCa
        res = bootstrap_questions([[0.7, np.nan]], n_resamples=50, ci_method="bca", rng=0)
    assert np.isnan(res.confidence_interval.low[0])


def test_two_questions_are_not_degenerate(recwarn):
    res = bootstrap_questions([0.2, 0.8], n_resamples=200, rng=0)
    assert res.confidence_interval.low < 0.5 < res.confidence_interval.high
    assert not [w for w in recwarn if issubclass(w.category, DegenerateIntervalWarning)]


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(n_resamples=2.7), ValueError, r"`n_resamples` must be an integer; got 2.7 \(not truncated\)"),
        (dict(n_resamples=np.float64("nan")), ValueError, "`n_resamples` must be an integer"),
        (dict(n_resamples=True), TypeError, "`n_resamples` must be an integer; got bool"),
        (dict(ci_method="BCa"), ValueError, r"`ci_method` must be one of \['percentile', 'bca'\]"),
        (dict(confidence_level="high"), TypeError, "`confidence_level` must be a number"),
    ],
)
def test_bootstrap_questions_validation_vocabulary(kw, exc, match):
    with pytest.raises(exc, match=match):
        bootstrap_questions([0.1, 0.5, 0.9], **kw)


def test_integral_float_resamples_accepted():
    a = bootstrap_questions([0.1, 0.5, 0.9], n_resamples=40.0, rng=3)
    b = bootstrap_questions([0.1, 0.5, 0.9], n_resamples=40, rng=3)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)


def test_interval_column_names_design_and_questions():
    rng = np.random.default_rng(2)
    resp = rng.integers(1, 4, (40, 3)).astype(float)
    groups = rng.integers(0, 2, 40)
    kw = dict(positions=[[1, 2, 3]] * 3, n_resamples=20, rng=1)
    both = bootstrap_alignment(resp, groups, np.array([[2.0, 2.0, 2.0]]), resample="both",
                               confidence_level=0.9, ci_method="bca", **kw)
    assert set(both.to_frame()["interval"]) == {
        "90% bca bootstrap; resampled: respondents, questions; B=20"}
    cmp = both.compare(0, 1)
    assert list(cmp.columns) == ["model", "group_a", "group_b", "difference", "ci_low", "ci_high",
                                 "interval", "se", "pvalue", "n_resamples_valid"]
    assert cmp["interval"][0] == "90% percentile bootstrap; resampled: respondents, questions; B=20"


def test_group_totals_equals_twin_and_loop():
    from alignstat._kernels.groupsums import group_totals, group_totals_numpy

    rng = np.random.default_rng(8)
    N, J = 50, 3
    X = rng.random((N, J))
    codes = np.stack([rng.integers(-1, 3, N), rng.integers(0, 4, N)], axis=1)
    starts = np.array([0, 3], dtype=np.int64)
    a = group_totals(X, codes, starts, np.zeros((7, J)))
    b = group_totals_numpy(X, codes, starts, np.zeros((7, J)))
    loop = np.array([X[codes[:, 0] == g].sum(axis=0) for g in range(3)]
                    + [X[codes[:, 1] == g].sum(axis=0) for g in range(4)])
    np.testing.assert_allclose(a, loop, rtol=1e-13)
    np.testing.assert_allclose(b, loop, rtol=1e-13)


@pytest.mark.parametrize("metric", ["likert", "wasserstein"])
def test_respondent_data_path_equals_array_path(metric):
    import pandas as pd

    import alignstat

    rng = np.random.default_rng(5)
    n = 120
    data = pd.DataFrame({"q1": rng.integers(1, 5, n).astype(float),
                         "q2": rng.integers(1, 4, n).astype(float),
                         "sex": rng.choice(["f", "m"], n), "w": rng.uniform(0.5, 2, n)})
    data.loc[:5, "q2"] = np.nan
    rows = []
    for m in ("a", "b"):
        for q, k in (("q1", 4), ("q2", 3)):
            p = rng.dirichlet(np.ones(k))
            rows += [dict(model=m, question=q, option=float(o + 1), prob=p[o]) for o in range(k)]
    answers = pd.DataFrame(rows)
    rd = alignstat.prepare_respondents(data, answers, factors=["sex"], weight="w")
    res = bootstrap_alignment(rd, metric=metric, n_resamples=50, rng=3)
    ans = rd.answers
    if metric == "likert":
        ans = np.einsum("mqk,qk->mq", ans, np.nan_to_num(rd.positions))
    ref = bootstrap_alignment(rd.responses, rd.groups, ans, positions=rd.positions,
                              weights=rd.weights, metric=metric, n_resamples=50, rng=3)
    np.testing.assert_allclose(res.bootstrap_distribution, ref.bootstrap_distribution, atol=1e-14)
    assert res.model_names == ("a", "b") and res.groupings == ("sex",)
    assert set(res.group_labels) == {"f", "m"}
    with pytest.raises(TypeError, match="leave `groups`, `answers`, `positions`"):
        bootstrap_alignment(rd, rd.groups, metric=metric)


def test_resample_tuple_and_missing_arrays():
    resp = np.tile([[1.0, 2.0], [2.0, 3.0], [3.0, 1.0], [1.0, 1.0]], (10, 1))
    grp = np.tile([0, 0, 1, 1], 10)
    kw = dict(positions=[[1, 2, 3]] * 2, n_resamples=30, rng=4)
    a = bootstrap_alignment(resp, grp, np.array([[2.0, 2.0]]),
                            resample=("respondents", "questions"), **kw)
    b = bootstrap_alignment(resp, grp, np.array([[2.0, 2.0]]), resample="both", **kw)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    assert a.resample == "both"
    with pytest.raises(ValueError, match="`resample` must be one of"):
        bootstrap_alignment(resp, grp, np.array([[2.0, 2.0]]), resample=("samples",), **kw)
    with pytest.raises(TypeError, match="`answers` is required when `responses` is an array"):
        bootstrap_alignment(resp, grp, positions=[[1, 2, 3]] * 2)
