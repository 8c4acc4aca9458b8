"""Numba kernels of the survey layer, each with a pure-NumPy twin (fallback and test oracle).

Kernels take validated contiguous arrays and never raise.

* :func:`scan_codes` -- min, max, all-integer flag of a float column (NaN skipped);
* :func:`code_presence` -- counts of each integer code in ``[lo, lo + size)``;
* :func:`map_codes` -- option index and state per respondent via code lookup tables;
* :func:`accumulate` -- per group x option weighted sums and per-group totals;
* :func:`tabulate_block` -- the one-pass tabulator: for every question of a
  block (a 2-D array of any strides, or a list of columns), weighted sums,
  squared-weight sums and counts per group x integer code in a window, codes
  found and counted in the same pass, parallel over questions, no copies.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - numba is a hard dependency, the fallback guards broken installs
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

__all__ = [
    "scan_codes", "scan_codes_numpy", "code_presence", "code_presence_numpy",
    "map_codes", "map_codes_numpy", "accumulate", "accumulate_numpy",
    "tabulate_codes", "tabulate_codes_numpy", "window_presence", "window_presence_numpy",
    "tabulate_block", "tabulate_block_numpy",
]

#: Integer codes in [WINDOW_LO, WINDOW_LO + WINDOW_SIZE) are counted in one pass.
WINDOW_LO = -32768
WINDOW_SIZE = 65536


# --------------------------------------------------------------------------- NumPy twins
def scan_codes_numpy(vals):
    ok = ~np.isnan(vals)
    if not ok.any():
        return 0.0, -1.0, True, bool((~ok).any())
    v = vals[ok]
    return float(v.min()), float(v.max()), bool(np.all(v == np.floor(v))), bool((~ok).any())


def code_presence_numpy(vals, lo, size):
    ok = ~np.isnan(vals)
    return np.bincount((vals[ok] - lo).astype(np.int64), minlength=size)[:size]


def map_codes_numpy(vals, lo, table_opt, table_state, sys_state):
    nan = np.isnan(vals)
    t = np.where(nan, 0, vals - lo).astype(np.int64)
    opt = np.where(nan, -1, table_opt[t]).astype(np.int64)
    state = np.where(nan, sys_state, table_state[t]).astype(np.int8)
    return opt, state


def accumulate_numpy(opt, state, g, w, G, K, values):
    """Per-group sums of the valid answers.

    Returns ``cell`` (G*K weighted option sums), ``sw``, ``sw2``, ``swv``
    (weighted sum of ``values[opt]``), ``n`` (valid count), ``wnr`` (weighted
    nonresponse), ``nnr``, ``nstruct``.
    """
    inside = g >= 0
    valid = inside & (opt >= 0)
    gv, ov, wv = g[valid], opt[valid], w[valid]
    cell = np.bincount(gv * K + ov, weights=wv, minlength=G * K)
    sw = np.bincount(gv, weights=wv, minlength=G)
    sw2 = np.bincount(gv, weights=wv * wv, minlength=G)
    swv = np.bincount(gv, weights=wv * values[ov], minlength=G)
    n = np.bincount(gv, minlength=G)
    nr = inside & (opt < 0) & (state == 1)
    st = inside & (opt < 0) & (state != 1)
    wnr = np.bincount(g[nr], weights=w[nr], minlength=G)
    nnr = np.bincount(g[nr], minlength=G)
    nstruct = np.bincount(g[st], minlength=G)
    return cell, sw, sw2, swv, n, wnr, nnr, nstruct


def window_presence_numpy(vals, lo, size):
    """Find the distinct integer codes of a window.

    Returns the sorted offsets (code - lo) of the distinct codes in ``[lo, lo + size)``, and
    whether every non-NaN value is such an integer code (at most 4096 distinct).
    """
    ok = ~np.isnan(vals)
    v = vals[ok]
    inside = bool(np.all((v == np.floor(v)) & (v >= lo) & (v < lo + size)))
    if not inside:
        return np.zeros(0, dtype=np.int64), False
    u = np.unique((v - lo).astype(np.int64))
    if u.size > 4096:
        return np.zeros(0, dtype=np.int64), False
    return u, True


def tabulate_codes_numpy(vals, lo, table_opt, table_state, sys_state, g, w, G, K, values):
    """:func:`map_codes_numpy` followed by :func:`accumulate_numpy` (the fused kernel's twin)."""
    opt, state = map_codes_numpy(vals, lo, table_opt, table_state, sys_state)
    return accumulate_numpy(opt, state, g, w, G, K, values)


def tabulate_block_numpy(columns, g, w, G, lo, W, kmax=32):
    """Per question: weight sums, squared-weight sums and counts per group x code found.

    ``columns`` is a sequence of 1-D float arrays (or a 2-D array, one
    question per column); codes are integers in ``[lo, lo + W)``.  Returns
    ``sums``, ``sq``, ``cnt`` (float, ``(Q, G, kmax)``: column ``k`` is the
    ``k``-th smallest code found; counts are exact integers), ``codes``
    (``(Q, kmax)`` offsets ``code - lo``, -1 unused), ``n_codes`` (``(Q,)``),
    ``nan_w``, ``nan_n`` (``(Q, G)``) and ``ok`` (``(Q,)``: every non-NaN
    value is an integer in the window and at most ``kmax`` codes occur;
    otherwise the question's tables are not filled).
    """
    cols = [columns[:, q] for q in range(columns.shape[1])] if isinstance(columns, np.ndarray) else list(columns)
    Q = len(cols)
    sums, sq, cnt = (np.zeros((Q, G, kmax)) for _ in range(3))
    codes = np.full((Q, kmax), -1, dtype=np.int64)
    n_codes = np.zeros(Q, dtype=np.int64)
    nan_w = np.zeros((Q, G))
    nan_n = np.zeros((Q, G), dtype=np.int64)
    ok = np.ones(Q, dtype=bool)
    inside = g >= 0
    for q, v in enumerate(cols):
        v = np.asarray(v, dtype=np.float64)[inside]
        gi, wi = g[inside], w[inside]
        nan = np.isnan(v)
        t = v[~nan] - lo
        if not np.all((t >= 0) & (t < W) & (t == np.floor(t))):
            ok[q] = False
            continue
        found, k = np.unique(t.astype(np.int64), return_inverse=True)
        if found.size > kmax:
            ok[q] = False
            continue
        nan_w[q] = np.bincount(gi[nan], weights=wi[nan], minlength=G)
        nan_n[q] = np.bincount(gi[nan], minlength=G)
        key = gi[~nan] * kmax + k
        sums[q] = np.bincount(key, weights=wi[~nan], minlength=G * kmax).reshape(G, kmax)
        sq[q] = np.bincount(key, weights=wi[~nan] ** 2, minlength=G * kmax).reshape(G, kmax)
        cnt[q] = np.bincount(key, minlength=G * kmax).reshape(G, kmax)
        codes[q, : found.size] = found
        n_codes[q] = found.size
    return sums, sq, cnt, codes, n_codes, nan_w, nan_n, ok


# --------------------------------------------------------------------------- numba kernels
if HAVE_NUMBA:
    from numba import prange

    @njit(inline="always")
    def _write_out(tab, j, order, ns, q, out, codes, n_codes):
        # copy question j's slot table (G, slots, 3) to out[q] with the codes in ascending order
        perm = np.argsort(order[:ns])
        for r in range(ns):
            s = perm[r]
            codes[q, r] = order[s]
            for gi in range(tab.shape[0]):
                out[q, gi, r, 0] = tab[gi, j, s, 0]
                out[q, gi, r, 1] = tab[gi, j, s, 1]
                out[q, gi, r, 2] = tab[gi, j, s, 2]
        n_codes[q] = ns

    @njit(inline="always")
    def _tab_one(col, q, g, w, lo, W, G, kmax, out, codes, n_codes, nan_w, nan_n, ok):
        # one pass over a column: each integer code gets a slot on first sight (a W-entry lookup
        # table), sums go to a compact (group, slot, [weight, squared weight, count]) table
        slot = np.full(W, -1, dtype=np.int64)
        order = np.empty(kmax, dtype=np.int64)
        ns = 0
        tab = np.zeros((G, 1, kmax, 3))
        for i in range(col.shape[0]):
            gi = g[i]
            if gi < 0:
                continue
            v = col[i]
            wi = w[i]
            if v != v:
                nan_w[q, gi] += wi
                nan_n[q, gi] += 1
                continue
            t = v - lo
            if not (t >= 0 and t < W):
                ok[q] = False
                return
            k = np.int64(t)
            if k != t:
                ok[q] = False
                return
            s = slot[k]
            if s < 0:
                if ns == kmax:
                    ok[q] = False
                    return
                s = ns
                slot[k] = s
                order[s] = k
                ns += 1
            tab[gi, 0, s, 0] += wi
            tab[gi, 0, s, 1] += wi * wi
            tab[gi, 0, s, 2] += 1.0
        _write_out(tab, 0, order, ns, q, out, codes, n_codes)

    @njit(inline="always")
    def _tab_rows(X, q0, nb, g, w, lo, W, G, kmax, out, codes, n_codes, nan_w, nan_n, ok):
        # questions q0 .. q0+nb-1 of a row-major block, read row by row (adjacent cells share a
        # cache line); compact (group, question, slot, 3) table, rows of one group stay in cache
        slot = np.full((nb, W), -1, dtype=np.int64)
        order = np.empty((nb, kmax), dtype=np.int64)
        ns = np.zeros(nb, dtype=np.int64)
        alive = np.ones(nb, dtype=np.bool_)
        tab = np.zeros((G, nb, kmax, 3))
        for i in range(X.shape[0]):
            gi = g[i]
            if gi < 0:
                continue
            wi = w[i]
            w2 = wi * wi
            for j in range(nb):
                v = X[i, q0 + j]
                if v != v:
                    nan_w[q0 + j, gi] += wi
                    nan_n[q0 + j, gi] += 1
                    continue
                t = v - lo
                k = np.int64(t) if (t >= 0 and t < W) else -1
                if k < 0 or k != t:
                    alive[j] = False
                    continue
                s = slot[j, k]
                if s < 0:
                    if ns[j] == kmax:
                        alive[j] = False
                        continue
                    s = ns[j]
                    slot[j, k] = s
                    order[j, s] = k
                    ns[j] = s + 1
                tab[gi, j, s, 0] += wi
                tab[gi, j, s, 1] += w2
                tab[gi, j, s, 2] += 1.0
        for j in range(nb):
            if alive[j]:
                _write_out(tab, j, order[j], ns[j], q0 + j, out, codes, n_codes)
            else:
                ok[q0 + j] = False

    @njit(parallel=True, cache=True)
    def _tabulate_2d_nb(X, g, w, G, lo, W, kmax, nblk):
        Q = X.shape[1]
        out = np.zeros((Q, G, kmax, 3))
        codes = np.full((Q, kmax), -1, dtype=np.int64)
        n_codes = np.zeros(Q, dtype=np.int64)
        nan_w = np.zeros((Q, G))
        nan_n = np.zeros((Q, G), dtype=np.int64)
        ok = np.ones(Q, dtype=np.bool_)
        if X.strides[1] < X.strides[0]:  # row-major: nblk blocks of questions, each read row by row
            per = (Q + nblk - 1) // nblk
            for b in prange(nblk):
                q0 = np.int64(b) * per
                if q0 < Q:
                    _tab_rows(X, q0, min(per, Q - q0), g, w, lo, W, G, kmax, out, codes, n_codes,
                              nan_w, nan_n, ok)
        else:
            for q in prange(Q):
                qq = np.int64(q)
                _tab_one(X[:, qq], qq, g, w, lo, W, G, kmax, out, codes, n_codes, nan_w, nan_n, ok)
        return out, codes, n_codes, nan_w, nan_n, ok

    @njit(parallel=True, cache=True)
    def _tabulate_list_nb(cols, g, w, G, lo, W, kmax):
        Q = len(cols)
        out = np.zeros((Q, G, kmax, 3))
        codes = np.full((Q, kmax), -1, dtype=np.int64)
        n_codes = np.zeros(Q, dtype=np.int64)
        nan_w = np.zeros((Q, G))
        nan_n = np.zeros((Q, G), dtype=np.int64)
        ok = np.ones(Q, dtype=np.bool_)
        for q in prange(Q):
            qq = np.int64(q)
            _tab_one(cols[qq], qq, g, w, lo, W, G, kmax, out, codes, n_codes, nan_w, nan_n, ok)
        return out, codes, n_codes, nan_w, nan_n, ok

    @njit(cache=True)
    def _window_presence_nb(vals, lo, size):
        seen = np.zeros(size, dtype=np.bool_)
        found = np.empty(min(size, 4096), dtype=np.int64)
        nfound = 0
        hi = lo + size
        for i in range(vals.shape[0]):
            v = vals[i]
            if v != v:
                continue
            if v < lo or v >= hi or v != np.floor(v):
                return found[:0], False
            t = np.int64(v - lo)
            if not seen[t]:
                if nfound == found.shape[0]:
                    return found[:0], False
                seen[t] = True
                found[nfound] = t
                nfound += 1
        return np.sort(found[:nfound]), True

    @njit(cache=True)
    def _tabulate_codes_nb(vals, lo, table_opt, table_state, sys_state, g, w, G, K, values):
        # per-cell weighted sums and counts; group totals are derived from them
        cell = np.zeros(G * K)
        ncell = np.zeros(G * K, dtype=np.int64)
        sw2 = np.zeros(G)
        wnr = np.zeros(G)
        nnr = np.zeros(G, dtype=np.int64)
        nstruct = np.zeros(G, dtype=np.int64)
        for i in range(vals.shape[0]):
            gi = g[i]
            if gi < 0:
                continue
            v = vals[i]
            if v != v:
                o = -1
                st = sys_state
            else:
                t = np.int64(v - lo)
                o = table_opt[t]
                st = table_state[t]
            wi = w[i]
            if o >= 0:
                j = gi * K + o
                cell[j] += wi
                ncell[j] += 1
                sw2[gi] += wi * wi
            elif st == 1:
                wnr[gi] += wi
                nnr[gi] += 1
            else:
                nstruct[gi] += 1
        sw = np.zeros(G)
        swv = np.zeros(G)
        n = np.zeros(G, dtype=np.int64)
        for gi in range(G):
            for o in range(K):
                j = gi * K + o
                sw[gi] += cell[j]
                swv[gi] += cell[j] * values[o]
                n[gi] += ncell[j]
        return cell, sw, sw2, swv, n, wnr, nnr, nstruct

    @njit(cache=True)
    def _scan_codes_nb(vals):
        lo = np.inf
        hi = -np.inf
        integer = True
        has_nan = False
        for i in range(vals.shape[0]):
            v = vals[i]
            if v != v:
                has_nan = True
                continue
            if v < lo:
                lo = v
            if v > hi:
                hi = v
            if integer and v != np.floor(v):
                integer = False
        if lo > hi:
            return 0.0, -1.0, True, has_nan
        return lo, hi, integer, has_nan

    @njit(cache=True)
    def _code_presence_nb(vals, lo, size):
        out = np.zeros(size, dtype=np.int64)
        for i in range(vals.shape[0]):
            v = vals[i]
            if v == v:
                out[np.int64(v - lo)] += 1
        return out

    @njit(cache=True)
    def _map_codes_nb(vals, lo, table_opt, table_state, sys_state):
        n = vals.shape[0]
        opt = np.empty(n, dtype=np.int64)
        state = np.empty(n, dtype=np.int8)
        for i in range(n):
            v = vals[i]
            if v != v:
                opt[i] = -1
                state[i] = sys_state
            else:
                t = np.int64(v - lo)
                opt[i] = table_opt[t]
                state[i] = table_state[t]
        return opt, state

    @njit(cache=True)
    def _accumulate_nb(opt, state, g, w, G, K, values):
        cell = np.zeros(G * K)
        sw = np.zeros(G)
        sw2 = np.zeros(G)
        swv = np.zeros(G)
        n = np.zeros(G, dtype=np.int64)
        wnr = np.zeros(G)
        nnr = np.zeros(G, dtype=np.int64)
        nstruct = np.zeros(G, dtype=np.int64)
        for i in range(opt.shape[0]):
            gi = g[i]
            if gi < 0:
                continue
            o = opt[i]
            wi = w[i]
            if o >= 0:
                cell[gi * K + o] += wi
                sw[gi] += wi
                sw2[gi] += wi * wi
                swv[gi] += wi * values[o]
                n[gi] += 1
            elif state[i] == 1:
                wnr[gi] += wi
                nnr[gi] += 1
            else:
                nstruct[gi] += 1
        return cell, sw, sw2, swv, n, wnr, nnr, nstruct


def scan_codes(vals):
    """(min, max, all integer, any NaN) of a float64 column."""
    if HAVE_NUMBA:
        lo, hi, integer, has_nan = _scan_codes_nb(vals)
        return float(lo), float(hi), bool(integer), bool(has_nan)
    return scan_codes_numpy(vals)  # pragma: no cover


def code_presence(vals, lo, size):
    """Count of each integer code ``lo .. lo + size - 1`` (NaN skipped)."""
    if HAVE_NUMBA:
        return _code_presence_nb(vals, float(lo), int(size))
    return code_presence_numpy(vals, lo, size)  # pragma: no cover


def map_codes(vals, lo, table_opt, table_state, sys_state):
    """Option index (-1: none) and state of each respondent through code tables."""
    if HAVE_NUMBA:
        return _map_codes_nb(vals, float(lo), table_opt, table_state, np.int8(sys_state))
    return map_codes_numpy(vals, lo, table_opt, table_state, sys_state)  # pragma: no cover


def accumulate(opt, state, g, w, G, K, values):
    """Per-group x option weighted sums (see :func:`accumulate_numpy`)."""
    if HAVE_NUMBA:
        return _accumulate_nb(opt, state, g, w, int(G), int(K), values)
    return accumulate_numpy(opt, state, g, w, G, K, values)  # pragma: no cover


def tabulate_codes(vals, lo, table_opt, table_state, sys_state, g, w, G, K, values):
    """Fused code lookup and group accumulation (no per-respondent arrays materialised)."""
    if HAVE_NUMBA:
        return _tabulate_codes_nb(vals, float(lo), table_opt, table_state, np.int8(sys_state),
                                  g, w, int(G), int(K), values)
    return tabulate_codes_numpy(vals, lo, table_opt, table_state, sys_state, g, w, G, K, values)  # pragma: no cover


def window_presence(vals, lo=WINDOW_LO, size=WINDOW_SIZE):
    """Find the distinct integer codes of a window in one pass.

    Sorted offsets of the distinct integer codes in a window (False if any value falls outside, is not an integer, or there are more than 4096 distinct codes).
    """
    if HAVE_NUMBA:
        out, ok = _window_presence_nb(vals, float(lo), int(size))
        return out, bool(ok)
    return window_presence_numpy(vals, lo, size)  # pragma: no cover


def _as_2d_view(cols):
    """One strided 2-D view of equally spaced columns of one buffer (no copy), or None."""
    if len(cols) < 2:
        return cols[0][:, None] if len(cols) == 1 else None
    s0 = cols[0].strides[0]
    ptr = [c.__array_interface__["data"][0] for c in cols]
    d = ptr[1] - ptr[0]
    if d == 0 or any(c.strides[0] != s0 for c in cols) or any(b - a != d for a, b in zip(ptr, ptr[1:])):
        return None
    base = cols[0]
    while base.base is not None and isinstance(base.base, np.ndarray):
        base = base.base
    lo_ptr = base.__array_interface__["data"][0]
    hi_ptr = lo_ptr + base.nbytes
    last = ptr[-1] + (cols[0].shape[0] - 1) * s0
    if not (lo_ptr <= min(ptr) and max(ptr[-1], last) + 8 <= hi_ptr):
        return None
    return np.lib.stride_tricks.as_strided(cols[0], shape=(cols[0].shape[0], len(cols)), strides=(s0, d),
                                           writeable=False)


def tabulate_block(cols, g, w, G, lo, W, kmax=32):
    """One pass per question over a block of float64 columns (see :func:`tabulate_block_numpy`).

    Columns that are equally spaced views of one buffer (a consolidated
    2-D frame, C- or F-ordered) are read through one strided 2-D view;
    otherwise through a typed list of the column arrays.  Nothing is copied.
    """
    if not HAVE_NUMBA:  # pragma: no cover
        return tabulate_block_numpy(cols, g, w, G, lo, W, kmax)
    X = _as_2d_view(cols)
    args = (g, w, int(G), float(lo), int(W), int(kmax))
    if X is not None:
        from numba import get_num_threads

        nblk = max(1, min(X.shape[1], get_num_threads()))  # one block per thread: rows read whole
        out, codes, n_codes, nan_w, nan_n, ok = _tabulate_2d_nb(X, *args, nblk)
    else:
        from numba.typed import List

        lst = List()
        for c in cols:
            lst.append(c if c.flags.c_contiguous else np.ascontiguousarray(c))
        out, codes, n_codes, nan_w, nan_n, ok = _tabulate_list_nb(lst, *args)
    return out[..., 0], out[..., 1], out[..., 2], codes, n_codes, nan_w, nan_n, ok
