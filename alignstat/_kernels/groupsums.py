"""Group sums of replicate-weighted columns: the inner loop of the bootstrap engine.

For one grouping, respondents are sorted by group once (``perm``; group ``g``
occupies ``perm[bounds[g]:bounds[g + 1]]``).  For a chunk of ``C`` replicates
with factors ``F`` (``C x N``) and a design matrix ``X`` (``N x J``, base
weights already folded in), the sums are

    out[g, c, j] = sum over i in group g of F[c, i] * X[i, j]

computed as one dense matrix product (BLAS ``gemm``) per group slice after the
factor columns have been gathered into group order (:func:`gather_columns`,
numba, parallel over replicates).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .resample import PARALLEL_MIN_ELEMENTS

__all__ = [
    "gather_columns",
    "gather_columns_numpy",
    "group_totals",
    "group_totals_numpy",
    "grouped_sums",
    "grouped_sums_numpy",
]


def _gather_columns_body(F, perm, out):
    for r in prange(F.shape[0]):
        for j in range(perm.shape[0]):
            out[r, j] = F[r, perm[j]]


# one body, compiled twice: ``prange`` is a plain ``range`` in the serial build
_gather_columns_nb = njit(cache=True, parallel=True)(_gather_columns_body)
_gather_columns_serial_nb = njit(cache=True)(_gather_columns_body)


def gather_columns_numpy(F, perm, out):
    """``out[:] = F[:, perm]`` (pure-NumPy twin of :func:`gather_columns`)."""
    np.take(F, perm, axis=1, out=out)
    return out


def gather_columns(F, perm, out):
    """``out[:] = F[:, perm]`` for C-contiguous ``F``/``out`` (float64 or float32) and int64 ``perm``.

    Parallel over replicates for large inputs, serial below
    :data:`alignstat._kernels.resample.PARALLEL_MIN_ELEMENTS` elements.
    """
    if out.size >= PARALLEL_MIN_ELEMENTS:
        _gather_columns_nb(F, perm, out)
    else:
        _gather_columns_serial_nb(F, perm, out)
    return out


def grouped_sums(F, X, perm, bounds, out, *, buffer=None, gather=gather_columns, gathered=True,
                 x_buffer=None):
    """Per-group sums ``out[g] = F[:, members(g)] @ X[members(g)]``.

    Parameters
    ----------
    F : ndarray, shape (C, N)
        Replicate multipliers (C-contiguous, float64 or float32 like `X`).
    X : ndarray
        With ``gathered=True``: shape ``(N_f, J)``, the design-matrix rows of the
        grouping's members already in ``perm`` order (a copy made once per
        call).  With ``gathered=False``: the whole ``(N, J)`` design matrix;
        each group's rows are gathered into `x_buffer` before its product.
    perm : ndarray of int64, shape (N_f,)
        Member rows of ``F``'s columns, sorted by group.  ``None`` when the
        members are exactly ``0..N-1`` in order (no gather needed).
    bounds : ndarray of int64, shape (G + 1,)
        Group ``g`` occupies ``perm[bounds[g]:bounds[g + 1]]``.
    out : ndarray, shape (G, C, J)
        Receives the sums (written, not accumulated); ``out[g]`` must be
        C-contiguous (a strided output makes ``matmul`` about twice as slow).
    buffer : ndarray, optional
        Scratch array with at least ``C * N_f`` elements for the gathered multipliers.
    gather : callable
        :func:`gather_columns` or its twin.
    gathered : bool
        Whether `X` is already in group order (see `X`).
    x_buffer : ndarray, optional
        Scratch array with at least ``max group size * J`` elements
        (``gathered=False`` only).
    """
    C = F.shape[0]
    J = X.shape[1]
    if perm is None:
        Fp = F
    else:
        n_f = perm.shape[0]
        if buffer is None:
            Fp = np.empty((C, n_f), dtype=F.dtype)
        else:
            Fp = buffer.reshape(-1)[: C * n_f].reshape(C, n_f)
        gather(F, perm, Fp)
    for g in range(bounds.shape[0] - 1):
        s, e = bounds[g], bounds[g + 1]
        if e == s:
            out[g] = 0.0
            continue
        if gathered or perm is None:
            Xg = X[s:e]
        else:
            if x_buffer is None:
                x_buffer = np.empty((e - s) * J, dtype=X.dtype)
            Xg = x_buffer.reshape(-1)[: (e - s) * J].reshape(e - s, J)
            np.take(X, perm[s:e], axis=0, out=Xg)
        np.matmul(Fp[:, s:e], Xg, out=out[g])
    return out


@njit(cache=True)
def group_totals(X, codes, starts, out):
    """Full-sample group sums of every grouping: ``out[starts[f] + codes[i, f]] += X[i]`` (numba).

    ``X`` ``(N, J)`` float64; ``codes`` int64 ``(N, F)`` (-1: in no group of
    grouping ``f``); ``starts`` int64 ``(F,)`` the first row of each grouping
    in ``out`` ``(G, J)``, which must be zeroed.  No copy of ``X`` is made.
    """
    n, J = X.shape
    for i in range(n):
        for f in range(codes.shape[1]):
            c = codes[i, f]
            if c >= 0:
                row = starts[f] + c
                for j in range(J):
                    out[row, j] += X[i, j]
    return out


def group_totals_numpy(X, codes, starts, out):
    """Pure-NumPy twin of :func:`group_totals`."""
    for f in range(codes.shape[1]):
        ok = codes[:, f] >= 0
        np.add.at(out, starts[f] + codes[ok, f], X[ok])
    return out


def grouped_sums_numpy(F, X, codes, n_groups):
    """Compute the reference loop ``out[g] = F[:, codes == g] @ X[codes == g]`` (test oracle)."""
    out = np.zeros((n_groups, F.shape[0], X.shape[1]))
    for g in range(n_groups):
        members = codes == g
        out[g] = F[:, members] @ X[members]
    return out
