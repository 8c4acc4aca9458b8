"""The random-group null's binning kernel equals its NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

from analyses._null import _random_group_bins, _random_group_bins_numpy


@pytest.mark.parametrize("likert", [True, False])
def test_random_group_bins_match_numpy_twin(rng, likert):
    N, Q, K = 500, 6, 5
    opt = rng.integers(-1, K, size=(N, Q))  # -1: no valid answer
    x = np.where(opt >= 0, opt * 2.5, 0.0)
    w = rng.uniform(0.2, 3.0, N)
    ends = np.array([7, 30, 31, 200, 420])
    perm = rng.permutation(N)[: ends[-1]]
    out = np.zeros((len(ends), 2 * Q if likert else Q * K))
    _random_group_bins(opt, x, w, perm, ends, likert, K, out)
    np.testing.assert_allclose(out, _random_group_bins_numpy(opt, x, w, perm, ends, likert, K), rtol=1e-12)
    # the first bin is the first 7 respondents of the permutation: its valid weight of question 0 by hand
    first = perm[:7]
    assert out[0, 0] == pytest.approx(w[first][opt[first, 0] >= 0].sum() if likert else
                                      w[first][opt[first, 0] == 0].sum())
