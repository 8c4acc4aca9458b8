"""Input validation and standardisation of the bootstrap (scipy's ``_bootstrap_iv`` pattern).

Everything here checks and normalises user input and raises ``ValueError`` /
``TypeError`` naming the argument; no bootstrap arithmetic happens here.
:func:`bootstrap_iv` returns a :class:`BootstrapInput` that
:func:`alignstat.bootstrap_alignment` hands to the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .resampling import MultinomialScheme, PoissonScheme, ReplicateScheme

METRICS = ("likert", "wasserstein")
RESAMPLE = ("respondents", "questions", "both")
CI_METHODS = ("percentile", "bca")
SCHEMES = ("multinomial", "poisson")
PRECISIONS = ("double", "single")
#: Tolerance for matching a response to an answer position.
POS_TOL = 1e-9


def choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}; got {value!r}.")
    return value


def positive_int(name, value, minimum=1):
    """Return `value` as an int ``>= minimum``; an integral float (``3.0``) passes, ``2.7`` raises.

    Like scipy's ``bootstrap``, a non-integer is never truncated.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise TypeError(f"`{name}` must be an integer; got {type(value).__name__}.")
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or value != int(value):
            raise ValueError(f"`{name}` must be an integer; got {value!r} (not truncated).")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value}.")
    return value


def as_rng(rng):
    """Return ``np.random.default_rng(rng)``, naming `rng` when it is not a seed or a generator."""
    if isinstance(rng, (str, bytes, float)) or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)
                                                 and rng < 0):
        raise TypeError(f"`rng` must be None, a non-negative integer seed, a SeedSequence or a "
                        f"numpy Generator; got {rng!r}.")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise TypeError(f"`rng` must be None, a non-negative integer seed, a SeedSequence or a "
                        f"numpy Generator; got {type(rng).__name__}.") from None


def confidence(confidence_level):
    try:
        cl = float(confidence_level)
    except (TypeError, ValueError):
        raise TypeError("`confidence_level` must be a number in (0, 1).") from None
    if not 0.0 < cl < 1.0:
        raise ValueError(f"`confidence_level` must lie strictly between 0 and 1; got {cl}.")
    return cl


def float_array(name, x, ndim):
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
    pos = float_array("positions", positions, (2,))
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
    # option indices fit in int16 (questions have far fewer than 32767 options)
    opt = np.full((N, Q), -1, dtype=np.int16 if spos.shape[1] < 2**15 else np.int64)
    for q in range(Q):
        col = resp[:, q]
        ok = ~np.isnan(col)
        if not ok.any():
            continue
        p = spos[q, : k_q[q]]
        v = col[ok]
        k = np.abs(v[:, None] - p[None, :]).argmin(axis=1)
        bad = np.abs(p[k] - v) > POS_TOL * np.maximum(1.0, np.abs(v))
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
    ans = float_array("answers", answers, (2, 3))
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
        tol = POS_TOL * np.maximum(1.0, np.abs(hi))
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
        choice("scheme", scheme, SCHEMES)
        return MultinomialScheme(N) if scheme == "multinomial" else PoissonScheme(N)
    raise TypeError(
        f"`scheme` must be one of {list(SCHEMES)} or a ReplicateScheme; got "
        f"{type(scheme).__name__}."
    )




def _is_respondent_data(x):
    from .respondents import RespondentData

    return isinstance(x, RespondentData)


def _resample(resample):
    """``"respondents"``, ``"questions"``, ``"both"`` or a tuple of the first two."""
    if isinstance(resample, (tuple, list)):
        units = set(resample)
        if not units or not units <= {"respondents", "questions"}:
            raise ValueError(
                "`resample` must be one of ['respondents', 'questions', 'both'] or a tuple of "
                f"'respondents' and 'questions'; got {resample!r}."
            )
        return "both" if len(units) == 2 else units.pop()
    return choice("resample", resample, RESAMPLE)


@dataclass(frozen=True)
class BootstrapInput:
    """Validated, standardised arguments of :func:`~alignstat.bootstrap_alignment`."""

    metric: str
    resample: str
    ci_method: str
    precision: str
    confidence_level: float
    jackknife_blocks: int
    n_resamples: int
    chunk: int
    opt: np.ndarray  # (N, Q) option index of each response in ascending order, -1 missing
    spos: np.ndarray  # (Q, K) ascending positions, NaN-padded
    k_q: np.ndarray  # (Q,) options per question
    lo: np.ndarray
    hi: np.ndarray
    weights: np.ndarray  # (N,)
    groupings: list  # (name, labels, codes, perm, bounds) per grouping
    point: np.ndarray  # (M, Q) model mean positions, NaN = no answer
    dist: Any  # (M, Q, K) model distributions in ascending order (wasserstein) or None
    model_names: tuple
    scheme: Any  # ReplicateScheme or None (resample="questions")


def bootstrap_iv(responses, groups, answers, *, positions, weights, metric, resample, scheme,
                 n_resamples, confidence_level, ci_method, chunk_size, group_names, model_names,
                 jackknife_blocks, precision):
    """Input validation and standardisation for :func:`~alignstat.bootstrap_alignment`.

    Returns
    -------
    BootstrapInput
    """
    if _is_respondent_data(responses):
        if groups is not None or answers is not None or positions is not None or weights is not None:
            raise TypeError(
                "with a RespondentData first argument, leave `groups`, `answers`, `positions` "
                "and `weights` unset: they come from it."
            )
        rd = responses
        responses, groups, positions, weights = rd.responses, rd.groups, rd.positions, rd.weights
        answers = np.array(rd.answers, dtype=np.float64)
        none = ~(np.nansum(answers, axis=2) > 0)  # (M, Q): the model gave no answer
        if metric == "likert":  # the Likert metric needs only the answers' means
            answers = np.einsum("mqk,qk->mq", np.nan_to_num(answers), np.nan_to_num(positions))
        answers[none] = np.nan
        if group_names is None:
            group_names = {f: [str(x) for x in lab] for f, lab in zip(rd.factors, rd.group_labels)}
        if model_names is None:
            model_names = [str(m) for m in rd.models]
    for name, value in (("groups", groups), ("answers", answers), ("positions", positions)):
        if value is None:
            raise TypeError(f"`{name}` is required when `responses` is an array.")
    metric = choice("metric", metric, METRICS)
    resample = _resample(resample)
    ci_method = choice("ci_method", ci_method, CI_METHODS)
    precision = choice("precision", precision, PRECISIONS)
    confidence_level = confidence(confidence_level)
    jackknife_blocks = positive_int("jackknife_blocks", jackknife_blocks, 2)

    resp = float_array("responses", responses, (2,))
    N, Q = resp.shape
    if N < 1 or Q < 1:
        raise ValueError(f"`responses` must have at least one row and column; got {resp.shape}.")
    spos, order, k_q, lo, hi, _ = _prepare_positions(positions, Q)
    opt = _map_responses(resp, spos, k_q)
    if weights is None:
        w = np.ones(N)
    else:
        w = float_array("weights", weights, (1,))
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
    fixed = getattr(scheme_obj, "n_replicates", None)
    if fixed is not None:
        if n_resamples is not None and n_resamples != fixed:
            raise ValueError(
                f"`n_resamples` ({n_resamples}) must equal the {fixed} replicates of the "
                "fixed `scheme` (or be left at None)."
            )
        n_resamples = fixed
    if n_resamples is None:
        n_resamples = 5000
    B = positive_int("n_resamples", n_resamples, 1)
    if chunk_size is None:
        chunk = None
    else:
        chunk = positive_int("chunk_size", chunk_size, 1)
    return BootstrapInput(
        metric=metric, resample=resample, ci_method=ci_method, precision=precision,
        confidence_level=confidence_level, jackknife_blocks=jackknife_blocks, n_resamples=B,
        chunk=chunk, opt=opt, spos=spos, k_q=k_q, lo=lo, hi=hi, weights=w,
        groupings=groupings, point=point, dist=dist, model_names=model_names, scheme=scheme_obj,
    )
