"""Per-question alignment kernels on padded option grids.

Layout shared by every kernel here:

* ``pos``: float64 ``(Q, K)``, the option positions of question ``q`` in
  ascending order in ``pos[q, :nk[q]]`` (padding beyond ``nk[q]`` is ignored).
  For the nominal metrics (JSD, TVD) positions are not used.
* ``pa``/``pb``: float64 ``(items, K)``, each item's probabilities on the grid
  of its question (rows sum to 1 over the first ``nk[q]`` entries).
* ``qa``/``qb``: int64 item -> question index; items of one side sorted by
  question, with ``offa``/``offb`` (``Q + 1``) the start of each question's run.
* ``ga``/``gb``: int64 item -> group index on that side.

The result is ``out[ga, gb, q]``: the per-question alignment of every pair of
groups, NaN where a pair does not share question ``q``.
"""

import numpy as np
from numba import njit, prange

WASSERSTEIN, LIKERT, JSD, TVD = 0, 1, 2, 3
METRIC_IDS = {"wasserstein": WASSERSTEIN, "likert": LIKERT, "jsd": JSD, "tvd": TVD}

_LOG2 = np.log(2.0)


# Per-pair metrics index the 2-D arrays directly: slicing rows into views inside the
# pair loop made the kernel ten times slower.
@njit(cache=True, inline="always")
def _wasserstein(pa, i, pb, j, pos, q, k):
    # 1 - W1 / (x_max - x_min), W1 on the line = sum |F_p - F_q| * gap.
    fp = 0.0
    fq = 0.0
    acc = 0.0
    for t in range(k - 1):
        fp += pa[i, t]
        fq += pb[j, t]
        acc += abs(fp - fq) * (pos[q, t + 1] - pos[q, t])
    return 1.0 - acc / (pos[q, k - 1] - pos[q, 0])


@njit(cache=True, inline="always")
def _likert(pa, i, pb, j, pos, q, k):
    mp = 0.0
    mq = 0.0
    for t in range(k):
        mp += pa[i, t] * pos[q, t]
        mq += pb[j, t] * pos[q, t]
    return 1.0 - abs(mp - mq) / (pos[q, k - 1] - pos[q, 0])


@njit(cache=True, inline="always")
def _jsd(pa, i, pb, j, k):
    # 1 - Jensen-Shannon distance in base 2 (sqrt of the divergence).
    acc = 0.0
    for t in range(k):
        p = pa[i, t]
        r = pb[j, t]
        s = p + r  # log(p / m) = log(2p / (p + r)): no underflow of m for subnormal inputs
        if p > 0.0:
            acc += p * np.log(2.0 * p / s)
        if r > 0.0:
            acc += r * np.log(2.0 * r / s)
    div = 0.5 * acc / _LOG2
    if div < 0.0:
        div = 0.0
    return 1.0 - np.sqrt(div)


@njit(cache=True, inline="always")
def _tvd(pa, i, pb, j, k):
    acc = 0.0
    for t in range(k):
        acc += abs(pa[i, t] - pb[j, t])
    return 1.0 - 0.5 * acc


def _pairwise_body(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    nq = pos.shape[0]
    out = np.full((n_ga, n_gb, nq), np.nan)
    for q in prange(nq):
        k = nk[q]
        for i in range(offa[q], offa[q + 1]):
            gi = ga[i]
            if metric == 0:
                for j in range(offb[q], offb[q + 1]):
                    out[gi, gb[j], q] = _wasserstein(pa, i, pb, j, pos, q, k)
            elif metric == 1:
                for j in range(offb[q], offb[q + 1]):
                    out[gi, gb[j], q] = _likert(pa, i, pb, j, pos, q, k)
            elif metric == 2:
                for j in range(offb[q], offb[q + 1]):
                    out[gi, gb[j], q] = _jsd(pa, i, pb, j, k)
            else:
                for j in range(offb[q], offb[q + 1]):
                    out[gi, gb[j], q] = _tvd(pa, i, pb, j, k)
    return out


_pairwise_serial = njit(cache=True)(_pairwise_body)
_pairwise_parallel = njit(cache=True, parallel=True)(_pairwise_body)

#: Below this many per-question comparisons one thread is faster than waking a pool.
PARALLEL_THRESHOLD = 2_000_000


def pairwise_question_alignment(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    """``out[ga, gb, q]`` for every pair of items that share a question (numba).

    Runs single-threaded for small workloads (the first paper's full
    7 x 66 x 144 comparison takes well under a millisecond), multi-threaded
    above :data:`PARALLEL_THRESHOLD` comparisons.
    """
    work = int(np.sum(np.diff(offa) * np.diff(offb)))
    kern = _pairwise_parallel if work > PARALLEL_THRESHOLD else _pairwise_serial
    return kern(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb)


def pairwise_question_alignment_numpy(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    """Pure-NumPy twin of :func:`pairwise_question_alignment` (vectorised per question)."""
    nq = pos.shape[0]
    out = np.full((n_ga, n_gb, nq), np.nan)
    for q in range(nq):
        k = int(nk[q])
        ia = slice(offa[q], offa[q + 1])
        ib = slice(offb[q], offb[q + 1])
        if offa[q] == offa[q + 1] or offb[q] == offb[q + 1]:
            continue
        p = pa[ia, :k][:, None, :]
        r = pb[ib, :k][None, :, :]
        x = pos[q, :k]
        if metric == WASSERSTEIN:
            cdf = np.cumsum(p, axis=-1)[..., :-1] - np.cumsum(r, axis=-1)[..., :-1]
            val = 1.0 - (np.abs(cdf) * np.diff(x)).sum(-1) / (x[-1] - x[0])
        elif metric == LIKERT:
            val = 1.0 - np.abs((p * x).sum(-1) - (r * x).sum(-1)) / (x[-1] - x[0])
        elif metric == JSD:
            s = p + r
            tp = p * np.log2(np.divide(2 * p, s, out=np.ones_like(s), where=p > 0))
            tr = r * np.log2(np.divide(2 * r, s, out=np.ones_like(s), where=r > 0))
            val = 1.0 - np.sqrt(np.maximum(0.5 * (tp.sum(-1) + tr.sum(-1)), 0.0))
        else:
            val = 1.0 - 0.5 * np.abs(p - r).sum(-1)
        out[ga[ia][:, None], gb[ib][None, :], q] = val
    return out


@njit(cache=True)
def summarize_over_questions(values, ddof):
    """Mean, sd (``ddof``) and count over the last axis, ignoring NaN (numba)."""
    n0, n1, nq = values.shape
    mean = np.full((n0, n1), np.nan)
    sd = np.full((n0, n1), np.nan)
    count = np.zeros((n0, n1), dtype=np.int64)
    for i in range(n0):
        for j in range(n1):
            s = 0.0
            c = 0
            for q in range(nq):
                v = values[i, j, q]
                if not np.isnan(v):
                    s += v
                    c += 1
            count[i, j] = c
            if c == 0:
                continue
            m = s / c
            mean[i, j] = m
            if c - ddof > 0:
                ss = 0.0
                for q in range(nq):
                    v = values[i, j, q]
                    if not np.isnan(v):
                        ss += (v - m) * (v - m)
                sd[i, j] = np.sqrt(ss / (c - ddof))
    return mean, sd, count


def summarize_over_questions_numpy(values, ddof):
    """Pure-NumPy twin of :func:`summarize_over_questions`."""
    count = np.sum(~np.isnan(values), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.nansum(values, axis=-1)
        mean = np.where(count > 0, s / np.maximum(count, 1), np.nan)
        dev = np.where(np.isnan(values), 0.0, values - mean[..., None])
        ss = (dev**2).sum(-1)
        sd = np.where(count - ddof > 0, np.sqrt(ss / np.maximum(count - ddof, 1)), np.nan)
    return mean, sd, count.astype(np.int64)


@njit(cache=True, parallel=True)
def respondent_alignment_kernel(metric, responses, answers, pos, nk):
    """Per-respondent, per-question alignment ``out[m, i, q]`` (numba).

    ``responses`` ``(N, Q)`` positions or NaN; ``answers`` ``(M, Q, K)`` model
    distributions on the question grids.  Likert: ``1 - |x - mean| / span``;
    Wasserstein of a point mass at ``x`` against the model distribution:
    ``1 - sum_k p_k |x - pos_k| / span``.
    """
    m_models = answers.shape[0]
    n, nq = responses.shape
    out = np.full((m_models, n, nq), np.nan)
    means = np.full((m_models, nq), np.nan)
    for m in range(m_models):
        for q in range(nq):
            k = nk[q]
            s = 0.0
            tot = 0.0
            for j in range(k):
                s += answers[m, q, j] * pos[q, j]
                tot += answers[m, q, j]
            if tot > 0.0:
                means[m, q] = s / tot
    for i in prange(n):
        for q in range(nq):
            x = responses[i, q]
            if np.isnan(x):
                continue
            k = nk[q]
            span = pos[q, k - 1] - pos[q, 0]
            for m in range(m_models):
                if np.isnan(means[m, q]):
                    continue
                if metric == 1:
                    out[m, i, q] = 1.0 - abs(x - means[m, q]) / span
                else:
                    acc = 0.0
                    for j in range(k):
                        acc += answers[m, q, j] * abs(x - pos[q, j])
                    out[m, i, q] = 1.0 - acc / span
    return out


def respondent_alignment_numpy(metric, responses, answers, pos, nk):
    """Pure-NumPy twin of :func:`respondent_alignment_kernel`."""
    m_models, nq, kmax = answers.shape
    mask = np.arange(kmax)[None, :] < nk[:, None]
    posz = np.where(mask, pos, 0.0)
    lo = pos[:, 0]
    hi = np.take_along_axis(pos, (nk - 1)[:, None], axis=1)[:, 0]
    span = hi - lo
    tot = (answers * mask).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(tot > 0, (answers * posz).sum(-1) / np.where(tot > 0, tot, 1.0), np.nan)
    x = responses[None, :, :]
    if metric == LIKERT:
        out = 1.0 - np.abs(x - means[:, None, :]) / span
    else:
        dist = np.abs(x[..., None] - posz[None, None, :, :]) * (answers * mask)[:, None, :, :]
        out = 1.0 - dist.sum(-1) / span
        out = np.where(np.isnan(means)[:, None, :], np.nan, out)
    return np.where(np.isnan(x), np.nan, out)
