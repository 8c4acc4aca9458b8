"""The random-group null: its binning kernels equal their NumPy twin, and the whole null equals a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alignstat
from analyses._null import (
    GroupPack,
    _bins_dense,
    _bins_sparse,
    _mean_question,
    _null_columns,
    _random_group_bins_numpy,
    random_group_null,
)

SCALES = {"q1": [1, 2, 3, 4, 5], "q2": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "q3": [1, 2, 3, 4]}


@pytest.fixture
def pack(rng):
    n = 400
    d = pd.DataFrame({q: rng.choice(np.asarray(pos, float), n) for q, pos in SCALES.items()})
    for q in SCALES:
        d.loc[rng.random(n) < 0.15, q] = np.nan  # missing answers
    d["g"] = rng.choice(["a", "b"], n)
    rows = []
    for m in ("m1", "m2"):
        for q, pos in SCALES.items():
            p = rng.dirichlet(np.ones(len(pos)))
            rows += [(m, q, float(o), float(v)) for o, v in zip(pos, p)]
    ans = pd.DataFrame(rows, columns=["model", "question", "option", "prob"])
    rd = alignstat.prepare_respondents(d, ans, factors=["g"], positions=SCALES)
    return GroupPack(rd, rng.uniform(0.3, 3.0, n))


@pytest.mark.parametrize("likert", [True, False])
def test_binning_kernels_match_numpy_twin(pack, rng, likert):
    ends = np.array([7, 30, 31, 200, 333])
    perms = np.stack([rng.permutation(pack.N)[: ends[-1]] for _ in range(5)])
    out = np.zeros((5, len(ends), 2 * pack.Q if likert else pack.Q * pack.K))
    cols = _null_columns(pack, likert)
    if likert:
        _bins_dense(cols, perms, ends, out)
    else:
        _bins_sparse(cols, pack.w, perms, ends, out)
    np.testing.assert_allclose(out, _random_group_bins_numpy(pack, likert, perms, ends), rtol=1e-12)
    # by hand: replicate 2's first bin holds the first 7 respondents; their valid weight on question 0
    first = perms[2, :7]
    ok = pack.valid[first, 0]
    if likert:
        assert out[2, 0, 0] == pytest.approx(pack.w[first][ok].sum())
    else:
        assert out[2, 0, : pack.K].sum() == pytest.approx(pack.w[first][ok].sum())


@pytest.mark.parametrize("metric", ["likert", "wasserstein"])
def test_random_group_null_equals_direct_computation(pack, metric):
    """Each draw is the alignment of the first `size` respondents of one permutation, computed group by group."""
    sizes = [5, 40, 41, 250]
    got = random_group_null(pack, sizes, metric, 12, np.random.default_rng(3), batch_bytes=1)  # one per batch
    again = random_group_null(pack, sizes, metric, 12, np.random.default_rng(3))  # one batch
    rng = np.random.default_rng(3)
    for r in range(12):
        perm = rng.permutation(pack.N)[: max(sizes)]
        for s in sizes:
            W, mean, shares = pack.group_stats(perm[:s])
            ref, _ = _mean_question(pack.question_alignment(W, mean, shares, metric))
            np.testing.assert_allclose(got[s][r], ref, rtol=1e-10, atol=1e-12)
    for s in sizes:
        np.testing.assert_array_equal(got[s], again[s])
        assert np.all(np.isfinite(got[s])) and got[s].shape == (12, pack.M)
