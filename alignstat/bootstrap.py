"""Bootstrap engine: confidence intervals for group alignment.

Two entry points:

* :func:`bootstrap_alignment` -- respondent-level survey data and model answers
  in, per-group alignment with bootstrap intervals out.  Respondents
  (multinomial, Poisson or design-based replicate factors, see
  :mod:`alignstat.resampling`), questions, or both are resampled.  Group sums
  are dense matrix products (BLAS) over chunks of replicates, so the cost is
  proportional to ``B x N x Q`` and the memory to ``chunk_size x N``.
* :func:`bootstrap_questions` -- per-question alignment values in, mean over
  questions with a question bootstrap out (a counts-matrix product).

Groups are *domains* of the full sample: a replicate perturbs every
respondent and each group's estimate uses the perturbed weights of its members.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ._kernels.groupsums import gather_columns, grouped_sums
from ._kernels.resample import count_rows
from ._warnings import DiagnosticsWarning, SmallCellWarning
from .resampling import MultinomialScheme, PoissonScheme, ReplicateScheme

__all__ = [
    "BootstrapResult",
    "ConfidenceInterval",
    "GroupAlignmentBootstrap",
    "bootstrap_alignment",
    "bootstrap_questions",
]

_METRICS = ("likert", "wasserstein")
_RESAMPLE = ("respondents", "questions", "both")
_METHODS = ("percentile", "bca")
_SCHEMES = ("multinomial", "poisson")
#: Elements of one ``(chunk, N)`` factor array (128 MiB of float64).
_CHUNK_ELEMENTS = 2**24
#: Elements of the per-question temporaries of one statistic block.
_STAT_ELEMENTS = 2**22
#: Largest size of the per-grouping copies of the design matrix kept in memory.
_X_CACHE_BYTES = 2**29
#: Tolerance for matching a response to an answer position.
_POS_TOL = 1e-9


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ConfidenceInterval:
    """Lower and upper confidence limits (arrays of the estimate's shape)."""

    low: np.ndarray
    high: np.ndarray


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
    n_valid : ndarray of int, shape (P,)
        Number of replicates in which the statistic was defined.
    """

    estimate: np.ndarray
    confidence_interval: ConfidenceInterval
    standard_error: np.ndarray
    bootstrap_distribution: np.ndarray
    n_valid: np.ndarray


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
    n_valid : ndarray of int, shape (M, G)
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
    metric, resample, method, scheme : str
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
    n_valid: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    n_questions: np.ndarray
    group_index: np.ndarray
    groupings: tuple
    group_labels: tuple
    model_names: tuple
    metric: str
    resample: str
    method: str
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
            estimate), ``se``, ``p_boot`` and ``n_valid`` (replicates where both
            are defined).  ``p_boot`` is the two-sided percentile-bootstrap
            p-value ``min(1, 2 min(P*(d <= 0), P*(d >= 0)))``, the smallest
            ``alpha`` whose ``1 - alpha`` percentile interval excludes 0 (an
            approximation; Efron & Tibshirani 1993, sec. 16.4).
        """
        import pandas as pd

        cl = self.confidence_level if confidence_level is None else _confidence(confidence_level)
        ia, ib = self._locate(a, "a"), self._locate(b, "b")
        d_hat = self.estimate[:, ia] - self.estimate[:, ib]
        d = self.bootstrap_distribution[:, :, ia] - self.bootstrap_distribution[:, :, ib]
        low, high = _intervals(d, d_hat, confidence_level=cl, method="percentile",
                               acceleration=None, rescale=self.interval_scale)
        scale_fn = self._variance_scale or (lambda r: 1.0 / max(r - 1, 1))
        se = _standard_error(d, scale_fn)
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
            "difference": d_hat, "ci_low": low, "ci_high": high, "se": se, "p_boot": p,
            "n_valid": n_valid,
        })

    def to_frame(self):
        """Tidy table, one row per (model, group).

        Returns
        -------
        pandas.DataFrame
            Columns ``model``, ``grouping``, ``group``, ``code``, ``alignment``,
            ``ci_low``, ``ci_high``, ``se``, ``n``, ``n_eff``, ``n_valid``,
            ``n_questions``.
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
                "se": self.standard_error.ravel(),
                "n": np.tile(self.n, M),
                "n_eff": np.tile(self.n_eff, M),
                "n_valid": self.n_valid.ravel(),
                "n_questions": self.n_questions.ravel(),
            }
        )


# ----------------------------------------------------------------------- validation


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}; got {value!r}.")
    return value


def _positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {type(value).__name__}.")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value}.")
    return value


def _confidence(confidence_level):
    try:
        cl = float(confidence_level)
    except (TypeError, ValueError):
        raise TypeError("`confidence_level` must be a number in (0, 1).") from None
    if not 0.0 < cl < 1.0:
        raise ValueError(f"`confidence_level` must lie strictly between 0 and 1; got {cl}.")
    return cl


def _float_array(name, x, ndim):
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of numbers.") from None
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"`{name}` must be {want}; got an array of shape {arr.shape}.")
    if np.isinf(arr).any():
        raise ValueError(f"`{name}` must not contain infinite values (use NaN for missing).")
    return arr


def _prepare_positions(positions, Q):
    pos = _float_array("positions", positions, (2,))
    if pos.shape[0] != Q:
        raise ValueError(
            f"`positions` must have one row per question ({Q}, the columns of "
            f"`responses`); got shape {pos.shape}."
        )
    K = pos.shape[1]
    order = np.argsort(pos, axis=1, kind="stable")  # NaN sort last
    spos = np.take_along_axis(pos, order, axis=1)
    k_q = np.sum(~np.isnan(pos), axis=1)
    for q in range(Q):
        if k_q[q] < 2:
            raise ValueError(
                f"`positions` row {q} (question {q}) must hold at least 2 answer positions; "
                f"got {k_q[q]}."
            )
        if np.any(np.diff(spos[q, : k_q[q]]) <= 0):
            raise ValueError(f"`positions` row {q} (question {q}) holds a repeated position.")
    lo = spos[np.arange(Q), 0]
    hi = spos[np.arange(Q), k_q - 1]
    gaps = np.zeros((Q, K))
    for q in range(Q):
        gaps[q, : k_q[q] - 1] = np.diff(spos[q, : k_q[q]])
    return spos, order, k_q, lo, hi, gaps


def _map_responses(resp, spos, k_q):
    """Option index (sorted order) of every response; -1 where missing."""
    N, Q = resp.shape
    opt = np.full((N, Q), -1, dtype=np.int64)
    for q in range(Q):
        col = resp[:, q]
        ok = ~np.isnan(col)
        if not ok.any():
            continue
        p = spos[q, : k_q[q]]
        v = col[ok]
        k = np.abs(v[:, None] - p[None, :]).argmin(axis=1)
        bad = np.abs(p[k] - v) > _POS_TOL * np.maximum(1.0, np.abs(v))
        if bad.any():
            row = np.flatnonzero(ok)[np.argmax(bad)]
            raise ValueError(
                f"`responses` column {q} holds {col[row]:g} (row {row}), which is not one of "
                f"the answer positions of question {q} ({p.tolist()}); recode missing-value "
                "codes (e.g. 77, 88, 99) to NaN."
            )
        opt[ok, q] = k
    return opt


def _prepare_answers(answers, metric, spos, order, k_q, lo, hi):
    Q, K = spos.shape
    ans = _float_array("answers", answers, (2, 3))
    if ans.shape[1] != Q:
        raise ValueError(
            f"`answers` must have one column per question ({Q}); got shape {ans.shape}."
        )
    if ans.ndim == 2:
        if metric == "wasserstein":
            raise ValueError(
                "metric='wasserstein' needs answer distributions of shape (M, Q, K); "
                f"`answers` has shape {ans.shape} (point answers)."
            )
        tol = _POS_TOL * np.maximum(1.0, np.abs(hi))
        out = (ans < lo - tol) | (ans > hi + tol)
        if out.any():
            m, q = np.argwhere(out)[0]
            raise ValueError(
                f"`answers` of model {m} for question {q} is {ans[m, q]:g}, outside the "
                f"question's scale [{lo[q]:g}, {hi[q]:g}]."
            )
        return ans, None
    if ans.shape[2] != K:
        raise ValueError(
            f"`answers` distributions must have one entry per column of `positions` ({K}); "
            f"got shape {ans.shape}."
        )
    M = ans.shape[0]
    dist = np.take_along_axis(ans, np.broadcast_to(order, (M, Q, K)), axis=2)
    slot = np.arange(K)[None, :] < k_q[:, None]  # (Q, K) real options
    pad_vals = np.where(slot[None], 0.0, dist)
    if np.any(np.nan_to_num(pad_vals) != 0):
        m, q, _ = np.argwhere(np.nan_to_num(pad_vals) != 0)[0]
        raise ValueError(
            f"`answers` of model {m} for question {q} puts probability on a padding "
            "column (where `positions` is NaN)."
        )
    real = np.where(slot[None], dist, 0.0)
    n_nan = np.sum(np.isnan(real) & slot[None], axis=2)
    none = n_nan == k_q[None, :]
    partial = (n_nan > 0) & ~none
    if partial.any():
        m, q = np.argwhere(partial)[0]
        raise ValueError(
            f"`answers` of model {m} for question {q} is partly NaN; give a full "
            "distribution or all NaN for no answer."
        )
    real = np.where(np.isnan(real), 0.0, real)
    if np.any(real < 0):
        m, q, _ = np.argwhere(real < 0)[0]
        raise ValueError(f"`answers` of model {m} for question {q} has a negative probability.")
    tot = real.sum(axis=2)
    off = (~none) & (np.abs(tot - 1.0) > 1e-6)
    if off.any():
        m, q = np.argwhere(off)[0]
        raise ValueError(
            f"`answers` of model {m} for question {q} sums to {tot[m, q]:.6g}; each "
            "distribution must sum to 1."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        real = real / tot[:, :, None]
    real[none] = 0.0
    point = np.where(none, np.nan, np.sum(real * np.nan_to_num(spos)[None], axis=2))
    if metric == "likert":
        return point, None
    return point, np.where(none[:, :, None], np.nan, real)


def _prepare_groups(groups, N, group_names):
    arr = np.asarray(groups)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != N:
        raise ValueError(
            f"`groups` must have shape (N, F) with N = {N} rows (one per respondent); "
            f"got shape {np.shape(groups)}."
        )
    if arr.shape[1] < 1:
        raise ValueError("`groups` must hold at least one grouping (column).")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise TypeError(
            f"`groups` must hold integer group codes (-1 for none); got dtype {arr.dtype}."
        )
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < -1:
        f = int(np.argwhere(arr < -1)[0, 1])
        raise ValueError(f"`groups` column {f} holds a code below -1; codes are 0..G-1 or -1.")
    n_f = arr.shape[1]
    if group_names is None:
        names = [f"grouping{f}" for f in range(n_f)]
        labels = [None] * n_f
    elif isinstance(group_names, dict):
        names = [str(k) for k in group_names]
        labels = [list(v) for v in group_names.values()]
    else:
        names = [f"grouping{f}" for f in range(n_f)]
        labels = [list(v) for v in group_names]
    if len(names) != n_f:
        raise ValueError(
            f"`group_names` must give labels for each of the {n_f} groupings (columns of "
            f"`groups`); got {len(names)}."
        )
    out = []
    for f in range(n_f):
        codes = arr[:, f]
        top = int(codes.max()) + 1 if codes.size else 0
        if labels[f] is None:
            lab = [str(c) for c in range(top)]
        else:
            lab = [str(x) for x in labels[f]]
            if len(lab) < top:
                raise ValueError(
                    f"`group_names` for grouping {names[f]!r} has {len(lab)} labels but "
                    f"`groups` column {f} uses code {top - 1}."
                )
        members = np.flatnonzero(codes >= 0)
        perm = members[np.argsort(codes[members], kind="stable")]
        bounds = np.searchsorted(codes[perm], np.arange(len(lab) + 1)).astype(np.int64)
        out.append((names[f], lab, codes, perm, bounds))
    return out


def _resolve_scheme(scheme, N):
    if isinstance(scheme, ReplicateScheme):
        if scheme.n_units != N:
            raise ValueError(
                f"`scheme` has n_units = {scheme.n_units} but there are {N} respondents."
            )
        return scheme
    if isinstance(scheme, str):
        _choice("scheme", scheme, _SCHEMES)
        return MultinomialScheme(N) if scheme == "multinomial" else PoissonScheme(N)
    raise TypeError(
        f"`scheme` must be one of {list(_SCHEMES)} or a ReplicateScheme; got "
        f"{type(scheme).__name__}."
    )


# ------------------------------------------------------------------------ statistic


class _Statistic:
    """Group alignment as a function of replicate factors and question weights."""

    def __init__(self, resp_opt, spos, k_q, lo, hi, gaps, weights, groupings, point, dist, metric,
                 precision="double"):
        N, Q = resp_opt.shape
        self.sum_dtype = np.float32 if precision == "single" else np.float64
        self.metric = metric
        self.N, self.Q = N, Q
        self.range = hi - lo
        self.point = point  # (M, Q)
        self.M = point.shape[0]
        valid = resp_opt >= 0
        if metric == "likert":
            opt = np.maximum(resp_opt, 0).T  # (Q, N) option index
            vals = np.where(valid, np.take_along_axis(np.nan_to_num(spos), opt, axis=1).T, 0.0)
            X = np.concatenate([vals * weights[:, None], valid * weights[:, None]], axis=1)
            self.kmax = 1
        else:
            offs = np.concatenate([[0], np.cumsum(k_q)])
            J = int(offs[-1])
            X = np.zeros((N, J))
            for q in range(Q):
                ok = valid[:, q]
                X[np.flatnonzero(ok), offs[q] + resp_opt[ok, q]] = weights[ok]
            K = spos.shape[1]
            pad = np.full((Q, K), J, dtype=np.int64)  # J = index of an appended zero column
            for q in range(Q):
                pad[q, : k_q[q]] = offs[q] + np.arange(k_q[q])
            self.pad = pad
            self.gaps = gaps
            self.model_cdf = np.cumsum(np.nan_to_num(dist), axis=2)  # (M, Q, K)
            self.kmax = K
        self.X = np.ascontiguousarray(X)
        self.J = self.X.shape[1]
        # replicate sums may run in single precision; the full-sample sums never do
        self.Xr = self.X if self.sum_dtype == np.float64 else self.X.astype(self.sum_dtype)
        self.groupings = []
        n_groups = 0
        cache = sum(len(g[3]) for g in groupings) * self.J * 8 <= _X_CACHE_BYTES
        for name, lab, codes, perm, bounds in groupings:
            identity = len(perm) == N and np.array_equal(perm, np.arange(N))
            Xs = (self.Xr if identity else self.Xr[perm]) if cache else None
            self.groupings.append((None if identity else perm, bounds, Xs, n_groups))
            n_groups += len(lab)
        self.G = n_groups
        self.max_members = max(len(g[3]) for g in groupings)

    # -- sums -------------------------------------------------------------------
    def group_sums(self, F, *, exact=False):
        """(C, N) factors -> (C, G, J) group sums; ``exact`` forces float64 (full sample)."""
        C = F.shape[0]
        dtype = np.float64 if exact else self.sum_dtype
        X = self.X if dtype == np.float64 else self.Xr
        F = np.ascontiguousarray(F, dtype=dtype)
        S = np.empty((self.G, C, self.J), dtype=dtype)
        buf = np.empty(C * self.max_members, dtype=dtype)
        for perm, bounds, Xs, g0 in self.groupings:
            if Xs is None or Xs.dtype != dtype:  # not cached: gather the members' rows
                Xs = X if perm is None else X[perm]
            g1 = g0 + len(bounds) - 1
            grouped_sums(F, Xs, perm, bounds, S[g0:g1], buffer=buf, gather=gather_columns)
        S = S.transpose(1, 0, 2)  # (C, G, J) view
        return S if dtype == np.float64 else S.astype(np.float64)

    # -- per-question alignment -------------------------------------------------------
    def question_alignment(self, S):
        """(C, G, J) sums -> (C, M, G, Q) per-question alignment (NaN: zero weight)."""
        Q = self.Q
        C = S.shape[0]
        out = np.empty((C, self.M, self.G, Q))
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.metric == "likert":
                den = S[:, :, Q:]
                mean = np.where(den > 0, S[:, :, :Q] / den, np.nan)
                for m in range(self.M):
                    out[:, m] = 1.0 - np.abs(mean - self.point[m]) / self.range
            else:
                P = np.concatenate([S, np.zeros((C, self.G, 1))], axis=2)[:, :, self.pad]
                den = P.sum(axis=3, keepdims=True)
                cdf = np.cumsum(np.where(den > 0, P / den, np.nan), axis=3)
                for m in range(self.M):
                    wd = np.sum(np.abs(cdf - self.model_cdf[m]) * self.gaps, axis=3)
                    out[:, m] = 1.0 - wd / self.range
        return out

    def full_sample_mask(self, S_full):
        """(M, G, Q) questions entering each group's alignment."""
        Q = self.Q
        if self.metric == "likert":
            den = S_full[0, :, Q:]
        else:
            padded = np.concatenate([S_full[0], np.zeros((self.G, 1))], axis=1)
            den = padded[:, self.pad].sum(axis=2)
        has = ~np.isnan(self.point)  # (M, Q)
        return (den > 0)[None, :, :] & has[:, None, :]

    # -- combination over questions --------------------------------------------------
    @staticmethod
    def combine(A, mask, qw):
        """Weighted mean over questions.

        ``A`` (C, M, G, Q) or (1, M, G, Q); ``mask`` (M, G, Q); ``qw`` (R, Q) or None.
        Returns (C or R, M, G); NaN where a weighted question is undefined or no
        question has weight.
        """
        C, M, G, Q = A.shape
        V = np.where(mask[None], A, 0.0)
        if qw is None:
            den = mask.sum(axis=2).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                res = V.sum(axis=3) / den
            res[:, den == 0] = np.nan
            return res
        nanflag = np.isnan(V)
        V0 = np.where(nanflag, 0.0, V)
        R = qw.shape[0]
        maskf = mask.reshape(M * G, Q).astype(np.float64)
        den = (qw @ maskf.T).reshape(R, M, G)
        if C == 1:
            num = (qw @ V0[0].reshape(M * G, Q).T).reshape(R, M, G)
            bad = (qw @ nanflag[0].reshape(M * G, Q).astype(np.float64).T).reshape(R, M, G) > 0
        else:
            num = np.matmul(V0.reshape(C, M * G, Q), qw[:, :, None]).reshape(C, M, G)
            bad = np.matmul(nanflag.reshape(C, M * G, Q).astype(np.float64), qw[:, :, None])
            bad = bad.reshape(C, M, G) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            res = num / den
        res[bad | (den == 0)] = np.nan
        return res

    def alignment(self, F, mask, qw=None):
        """(C, N) factors (+ optional (C, Q) question weights) -> (C, M, G)."""
        S = self.group_sums(F)
        C = F.shape[0]
        out = np.empty((C, self.M, self.G))
        per_row = self.M * self.G * self.Q * max(self.kmax, 1)
        step = max(1, _STAT_ELEMENTS // per_row)
        for s in range(0, C, step):
            e = min(C, s + step)
            A = self.question_alignment(S[s:e])
            out[s:e] = self.combine(A, mask, None if qw is None else qw[s:e])
        return out


# ---------------------------------------------------------------------- intervals


def _sorted_quantile(sorted_x, n_valid, prob):
    """Linear-interpolation quantile (NumPy's default) of the first ``n_valid``
    entries of each column of ``sorted_x`` (sorted along axis 0), at per-column
    probabilities ``prob``.  NaN where ``n_valid == 0`` or ``prob`` is NaN."""
    shape = sorted_x.shape[1:]
    xs = sorted_x.reshape(sorted_x.shape[0], -1)
    nv = np.broadcast_to(n_valid, shape).ravel()
    p = np.broadcast_to(prob, shape).ravel()
    out = np.full(nv.shape, np.nan)
    ok = (nv > 0) & np.isfinite(p)
    h = np.where(ok, p * (nv - 1), 0.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(nv - 1, 0))
    cols = np.arange(xs.shape[1])
    a = xs[lo, cols]
    b = xs[hi, cols]
    t = h - lo
    val = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
    out[ok] = val[ok]
    return out.reshape(shape)


def _acceleration(deviation_sets):
    """BCa acceleration from jackknife values.

    ``deviation_sets`` is a list of ``(theta_jack, n)`` with ``theta_jack``
    shape ``(K, ...)`` (NaN entries ignored); the empirical influence of unit
    ``k`` of a set of ``n`` units is ``u = (n - 1) / n * (mean - theta_k)``
    and ``a = sum u**3 / (6 * (sum u**2) ** 1.5)`` over all sets (Efron &
    Tibshirani 1993, eq. 14.15; the multi-sample form of SciPy's
    ``bootstrap``).  Returns 0 where every deviation is 0.
    """
    num = 0.0
    den = 0.0
    for theta, n in deviation_sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            u = (n - 1.0) / n * (np.nanmean(theta, axis=0) - theta)
        num = num + np.nansum(u**3, axis=0)
        den = den + np.nansum(u**2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = num / (6.0 * den**1.5)
    return np.where(den > 0, a, 0.0)


def _intervals(dist, estimate, *, confidence_level, method, acceleration, rescale):
    """Percentile or BCa limits, SE-free.  ``dist`` (B, ...)."""
    x = dist if rescale == 1.0 else estimate + rescale * (dist - estimate)
    n_valid = np.sum(~np.isnan(x), axis=0)
    xs = np.sort(x, axis=0)
    alpha = (1.0 - confidence_level) / 2.0
    if method == "percentile":
        p_lo = np.full(estimate.shape, alpha)
        p_hi = np.full(estimate.shape, 1.0 - alpha)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (np.sum(x < estimate, axis=0) + np.sum(x <= estimate, axis=0)) / (
                2.0 * n_valid
            )
            z0 = ndtri(frac)
            za = ndtri(alpha)
            n1 = z0 + za
            n2 = z0 - za
            p_lo = ndtr(z0 + n1 / (1.0 - acceleration * n1))
            p_hi = ndtr(z0 + n2 / (1.0 - acceleration * n2))
    low = _sorted_quantile(xs, n_valid, p_lo)
    high = _sorted_quantile(xs, n_valid, p_hi)
    if method == "bca":
        # Degenerate distributions: every defined replicate equals the estimate.
        same = (n_valid > 0) & (xs[0] == estimate) & (
            np.take_along_axis(xs, np.maximum(n_valid - 1, 0)[None], axis=0)[0] == estimate
        )
        low = np.where(same, estimate, low)
        high = np.where(same, estimate, high)
        failed = (n_valid > 0) & ~np.isfinite(low) & np.isfinite(estimate)
        if failed.any():
            warnings.warn(
                f"BCa interval undefined for {int(failed.sum())} estimate(s): every "
                "bootstrap replicate falls on one side of the estimate; their limits "
                "are NaN (use method='percentile' or more replicates).",
                DiagnosticsWarning,
                stacklevel=3,
            )
    return low, high


def _standard_error(dist, scale_fn):
    n_valid = np.sum(~np.isnan(dist), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(dist, axis=0)
        ss = np.nansum((dist - mean) ** 2, axis=0)
    scale = np.full(n_valid.shape, np.nan)
    for r in np.unique(n_valid):
        if r >= 2:
            scale[n_valid == r] = scale_fn(int(r))
    return np.sqrt(scale * ss)


def _freeze(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False


# ---------------------------------------------------------------------- public API


def bootstrap_alignment(
    responses,
    groups,
    answers,
    *,
    positions,
    weights=None,
    metric="likert",
    resample="respondents",
    scheme="multinomial",
    n_resamples=5000,
    confidence_level=0.95,
    method="percentile",
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
    responses : array_like, shape (N, Q)
        Each respondent's answer to each question as an ordinal *position*
        (one of the values in the question's row of `positions`); NaN = no
        valid answer.
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
    resample : {"respondents", "questions", "both"}
        What a replicate resamples.  ``questions`` draws Q questions with
        replacement and weights each question's full-sample alignment by its
        count; ``both`` does both in every replicate (independent draws).
    scheme : {"multinomial", "poisson"} or ReplicateScheme
        Respondent replicate factors (see :mod:`alignstat.resampling`).  A
        scheme with a fixed number of replicates (e.g. :class:`FixedReplicates`)
        sets the number of replicates; `n_resamples` must then be left at its
        default or equal it.
    n_resamples : int
        Number of replicates ``B``.
    confidence_level : float
        Two-sided confidence level.
    method : {"percentile", "bca"}
        Interval type.  BCa uses the bias correction
        ``z0 = Phi^{-1}((#{theta* < theta} + #{theta* <= theta}) / (2 B))``
        (ties count half, as in SciPy) and an acceleration from a jackknife
        computed by the same engine: a delete-a-block jackknife over
        respondents with ``min(jackknife_blocks, N)`` random blocks (the
        scheme's :meth:`~ReplicateScheme.jackknife_factors`; delete-one when
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
        `bootstrap_distribution`, counted by `n_valid`, and intervals and
        standard errors use the defined replicates only.
    DiagnosticsWarning
        When a BCa interval is undefined.

    Notes
    -----
    Group sums ``sum_i f_ri w_i x_ij`` over a group's members are dense matrix
    products: respondents are sorted by group once per grouping, and each
    chunk of replicate factors is gathered into that order and multiplied by
    the design matrix ``[w * position * valid, w * valid]`` (Likert) or
    ``w * one-hot(option)`` (Wasserstein), one BLAS call per group.

    The standard error is ``sqrt(c(R) * sum_r (theta_r - mean)**2)`` over the
    ``R`` defined replicates, ``c`` the scheme's
    :meth:`~ReplicateScheme.variance_scale` (``1/(R-1)`` for multinomial and
    Poisson; always ``1/(R-1)`` for ``resample="questions"``).  For a scheme
    whose ``c(B) * (B - 1)`` differs from 1 (design-based replicate weights),
    the interval is computed from replicates rescaled about the full-sample
    estimate, ``theta + sqrt(c(B) (B - 1)) (theta_r - theta)``, so that its
    spread matches the scheme's variance; `bootstrap_distribution` holds the
    replicates unscaled.

    Random streams: respondent factors, question draws and jackknife blocks
    use three independent child generators spawned from `rng`.

    Memory: about ``3 * chunk_size * N * 8`` bytes for the factors, plus the
    per-grouping copies of the design matrix when they fit in 512 MiB
    (otherwise they are gathered chunk by chunk), plus the ``(B, M, G)``
    replicate array.

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
    metric = _choice("metric", metric, _METRICS)
    resample = _choice("resample", resample, _RESAMPLE)
    method = _choice("method", method, _METHODS)
    precision = _choice("precision", precision, ("double", "single"))
    confidence_level = _confidence(confidence_level)
    jackknife_blocks = _positive_int("jackknife_blocks", jackknife_blocks, 2)

    resp = _float_array("responses", responses, (2,))
    N, Q = resp.shape
    if N < 1 or Q < 1:
        raise ValueError(f"`responses` must have at least one row and column; got {resp.shape}.")
    spos, order, k_q, lo, hi, gaps = _prepare_positions(positions, Q)
    opt = _map_responses(resp, spos, k_q)
    if weights is None:
        w = np.ones(N)
    else:
        w = _float_array("weights", weights, (1,))
        if w.shape != (N,):
            raise ValueError(
                f"`weights` must have shape ({N},), one per respondent; got {w.shape}."
            )
        if np.isnan(w).any() or (w < 0).any():
            raise ValueError("`weights` must be non-negative and not NaN.")
        if not (w > 0).any():
            raise ValueError("`weights` must not all be zero.")
    groupings = _prepare_groups(groups, N, group_names)
    point, dist = _prepare_answers(answers, metric, spos, order, k_q, lo, hi)
    M = point.shape[0]
    if model_names is None:
        model_names = tuple(f"model{m}" for m in range(M))
    else:
        model_names = tuple(str(x) for x in model_names)
        if len(model_names) != M:
            raise ValueError(
                f"`model_names` must have one name per model answer set ({M}); got "
                f"{len(model_names)}."
            )

    scheme_obj = None
    if resample == "questions" and not (isinstance(scheme, str) and scheme == "multinomial"):
        raise ValueError(
            "`scheme` applies to respondents and is not used when resample='questions'; "
            "use resample='both' to combine it with question resampling."
        )
    if resample != "questions":
        scheme_obj = _resolve_scheme(scheme, N)
        scheme_obj.reset()
    fixed = getattr(scheme_obj, "n_replicates", None)
    if fixed is not None:
        if n_resamples != 5000 and n_resamples != fixed:
            raise ValueError(
                f"`n_resamples` ({n_resamples}) must equal the {fixed} replicates of the "
                "fixed `scheme` (or be left at its default)."
            )
        n_resamples = fixed
    B = _positive_int("n_resamples", n_resamples, 1)
    if chunk_size is None:
        chunk = max(1, min(B, _CHUNK_ELEMENTS // N))
    else:
        chunk = _positive_int("chunk_size", chunk_size, 1)

    rng = np.random.default_rng(rng)
    rng_resp, rng_q, rng_jack = rng.spawn(3)

    stat = _Statistic(opt, spos, k_q, lo, hi, gaps, w, groupings, point, dist, metric, precision)
    G = stat.G
    S_full = stat.group_sums(np.ones((1, N)), exact=True)
    mask = stat.full_sample_mask(S_full)
    A_full = stat.question_alignment(S_full)  # (1, M, G, Q)
    estimate = stat.combine(A_full, mask, None)[0]
    builtin = isinstance(scheme_obj, (MultinomialScheme, PoissonScheme))

    boot = np.empty((B, M, G))
    for start in range(0, B, chunk):
        c = min(chunk, B - start)
        qw = None
        if resample != "respondents":
            qw = count_rows(rng_q.integers(0, Q, size=(c, Q)), Q)
        if resample == "questions":
            boot[start : start + c] = stat.combine(A_full, mask, qw)
            continue
        F = np.ascontiguousarray(scheme_obj.factors(rng_resp, c), dtype=np.float64)
        if F.shape != (c, N):
            raise ValueError(
                f"`scheme`.factors returned shape {F.shape}; expected ({c}, {N})."
            )
        if not builtin and (not np.isfinite(F).all() or (F < 0).any()):
            raise ValueError("`scheme`.factors returned negative or non-finite factors.")
        boot[start : start + c] = stat.alignment(F, mask, qw)

    acceleration = None
    if method == "bca":
        sets = []
        if resample != "questions":
            Fj = scheme_obj.jackknife_factors(rng_jack, jackknife_blocks)
            Fj = np.asarray(Fj, dtype=np.float64)
            if Fj.ndim != 2 or Fj.shape[1] != N or Fj.shape[0] < 2:
                raise ValueError(
                    f"`scheme`.jackknife_factors returned shape {Fj.shape}; expected (K, {N}) "
                    "with K >= 2."
                )
            K = Fj.shape[0]
            jack = np.empty((K, M, G))
            for s in range(0, K, chunk):
                e = min(K, s + chunk)
                jack[s:e] = stat.alignment(np.ascontiguousarray(Fj[s:e]), mask, None)
            sets.append((jack, K))
        if resample != "respondents":
            qj = 1.0 - np.eye(Q)
            jq = stat.combine(A_full, mask, qj)  # (Q, M, G)
            nq = mask.sum(axis=2)
            jq = np.where(mask.transpose(2, 0, 1), jq, np.nan)  # only questions in the set
            sets.append((jq, np.maximum(nq, 2)))
        acceleration = _acceleration(sets)

    if resample == "questions":
        scale_fn = lambda r: 1.0 / max(r - 1, 1)  # noqa: E731
        rescale = 1.0
    else:
        scale_fn = scheme_obj.variance_scale
        rescale = float(np.sqrt(scheme_obj.variance_scale(B) * (B - 1))) if B > 1 else 1.0
        if abs(rescale - 1.0) < 1e-12:
            rescale = 1.0
    low, high = _intervals(
        boot,
        estimate,
        confidence_level=confidence_level,
        method=method,
        acceleration=acceleration,
        rescale=rescale,
    )
    se = _standard_error(boot, scale_fn)
    n_valid = np.sum(~np.isnan(boot), axis=0)

    # group bookkeeping
    labels, index, n, n_eff = [], [], [], []
    for f, (name, lab, codes, perm, bounds) in enumerate(groupings):
        ws = w[perm]
        for g in range(len(lab)):
            sl = ws[bounds[g] : bounds[g + 1]]
            labels.append(lab[g])
            index.append((f, g))
            n.append(len(sl))
            with np.errstate(invalid="ignore", divide="ignore"):
                n_eff.append(sl.sum() ** 2 / np.sum(sl**2) if len(sl) else np.nan)
    index = np.asarray(index, dtype=np.int64).reshape(-1, 2)
    names = tuple(g[0] for g in groupings)
    n_questions = mask.sum(axis=2)

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
            stacklevel=2,
        )
    if partial.any():
        warnings.warn(
            f"alignment undefined in some of the {B} replicates (a replicate left the "
            f"group with zero weight on a question) for {int(partial.sum())} model/group "
            f"cell(s): {_where(partial)}; intervals use the n_valid defined replicates.",
            SmallCellWarning,
            stacklevel=2,
        )

    result = GroupAlignmentBootstrap(
        estimate=estimate,
        bootstrap_distribution=boot,
        confidence_interval=ConfidenceInterval(low, high),
        standard_error=se,
        n_valid=n_valid,
        n=np.asarray(n, dtype=np.int64),
        n_eff=np.asarray(n_eff, dtype=np.float64),
        n_questions=n_questions,
        group_index=index,
        groupings=names,
        group_labels=tuple(labels),
        model_names=model_names,
        metric=metric,
        resample=resample,
        method=method,
        scheme="questions" if scheme_obj is None else scheme_obj.name,
        confidence_level=confidence_level,
        n_resamples=B,
        acceleration=acceleration,
        interval_scale=rescale,
        _variance_scale=scale_fn,
    )
    _freeze(estimate, boot, low, high, se, n_valid, result.n, result.n_eff, n_questions, index,
            acceleration)
    return result


def bootstrap_questions(
    values,
    *,
    n_resamples=5000,
    confidence_level=0.95,
    method="percentile",
    rng=None,
) -> BootstrapResult:
    """Question bootstrap of the mean per-question alignment of several pairs.

    Parameters
    ----------
    values : array_like, shape (P, Q) or (Q,)
        Per-question alignment of ``P`` (model, group) pairs; NaN = question
        not shared by the pair.
    n_resamples : int
        Number of replicates ``B``.
    confidence_level : float
        Two-sided confidence level.
    method : {"percentile", "bca"}
        BCa uses a delete-one jackknife over questions for the acceleration.
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    BootstrapResult
        Shapes ``(P,)`` (scalars for 1-D `values`); ``bootstrap_distribution``
        ``(B, P)`` (``(B,)``).

    Notes
    -----
    Every replicate draws Q question indices with replacement -- the same
    draw for all pairs, so comparisons between pairs keep their correlation --
    and its statistic for pair ``p`` is ``sum_q c_q v_pq / sum_q c_q`` over the
    pair's non-NaN questions (``c_q`` the draw counts): one ``(B, Q) x (Q, P)``
    matrix product.  A replicate that drew none of a pair's questions is NaN
    and counted out of `n_valid`.

    Examples
    --------
    >>> from alignstat.bootstrap import bootstrap_questions
    >>> res = bootstrap_questions([[0.5, 0.75, 1.0, float("nan")]], n_resamples=1000, rng=0)
    >>> res.estimate
    array([0.75])
    """
    method = _choice("method", method, _METHODS)
    confidence_level = _confidence(confidence_level)
    B = _positive_int("n_resamples", n_resamples, 1)
    v = _float_array("values", values, (1, 2))
    squeeze = v.ndim == 1
    if squeeze:
        v = v[None, :]
    P, Q = v.shape
    if Q < 1:
        raise ValueError("`values` must hold at least one question (column).")
    rng = np.random.default_rng(rng)
    valid = ~np.isnan(v)
    mask = valid[None]  # as (M=1, G=P, Q) for _Statistic.combine
    A = np.where(valid, v, 0.0)[None, None]  # (1, 1, P, Q)
    estimate = _Statistic.combine(A, mask, None)[0, 0]
    qw = count_rows(rng.integers(0, Q, size=(B, Q)), Q)
    boot = _Statistic.combine(A, mask, qw)[:, 0, :]
    acc = None
    if method == "bca":
        jq = _Statistic.combine(A, mask, 1.0 - np.eye(Q))[:, 0, :]
        jq = np.where(valid.T, jq, np.nan)
        acc = _acceleration([(jq, np.maximum(valid.sum(axis=1), 2))])
    low, high = _intervals(
        boot, estimate, confidence_level=confidence_level, method=method,
        acceleration=acc, rescale=1.0,
    )
    se = _standard_error(boot, lambda r: 1.0 / max(r - 1, 1))
    n_valid = np.sum(~np.isnan(boot), axis=0)
    if squeeze:
        estimate, low, high, se, n_valid = (x[0] for x in (estimate, low, high, se, n_valid))
        boot = boot[:, 0]
    result = BootstrapResult(
        estimate=np.asarray(estimate),
        confidence_interval=ConfidenceInterval(np.asarray(low), np.asarray(high)),
        standard_error=np.asarray(se),
        bootstrap_distribution=boot,
        n_valid=np.asarray(n_valid),
    )
    _freeze(result.estimate, result.confidence_interval.low, result.confidence_interval.high,
            result.standard_error, boot, result.n_valid)
    return result

