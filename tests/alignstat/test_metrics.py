"""Metric kernels against independent references: scipy, POT, NumPy twins, hand-computed cases."""

import numpy as np
import ot  # POT: an independent 1-D optimal-transport reference
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

import alignstat as al
from alignstat._kernels import metrics as K


def _dist(rng, k, zeros=False):
    p = rng.dirichlet(np.ones(k))
    if zeros:
        p[rng.random(k) < 0.3] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p /= p.sum()
    return p


# ----------------------------------------------------------------- hand-computed
def test_wasserstein_hand_computed():
    # CDFs (0.2, 0.7) vs (0.5, 1.0): |0.3| + |0.3| = 0.6; span 2 -> 1 - 0.3
    assert al.wasserstein_alignment([0.2, 0.5, 0.3], [0.5, 0.5, 0.0]) == pytest.approx(0.7, abs=1e-15)
    # opposite extremes of a 4-point scale: W1 = 3 = span -> 0
    assert al.wasserstein_alignment([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(0.0, abs=1e-15)
    # non-equispaced positions [1, 2, 4]: mass moves from 1 to 4: W1 = 3, span 3
    assert al.wasserstein_alignment([1, 0, 0], [0, 0, 1], [1, 2, 4]) == pytest.approx(0.0, abs=1e-15)
    assert al.wasserstein_alignment([1, 0, 0], [0, 1, 0], [1, 2, 4]) == pytest.approx(1 - 1 / 3, abs=1e-15)


def test_likert_hand_computed():
    # ESS paper: 1 - |mean - a| / (R - 1); mean of (.5, .5, 0) on 1..3 is 1.5, a = 3
    assert al.likert_alignment([0.5, 0.5, 0.0], 3) == pytest.approx(1 - 1.5 / 2, abs=1e-15)
    # distribution answer uses its mean: (0, 0, 1) has mean 3
    assert al.likert_alignment([0.5, 0.5, 0.0], [0, 0, 1]) == pytest.approx(0.25, abs=1e-15)


def test_jsd_tvd_hand_computed():
    assert al.tvd_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert al.tvd_similarity([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    # disjoint supports: JS divergence = 1 bit -> distance 1
    assert al.js_similarity([1, 0], [0, 1]) == pytest.approx(0.0, abs=1e-15)


# ----------------------------------------------------------------- references
@pytest.mark.parametrize("k", [2, 3, 4, 5, 10])
def test_wasserstein_matches_scipy_and_pot(rng, k):
    for _ in range(50):
        x = np.sort(rng.uniform(-3, 7, k)) if rng.random() < 0.5 else np.arange(1.0, k + 1)
        rng.shuffle(x)  # non-monotone listing order, as in OpinionQA
        p, q = _dist(rng, k, zeros=True), _dist(rng, k)
        ref = 1 - wasserstein_distance(x, x, p, q) / (x.max() - x.min())
        pot = 1 - ot.wasserstein_1d(x, x, p, q, p=1) / (x.max() - x.min())
        got = al.wasserstein_alignment(p, q, x)
        assert got == pytest.approx(ref, abs=1e-12)
        assert got == pytest.approx(float(pot), abs=1e-12)


@pytest.mark.parametrize("k", [2, 4, 10])
def test_jsd_matches_scipy(rng, k):
    for _ in range(50):
        p, q = _dist(rng, k, zeros=True), _dist(rng, k, zeros=True)
        assert al.js_similarity(p, q) == pytest.approx(1 - jensenshannon(p, q, base=2), abs=1e-12)


def _packed_case(rng, nq=7, kmax=6, n_ga=4, n_gb=5, p_missing=0.2):
    nk = rng.integers(2, kmax + 1, nq)
    pos = np.full((nq, kmax), np.nan)
    for q in range(nq):
        pos[q, : nk[q]] = np.sort(rng.choice(np.arange(-5.0, 15.0, 0.5), nk[q], replace=False))

    def side(n_g):
        rows, qs, gs = [], [], []
        for q in range(nq):
            for g in range(n_g):
                if rng.random() < p_missing:
                    continue
                r = np.zeros(kmax)
                r[: nk[q]] = _dist(rng, nk[q], zeros=True)
                rows.append(r)
                qs.append(q)
                gs.append(g)
        qs = np.array(qs)
        off = np.searchsorted(qs, np.arange(nq + 1)).astype(np.int64)
        return np.array(rows), np.array(gs, dtype=np.int64), off

    pa, ga, oa = side(n_ga)
    pb, gb, ob = side(n_gb)
    return pos, nk.astype(np.int64), pa, ga, oa, pb, gb, ob, n_ga, n_gb


@pytest.mark.parametrize("metric", list(K.METRIC_IDS))
def test_kernel_matches_numpy_twin_and_scipy(rng, metric):
    pos, nk, pa, ga, oa, pb, gb, ob, n_ga, n_gb = _packed_case(rng)
    mid = K.METRIC_IDS[metric]
    fast = K.pairwise_question_alignment(mid, pos, nk, pa, ga, oa, pb, gb, ob, n_ga, n_gb)
    twin = K.pairwise_question_alignment_numpy(mid, pos, nk, pa, ga, oa, pb, gb, ob, n_ga, n_gb)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(twin))
    np.testing.assert_allclose(fast, twin, rtol=0, atol=1e-12)
    # independent scalar reference for every defined cell
    qa = np.repeat(np.arange(len(oa) - 1), np.diff(oa))
    qb = np.repeat(np.arange(len(ob) - 1), np.diff(ob))
    checked = 0
    for i in range(len(pa)):
        for j in np.flatnonzero(qb == qa[i]):
            q = qa[i]
            k = nk[q]
            x, p, r = pos[q, :k], pa[i, :k], pb[j, :k]
            if metric == "wasserstein":
                ref = 1 - wasserstein_distance(x, x, p, r) / (x[-1] - x[0])
            elif metric == "likert":
                ref = 1 - abs(p @ x - r @ x) / (x[-1] - x[0])
            elif metric == "jsd":
                ref = 1 - jensenshannon(p, r, base=2)
            else:
                ref = 1 - 0.5 * np.abs(p - r).sum()
            assert fast[ga[i], gb[j], q] == pytest.approx(ref, abs=1e-12)
            checked += 1
    assert checked > 50


def test_summaries_match_numpy(rng):
    v = rng.random((3, 4, 9))
    v[rng.random(v.shape) < 0.3] = np.nan
    v[0, 0, :] = np.nan  # a pair with no shared question
    v[1, 1, :] = np.nan
    v[1, 1, 2] = 0.5  # exactly one question: sd undefined with ddof=1
    for ddof in (0, 1):
        m1, s1, c1 = K.summarize_over_questions(v, ddof)
        m2, s2, c2 = K.summarize_over_questions_numpy(v, ddof)
        np.testing.assert_allclose(m1, m2, atol=1e-14)
        np.testing.assert_allclose(s1, s2, atol=1e-14)
        np.testing.assert_array_equal(c1, c2)
    ok = ~np.isnan(v[2, 3])
    assert m1[2, 3] == pytest.approx(v[2, 3][ok].mean())
    assert s1[2, 3] == pytest.approx(v[2, 3][ok].std(ddof=1))
    assert np.isnan(s1[1, 1]) and m1[1, 1] == 0.5 and c1[0, 0] == 0


# ----------------------------------------------------------------- properties
probs = st.integers(2, 8).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(0, 1), min_size=k, max_size=k).filter(lambda v: sum(v) > 1e-3),
        st.lists(st.floats(0, 1), min_size=k, max_size=k).filter(lambda v: sum(v) > 1e-3),
        # positions on a half-unit lattice: distinct after any affine map below
        st.lists(st.integers(-100, 100), min_size=k, max_size=k, unique=True).map(
            lambda v: [i / 2 for i in v]
        ),
    )
)


@settings(max_examples=150, deadline=None)
@given(probs, st.floats(0.1, 10), st.floats(-20, 20))
def test_metric_properties(case, scale, shift):
    p, q, x = (np.array(c) for c in case)
    for f in (al.js_similarity, al.tvd_similarity):
        assert f(p, q) == pytest.approx(f(q, p), abs=1e-12)
        assert f(p, p) == pytest.approx(1.0, abs=1e-7)
        assert -1e-12 <= f(p, q) <= 1 + 1e-12
    w = al.wasserstein_alignment(p, q, x)
    assert w == pytest.approx(al.wasserstein_alignment(q, p, x), abs=1e-12)
    assert al.wasserstein_alignment(p, p, x) == pytest.approx(1.0, abs=1e-12)
    assert -1e-12 <= w <= 1 + 1e-12
    # invariance to relabelling positions by an increasing affine map
    assert al.wasserstein_alignment(p, q, scale * x + shift) == pytest.approx(w, abs=1e-9)
    lk = al.likert_alignment(p, q, x)
    assert -1e-12 <= lk <= 1 + 1e-12
    assert al.likert_alignment(p, q, scale * x + shift) == pytest.approx(lk, abs=1e-9)
    # Likert-mean alignment is never below Wasserstein alignment (|mean diff| <= W1)
    assert lk >= w - 1e-12


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "args, match",
    [
        (([0.5, -0.5], [0.5, 0.5]), "`p` must be finite and non-negative"),
        (([0.5, np.nan], [0.5, 0.5]), "`p` must be finite and non-negative"),
        (([0.5, 0.5], [0.0, 0.0]), "`q` has a distribution with zero total mass"),
        (([0.5, 0.5], [0.2, 0.3, 0.5]), "same number of options"),
        (([0.5, 0.5], [0.5, 0.5], [1, 1]), "`positions` must be distinct"),
        (([0.5, 0.5], [0.5, 0.5], [1, np.nan]), "`positions` must be finite"),
        (([0.5, 0.5], [0.5, 0.5], [1, 2, 3]), r"`positions` must have shape \(2,\)"),
    ],
)
def test_wasserstein_validation(args, match):
    with pytest.raises(ValueError, match=match):
        al.wasserstein_alignment(*args)


def test_baseline_helpers():
    np.testing.assert_array_equal(
        al.classify_alignment([0.9, 0.8, 0.85, np.nan], [0.85, 0.85, 0.86, 0.8]),
        np.array(["over", "under", "appropriate", "undefined"], dtype=object),
    )
    np.testing.assert_array_equal(al.tau_filter([0.9, 0.8, 0.85], [0.85, 0.85, 0.86]), [False, False, True])
    with pytest.raises(ValueError, match="`tau` must be positive"):
        al.tau_filter([1], [1], tau=0)
    with pytest.raises(ValueError, match="`tolerance` must be a finite non-negative number"):
        al.classify_alignment([1], [1], tolerance=-1)


def test_parallel_and_serial_kernels_agree(rng, monkeypatch):
    case = _packed_case(rng, nq=12, n_ga=6, n_gb=7)
    serial = K.pairwise_question_alignment(0, *case)
    monkeypatch.setattr(K, "PARALLEL_THRESHOLD", 0)
    parallel = K.pairwise_question_alignment(0, *case)
    np.testing.assert_array_equal(serial, parallel)


def test_jsd_subnormal_mass_does_not_underflow():
    # found by hypothesis: (p + q) / 2 underflows to 0 for a subnormal q
    p, q = np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 5e-324])
    assert al.js_similarity(p, q) == pytest.approx(1.0, abs=1e-12)
    pos = np.array([[1.0, 2.0, 3.0]])
    args = (pos, np.array([3]), p[None], np.array([0]), np.array([0, 1]), q[None], np.array([0]), np.array([0, 1]), 1, 1)
    assert K.pairwise_question_alignment(K.JSD, *args)[0, 0, 0] == pytest.approx(1.0, abs=1e-12)
    assert K.pairwise_question_alignment_numpy(K.JSD, *args)[0, 0, 0] == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------- one kernel per metric
@pytest.mark.parametrize("k", [2, 3, 5, 11])
def test_per_item_kernels_equal_their_numpy_twins(rng, k):
    n = 40
    p = np.stack([_dist(rng, k, zeros=i % 3 == 0) for i in range(n)])
    r = np.stack([_dist(rng, k, zeros=i % 4 == 0) for i in range(n)])
    x = np.sort(rng.choice(np.arange(0.0, 30.0, 0.5), k, replace=False))
    pos = np.vstack([x, x + 1.0])  # two questions; the kernel reads row q
    for i in range(n):
        for j in (i, (i + 7) % n):
            xs = (p[i], r[j])
            assert K.wasserstein_item(p, i, r, j, pos, 1, k) == pytest.approx(K.wasserstein_numpy(*xs, x + 1.0), abs=1e-12)
            assert K.likert_item(p, i, r, j, pos, 0, k) == pytest.approx(K.likert_numpy(*xs, x), abs=1e-12)
            assert K.jsd_item(p, i, r, j, k) == pytest.approx(K.jsd_numpy(*xs), abs=1e-12)
            assert K.tvd_item(p, i, r, j, k) == pytest.approx(K.tvd_numpy(*xs), abs=1e-12)
            # and the twins equal the independent references
            ref_w = 1 - wasserstein_distance(x, x, p[i], r[j]) / (x[-1] - x[0])
            assert K.wasserstein_numpy(*xs, x) == pytest.approx(ref_w, abs=1e-12)
            assert K.jsd_numpy(*xs) == pytest.approx(1 - jensenshannon(p[i], r[j], base=2), abs=1e-12)


def test_respondent_wasserstein_is_the_one_hot_kernel(rng):
    # a respondent's answer x compared with a model distribution is the Wasserstein alignment of the
    # one-hot distribution at x: the same kernel, checked against the array API and scipy
    x = np.array([0.0, 1.0, 2.5, 4.0, 10.0])
    models = np.stack([_dist(rng, 5) for _ in range(3)])[:, None, :]  # (M, Q=1, K)
    resp = rng.choice(np.r_[x, np.nan], size=(50, 1))
    for metric, api in (("wasserstein", al.wasserstein_alignment), ("likert", al.likert_alignment)):
        got = al.respondent_alignment(resp, models, x[None, :], metric=metric)
        twin = al.respondent_alignment(resp, models, x[None, :], metric=metric, engine="numpy")
        np.testing.assert_allclose(got, twin, atol=1e-12, equal_nan=True)
        for i in range(50):
            if np.isnan(resp[i, 0]):
                assert np.isnan(got[:, i, 0]).all()
                continue
            onehot = (x == resp[i, 0]).astype(float)
            for m in range(3):
                assert got[m, i, 0] == pytest.approx(api(onehot, models[m, 0], positions=x), abs=1e-12)
                if metric == "wasserstein":
                    ref = 1 - wasserstein_distance([resp[i, 0]], x, None, models[m, 0]) / 10.0
                    assert got[m, i, 0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: al.wasserstein_alignment([1.0], [1.0]), "ordinal alignment needs at least two options, got 1"),
        (lambda: al.likert_alignment([1.0], 1.0), "ordinal alignment needs at least two options, got 1"),
        (lambda: al.wasserstein_alignment(np.zeros((0, 3)), np.zeros((0, 3))), r"`p` is empty \(shape \(0, 3\)\)"),
        (lambda: al.js_similarity([], []), r"`p` is empty"),
        (lambda: al.tvd_similarity(np.zeros((2, 0)), np.zeros((2, 0))), r"`p` is empty"),
        (lambda: al.wasserstein_alignment([0.5, 0.5], [0.5, 0.5], [3.0, 3.0]), "zero span or a repeated position"),
        (lambda: al.js_similarity([0.5, 0.5], [0.2, 0.3, 0.5]), "same number of options, got 2 and 3"),
    ],
)
def test_degenerate_input_is_a_clear_error_not_nan(call, match):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would fail here
        with pytest.raises(ValueError, match=match):
            call()


def test_array_api_calls_the_twins_and_sorts_positions(rng):
    p, q = _dist(rng, 4), _dist(rng, 4)
    x = np.array([3.0, 0.0, 1.5, 7.0])
    o = np.argsort(x)
    assert al.wasserstein_alignment(p, q, x) == pytest.approx(K.wasserstein_numpy(p[o], q[o], x[o]), abs=1e-15)
    assert al.likert_alignment(p, q, x) == pytest.approx(K.likert_numpy(p[o], q[o], x[o]), abs=1e-15)
    assert al.likert_alignment(p, 1.5, x) == pytest.approx(1 - abs(p @ x - 1.5) / 7.0, abs=1e-15)


def test_per_item_kernels_are_callable_from_other_numba_code(rng):
    from numba import njit

    @njit
    def mean_alignment(p, r, pos, k):  # e.g. a bootstrap loop over items
        s = 0.0
        for i in range(p.shape[0]):
            s += K.wasserstein_item(p, i, r, i, pos, 0, k) + K.likert_item(p, i, r, i, pos, 0, k)
        return s / p.shape[0]

    p = np.stack([_dist(rng, 4) for _ in range(6)])
    r = np.stack([_dist(rng, 4) for _ in range(6)])
    x = np.array([[1.0, 2.0, 4.0, 8.0]])
    ref = np.mean(K.wasserstein_numpy(p, r, x[0]) + K.likert_numpy(p, r, x[0]))
    assert mean_alignment(p, r, x, 4) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("metric", list(K.METRIC_IDS))
@pytest.mark.parametrize("ddof", [0, 1])
def test_fused_group_summary_equals_pairwise_then_summary(rng, metric, ddof, monkeypatch):
    """align's fused kernel gives the same bits as the per-question array summarised (serial and parallel)."""
    case = _packed_case(rng)
    mid = K.METRIC_IDS[metric]
    vals = K.pairwise_question_alignment(mid, *case)
    ref = K.summarize_over_questions(vals, ddof)
    for threshold in (K.PARALLEL_THRESHOLD, -1):
        monkeypatch.setattr(K, "PARALLEL_THRESHOLD", threshold)
        got = K.pairwise_group_summary(mid, *case, ddof)
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(g, r)
    twin = K.summarize_over_questions_numpy(K.pairwise_question_alignment_numpy(mid, *case), ddof)
    np.testing.assert_allclose(got[0], twin[0], rtol=0, atol=1e-12)
    assert (got[2] > 0).any()
