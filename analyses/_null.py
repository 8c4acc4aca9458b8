r"""Small-group bias, the random-group null and the ceiling of group alignment.

Everything here works on the packed respondent arrays of
:func:`alignstat.prepare_respondents` (:class:`GroupPack`): respondents'
option positions, weights, group codes, optional strata and PSUs, and the
models' answers on each question's option grid.  The studies
(:func:`analyses.subgroup_alignment`) call it; the formulas are in the
docstrings of :func:`bias_corrected`, :func:`random_group_null` and
:func:`ceiling`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy.special import erfc

import alignstat

__all__ = ["GroupPack", "bias_corrected", "random_group_null", "ceiling", "null_summary"]


class GroupPack:
    """Respondent arrays of one study, ready for group statistics.

    Parameters
    ----------
    rd : alignstat.RespondentData
    weights : ndarray, shape (N,)
    strata, psu : array_like, optional
        Design labels per respondent (used for the linearised variance of a
        group mean and for design-respecting split halves); without `psu`
        every respondent is its own PSU, without `strata` there is one stratum.
    """

    def __init__(self, rd, weights, strata=None, psu=None):
        resp = np.asarray(rd.responses, dtype=float)
        self.N, self.Q = resp.shape
        self.pos = np.asarray(rd.positions, dtype=float)
        self.nk = np.asarray(rd.n_options, dtype=np.int64)
        self.K = self.pos.shape[1]
        self.lo = self.pos[:, 0]
        self.hi = self.pos[np.arange(self.Q), self.nk - 1]
        self.span = self.hi - self.lo
        self.valid = ~np.isnan(resp)
        self.x = np.where(self.valid, resp, 0.0)
        opt = np.full((self.N, self.Q), -1, dtype=np.int64)
        for q in range(self.Q):
            v = self.valid[:, q]
            opt[v, q] = np.searchsorted(self.pos[q, : self.nk[q]], resp[v, q])
        self.opt = opt
        self.w = np.asarray(weights, dtype=float)
        self.groups = np.asarray(rd.groups, dtype=np.int64)
        self.group_labels = rd.group_labels
        ans = np.asarray(rd.answers, dtype=float)
        tot = ans.sum(axis=2)
        self.answered = tot > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            self.dist = ans / np.where(tot > 0, tot, 1.0)[..., None]
            self.amean = np.where(self.answered, np.einsum("mqk,qk->mq", self.dist, np.nan_to_num(self.pos)),
                                  np.nan)
        top = self.dist.max(axis=2)
        #: (M,) every answered question of the model is a point answer (one-hot)
        self.is_point = np.array([bool(np.all(top[m][self.answered[m]] > 1 - 1e-12)) for m in range(ans.shape[0])])
        self.M = ans.shape[0]
        self.models = list(rd.models)
        # design codes
        if psu is None:
            self.psu = np.arange(self.N)
        else:
            self.psu = np.asarray(_codes(psu, strata), dtype=np.int64)
        self.strata = np.zeros(self.N, dtype=np.int64) if strata is None else np.asarray(_codes(strata), dtype=np.int64)
        self.P = int(self.psu.max()) + 1
        ps = np.zeros(self.P, dtype=np.int64)
        ps[self.psu] = self.strata
        self.psu_stratum = ps
        self.n_h = np.bincount(ps, minlength=int(ps.max()) + 1)

    def members(self):
        """List of ``(factor index, code, member indices)`` in the order of the bootstrap engine."""
        out = []
        for f in range(self.groups.shape[1]):
            codes = self.groups[:, f]
            for g in range(len(self.group_labels[f])):
                out.append((f, g, np.flatnonzero(codes == g)))
        return out

    # ------------------------------------------------------------------ group statistics
    def sums(self, idx, mult=None):
        """Weighted valid mass ``W`` (Q,) and option masses ``S`` (Q, K) of the respondents `idx`."""
        w = self.w[idx] if mult is None else self.w[idx] * mult
        S = np.zeros((self.Q, self.K))
        for q in range(self.Q):
            o = self.opt[idx, q]
            v = o >= 0
            S[q] = np.bincount(o[v], weights=w[v], minlength=self.K)[: self.K]
        return S.sum(axis=1), S

    def question_alignment(self, W, mean, shares, metric):
        """Per-question alignment ``(..., M, Q)`` of groups given their valid mass, means and shares.

        `W`, `mean` have shape (..., Q); `shares` (..., Q, K) (may be None for
        ``metric="likert"``).  NaN where the group has no valid answer or the
        model did not answer.
        """
        ok = (W > 0)[..., None, :] & self.answered
        if metric == "likert":
            A = 1.0 - np.abs(mean[..., None, :] - self.amean) / self.span
        else:
            A = np.full(np.broadcast_shapes(W.shape[:-1] + (self.M, self.Q)), np.nan)
            for q in range(self.Q):
                k = self.nk[q]
                p = shares[..., q, :k]
                has = p.sum(-1) > 0
                p = np.where(has[..., None], p, 1.0)
                for m in range(self.M):
                    if not self.answered[m, q]:
                        continue
                    A[..., m, q] = alignstat.wasserstein_alignment(p, self.dist[m, q, :k], self.pos[q, :k])
        return np.where(ok, A, np.nan)

    def group_stats(self, idx):
        W, S = self.sums(idx)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (S * np.nan_to_num(self.pos)).sum(1) / W
            shares = S / W[:, None]
        return W, mean, shares


def _codes(labels, strata=None):
    import pandas as pd

    lab = pd.Series(np.asarray(labels)).astype(str)
    if strata is not None:
        lab = pd.Series(np.asarray(strata)).astype(str) + "\x1f" + lab
    return pd.factorize(lab, sort=True)[0]


def _mean_question(A):
    """Mean over the last axis ignoring NaN; NaN (no warning) where all are NaN."""
    n = np.sum(~np.isnan(A), axis=-1)
    s = np.nansum(A, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan), n


def _folded_excess(t):
    r"""``E|Z| - |t|`` for ``Z ~ N(t, 1)``: :math:`\sqrt{2/\pi}e^{-t^2/2} + t(1 - 2\Phi(-t)) - t`` (t >= 0)."""
    t = np.abs(t)
    return np.sqrt(2 / np.pi) * np.exp(-0.5 * t * t) + t * (1.0 - erfc(t / np.sqrt(2))) - t


def mean_se(pack, idx, mean):
    r"""Linearised (design-based) standard error of a group's weighted mean on every question.

    Domain estimation with PSUs drawn with replacement within strata:
    :math:`z_i = w_i v_{iq} (x_{iq} - \bar x_{Gq}) / W_{Gq}` for members, 0 otherwise,
    :math:`\hat V = \sum_h \frac{n_h}{n_h - 1} \sum_{p \in h} (z_{hp} - \bar z_h)^2`
    (strata with one PSU contribute nothing), multiplied by
    :math:`n_{eff}/(n_{eff} - 1)`, :math:`n_{eff} = W^2/\sum w_i^2` over the
    members with a valid answer (the reliability-weights correction for a
    mean estimated from the same members; 1 - 1/n for equal weights).
    Without a design every respondent is a PSU of one stratum.
    """
    n = len(idx)
    se = np.full(pack.Q, np.nan)
    if n == 0:
        return se
    w = pack.w[idx]
    v = pack.valid[idx]
    Wq = (w[:, None] * v).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = np.where(v, w[:, None] * (pack.x[idx] - mean[None, :]), 0.0) / np.where(Wq > 0, Wq, 1.0)
    u, inv = np.unique(pack.psu[idx], return_inverse=True)
    zp = np.zeros((len(u), pack.Q))
    np.add.at(zp, inv, Z)
    H = len(pack.n_h)
    hs = pack.psu_stratum[u]
    s1 = np.zeros((H, pack.Q))
    s2 = np.zeros((H, pack.Q))
    np.add.at(s1, hs, zp)
    np.add.at(s2, hs, zp * zp)
    nh = pack.n_h.astype(float)[:, None]
    c = np.where(nh > 1, nh / np.maximum(nh - 1, 1), 0.0)
    var = np.sum(c * (s2 - s1 * s1 / np.maximum(nh, 1)), axis=0)
    # the mean is estimated from the same members: reliability-weights correction V1^2 / (V1^2 - V2)
    W2 = (w[:, None] ** 2 * v).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = Wq * Wq / W2
        var = np.where(n_eff > 1, var * n_eff / (n_eff - 1), var)
    ok = (Wq > 0) & np.isfinite(mean)
    se[ok] = np.sqrt(np.maximum(var[ok], 0.0))
    return se


def _expected_abs(m, v):
    """``E|Y|`` for ``Y ~ N(m, v^2)`` (``|m|`` where ``v == 0``)."""
    m = np.asarray(m, dtype=float)
    v = np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(m) / np.where(v > 0, v, 1.0)
        out = np.where(v > 0, v * (_folded_excess(t) + t), np.abs(m))
    return out


def bias_corrected(pack, stats, metric="likert"):
    r"""Bias-corrected Likert alignment of every group with every model (empirical Bayes).

    Parameters
    ----------
    pack : GroupPack
    stats : list of tuple
        One ``(factor index, W (Q,), mean (Q,), se (Q,), A (M, Q))`` per group
        in the order of :meth:`GroupPack.members`: valid weight, weighted
        mean, its design-based standard error (:func:`mean_se`) and the
        per-question plug-in alignment (NaN outside the group's questions).

    Returns
    -------
    ndarray, shape (M, G)
        ``alignment_bc``, the mean over the same questions as ``alignment``.

    Notes
    -----
    The plug-in alignment :math:`1 - |\bar x_G - a|/(R-1)` is biased down
    because :math:`E|\bar x_G - a| \ge |\mu_G - a|`; no unbiased estimator
    of :math:`|\mu_G - a|` exists (the bias is largest where
    :math:`\mu_G \approx a`).  ``alignment_bc`` estimates
    :math:`|\mu_G - a|` by its posterior mean under a normal random-effects
    model of the groups of one factor on each question,
    :math:`\mu_G \sim N(\mu, \tau^2)`, :math:`\bar x_G \mid \mu_G \sim
    N(\mu_G, s_G^2)` (:math:`s_G` the design-based SE of the group mean):

    .. math::

        B_G = \frac{\hat\tau^2}{\hat\tau^2 + s_G^2},\quad
        m_G = \hat\mu + B_G(\bar x_G - \hat\mu),\quad v_G^2 = B_G s_G^2,

        \widehat{|\mu_G - a|} = E|N(m_G - a, v_G^2)|
        = v_G\left[\sqrt{2/\pi}\,e^{-t^2/2} + t\,(1 - 2\Phi(-t))\right],
        \; t = |m_G - a|/v_G,

    with :math:`\hat\mu` the factor's pooled weighted mean (the group means
    weighted by their valid weight) and :math:`\hat\tau^2 = \max(0, \frac{1}{G-1}\sum_G (\bar x_G -
    \hat\mu)^2 - \overline{s^2_G})` (method of moments).  A posterior mean
    is unbiased on average over groups drawn from the model (Bayes risk), so
    groups that differ only by chance composition (:math:`\tau = 0`) score
    the population's alignment on average, and groups that really differ keep
    their difference, shrunk by :math:`B_G`.  A factor with one group (the
    overall row) uses the bootstrap bias correction in its normal limit,
    :math:`|\bar x - a| - s\,g(|\bar x - a|/s)`, :math:`g(t) = E|Z + t| - t`
    (Efron & Tibshirani 1993, sec. 10.6), which is negligible for large groups.

    References
    ----------
    Efron, B. & Morris, C. (1975). Data analysis using Stein's estimator and its
    generalizations. *JASA* 70, 311-319.  Efron, B. & Tibshirani, R. J. (1993).
    *An Introduction to the Bootstrap*, sec. 10.6.
    """
    G = len(stats)
    out = np.full((pack.M, G), np.nan)
    factors = np.array([s[0] for s in stats])
    for f in np.unique(factors):
        js = np.flatnonzero(factors == f)
        mean = np.stack([stats[j][2] for j in js])  # (g, Q)
        se = np.stack([stats[j][3] for j in js])
        ok = np.isfinite(mean) & np.isfinite(se)
        if len(js) >= 2:
            Wg = np.stack([stats[j][1] for j in js])  # valid weight of each group
            with np.errstate(invalid="ignore", divide="ignore"):
                wt = np.where(ok, Wg, 0.0)
                mu = np.sum(np.where(ok, mean, 0) * wt, 0) / np.sum(wt, 0)
                ng = ok.sum(0)
                dev = np.where(ok, (mean - mu) ** 2, 0).sum(0) / np.maximum(ng - 1, 1)
                tau2 = np.maximum(0.0, dev - np.where(ok, se ** 2, 0).sum(0) / np.maximum(ng, 1))
                tau2 = np.where(ng >= 2, tau2, np.inf)
                Bg = np.where(np.isinf(tau2), 1.0, tau2 / (tau2 + se ** 2))
                Bg = np.where(se > 0, Bg, 1.0)
            m = mu + Bg * (mean - mu)
            v = np.sqrt(Bg) * se
            for i, j in enumerate(js):
                A = stats[j][4]
                est = _expected_abs(m[i][None, :] - pack.amean, np.broadcast_to(v[i], pack.amean.shape))
                Abc = np.where(np.isnan(A), np.nan, 1.0 - est / pack.span)
                out[:, j] = _mean_question(Abc)[0]
        else:
            j = js[0]
            A, s = stats[j][4], se[0]
            d = np.abs(mean[0][None, :] - pack.amean)
            with np.errstate(invalid="ignore", divide="ignore"):
                excess = np.where(s > 0, s * _folded_excess(d / np.where(s > 0, s, 1.0)), 0.0)
            out[:, j] = _mean_question(np.where(np.isnan(A), np.nan, A + excess / pack.span))[0]
    return out


# Two kernels with the same walk over the bins: a single kernel taking (column, value) pairs for both cases was
# measured 3x slower on the Likert rows (50,116 respondents x 94 columns, 150 permutations: 0.75 s vs 0.26 s),
# whose contiguous rows the dense kernel adds without an index per value.
@njit(cache=True, parallel=True)
def _bins_dense(D, perms, ends, out):  # pragma: no cover - compiled
    """``out[b, j] += D[r]`` for the respondents ``r = perms[b, ends[j-1]:ends[j]]``; replicates in parallel."""
    C = D.shape[1]
    for b in prange(perms.shape[0]):
        j = 0
        for i in range(perms.shape[1]):
            while i >= ends[j]:
                j += 1
            r = perms[b, i]
            for c in range(C):
                out[b, j, c] += D[r, c]


@njit(cache=True, parallel=True)
def _bins_sparse(cols, w, perms, ends, out):  # pragma: no cover - compiled
    """``out[b, j, cols[r, q]] += w[r]`` (``cols < 0``: no valid answer) for the same bins; replicates in parallel."""
    Q = cols.shape[1]
    for b in prange(perms.shape[0]):
        j = 0
        for i in range(perms.shape[1]):
            while i >= ends[j]:
                j += 1
            r = perms[b, i]
            for q in range(Q):
                c = cols[r, q]
                if c >= 0:
                    out[b, j, c] += w[r]


def _null_columns(pack, likert):
    """Per-respondent contributions to a random group's sums.

    Likert: a dense ``N × 2Q`` matrix ``[w·valid, w·valid·x]``.  Otherwise the
    column ``q·K + option`` of each answer (``-1`` where none), to which the
    respondent's weight is added.
    """
    if likert:
        wv = pack.w[:, None] * pack.valid
        return np.ascontiguousarray(np.concatenate([wv, wv * pack.x], axis=1))
    return np.ascontiguousarray(np.where(pack.opt >= 0, np.arange(pack.Q) * pack.K + pack.opt, -1))


def _random_group_bins_numpy(pack, likert, perms, ends):
    """NumPy twin of the binning kernels: ``(R, n_sizes, C)`` sums of each bin of each permutation."""
    cols = _null_columns(pack, likert)
    n_cols = 2 * pack.Q if likert else pack.Q * pack.K
    out = np.zeros((perms.shape[0], len(ends), n_cols))
    starts = np.concatenate([[0], ends[:-1]])
    for b, perm in enumerate(perms):
        for j, (lo, hi) in enumerate(zip(starts, ends)):
            r = perm[lo:hi]
            if likert:
                out[b, j] = cols[r].sum(axis=0)
            else:
                c = cols[r]
                ok = c >= 0
                out[b, j] = np.bincount(c[ok], weights=np.broadcast_to(pack.w[r][:, None], c.shape)[ok],
                                        minlength=n_cols)
    return out


def random_group_null(pack, sizes, metric, n_null, rng, *, batch_bytes=1 << 26):
    r"""Alignment of random groups of given sizes drawn from all respondents.

    Parameters
    ----------
    pack : GroupPack
    sizes : array_like of int
        Group sizes (numbers of respondents).
    metric : {"likert", "wasserstein"}
    n_null : int
        Random groups per size.
    rng : numpy.random.Generator
    batch_bytes : int
        Memory for the permutations and bins of one batch of replicates
        (replicates within a batch are binned on numba's threads).

    Returns
    -------
    dict
        ``{size: ndarray (n_null, M)}`` alignment of each random group with
        each model (mean over the questions the random group answers and the
        model answered).

    Notes
    -----
    A random group of size :math:`n` is a simple random sample without
    replacement of :math:`n` respondents of the data; each member keeps its
    own weight, so the random group's means and shares are weighted exactly
    as a real group's are (the "same design": weights and missingness carry
    over; the group is a domain, not a set of PSUs, because socio-demographic
    groups cut across PSUs).  One random permutation per draw serves every
    size at once (its first :math:`n` respondents), so the draws for
    different sizes are nested within a draw but each size's draws are
    independent simple random samples.  The permutations are drawn from
    `rng` one after another whatever the batching, so the result does not
    depend on `batch_bytes` or on the number of threads.
    """
    sizes = np.unique(np.asarray(sizes, dtype=np.int64))
    sizes = sizes[(sizes > 0) & (sizes < pack.N)]
    out = {int(s): np.full((n_null, pack.M), np.nan) for s in sizes}
    if not len(sizes) or n_null <= 0:
        return out
    top = int(sizes[-1])
    likert = metric == "likert"
    n_cols = 2 * pack.Q if likert else pack.Q * pack.K
    cols = _null_columns(pack, likert)
    w = np.ascontiguousarray(pack.w, dtype=np.float64)
    ends = sizes.astype(np.int64)
    per_replicate = 8 * (top + len(sizes) * n_cols)
    batch = int(np.clip(batch_bytes // per_replicate, 1, n_null))
    for lo in range(0, n_null, batch):
        hi = min(n_null, lo + batch)
        perms = np.stack([rng.permutation(pack.N)[:top] for _ in range(hi - lo)])
        bins = np.zeros((hi - lo, len(sizes), n_cols))
        if likert:
            _bins_dense(cols, perms, ends, bins)
        else:
            _bins_sparse(cols, w, perms, ends, bins)
        cs = np.cumsum(bins, axis=1)  # (R, n_sizes, C): sums over the first `size` respondents of each permutation
        if likert:
            W = cs[..., : pack.Q]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = cs[..., pack.Q :] / W
            A = pack.question_alignment(W, mean, None, metric)
        else:
            S = cs.reshape(hi - lo, len(sizes), pack.Q, pack.K)
            W = S.sum(-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = S / W[..., None]
            A = pack.question_alignment(W, None, shares, metric)
        a, _ = _mean_question(A)  # (R, n_sizes, M)
        for j, s in enumerate(sizes):
            out[int(s)][lo:hi] = a[:, j]
    return out


def null_summary(null, observed, confidence_level):
    r"""``null_mean, null_low, null_high, p_null`` of one observed alignment against its null draws.

    ``p_null`` is the two-sided Monte-Carlo p-value
    :math:`\min(1, 2\min(\frac{1 + \#\{a^0 \le a\}}{B + 1}, \frac{1 + \#\{a^0 \ge a\}}{B + 1}))`
    (Davison & Hinkley 1997, eq. 4.11, doubled), uniform on its grid when the
    group is itself a random group.
    """
    null = null[np.isfinite(null)]
    if not len(null) or not np.isfinite(observed):
        return np.nan, np.nan, np.nan, np.nan
    alpha = 1 - confidence_level
    lo, hi = np.quantile(null, [alpha / 2, 1 - alpha / 2])
    B = len(null)
    p = min(1.0, 2 * min((1 + np.sum(null <= observed)) / (B + 1), (1 + np.sum(null >= observed)) / (B + 1)))
    return float(null.mean()), float(lo), float(hi), float(p)


def ceiling(pack, idx, W, mean, shares, metric, mask, *, point, n_splits, rng):
    r"""Ceiling of one group's alignment: what the best possible model could reach.

    Parameters
    ----------
    pack : GroupPack
    idx : ndarray
        Member indices.
    W, mean, shares : ndarray
        The group's valid weight (Q,), weighted mean (Q,) and shares (Q, K).
    metric : {"likert", "wasserstein"}
    mask : ndarray of bool, shape (M, Q)
        Questions entering each model's score.
    point : ndarray of bool, shape (M,)
        Whether each model gives point answers.
    n_splits : int
        Random split halves averaged for distribution answers.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (M,)

    Notes
    -----
    *Point answers*: the best point answer on each question is the scale
    point closest (in the metric) to the group: for the Likert metric the
    nearest scale point to the group's mean, :math:`1 - \min_k |\bar x_q -
    x_k| / (R_q - 1)`; for Wasserstein the scale point maximising
    :math:`1 - W_1(p_q, \delta_{x_k})/(R_q - 1)` (a weighted median).  The
    ceiling is the mean of these over the model's questions, so a model
    answering every group's own best point scores exactly its ceiling.

    *Distribution answers*: a distribution can match the group exactly, so
    the ceiling is the group's agreement with itself that sampling allows:
    the group is split at random into two halves (whole PSUs go to one half
    when the design has PSUs) and the alignment of one half's answers with
    the other's is averaged over `n_splits` splits (split-half
    self-alignment; it reflects the sampling noise of half the group, so it
    is a conservative ceiling).
    """
    out = np.full(pack.M, np.nan)
    if point.any():
        if metric == "likert":
            dist = np.abs(mean[:, None] - pack.pos)  # (Q, K) NaN pad
            best = 1.0 - np.nanmin(np.where(np.isnan(dist), np.inf, dist), axis=1) / pack.span
        else:
            best = np.full(pack.Q, np.nan)
            for q in range(pack.Q):
                k = pack.nk[q]
                if W[q] <= 0:
                    continue
                cand = alignstat.wasserstein_alignment(np.repeat(shares[q, :k][None], k, 0), np.eye(k),
                                                       pack.pos[q, :k])
                best[q] = cand.max()
        for m in np.flatnonzero(point):
            out[m] = _mean_question(np.where(mask[m], best, np.nan))[0]
    if (~point).any() and n_splits > 0 and len(idx) >= 2:
        units = pack.psu[idx]
        uniq, inv = np.unique(units, return_inverse=True)
        if len(uniq) < 2:
            uniq, inv = np.arange(len(idx)), np.arange(len(idx))
        vals = np.zeros((n_splits, pack.Q))
        for s in range(n_splits):
            half = rng.permutation(len(uniq)) < len(uniq) // 2
            a_idx, b_idx = idx[half[inv]], idx[~half[inv]]
            Wa, ma, sa = pack.group_stats(a_idx)
            Wb, mb, sb = pack.group_stats(b_idx)
            if metric == "likert":
                v = 1.0 - np.abs(ma - mb) / pack.span
            else:
                v = np.full(pack.Q, np.nan)
                for q in range(pack.Q):
                    k = pack.nk[q]
                    if Wa[q] > 0 and Wb[q] > 0:
                        v[q] = alignstat.wasserstein_alignment(sa[q, :k], sb[q, :k], pack.pos[q, :k])
            vals[s] = np.where((Wa > 0) & (Wb > 0), v, np.nan)
        with np.errstate(invalid="ignore"):
            half_q = np.nanmean(vals, axis=0) if np.isfinite(vals).any() else np.full(pack.Q, np.nan)
        for m in np.flatnonzero(~point):
            out[m] = _mean_question(np.where(mask[m], half_q, np.nan))[0]
    return out
