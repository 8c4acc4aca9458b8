"""Tests of replicate schemes (alignstat.resampling) and the counting kernel."""

from __future__ import annotations

import numpy as np
import pytest

from alignstat._kernels.groupsums import (
    _gather_columns_nb,
    _gather_columns_serial_nb,
    gather_columns_numpy,
)
from alignstat._kernels.resample import (
    _count_rows_nb,
    _count_rows_serial_nb,
    count_rows,
    count_rows_numpy,
)
from alignstat.resampling import (
    FixedReplicates,
    MultinomialScheme,
    PoissonScheme,
    ReplicateScheme,
)


def test_multinomial_factors_sum_to_n(rng):
    f = MultinomialScheme(37).multipliers(rng, 500)
    assert f.shape == (500, 37) and f.dtype == np.float64
    np.testing.assert_array_equal(f.sum(axis=1), 37)
    np.testing.assert_array_equal(f, np.round(f))
    assert f.min() >= 0
    # each count is Binomial(n, 1/n): mean 1, variance (1 - 1/n)
    assert abs(f.mean() - 1) < 1e-12
    assert abs(f.var() - (1 - 1 / 37)) < 0.03


def test_multinomial_draws_are_the_documented_uint32_integers():
    f = MultinomialScheme(50).multipliers(np.random.default_rng(3), 20)
    idx = np.random.default_rng(3).integers(0, 50, (20, 50), dtype=np.uint32)
    np.testing.assert_array_equal(f, count_rows_numpy(idx, 50))


def test_multinomial_stream_does_not_depend_on_chunking():
    a = MultinomialScheme(40).multipliers(np.random.default_rng(9), 30)
    g = np.random.default_rng(9)
    s = MultinomialScheme(40)
    b = np.concatenate([s.multipliers(g, 7), s.multipliers(g, 23)])
    np.testing.assert_array_equal(a, b)


def test_poisson_factors(rng):
    f = PoissonScheme(200).multipliers(rng, 400)
    assert f.shape == (400, 200)
    # mean and variance of Poisson(1) are 1; 80,000 draws: sd of the mean 0.0035
    assert abs(f.mean() - 1) < 0.015
    assert abs(f.var() - 1) < 0.03
    np.testing.assert_array_equal(f, np.round(f))
    g = np.random.default_rng(1)
    s = PoissonScheme(200)
    np.testing.assert_array_equal(
        np.concatenate([s.multipliers(g, 3), s.multipliers(g, 5)]),
        PoissonScheme(200).multipliers(np.random.default_rng(1), 8),
    )


def test_fixed_replicates_round_trip(rng):
    F = rng.random((10, 6))
    s = FixedReplicates(F, scale=0.05, name="jk")
    assert s.n_units == 6 and s.n_replicates == 10 and s.name == "jk"
    np.testing.assert_array_equal(np.concatenate([s.multipliers(None, 4), s.multipliers(None, 6)]), F)
    # the stream wraps round after the last replicate
    np.testing.assert_array_equal(s.multipliers(None, 3), F[:3])
    s.reset()
    np.testing.assert_array_equal(s.multipliers(None, 10), F)
    assert s.variance_scale(10) == 0.05
    assert FixedReplicates(F).variance_scale(10) == pytest.approx(1 / 9)
    s.reset()
    with pytest.raises(ValueError, match="only 10 fixed replicates are available; 11"):
        s.multipliers(None, 11)


@pytest.mark.parametrize(
    "factors, kw, match",
    [
        (np.ones(5), {}, "`multipliers` must be a 2-D array"),
        (np.ones((0, 5)), {}, "`multipliers` must be a 2-D array"),
        (-np.ones((2, 5)), {}, "`multipliers` must be finite and non-negative"),
        (np.full((2, 5), np.nan), {}, "`multipliers` must be finite and non-negative"),
        (np.ones((2, 5)), {"scale": 0.0}, "`scale` must be a positive finite number"),
    ],
)
def test_fixed_replicates_validation(factors, kw, match):
    with pytest.raises(ValueError, match=match):
        FixedReplicates(factors, **kw)


def test_scheme_validation():
    with pytest.raises(ValueError, match="`n_units` must be a positive integer; got 0"):
        MultinomialScheme(0)
    with pytest.raises(TypeError, match="`n_units` must be an integer"):
        PoissonScheme(3.5)
    with pytest.raises(NotImplementedError):
        ReplicateScheme(3).multipliers(np.random.default_rng(), 2)
    with pytest.raises(ValueError, match="`n_blocks` must be at least 2"):
        MultinomialScheme(10).jackknife_multipliers(np.random.default_rng(), 1)


def test_default_variance_scale():
    assert MultinomialScheme(5).variance_scale(101) == pytest.approx(0.01)
    assert "n_units=5" in repr(MultinomialScheme(5))


@pytest.mark.parametrize("n, k", [(10, 200), (103, 10)])
def test_jackknife_multipliers_delete_each_unit_once(rng, n, k):
    J = MultinomialScheme(n).jackknife_multipliers(rng, k)
    kk = min(n, k)
    assert J.shape == (kk, n)
    zero = J == 0
    np.testing.assert_array_equal(zero.sum(axis=0), 1)  # each unit deleted exactly once
    sizes = zero.sum(axis=1)
    assert sizes.max() - sizes.min() <= 1  # balanced blocks
    np.testing.assert_allclose(J[~zero], kk / (kk - 1))


@pytest.mark.parametrize("dtype", [np.int64, np.uint32, np.int16])
def test_count_rows_matches_twin(rng, dtype):
    idx = rng.integers(0, 13, (9, 20)).astype(dtype)
    np.testing.assert_array_equal(count_rows(idx, 13), count_rows_numpy(idx, 13))
    loop = np.zeros((9, 13))
    for r in range(9):
        for j in range(20):
            loop[r, idx[r, j]] += 1
    np.testing.assert_array_equal(count_rows(idx, 13), loop)


def test_parallel_and_serial_kernels_agree(rng):
    idx = rng.integers(0, 1000, (4, 3000))
    np.testing.assert_array_equal(_count_rows_nb(idx, 1000), _count_rows_serial_nb(idx, 1000))
    big = rng.integers(0, 50, (8, 140_000))  # above the parallel threshold
    np.testing.assert_array_equal(count_rows(big, 50), count_rows_numpy(big, 50))
    F = rng.random((5, 40))
    perm = rng.permutation(40)[:30]
    a, b, c = (np.empty((5, 30)) for _ in range(3))
    _gather_columns_nb(F, perm, a)
    _gather_columns_serial_nb(F, perm, b)
    gather_columns_numpy(F, perm, c)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)
