"""Numba kernels of the survey layer agree with their NumPy twins."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import _kernels as k


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), G=st.integers(1, 6), seed=st.integers(0, 2**31 - 1),
       nan_share=st.floats(0, 0.5))
def test_tabulate_and_accumulate_match_numpy(n, G, seed, nan_share):
    rng = np.random.default_rng(seed)
    vals = rng.integers(-3, 8, n).astype(float)
    vals[rng.random(n) < nan_share] = np.nan
    lo = -3.0
    table_opt = np.array([-1, -1, -1, 0, 1, 2, 3, 4, 5, 6, -1], dtype=np.int64)
    table_state = np.array([2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2], dtype=np.int8)
    g = rng.integers(-1, G, n).astype(np.int64)
    w = rng.uniform(0, 3, n)
    values = np.arange(7, dtype=float) * 1.5
    a = k.tabulate_codes(vals, lo, table_opt, table_state, 1, g, w, G, 7, values)
    b = k.tabulate_codes_numpy(vals, lo, table_opt, table_state, 1, g, w, G, 7, values)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    opt, state = k.map_codes(vals, lo, table_opt, table_state, 1)
    opt2, state2 = k.map_codes_numpy(vals, lo, table_opt, table_state, 1)
    np.testing.assert_array_equal(opt, opt2)
    np.testing.assert_array_equal(state, state2)
    for x, y in zip(k.accumulate(opt, state, g, w, G, 7, values),
                    k.accumulate_numpy(opt, state, g, w, G, 7, values)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("vals", [
    np.array([1.0, 2.0, np.nan, 2.0, -4.0]),
    np.array([1.5, 2.0]),
    np.array([np.nan, np.nan]),
    np.array([1e9, 1.0]),
])
def test_scan_and_window_match_numpy(vals):
    assert k.scan_codes(vals) == k.scan_codes_numpy(vals)
    u, ok = k.window_presence(vals)
    u2, ok2 = k.window_presence_numpy(vals, k.WINDOW_LO, k.WINDOW_SIZE)
    assert ok == ok2
    np.testing.assert_array_equal(u, u2)
    if ok and np.isfinite(vals).any():
        lo = np.nanmin(vals)
        size = int(np.nanmax(vals) - lo) + 1
        np.testing.assert_array_equal(k.code_presence(vals, lo, size), k.code_presence_numpy(vals, lo, size))
