r"""The one implementation of each alignment metric: a numba per-item kernel and its NumPy twin.

Per-item kernels (numba, ``@njit(inline="always")``; callable from any other
numba function, e.g. a bootstrap loop)::

    wasserstein_item(p, i, r, j, pos, q, k) -> float
    likert_item(p, i, r, j, pos, q, k) -> float
    jsd_item(p, i, r, j, k) -> float
    tvd_item(p, i, r, j, k) -> float

* ``p``, ``r``: float64 2-D arrays ``(rows, K)``; the two distributions
  compared are the rows ``p[i, :k]`` and ``r[j, :k]`` (each summing to 1;
  the kernels do not renormalise).  Rows and indices are passed instead of
  1-D slices because slicing inside a hot loop made the pairwise kernel ten
  times slower.
* ``pos``: float64 ``(Q, K)``; ``pos[q, :k]`` the option positions of the
  question, strictly ascending (ordinal kernels only).
* ``k``: int, the number of options (``>= 2`` and ``pos[q, k-1] > pos[q, 0]``
  for the ordinal kernels: callers validate, the kernels do not check).
* A point answer at option ``t`` is the one-hot row ``t`` of ``np.eye(K)``:
  pass ``p=eye, i=t``; there is no second formula for point answers.

Each returns a similarity in [0, 1], 1 for identical distributions:

* Wasserstein: :math:`1 - \sum_{t<k-1} |F_p(t) - F_r(t)| (x_{t+1} - x_t) / (x_{k-1} - x_0)`
* Likert: :math:`1 - |\sum_t p_t x_t - \sum_t r_t x_t| / (x_{k-1} - x_0)`
* JSD: :math:`1 - \sqrt{\mathrm{JSD}_2(p, r)}` (base-2 Jensen--Shannon distance)
* TVD: :math:`1 - \tfrac12 \sum_t |p_t - r_t|`

NumPy twins (fallback and test oracle), broadcasting over leading axes of
``p`` and ``r`` (last axis = the ``k`` options) with ``x`` the ``(k,)``
ascending positions: :func:`wasserstein_numpy`, :func:`likert_numpy`,
:func:`jsd_numpy`, :func:`tvd_numpy`.  The public array functions
(:func:`alignstat.wasserstein_alignment` ...) call the twins; ``align``, the
respondent path and the bootstrap call the per-item kernels.

Pairwise layout of :func:`pairwise_question_alignment`:

* ``pos``: ``(Q, K)`` positions; ``nk``: int64 ``(Q,)`` options per question.
* ``pa``/``pb``: ``(items, K)`` probabilities of each side's items on their
  question's grid, items sorted by question, ``offa``/``offb`` (``Q + 1``)
  the start of each question's run; ``ga``/``gb`` int64 item -> group.
* Result ``out[ga, gb, q]``, NaN where a pair does not share question ``q``.
"""

import numpy as np
from numba import njit, prange

WASSERSTEIN, LIKERT, JSD, TVD = 0, 1, 2, 3
METRIC_IDS = {"wasserstein": WASSERSTEIN, "likert": LIKERT, "jsd": JSD, "tvd": TVD}

_LOG2 = np.log(2.0)


# ---------------------------------------------------------------- per-item kernels (numba)
@njit(cache=True, inline="always")
def wasserstein_item(p, i, r, j, pos, q, k):
    """``1 - W1(p[i], r[j]) / span`` on positions ``pos[q, :k]`` (W1 = sum |F_p - F_r| * gap)."""
    fp = 0.0
    fq = 0.0
    acc = 0.0
    for t in range(k - 1):
        fp += p[i, t]
        fq += r[j, t]
        acc += abs(fp - fq) * (pos[q, t + 1] - pos[q, t])
    return 1.0 - acc / (pos[q, k - 1] - pos[q, 0])


@njit(cache=True, inline="always")
def likert_item(p, i, r, j, pos, q, k):
    """``1 - |mean(p[i]) - mean(r[j])| / span`` on positions ``pos[q, :k]``."""
    mp = 0.0
    mq = 0.0
    for t in range(k):
        mp += p[i, t] * pos[q, t]
        mq += r[j, t] * pos[q, t]
    return 1.0 - abs(mp - mq) / (pos[q, k - 1] - pos[q, 0])


@njit(cache=True, inline="always")
def jsd_item(p, i, r, j, k):
    """``1 -`` the base-2 Jensen--Shannon distance of ``p[i, :k]`` and ``r[j, :k]``."""
    acc = 0.0
    for t in range(k):
        a = p[i, t]
        b = r[j, t]
        s = a + b  # log(a / m) = log(2a / (a + b)): no underflow of m for subnormal inputs
        if a > 0.0:
            acc += a * np.log(2.0 * a / s)
        if b > 0.0:
            acc += b * np.log(2.0 * b / s)
    div = 0.5 * acc / _LOG2
    if div < 0.0:
        div = 0.0
    return 1.0 - np.sqrt(div)


@njit(cache=True, inline="always")
def tvd_item(p, i, r, j, k):
    """``1 - 0.5 * sum |p[i, :k] - r[j, :k]|``."""
    acc = 0.0
    for t in range(k):
        acc += abs(p[i, t] - r[j, t])
    return 1.0 - 0.5 * acc


# ---------------------------------------------------------------- NumPy twins
def wasserstein_numpy(p, r, x):
    """NumPy twin of :func:`wasserstein_item`: ``p``, ``r`` ``(..., k)``, ``x`` ``(k,)`` ascending."""
    cdf = np.cumsum(p, axis=-1)[..., :-1] - np.cumsum(r, axis=-1)[..., :-1]
    return 1.0 - (np.abs(cdf) * np.diff(x)).sum(-1) / (x[-1] - x[0])


def likert_numpy(p, r, x):
    """NumPy twin of :func:`likert_item` (``r`` may also be means, with ``x=None`` not allowed)."""
    return 1.0 - np.abs((p * x).sum(-1) - (r * x).sum(-1)) / (x[-1] - x[0])


def jsd_numpy(p, r):
    """NumPy twin of :func:`jsd_item`."""
    p, r = np.broadcast_arrays(p, r)
    s = p + r
    # p / m = 2p / (p + r) <= 2 wherever p > 0; written this way it cannot underflow to p / 0.
    tp = p * np.log(np.divide(2.0 * p, s, out=np.ones_like(s), where=p > 0))
    tr = r * np.log(np.divide(2.0 * r, s, out=np.ones_like(s), where=r > 0))
    return 1.0 - np.sqrt(np.maximum(0.5 * (tp.sum(-1) + tr.sum(-1)) / _LOG2, 0.0))


def tvd_numpy(p, r):
    """NumPy twin of :func:`tvd_item`."""
    return 1.0 - 0.5 * np.abs(p - r).sum(-1)


def metric_numpy(metric, p, r, x):
    """Dispatch to the twin of metric id `metric` (``x`` ignored by JSD/TVD)."""
    if metric == WASSERSTEIN:
        return wasserstein_numpy(p, r, x)
    if metric == LIKERT:
        return likert_numpy(p, r, x)
    if metric == JSD:
        return jsd_numpy(p, r)
    return tvd_numpy(p, r)


# ---------------------------------------------------------------- every pair of items per question
def _pairwise_body(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    """``out[q, ga, gb]``: question-major, so the inner loop writes along a row."""
    nq = pos.shape[0]
    out = np.full((nq, n_ga, n_gb), np.nan)
    for q in prange(nq):
        k = nk[q]
        for i in range(offa[q], offa[q + 1]):
            gi = ga[i]
            if metric == 0:
                for j in range(offb[q], offb[q + 1]):
                    out[q, gi, gb[j]] = wasserstein_item(pa, i, pb, j, pos, q, k)
            elif metric == 1:
                for j in range(offb[q], offb[q + 1]):
                    out[q, gi, gb[j]] = likert_item(pa, i, pb, j, pos, q, k)
            elif metric == 2:
                for j in range(offb[q], offb[q + 1]):
                    out[q, gi, gb[j]] = jsd_item(pa, i, pb, j, k)
            else:
                for j in range(offb[q], offb[q + 1]):
                    out[q, gi, gb[j]] = tvd_item(pa, i, pb, j, k)
    return out


_pairwise_serial = njit(cache=True)(_pairwise_body)
_pairwise_parallel = njit(cache=True, parallel=True)(_pairwise_body)


def _pairwise_qmajor(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    work = int(np.sum(np.diff(offa) * np.diff(offb)))
    kern = _pairwise_parallel if work > PARALLEL_THRESHOLD else _pairwise_serial
    return kern(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb)


@njit(cache=True)
def _summarize_qmajor(values, ddof):
    """:func:`summarize_over_questions` of ``values[q, i, j]``: the same sums in the same order."""
    nq, n0, n1 = values.shape
    s = np.zeros((n0, n1))
    count = np.zeros((n0, n1), dtype=np.int64)
    for q in range(nq):
        for i in range(n0):
            for j in range(n1):
                v = values[q, i, j]
                if not np.isnan(v):
                    s[i, j] += v
                    count[i, j] += 1
    mean = np.full((n0, n1), np.nan)
    for i in range(n0):
        for j in range(n1):
            if count[i, j] > 0:
                mean[i, j] = s[i, j] / count[i, j]
    ss = np.zeros((n0, n1))
    for q in range(nq):
        for i in range(n0):
            for j in range(n1):
                v = values[q, i, j]
                if not np.isnan(v):
                    d = v - mean[i, j]
                    ss[i, j] += d * d
    sd = np.full((n0, n1), np.nan)
    for i in range(n0):
        for j in range(n1):
            c = count[i, j]
            if c > 0 and c - ddof > 0:
                sd[i, j] = np.sqrt(ss[i, j] / (c - ddof))
    return mean, sd, count


def pairwise_group_summary(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb, ddof):
    """Mean, sd (`ddof`) and count over questions of every pair of groups (numba).

    Equal, bit for bit, to ``summarize_over_questions(pairwise_question_alignment(...), ddof)``
    (each pair's sums run over the questions in the same order) without the transposed
    ``(groups, groups, questions)`` array.
    """
    vals = _pairwise_qmajor(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb)
    return _summarize_qmajor(vals, int(ddof))

#: Below this many per-question comparisons one thread is faster than waking a pool.
PARALLEL_THRESHOLD = 2_000_000


def pairwise_question_alignment(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    """``out[ga, gb, q]`` for every pair of items that share a question (numba).

    Runs single-threaded for small workloads (the first paper's full
    7 x 66 x 144 comparison takes well under a millisecond), multi-threaded
    above :data:`PARALLEL_THRESHOLD` comparisons.
    """
    out = _pairwise_qmajor(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb)
    return np.ascontiguousarray(out.transpose(1, 2, 0))


def pairwise_question_alignment_numpy(metric, pos, nk, pa, ga, offa, pb, gb, offb, n_ga, n_gb):
    """Pure-NumPy twin of :func:`pairwise_question_alignment` (the metric twins, per question)."""
    nq = pos.shape[0]
    out = np.full((n_ga, n_gb, nq), np.nan)
    for q in range(nq):
        if offa[q] == offa[q + 1] or offb[q] == offb[q + 1]:
            continue
        k = int(nk[q])
        ia = slice(offa[q], offa[q + 1])
        ib = slice(offb[q], offb[q + 1])
        val = metric_numpy(metric, pa[ia, :k][:, None, :], pb[ib, :k][None, :, :], pos[q, :k])
        out[ga[ia][:, None], gb[ib][None, :], q] = val
    return out


# ---------------------------------------------------------------- mean and sd over questions
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


# ---------------------------------------------------------------- respondents (point answers)
@njit(cache=True, parallel=True)
def respondent_alignment_kernel(metric, codes, answers, has_answer, pos, nk, n_models):
    """Per-respondent, per-question alignment ``out[m, i, q]`` (numba).

    ``codes`` ``(N, Q)`` int64: the option column of each answer (-1 = no
    valid answer); ``answers`` ``(M * Q, K)``: model ``m``'s normalised
    distribution on question ``q`` in row ``m * Q + q``; ``has_answer``
    ``(M * Q,)``.  A respondent's answer is the one-hot row of an identity
    matrix, compared by the per-item kernel.
    """
    n, nq = codes.shape
    eye = np.eye(pos.shape[1])
    out = np.full((n_models, n, nq), np.nan)
    for i in prange(n):
        for q in range(nq):
            t = codes[i, q]
            if t < 0:
                continue
            k = nk[q]
            for m in range(n_models):
                row = m * nq + q
                if not has_answer[row]:
                    continue
                if metric == 1:
                    out[m, i, q] = likert_item(eye, t, answers, row, pos, q, k)
                else:
                    out[m, i, q] = wasserstein_item(eye, t, answers, row, pos, q, k)
    return out


def respondent_alignment_numpy(metric, codes, answers, has_answer, pos, nk, n_models):
    """Pure-NumPy twin of :func:`respondent_alignment_kernel` (the metric twins on one-hot rows)."""
    n, nq = codes.shape
    eye = np.eye(pos.shape[1])
    out = np.full((n_models, n, nq), np.nan)
    a3 = answers.reshape(n_models, nq, -1)
    h2 = has_answer.reshape(n_models, nq)
    for q in range(nq):
        k = int(nk[q])
        ok = codes[:, q] >= 0
        onehot = eye[np.maximum(codes[:, q], 0), :k]
        val = metric_numpy(metric, onehot[None, :, :], a3[:, q, :k][:, None, :], pos[q, :k])
        val = np.where(ok[None, :] & h2[:, q][:, None], val, np.nan)
        out[:, :, q] = val
    return out
