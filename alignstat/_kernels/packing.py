"""Packing of tidy rows into items: one pass where NumPy needs a dozen.

:meth:`alignstat.OpinionDistributions.from_frame` codes each row with an item
key (question and group) and an option key.  When the rows already come item
by item with ascending options (the usual tidy layout) no sort is needed, and
one pass finds the items' row ranges.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["fill_items", "fill_items_numpy", "item_runs", "item_runs_numpy", "offset_codes", "offset_codes_numpy"]


@njit(cache=True, nogil=True)
def item_runs(ikey, okey):
    """Item row ranges of rows sorted by item with strictly ascending option keys.

    Parameters
    ----------
    ikey : ndarray of int64, shape (n,)
        Item key of each row.
    okey : ndarray of float64, shape (n,)
        Option key of each row.

    Returns
    -------
    ok : bool
        The rows are sorted: `ikey` non-decreasing and `okey` strictly
        increasing within each item (so no option repeats).  When false the
        other two outputs are empty and the caller sorts.
    bounds : ndarray of int64, shape (items + 1,)
        Rows of item ``i`` are ``bounds[i]:bounds[i + 1]``.
    row_item : ndarray of int64, shape (n,)
        Item of each row.
    """
    n = ikey.shape[0]
    bounds = np.empty(n + 1, dtype=np.int64)
    row_item = np.empty(n, dtype=np.int64)
    bounds[0] = 0
    if n == 0:
        return True, bounds[:1], row_item
    m = 1
    row_item[0] = 0
    for r in range(1, n):
        a = ikey[r - 1]
        b = ikey[r]
        if b == a:
            if not okey[r] > okey[r - 1]:
                return False, bounds[:0], row_item[:0]
        elif b > a:
            bounds[m] = r
            m += 1
        else:
            return False, bounds[:0], row_item[:0]
        row_item[r] = m - 1
    bounds[m] = n
    return True, bounds[: m + 1], row_item


def item_runs_numpy(ikey, okey):
    """NumPy twin of :func:`item_runs`."""
    n = len(ikey)
    if n == 0:
        return True, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    d = np.diff(ikey)
    if (d < 0).any() or not (np.diff(okey)[d == 0] > 0).all():
        return False, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.r_[True, d != 0]
    bounds = np.r_[np.flatnonzero(new), n].astype(np.int64)
    return True, bounds, (np.cumsum(new) - 1).astype(np.int64)


@njit(cache=True, nogil=True)
def fill_items(dest, key, colmap, p, n_items, kmax):
    """Scatter rows onto dense item rows of an option grid.

    Parameters
    ----------
    dest : ndarray of int64, shape (n,)
        Item row of each row.
    key : ndarray of int64, shape (n,)
        Cell key of each row (question row x value code).
    colmap : ndarray of int64
        Column of each cell key.
    p : ndarray of float64, shape (n,)
        Probability of each row.
    n_items, kmax : int
        Shape of the grid.

    Returns
    -------
    prob : ndarray of float64, shape (n_items, kmax)
        ``prob[dest[r], colmap[key[r]]] = p[r]``, zero elsewhere.
    listed : ndarray of bool, shape (n_items, kmax)
        Cells that some row sets.
    n_listed : ndarray of int64, shape (n_items,)
        Rows of each item.
    """
    prob = np.zeros((n_items, kmax))
    listed = np.zeros((n_items, kmax), dtype=np.bool_)
    n_listed = np.zeros(n_items, dtype=np.int64)
    for r in range(dest.shape[0]):
        i = dest[r]
        c = colmap[key[r]]
        prob[i, c] = p[r]
        listed[i, c] = True
        n_listed[i] += 1
    return prob, listed, n_listed


def fill_items_numpy(dest, key, colmap, p, n_items, kmax):
    """NumPy twin of :func:`fill_items`."""
    col = colmap[key]
    prob = np.zeros((n_items, kmax))
    prob[dest, col] = p
    listed = np.zeros((n_items, kmax), dtype=bool)
    listed[dest, col] = True
    return prob, listed, np.bincount(dest, minlength=n_items).astype(np.int64)


@njit(cache=True, nogil=True)
def offset_codes(x, max_span):
    """Codes of integers over a short range, by offset from the minimum (no hashing).

    Parameters
    ----------
    x : ndarray of int64, shape (n,), n >= 1
    max_span : int
        Largest ``max(x) - min(x) + 1`` handled.

    Returns
    -------
    ok : bool
        The range was short enough (else the other outputs are empty).
    codes : ndarray of int64, shape (n,)
        Rank of each value among the distinct values (ascending).
    at : ndarray of int64, shape (distinct,)
        A row holding each distinct value, in ascending order of value.
    """
    n = x.shape[0]
    lo = x[0]
    hi = x[0]
    for i in range(n):
        v = x[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    if hi > lo + (max_span - 1):  # written so that it cannot overflow for any lo >= min int64 + 1
        return False, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    span = hi - lo + 1
    if span <= 0:  # lo + (max_span - 1) overflowed
        return False, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    rank = np.full(span, -1, dtype=np.int64)
    for i in range(n):
        rank[x[i] - lo] = i
    m = 0
    for j in range(span):
        if rank[j] >= 0:
            m += 1
    at = np.empty(m, dtype=np.int64)
    m = 0
    for j in range(span):
        if rank[j] >= 0:
            at[m] = rank[j]
            rank[j] = m
            m += 1
    codes = np.empty(n, dtype=np.int64)
    for i in range(n):
        codes[i] = rank[x[i] - lo]
    return True, codes, at


def offset_codes_numpy(x, max_span):
    """NumPy twin of :func:`offset_codes` (`at` may name another row holding the same value)."""
    lo, hi = int(x.min()), int(x.max())
    if hi - lo + 1 > max_span:
        return False, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    off = x - lo
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[off] = True
    rank = np.cumsum(present) - 1
    at = np.empty(hi - lo + 1, dtype=np.int64)
    at[off] = np.arange(len(x))
    return True, rank[off].astype(np.int64), at[present]
