"""Bootstrap statistic: group alignment from replicate group sums (numba, no large temporaries).

Input layout (shared with :mod:`alignstat._kernels.groupsums`):

* ``S``: ``(G, C, J)`` replicate group sums (group-major, as
  :func:`~alignstat._kernels.groupsums.grouped_sums` writes them), float64 or float32 (read as they
  are; single-precision sums are never cast to float64 as a whole).

  - ``metric == WASSERSTEIN``: ``J = offs[-1]``; columns ``offs[q]:offs[q + 1]``
    hold the group's weighted answer counts on the options of question ``q``
    in ascending position order.
  - ``metric == LIKERT``: ``J = 2 Q``; column ``q`` holds the weighted sum of
    answer positions, column ``Q + q`` the weighted count of valid answers.

* ``pos`` ``(Q, K)``: ascending option positions, ``nk`` ``(Q,)`` options per
  question, ``span`` ``(Q,)`` = ``pos[q, nk[q] - 1] - pos[q, 0]``.
* ``model`` ``(Q, M, K)``: model answer distributions in the same option order
  (Wasserstein); ``point`` ``(M, Q)``: model mean positions (Likert).
* ``mask`` ``(M, G, Q)``: the questions that enter each (model, group) mean.
* ``qw`` ``(C, Q)``: question weights of each replicate (draw counts); with
  ``use_qw = False`` every question has weight 1.

Output ``out[c, m, g]`` is ``sum_q qw[c, q] A[c, m, g, q] / sum_q qw[c, q]``
over the questions in ``mask[m, g]``, ``A`` the per-question alignment of the
group's normalised replicate distribution with the model; NaN where a weighted
question has zero group weight in the replicate or no question has weight.

The per-question metric is *not* written here: the Wasserstein value comes from
the one per-item kernel of :mod:`alignstat._kernels.metrics`
(``wasserstein_item``; the Likert value from ``likert_item``, handed the
group's mean as a two-point distribution), so a change of definition there
changes the bootstrap too.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .metrics import LIKERT, WASSERSTEIN
from .metrics import likert_item as _ITEM_LIKERT
from .metrics import wasserstein_item as _ITEM_WASSERSTEIN

__all__ = ["group_alignment", "group_alignment_numpy", "LIKERT", "WASSERSTEIN"]

#: Below this many (replicate, group, question) cells one thread is used.
PARALLEL_MIN_CELLS = 200_000


def _group_alignment_body(metric, S, offs, nk, pos, span, model, point, mask, qw, use_qw, out):
    G, C, _ = S.shape
    M = out.shape[1]
    Q = nk.shape[0]
    K = pos.shape[1]
    for c in prange(C):
        buf = np.zeros((1, K))  # the group's normalised distribution on question q's options
        lik = np.zeros((1, K))  # Likert: the group's mean as a two-point distribution
        num = np.zeros(M)
        den = np.zeros(M)
        bad = np.zeros(M, dtype=np.bool_)
        for g in range(G):
            num[:] = 0.0
            den[:] = 0.0
            bad[:] = False
            for q in range(Q):
                wq = qw[c, q] if use_qw else 1.0
                if wq == 0.0:
                    continue
                need = False
                for m in range(M):
                    if mask[m, g, q]:
                        need = True
                if not need:
                    continue
                k = nk[q]
                if metric == WASSERSTEIN:
                    o = offs[q]
                    tot = 0.0
                    for t in range(k):
                        tot += np.float64(S[g, c, o + t])
                    ok = tot > 0.0
                    if ok:
                        for t in range(k):
                            buf[0, t] = np.float64(S[g, c, o + t]) / tot
                else:
                    tot = np.float64(S[g, c, Q + q])  # float32 / float32 would round to float32
                    ok = tot > 0.0
                    if ok:
                        _mean_as_distribution(np.float64(S[g, c, q]) / tot, pos, q, k, lik)
                for m in range(M):
                    if not mask[m, g, q]:
                        continue
                    if not ok:
                        bad[m] = True
                        continue
                    if metric == WASSERSTEIN:
                        val = _ITEM_WASSERSTEIN(buf, 0, model[q], m, pos, q, k)
                    else:
                        val = _ITEM_LIKERT(lik, 0, point[q], m, pos, q, k)
                    num[m] += wq * val
                    den[m] += wq
            for m in range(M):
                if bad[m] or den[m] == 0.0:
                    out[c, m, g] = np.nan
                else:
                    out[c, m, g] = num[m] / den[m]
    return out


@njit(cache=True, inline="always")
def _mean_as_distribution(mu, pos, q, k, out):
    """Write into ``out[0, :k]`` the distribution on question ``q``'s options with mean ``mu``.

    Mass ``1 - lam`` and ``lam`` on the two options around ``mu``; the per-item
    Likert kernel needs only the mean of its input, so this hands it the
    group's mean without a second copy of the metric's formula.
    """
    for t in range(k):
        out[0, t] = 0.0
    t = 0
    while t < k - 2 and pos[q, t + 1] < mu:
        t += 1
    lam = (mu - pos[q, t]) / (pos[q, t + 1] - pos[q, t])
    out[0, t] = 1.0 - lam
    out[0, t + 1] = lam


_group_alignment_serial = njit(cache=True)(_group_alignment_body)
_group_alignment_parallel = njit(cache=True, parallel=True)(_group_alignment_body)


def group_alignment(metric, S, offs, nk, pos, span, model, point, mask, qw, out):
    """``out[c, m, g]``: mean over questions of the per-question alignment (numba).

    ``qw`` is ``None`` (every question weight 1) or a ``(C, Q)`` float64 array.
    ``model`` is ``(Q, M, K)`` (Wasserstein) and ``point`` ``(Q, M, K)``
    two-point distributions carrying the model means (Likert); the one not
    used may be a ``(Q, 0, K)`` placeholder.  Parallel over replicates above
    :data:`PARALLEL_MIN_CELLS` cells.
    """
    use_qw = qw is not None
    if qw is None:
        qw = np.ones((1, 1))
    cells = S.shape[0] * S.shape[1] * nk.shape[0]
    kern = _group_alignment_parallel if cells >= PARALLEL_MIN_CELLS else _group_alignment_serial
    return kern(metric, S, offs, nk, pos, span, model, point, mask, qw, use_qw, out)


def group_alignment_numpy(metric, S, offs, nk, pos, span, model, point, mask, qw, out):
    """Pure-NumPy twin and test oracle of :func:`group_alignment`.

    Builds each group's normalised distribution (Wasserstein) or two-point
    mean distribution (Likert) per question with NumPy and scores it with the
    NumPy twins of the per-item kernels,
    :func:`alignstat._kernels.metrics.metric_numpy`.
    """
    from .metrics import metric_numpy

    G, C, _ = S.shape
    Q = nk.shape[0]
    M = out.shape[1]
    S = np.asarray(S, dtype=np.float64).transpose(1, 0, 2)  # (C, G, J)
    A = np.full((C, M, G, Q), np.nan)
    for q in range(Q):
        k = int(nk[q])
        x = pos[q, :k]
        if metric == WASSERSTEIN:
            cnt = S[:, :, offs[q] : offs[q] + k]
            tot = cnt.sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = cnt / tot[:, :, None]  # (C, G, k)
            r = model[q][:, :k]
        else:
            tot = S[:, :, Q + q]
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = S[:, :, q] / tot
            t = np.clip(np.searchsorted(x, mu, side="left") - 1, 0, max(k - 2, 0))
            with np.errstate(invalid="ignore", divide="ignore"):
                lam = (mu - x[t]) / (x[t + 1] - x[t])
            p = np.zeros((C, G, k))
            np.put_along_axis(p, t[..., None], (1.0 - lam)[..., None], axis=2)
            np.put_along_axis(p, (t + 1)[..., None], lam[..., None], axis=2)
            r = point[q][:, :k]
        with np.errstate(invalid="ignore"):
            val = metric_numpy(metric, p[:, None, :, :], r[None, :, None, :], x)  # (C, M, G)
        A[:, :, :, q] = np.where((tot > 0)[:, None, :], val, np.nan)
    w = np.ones((C, Q)) if qw is None else qw
    inq = mask[None] & (w[:, None, None, :] > 0)
    num = np.where(inq, np.nan_to_num(A) * w[:, None, None, :], 0.0).sum(axis=3)
    den = np.where(inq, w[:, None, None, :], 0.0).sum(axis=3)
    bad = (inq & np.isnan(A)).any(axis=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = num / den
    res[bad | (den == 0)] = np.nan
    out[...] = res
    return out
