"""Resampling kernels."""

import numpy as np
from numba import njit, prange

#: Below this many elements the serial kernels are used: starting a thread team
#: costs more than it saves on small inputs (and much more on a busy machine).
PARALLEL_MIN_ELEMENTS = 1 << 20


def _count_rows_body(idx, n):
    out = np.zeros((idx.shape[0], n), dtype=np.float64)
    for r in prange(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[r, idx[r, j]] += 1.0
    return out


# one body, compiled twice: ``prange`` is a plain ``range`` in the serial build
_count_rows_nb = njit(cache=True, parallel=True)(_count_rows_body)
_count_rows_serial_nb = njit(cache=True)(_count_rows_body)


def count_rows_numpy(idx, n):
    """Row-wise bincount: ``out[r, k]`` = number of ``k`` in ``idx[r]``."""
    idx = np.asarray(idx, dtype=np.int64)
    out = np.zeros((idx.shape[0], n), dtype=np.float64)
    rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    np.add.at(out, (rows, idx.ravel()), 1.0)
    return out


def count_rows(idx, n):
    """Row-wise bincount (numba); ``idx`` is a 2-D array of integers in ``[0, n)``.

    ``int64`` and ``uint32`` indices are used as they are; other dtypes are
    converted to ``int64``.
    """
    idx = np.asarray(idx)
    if idx.dtype not in (np.dtype(np.int64), np.dtype(np.uint32)):
        idx = idx.astype(np.int64)
    idx = np.ascontiguousarray(idx)
    if idx.size >= PARALLEL_MIN_ELEMENTS:
        return _count_rows_nb(idx, int(n))
    return _count_rows_serial_nb(idx, int(n))
