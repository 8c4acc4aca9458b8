"""Bootstrap engine: confidence intervals for group alignment.

Two entry points:

* :func:`bootstrap_alignment` -- respondent-level survey data and model answers
  in, per-group alignment with bootstrap intervals out.  Respondents
  (multinomial, Poisson or design-based replicate multipliers, see
  :mod:`alignstat.resampling`), questions, or both are resampled.  Group sums
  are dense matrix products (BLAS) over chunks of replicates, so the cost is
  proportional to ``B x N x Q`` and the memory to ``chunk_size x N``.
* :func:`bootstrap_questions` -- per-question alignment values in, mean over
  questions with a question bootstrap out (a counts-matrix product).

Groups are *domains* of the full sample: a replicate perturbs every
respondent and each group's estimate uses the perturbed weights of its members.

Layout: input validation is :func:`alignstat._bootstrap_iv.bootstrap_iv`; the
statistic's kernel is :mod:`alignstat._kernels.bootstrap`; intervals are
:mod:`alignstat._intervals`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _intervals as _iv
from ._bootstrap_iv import CI_METHODS, as_rng, bootstrap_iv, choice, confidence, float_array, positive_int
from ._intervals import ConfidenceInterval, DegenerateIntervalWarning, describe_interval
from ._warnings import SmallCellWarning
from .resampling import MultinomialScheme, PoissonScheme

__all__ = [
    "BootstrapResult",
    "ConfidenceInterval",
    "DegenerateIntervalWarning",
    "GroupAlignmentBootstrap",
    "bootstrap_alignment",
    "bootstrap_questions",
]

#: Elements of one ``(chunk, N)`` multiplier array (64 MiB of float64).
_CHUNK_ELEMENTS = 2**23
#: Budget of the per-grouping copies of the design matrix (bytes), by metric.  Likert's
#: contract is a memory bound (its copies at ESS scale exceed it: the rest are gathered
#: per chunk, cheap for its 2Q columns); Wasserstein's is time (its products dominate).
_X_CACHE_BYTES = {"likert": 2**27, "wasserstein": 3 * 2**29}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BootstrapResult:
    """Result of :func:`bootstrap_questions`.

    Attributes
    ----------
    estimate : ndarray, shape (P,)
        Mean over the questions each pair shares.
    confidence_interval : ConfidenceInterval
        ``low`` and ``high``, each shape ``(P,)``.
    standard_error : ndarray, shape (P,)
        Bootstrap standard error (``ddof=1`` over the defined replicates).
    bootstrap_distribution : ndarray, shape (B, P)
        Replicate statistics (NaN where a replicate drew none of the pair's questions).
    n_resamples_valid : ndarray of int, shape (P,)
        Number of replicates in which the statistic was defined.
    """

    estimate: np.ndarray
    confidence_interval: ConfidenceInterval
    standard_error: np.ndarray
    bootstrap_distribution: np.ndarray
    n_resamples_valid: np.ndarray


@dataclass(frozen=True)
class GroupAlignmentBootstrap:
    """Result of :func:`bootstrap_alignment`.

    ``M`` is the number of model answer sets, ``G`` the number of groups of all
    groupings together (grouping by grouping, codes in order), ``B`` the number
    of replicates.

    Attributes
    ----------
    estimate : ndarray, shape (M, G)
        Full-sample alignment of each model with each group.
    bootstrap_distribution : ndarray, shape (B, M, G)
        Replicate alignments (NaN where undefined; not rescaled).
    confidence_interval : ConfidenceInterval
        ``low`` and ``high``, each shape ``(M, G)``.
    standard_error : ndarray, shape (M, G)
        ``sqrt(c * sum_r (theta_r - mean)**2)`` over the defined replicates,
        ``c`` being the scheme's ``variance_scale``.
    n_resamples_valid : ndarray of int, shape (M, G)
        Replicates in which the statistic was defined.
    n : ndarray of int, shape (G,)
        Respondents in each group.
    n_eff : ndarray, shape (G,)
        Kish effective sample size ``(sum w)**2 / sum w**2`` of each group.
    n_questions : ndarray of int, shape (M, G)
        Questions entering each alignment (valid answers in the group's full
        sample and an answer from the model).
    group_index : ndarray of int, shape (G, 2)
        ``(grouping, code)`` of each group.
    groupings : tuple of str
        Names of the groupings.
    group_labels : tuple of str
        Label of each group.
    model_names : tuple of str
        Name of each model answer set.
    acceleration : ndarray, shape (M, G) or None
        BCa acceleration (``None`` for percentile intervals).
    metric, resample, ci_method, scheme : str
        The options used.
    confidence_level : float
    n_resamples : int
    interval_scale : float
        Factor by which replicates were spread about the estimate for the
        intervals (1 except for design-based schemes).

    Methods
    -------
    to_frame()
        Tidy table of the estimates.
    compare(a, b)
        Difference between two groups with interval, SE and bootstrap p-value.
    """

    estimate: np.ndarray
    bootstrap_distribution: np.ndarray
    confidence_interval: ConfidenceInterval
    standard_error: np.ndarray
    n_resamples_valid: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    n_questions: np.ndarray
    group_index: np.ndarray
    groupings: tuple
    group_labels: tuple
    model_names: tuple
    metric: str
    resample: str
    ci_method: str
    scheme: str
    confidence_level: float
    n_resamples: int
    acceleration: np.ndarray | None = field(default=None)
    #: ``sqrt(c(B) (B - 1))``: spread factor of the interval replicates (1 for
    #: multinomial/Poisson/questions; see :func:`bootstrap_alignment`).
    interval_scale: float = 1.0
    _variance_scale: Any = field(default=None, repr=False, compare=False)

    def _locate(self, key, name):
        G = self.estimate.shape[1]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not 0 <= key < G:
                raise ValueError(f"`{name}` group index {key} is out of range 0..{G - 1}.")
            return int(key)
        if isinstance(key, tuple) and len(key) == 2:
            grouping, label = str(key[0]), str(key[1])
            for j, (f, _) in enumerate(self.group_index):
                if self.groupings[f] == grouping and self.group_labels[j] == label:
                    return j
            raise ValueError(f"`{name}` names no group: ({grouping!r}, {label!r}).")
        raise TypeError(
            f"`{name}` must be a group index or a (grouping, label) tuple; got {key!r}."
        )

    def compare(self, a, b, *, confidence_level=None):
        """Difference in alignment between two groups, from the joint replicates.

        Both groups are domains of the same replicates, so the difference's
        replicate distribution keeps their dependence (overlapping groupings,
        shared questions).

        Parameters
        ----------
        a, b : int or tuple of (str, str)
            Group index into the ``G`` axis, or ``(grouping, label)``.
        confidence_level : float, optional
            Default: the level of this result.

        Returns
        -------
        pandas.DataFrame
            One row per model: ``model``, ``group_a``, ``group_b``,
            ``difference`` (a - b), ``ci_low``, ``ci_high`` (percentile interval of
            the replicate differences, rescaled by `interval_scale` about the
            estimate), ``interval``, ``se``, ``pvalue`` and ``n_resamples_valid``
            (replicates where both are defined).  ``pvalue`` is the two-sided percentile-bootstrap
            p-value ``min(1, 2 min(P*(d <= 0), P*(d >= 0)))``, the smallest
            ``alpha`` whose ``1 - alpha`` percentile interval excludes 0 (an
            approximation; Efron & Tibshirani 1993, sec. 16.4).
        """
        import pandas as pd

        cl = self.confidence_level if confidence_level is None else confidence(confidence_level)
        ia, ib = self._locate(a, "a"), self._locate(b, "b")
        d_hat = self.estimate[:, ia] - self.estimate[:, ib]
        d = self.bootstrap_distribution[:, :, ia] - self.bootstrap_distribution[:, :, ib]
        low, high = _iv.intervals(d, d_hat, confidence_level=cl, ci_method="percentile",
                                  acceleration=None, rescale=self.interval_scale)
        scale_fn = self._variance_scale or (lambda r: 1.0 / max(r - 1, 1))
        se = _iv.standard_error(d, scale_fn)
        x = d_hat + self.interval_scale * (d - d_hat)
        n_valid = np.sum(~np.isnan(x), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_le = np.sum(x <= 0, axis=0) / n_valid
            p_ge = np.sum(x >= 0, axis=0) / n_valid
        p = np.minimum(1.0, 2.0 * np.minimum(p_le, p_ge))

        def label(j):
            return f"{self.groupings[self.group_index[j, 0]]}={self.group_labels[j]}"

        return pd.DataFrame({
            "model": list(self.model_names), "group_a": label(ia), "group_b": label(ib),
            "difference": d_hat, "ci_low": low, "ci_high": high,
            "interval": self._interval_text(cl, "percentile"), "se": se, "pvalue": p,
            "n_resamples_valid": n_valid,
        })

    def _interval_text(self, confidence_level, ci_method):
        if self.resample == "questions":
            what = "questions"
        else:
            src = "respondents" if self.scheme in ("multinomial", "poisson") else (
                f"design ({self.scheme})")
            what = src if self.resample == "respondents" else f"{src}, questions"
        return describe_interval(confidence_level, ci_method, what, self.n_resamples)

    def to_frame(self):
        """Tidy table, one row per (model, group).

        Returns
        -------
        pandas.DataFrame
            Columns ``model``, ``grouping``, ``group``, ``code``, ``alignment``,
            ``ci_low``, ``ci_high``, ``interval`` (the interval in words: level,
            method, what was resampled, B), ``se``, ``n``, ``n_eff``,
            ``n_resamples_valid``, ``n_questions``.  ``attrs`` is left empty.
        """
        import pandas as pd

        M, G = self.estimate.shape
        gi = self.group_index
        return pd.DataFrame(
            {
                "model": np.repeat(np.asarray(self.model_names, dtype=object), G),
                "grouping": np.tile(np.asarray(self.groupings, dtype=object)[gi[:, 0]], M),
                "group": np.tile(np.asarray(self.group_labels, dtype=object), M),
                "code": np.tile(gi[:, 1], M),
                "alignment": self.estimate.ravel(),
                "ci_low": self.confidence_interval.low.ravel(),
                "ci_high": self.confidence_interval.high.ravel(),
                "interval": self._interval_text(self.confidence_level, self.ci_method),
                "se": self.standard_error.ravel(),
                "n": np.tile(self.n, M),
                "n_eff": np.tile(self.n_eff, M),
                "n_resamples_valid": self.n_resamples_valid.ravel(),
                "n_questions": self.n_questions.ravel(),
            }
        )


# ------------------------------------------------------------------------ statistic


class _Statistic:
    """Group alignment as a function of replicate multipliers and question weights."""

    def __init__(self, opt, spos, k_q, lo, hi, weights, groupings, point, dist, metric,
                 precision="double"):
        from ._kernels.bootstrap import LIKERT, WASSERSTEIN, _mean_as_distribution
        from ._kernels.groupsums import group_totals

        N, Q = opt.shape
        self.sum_dtype = np.float32 if precision == "single" else np.float64
        self.metric_id = LIKERT if metric == "likert" else WASSERSTEIN
        self.N, self.Q = N, Q
        self.k_q = np.ascontiguousarray(k_q, dtype=np.int64)
        self.pos = np.ascontiguousarray(np.nan_to_num(spos))
        self.span = hi - lo
        self.M = point.shape[0]
        self.has_answer = ~np.isnan(point)  # (M, Q)
        K = spos.shape[1]
        valid = opt >= 0
        if metric == "likert":
            vals = np.where(valid, np.take_along_axis(self.pos, np.maximum(opt, 0).T, axis=1).T,
                            0.0)
            X = np.concatenate([vals * weights[:, None], valid * weights[:, None]], axis=1)
            self.offs = np.zeros(Q + 1, dtype=np.int64)
            # model means as two-point distributions, scored by the per-item Likert kernel
            pt = np.zeros((Q, self.M, K))
            for m in range(self.M):
                for q in range(Q):
                    if self.has_answer[m, q]:
                        _mean_as_distribution(point[m, q], self.pos, q, int(k_q[q]), pt[q, m:m + 1])
            self.model, self.point = np.zeros((Q, 0, K)), pt
        else:
            self.offs = np.concatenate([[0], np.cumsum(k_q)]).astype(np.int64)
            X = np.zeros((N, int(self.offs[-1])))
            for q in range(Q):
                ok = valid[:, q]
                X[np.flatnonzero(ok), self.offs[q] + opt[ok, q]] = weights[ok]
            self.model = np.ascontiguousarray(np.nan_to_num(dist).transpose(1, 0, 2))
            self.point = np.zeros((Q, 0, K))
        X = np.ascontiguousarray(X)
        self.J = X.shape[1]
        # full-sample sums always in float64, from X before any cast
        codes = np.ascontiguousarray(np.stack([g[2] for g in groupings], axis=1))
        starts = np.cumsum([0] + [len(g[1]) for g in groupings[:-1]]).astype(np.int64)
        self.G = int(sum(len(g[1]) for g in groupings))
        self._S_full = group_totals(X, codes, starts, np.zeros((self.G, self.J)))[:, None, :]
        # replicate sums may run in single precision: then only the float32 copy is kept
        self.Xr = X if self.sum_dtype == np.float64 else X.astype(self.sum_dtype)
        del X
        budget = _X_CACHE_BYTES[metric]
        self.groupings = []
        n_groups = 0
        for name, lab, codes, perm, bounds in groupings:
            identity = len(perm) == N and np.array_equal(perm, np.arange(N))
            size = len(perm) * self.J * self.Xr.itemsize
            Xs = None
            if not identity and size <= budget:  # copy once per call, kept for every chunk
                Xs = self.Xr[perm]
                budget -= size
            self.groupings.append((None if identity else perm, bounds, Xs, n_groups))
            n_groups += len(lab)
        self.max_members = max(len(g[3]) for g in groupings)
        self.max_group = max(int(np.max(np.diff(g[4]), initial=0)) for g in groupings)

    # -- sums -------------------------------------------------------------------
    def full_sums(self):
        """(G, 1, J) full-sample group sums, float64 (one pass over the rows, no copies)."""
        return self._S_full

    def group_sums(self, F):
        """(C, N) multipliers -> (G, C, J) group sums in the sum precision."""
        from ._kernels.groupsums import gather_columns, grouped_sums

        dtype = self.sum_dtype
        F = np.ascontiguousarray(F, dtype=dtype)
        C = F.shape[0]
        S = np.empty((self.G, C, self.J), dtype=dtype)
        buf = np.empty(C * self.max_members, dtype=dtype)
        xbuf = None
        for perm, bounds, Xs, g0 in self.groupings:
            g1 = g0 + len(bounds) - 1
            if Xs is None and perm is not None:
                if xbuf is None:
                    xbuf = np.empty(self.max_group * self.J, dtype=dtype)
                grouped_sums(F, self.Xr, perm, bounds, S[g0:g1], buffer=buf,
                             gather=gather_columns, gathered=False, x_buffer=xbuf)
            else:
                grouped_sums(F, self.Xr if Xs is None else Xs, perm, bounds, S[g0:g1],
                             buffer=buf, gather=gather_columns)
        return S

    # -- statistic ----------------------------------------------------------------
    def mean_alignment(self, S, mask, qw=None):
        """(G, C, J) sums (+ optional (C, Q) question weights) -> (C, M, G) mean alignment."""
        from ._kernels.bootstrap import group_alignment

        out = np.empty((S.shape[1], self.M, self.G))
        qw = None if qw is None else np.ascontiguousarray(qw, dtype=np.float64)
        return group_alignment(self.metric_id, S, self.offs, self.k_q, self.pos, self.span,
                               self.model, self.point, mask, qw, out)

    def question_alignment(self, S_full, mask):
        """(M, G, Q) per-question full-sample alignment (NaN outside `mask`).

        The kernel's mean over one question at a time: ``Q`` copies of the
        full-sample sums with unit question weights.
        """
        Q = self.Q
        S = np.ascontiguousarray(np.broadcast_to(S_full, (self.G, Q, self.J)))
        A = self.mean_alignment(S, mask, np.eye(Q))  # (Q, M, G)
        return A.transpose(1, 2, 0)

    def full_sample_mask(self, S_full):
        """(M, G, Q) questions entering each group's alignment."""
        from ._kernels.bootstrap import LIKERT

        Q = self.Q
        if self.metric_id == LIKERT:
            den = S_full[:, 0, Q:]
        else:
            den = np.add.reduceat(S_full[:, 0, :], self.offs[:-1], axis=1)
        return np.ascontiguousarray((den > 0)[None, :, :] & self.has_answer[:, None, :])

    def alignment(self, F, mask, qw=None):
        """(C, N) multipliers (+ optional (C, Q) question weights) -> (C, M, G)."""
        return self.mean_alignment(self.group_sums(F), mask, qw)


def _combine(A, mask, qw):
    """Question-weighted mean of per-question values.

    ``A`` (M, G, Q); ``mask`` (M, G, Q); ``qw`` (R, Q) or None.  Returns
    (R, M, G) or (M, G); NaN where a weighted question is undefined or no
    question has weight.
    """
    M, G, Q = A.shape
    V = np.where(mask, A, 0.0)
    if qw is None:
        den = mask.sum(axis=2).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = V.sum(axis=2) / den
        res[den == 0] = np.nan
        return res
    nanflag = np.isnan(V)
    V0 = np.where(nanflag, 0.0, V)
    R = qw.shape[0]
    den = (qw @ mask.reshape(M * G, Q).astype(np.float64).T).reshape(R, M, G)
    num = (qw @ V0.reshape(M * G, Q).T).reshape(R, M, G)
    bad = (qw @ nanflag.reshape(M * G, Q).astype(np.float64).T).reshape(R, M, G) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        res = num / den
    res[bad | (den == 0)] = np.nan
    return res


def _freeze(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False


def _degenerate(n_questions, what):
    """Cells whose question bootstrap cannot vary (fewer than 2 questions), with a warning."""
    few = np.asarray(n_questions) < 2
    if few.any():
        warnings.warn(
            f"interval undefined for {int(few.sum())} {what} with fewer than 2 questions: "
            "resampling questions cannot vary a mean over one question, so its interval "
            "and standard error are NaN (not of zero width).",
            DegenerateIntervalWarning,
            stacklevel=3,
        )
    return few


# ---------------------------------------------------------------------- arithmetic


def _replicates(stat, inp, mask, A_full, rng_resp, rng_q):
    """(B, M, G) replicate alignments, chunk by chunk."""
    from ._kernels.resample import count_rows

    B, Q, N = inp.n_resamples, stat.Q, stat.N
    chunk = inp.chunk or max(1, min(B, _CHUNK_ELEMENTS // N))
    scheme = inp.scheme
    builtin = isinstance(scheme, (MultinomialScheme, PoissonScheme))
    boot = np.empty((B, stat.M, stat.G))
    for start in range(0, B, chunk):
        c = min(chunk, B - start)
        qw = None
        if inp.resample != "respondents":
            qw = count_rows(rng_q.integers(0, Q, size=(c, Q)), Q)
        if inp.resample == "questions":
            boot[start : start + c] = _combine(A_full, mask, qw)
            continue
        F = np.ascontiguousarray(scheme.multipliers(rng_resp, c))
        if F.shape != (c, N):
            raise ValueError(
                f"`scheme`.multipliers returned shape {F.shape}; expected ({c}, {N})."
            )
        if not builtin and (not np.isfinite(F).all() or (F < 0).any()):
            raise ValueError("`scheme`.multipliers returned negative or non-finite multipliers.")
        boot[start : start + c] = stat.alignment(F, mask, qw)
    return boot


def _bca_acceleration(stat, inp, mask, A_full, rng_jack):
    """BCa acceleration from the respondent and/or question jackknife."""
    N, Q = stat.N, stat.Q
    sets = []
    if inp.resample != "questions":
        Fj = inp.scheme.jackknife_multipliers(rng_jack, inp.jackknife_blocks)
        Fj = np.asarray(Fj, dtype=np.float64)
        if Fj.ndim != 2 or Fj.shape[1] != N or Fj.shape[0] < 2:
            raise ValueError(
                f"`scheme`.jackknife_multipliers returned shape {Fj.shape}; expected (K, {N}) "
                "with K >= 2."
            )
        K = Fj.shape[0]
        step = inp.chunk or max(1, _CHUNK_ELEMENTS // N)
        jack = np.empty((K, stat.M, stat.G))
        for s in range(0, K, step):
            e = min(K, s + step)
            jack[s:e] = stat.alignment(np.ascontiguousarray(Fj[s:e]), mask, None)
        sets.append((jack, K))
    if inp.resample != "respondents":
        jq = _combine(A_full, mask, 1.0 - np.eye(Q))  # (Q, M, G)
        nq = mask.sum(axis=2)
        jq = np.where(mask.transpose(2, 0, 1), jq, np.nan)  # only questions in the set
        sets.append((jq, np.maximum(nq, 2)))
    return _iv.acceleration(sets)


def _group_table(groupings, w):
    """Labels, (grouping, code) index, n and Kish n_eff of every group."""
    labels, index, n, n_eff = [], [], [], []
    for f, (_, lab, _, perm, bounds) in enumerate(groupings):
        ws = w[perm]
        for g in range(len(lab)):
            sl = ws[bounds[g] : bounds[g + 1]]
            labels.append(lab[g])
            index.append((f, g))
            n.append(len(sl))
            with np.errstate(invalid="ignore", divide="ignore"):
                n_eff.append(sl.sum() ** 2 / np.sum(sl**2) if len(sl) else np.nan)
    index = np.asarray(index, dtype=np.int64).reshape(-1, 2)
    return (tuple(labels), index, np.asarray(n, dtype=np.int64),
            np.asarray(n_eff, dtype=np.float64))


def _warn_undefined(estimate, n_valid, B, model_names, names, index, labels):
    undefined = np.isnan(estimate)
    partial = ~undefined & (n_valid < B)

    def _where(cells):
        mm, gg = np.nonzero(cells)
        items = [
            f"{model_names[a]}/{names[index[b, 0]]}={labels[b]}" for a, b in zip(mm[:5], gg[:5])
        ]
        more = "" if len(mm) <= 5 else f" and {len(mm) - 5} more"
        return ", ".join(items) + more

    if undefined.any():
        warnings.warn(
            f"alignment undefined (no respondents or no shared questions) for "
            f"{int(undefined.sum())} model/group cell(s): {_where(undefined)}.",
            SmallCellWarning,
            stacklevel=3,
        )
    if partial.any():
        warnings.warn(
            f"alignment undefined in some of the {B} replicates (a replicate left the "
            f"group with zero weight on a question) for {int(partial.sum())} model/group "
            f"cell(s): {_where(partial)}; intervals use the n_resamples_valid defined replicates.",
            SmallCellWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------- public API


def bootstrap_alignment(
    responses,
    groups=None,
    answers=None,
    *,
    positions=None,
    weights=None,
    metric="likert",
    resample="respondents",
    scheme="multinomial",
    n_resamples=None,
    confidence_level=0.95,
    ci_method="percentile",
    rng=None,
    chunk_size=None,
    group_names=None,
    model_names=None,
    jackknife_blocks=200,
    precision="double",
) -> GroupAlignmentBootstrap:
    r"""Alignment of model answers with socio-demographic groups, with bootstrap intervals.

    Parameters
    ----------
    responses : array_like, shape (N, Q), or RespondentData
        Each respondent's answer to each question as an ordinal *position*
        (one of the values in the question's row of `positions`); NaN = no
        valid answer.  Or the :class:`~alignstat.RespondentData` of
        :func:`~alignstat.prepare_respondents` -- respondents and model
        answers packed by the core from tidy frames -- which then supplies
        `groups`, `answers`, `positions`, `weights`, `group_names` and
        `model_names` (leave the first four unset).
    groups : array_like of int, shape (N, F) or (N,)
        For each of F groupings the respondent's group code ``0..G_f-1``, or
        -1 for none.  Groups are domains of the full sample.
    answers : array_like, shape (M, Q) or (M, Q, K)
        Model point answers (NaN = no answer; ``metric="likert"`` only) or
        distributions over the options in the column order of `positions`
        (each sums to 1; all NaN = no answer).
    positions : array_like, shape (Q, K)
        Answer positions of each question's options, NaN-padded.
    weights : array_like, shape (N,), optional
        Non-negative base (design/post-stratification) weights; default ones.
    metric : {"likert", "wasserstein"}
        ``likert``: ``1 - |mu_gq - a_mq| / (max_q - min_q)`` with ``mu_gq`` the
        group's weighted mean position and ``a_mq`` the model's point answer
        (or its distribution's mean).  ``wasserstein``: ``1 - WD(shares_gq,
        model_mq) / (max_q - min_q)``, WD on the real line at the positions.
        A group's alignment is the mean over the questions where it has valid
        answers (positive weight) in the full sample and the model answered.
    resample : {"respondents", "questions", "both"} or tuple of str
        What a replicate resamples; ``("respondents", "questions")`` is
        ``"both"``.  ``questions`` draws Q questions with replacement and
        weights each question's full-sample alignment by its count; ``both``
        does both in every replicate (independent draws).
    scheme : {"multinomial", "poisson"} or ReplicateScheme
        Respondent replicate multipliers (see :mod:`alignstat.resampling`).  A
        scheme with a fixed number of replicates (e.g. :class:`FixedReplicates`)
        sets the number of replicates; `n_resamples` must then be left at
        None or equal it.
    n_resamples : int, optional
        Number of replicates ``B`` (default 5000, or the number a fixed
        `scheme` holds).  A non-integer such as ``2.7`` is an error.
    confidence_level : float
        Two-sided confidence level.
    ci_method : {"percentile", "bca"}
        Interval type.  BCa uses the bias correction
        ``z0 = Phi^{-1}((#{theta* < theta} + #{theta* <= theta}) / (2 B))``
        (ties count half, as in SciPy) and an acceleration from a jackknife
        computed by the same engine: a delete-a-block jackknife over
        respondents with ``min(jackknife_blocks, N)`` random blocks (the
        scheme's :meth:`~ReplicateScheme.jackknife_multipliers`; delete-one when
        ``N <= jackknife_blocks``), and/or a delete-one jackknife over
        questions.  With ``resample="both"`` both sets of jackknife influence
        values enter the acceleration together.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same numbers.  Another
        `chunk_size` gives the same replicates (BLAS may round their sums
        differently, by about one unit in the last place).
    chunk_size : int, optional
        Replicates processed at once (memory ~ ``3 * chunk_size * N * 8``
        bytes).  Default ``2**23 // N`` (at least 1).
    group_names : dict or sequence, optional
        ``{grouping name: labels}`` (one entry per column of `groups`, labels
        indexed by code) or a sequence of label lists.
    model_names : sequence of str, optional
        One name per model answer set.
    jackknife_blocks : int
        Number of respondent blocks of the BCa jackknife (default 200).
    precision : {"double", "single"}
        Floating-point precision of the replicate group sums.  ``"single"``
        roughly halves the time of the matrix products (this engine is bound by
        them); its rounding error (relative ~1e-6 on a group mean) is orders of
        magnitude below the Monte-Carlo error of any bootstrap with B <= 10^6.
        The full-sample estimate is always computed in double precision.

    Returns
    -------
    GroupAlignmentBootstrap

    Warns
    -----
    SmallCellWarning
        When a group's alignment is undefined in the full sample (no respondents
        or no shared questions) or in some replicates (a replicate left it with
        zero weight on a question).  Such replicates are NaN in
        `bootstrap_distribution`, counted by `n_resamples_valid`, and intervals and
        standard errors use the defined replicates only.
    DiagnosticsWarning
        When a BCa interval is undefined.
    DegenerateIntervalWarning
        With ``resample="questions"``, for a (model, group) cell with fewer
        than 2 questions: resampling cannot vary its estimate, so its
        interval and standard error are NaN (never of zero width).

    Notes
    -----
    Group sums ``sum_i f_ri w_i x_ij`` over a group's members are dense matrix
    products: respondents are sorted by group once per grouping, and each
    chunk of replicate multipliers is gathered into that order and multiplied by
    the design matrix ``[w * position * valid, w * valid]`` (Likert) or
    ``w * one-hot(option)`` (Wasserstein), one BLAS call per group.  The
    per-grouping copies of the design matrix (rows in group order) are made
    once per call, in the precision of the sums, up to a memory budget (see
    `Memory`); a grouping beyond it has its rows gathered group by group.

    From the group sums a numba kernel (:mod:`alignstat._kernels.bootstrap`)
    forms each group's normalised answer distribution (Wasserstein) or mean
    (Likert) per question and scores it against each model with the one
    per-item kernel of the metric (:mod:`alignstat._kernels.metrics`), then
    takes the (question-weighted) mean -- without temporaries larger than
    one option row.  Single-precision sums are read as they are.

    The standard error is ``sqrt(c(R) * sum_r (theta_r - mean)**2)`` over the
    ``R`` defined replicates, ``c`` the scheme's
    :meth:`~ReplicateScheme.variance_scale` (``1/(R-1)`` for multinomial and
    Poisson; always ``1/(R-1)`` for ``resample="questions"``).  For a scheme
    whose ``c(B) * (B - 1)`` differs from 1 (design-based replicate weights),
    the interval is computed from replicates rescaled about the full-sample
    estimate, ``theta + sqrt(c(B) (B - 1)) (theta_r - theta)``, so that its
    spread matches the scheme's variance; `bootstrap_distribution` holds the
    replicates unscaled.

    Random streams: respondent multipliers, question draws and jackknife blocks
    use three independent child generators spawned from `rng`.

    Memory: about ``2 * chunk_size * N * 8`` bytes for the multipliers and
    their gathered copy (half in single precision), plus the per-grouping
    copies of the design matrix within a budget of 128 MiB (Likert) or
    1.5 GiB (Wasserstein, whose time is bound by the matrix products), plus
    the ``(B, M, G)`` replicate array.

    Examples
    --------
    >>> import numpy as np
    >>> from alignstat.bootstrap import bootstrap_alignment
    >>> responses = np.repeat([[1.0], [3.0], [5.0], [4.0]], 10, axis=0)  # one 1..5 question
    >>> sex = np.repeat([0, 0, 1, 1], 10)
    >>> res = bootstrap_alignment(responses, sex, np.array([[4.0]]),
    ...                           positions=[[1, 2, 3, 4, 5]], n_resamples=200, rng=0)
    >>> res.estimate  # means 2 and 4.5: 1 - |2 - 4| / 4 and 1 - |4.5 - 4| / 4
    array([[0.5  , 0.875]])
    >>> res.to_frame()[["group", "alignment", "n"]]
      group  alignment   n
    0     0      0.500  20
    1     1      0.875  20
    """
    inp = bootstrap_iv(
        responses, groups, answers, positions=positions, weights=weights, metric=metric,
        resample=resample, scheme=scheme, n_resamples=n_resamples,
        confidence_level=confidence_level, ci_method=ci_method, chunk_size=chunk_size,
        group_names=group_names, model_names=model_names, jackknife_blocks=jackknife_blocks,
        precision=precision,
    )
    if inp.scheme is not None:
        inp.scheme.reset()
    B = inp.n_resamples
    rng = as_rng(rng)
    rng_resp, rng_q, rng_jack = rng.spawn(3)

    stat = _Statistic(inp.opt, inp.spos, inp.k_q, inp.lo, inp.hi, inp.weights, inp.groupings,
                      inp.point, inp.dist, inp.metric, inp.precision)
    S_full = stat.full_sums()
    mask = stat.full_sample_mask(S_full)
    estimate = stat.mean_alignment(S_full, mask)[0]
    A_full = stat.question_alignment(S_full, mask) if inp.resample != "respondents" else None
    boot = _replicates(stat, inp, mask, A_full, rng_resp, rng_q)
    acceleration = None
    if inp.ci_method == "bca":
        acceleration = _bca_acceleration(stat, inp, mask, A_full, rng_jack)

    if inp.resample == "questions":
        scale_fn = lambda r: 1.0 / max(r - 1, 1)  # noqa: E731
        rescale = 1.0
    else:
        scale_fn = inp.scheme.variance_scale
        rescale = float(np.sqrt(scale_fn(B) * (B - 1))) if B > 1 else 1.0
        if abs(rescale - 1.0) < 1e-12:
            rescale = 1.0
    low, high = _iv.intervals(boot, estimate, confidence_level=inp.confidence_level,
                              ci_method=inp.ci_method, acceleration=acceleration, rescale=rescale)
    se = _iv.standard_error(boot, scale_fn)
    n_valid = np.sum(~np.isnan(boot), axis=0)
    n_questions = mask.sum(axis=2)
    if inp.resample == "questions":
        defined = ~np.isnan(estimate)
        _degenerate(n_questions[defined], "model/group cell(s)")
        few = defined & (n_questions < 2)
        low, high, se = (np.where(few, np.nan, x) for x in (low, high, se))

    labels, index, n, n_eff = _group_table(inp.groupings, inp.weights)
    names = tuple(g[0] for g in inp.groupings)
    _warn_undefined(estimate, n_valid, B, inp.model_names, names, index, labels)

    result = GroupAlignmentBootstrap(
        estimate=estimate,
        bootstrap_distribution=boot,
        confidence_interval=ConfidenceInterval(low, high),
        standard_error=se,
        n_resamples_valid=n_valid,
        n=n,
        n_eff=n_eff,
        n_questions=n_questions,
        group_index=index,
        groupings=names,
        group_labels=labels,
        model_names=inp.model_names,
        metric=inp.metric,
        resample=inp.resample,
        ci_method=inp.ci_method,
        scheme="questions" if inp.scheme is None else inp.scheme.name,
        confidence_level=inp.confidence_level,
        n_resamples=B,
        acceleration=acceleration,
        interval_scale=rescale,
        _variance_scale=scale_fn,
    )
    _freeze(estimate, boot, low, high, se, n_valid, n, n_eff, n_questions, index, acceleration)
    return result


def bootstrap_questions(
    values,
    *,
    n_resamples=5000,
    confidence_level=0.95,
    ci_method="percentile",
    rng=None,
) -> BootstrapResult:
    r"""Question bootstrap of the mean per-question alignment of several pairs.

    Parameters
    ----------
    values : array_like, shape (P, Q) or (Q,)
        Per-question alignment of ``P`` (model, group) pairs; NaN = question
        not shared by the pair.
    n_resamples : int
        Number of replicates ``B`` (a non-integer such as ``2.7`` is an error).
    confidence_level : float
        Two-sided confidence level.
    ci_method : {"percentile", "bca"}
        BCa uses a delete-one jackknife over questions for the acceleration.
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    BootstrapResult
        Shapes ``(P,)`` (scalars for 1-D `values`); ``bootstrap_distribution``
        ``(B, P)`` (``(B,)``).

    Warns
    -----
    DegenerateIntervalWarning
        For a pair with fewer than 2 questions: every replicate draws its one
        question, so the interval and standard error are NaN (never of zero
        width).

    Notes
    -----
    Every replicate draws Q question indices with replacement -- the same
    draw for all pairs, so comparisons between pairs keep their correlation --
    and its statistic for pair ``p`` is

    .. math::

        \hat\theta^*_p = \frac{\sum_q c_q v_{pq}}{\sum_q c_q}

    over the pair's non-NaN questions (``c_q`` the draw counts): one
    ``(B, Q) x (Q, P)`` matrix product.  A replicate that drew none of a
    pair's questions is NaN and counted out of `n_resamples_valid`.

    Examples
    --------
    >>> from alignstat.bootstrap import bootstrap_questions
    >>> res = bootstrap_questions([[0.5, 0.75, 1.0, float("nan")]], n_resamples=1000, rng=0)
    >>> res.estimate
    array([0.75])
    """
    ci_method = choice("ci_method", ci_method, CI_METHODS)
    confidence_level = confidence(confidence_level)
    B = positive_int("n_resamples", n_resamples, 1)
    v = float_array("values", values, (1, 2))
    squeeze = v.ndim == 1
    if squeeze:
        v = v[None, :]
    P, Q = v.shape
    if Q < 1:
        raise ValueError("`values` must hold at least one question (column).")
    rng = as_rng(rng)
    valid = ~np.isnan(v)
    mask = valid[None]  # as (M=1, G=P, Q)
    A = np.where(valid, v, 0.0)[None]  # (1, P, Q)
    estimate = _combine(A, mask, None)[0]
    from ._kernels.resample import count_rows

    qw = count_rows(rng.integers(0, Q, size=(B, Q)), Q)
    boot = _combine(A, mask, qw)[:, 0, :]
    acc = None
    if ci_method == "bca":
        jq = _combine(A, mask, 1.0 - np.eye(Q))[:, 0, :]
        jq = np.where(valid.T, jq, np.nan)
        acc = _iv.acceleration([(jq, np.maximum(valid.sum(axis=1), 2))])
    low, high = _iv.intervals(
        boot, estimate, confidence_level=confidence_level, ci_method=ci_method,
        acceleration=acc, rescale=1.0,
    )
    se = _iv.standard_error(boot, lambda r: 1.0 / max(r - 1, 1))
    n_valid = np.sum(~np.isnan(boot), axis=0)
    n_q = valid.sum(axis=1)
    defined = n_q > 0
    _degenerate(n_q[defined], "pair(s)")
    few = defined & (n_q < 2)
    low, high, se = (np.where(few, np.nan, x) for x in (low, high, se))
    if squeeze:
        estimate, low, high, se, n_valid = (x[0] for x in (estimate, low, high, se, n_valid))
        boot = boot[:, 0]
    result = BootstrapResult(
        estimate=np.asarray(estimate),
        confidence_interval=ConfidenceInterval(np.asarray(low), np.asarray(high)),
        standard_error=np.asarray(se),
        bootstrap_distribution=boot,
        n_resamples_valid=np.asarray(n_valid),
    )
    _freeze(result.estimate, result.confidence_interval.low, result.confidence_interval.high,
            result.standard_error, boot, result.n_resamples_valid)
    return result
