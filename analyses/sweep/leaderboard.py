"""The leaderboard: models x conditions ranked by alignment, with intervals and honest ties."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["leaderboard", "rank_ranges"]

_KEYS = ["study", "metric", "factor", "group"]


def rank_ranges(estimate, ci_low, ci_high):
    """Rank of each entry (1 = best, highest estimate) and the ranks its interval allows.

    An entry's best possible rank is one more than the number of entries whose
    interval lies wholly above its own; its worst possible rank counts every
    other entry whose interval is not wholly below its own.  Entries whose
    intervals overlap therefore share rank ranges: a tie is shown as a tie,
    not resolved by noise.

    Parameters
    ----------
    estimate, ci_low, ci_high : array_like, shape (n,)

    Returns
    -------
    rank, rank_best, rank_worst : ndarray of int, shape (n,)

    Examples
    --------
    >>> rank_ranges([0.9, 0.85, 0.5], [0.88, 0.80, 0.45], [0.92, 0.89, 0.55])
    (array([1, 2, 3]), array([1, 1, 3]), array([2, 2, 3]))
    """
    est = np.asarray(estimate, dtype=float)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    if not (est.shape == lo.shape == hi.shape) or est.ndim != 1:
        raise ValueError("`estimate`, `ci_low` and `ci_high` must be 1-D arrays of one length.")
    n = len(est)
    order = np.argsort(-est, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    # NaN intervals (no interval) fall back to the point rank
    lo_ = np.where(np.isnan(lo), est, lo)
    hi_ = np.where(np.isnan(hi), est, hi)
    above = lo_[None, :] > hi_[:, None]   # above[i, j]: j is surely better than i
    below = hi_[None, :] < lo_[:, None]   # below[i, j]: j is surely worse than i
    np.fill_diagonal(above, False)
    np.fill_diagonal(below, False)
    best = 1 + above.sum(axis=1)
    worst = n - below.sum(axis=1)
    return rank, best.astype(np.int64), worst.astype(np.int64)


def leaderboard(cells: pd.DataFrame) -> pd.DataFrame:
    """Rank models x conditions within each study, metric and group.

    Parameters
    ----------
    cells : pandas.DataFrame
        The concatenated cell tables of a sweep: ``study``, ``metric``,
        ``model``, ``condition``, ``factor``, ``group``, ``alignment``,
        ``ci_low``, ``ci_high`` (and whatever else the study reports).

    Returns
    -------
    pandas.DataFrame
        One row per study x metric x group x model x condition with
        ``rank`` (by the estimate), ``rank_best`` and ``rank_worst`` (the
        ranks its interval allows, see :func:`rank_ranges`) and ``tied``
        (the interval allows more than one rank), sorted by rank.
    """
    need = [*_KEYS, "model", "condition", "alignment", "ci_low", "ci_high"]
    missing = [c for c in need if c not in cells.columns]
    if missing:
        raise ValueError(f"the cell tables lack column(s) {missing} needed for the leaderboard.")
    keep = need + [c for c in ("alignment_bc", "se", "n", "interval", "small_cell") if c in cells.columns]
    parts = []
    for _, g in cells[keep].groupby(_KEYS, sort=True, dropna=False, observed=True):
        g = g.copy()
        r, b, w = rank_ranges(g["alignment"].to_numpy(), g["ci_low"].to_numpy(), g["ci_high"].to_numpy())
        g["rank"], g["rank_best"], g["rank_worst"] = r, b, w
        g["tied"] = b != w
        parts.append(g.sort_values("rank", kind="stable"))
    out = pd.concat(parts, ignore_index=True)
    front = [*_KEYS, "rank", "rank_best", "rank_worst", "tied", "model", "condition", "alignment", "ci_low", "ci_high"]
    return out[front + [c for c in out.columns if c not in front]]
