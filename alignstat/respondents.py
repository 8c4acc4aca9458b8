"""Respondent-level inputs: microdata and model answers as aligned arrays.

Studies that resample respondents (subgroup alignment, variance
decomposition) need the survey answers as a dense ``(N, Q)`` array of
ordinal positions and the model answers as ``(M, Q, K)`` distributions on the
same option grid.  :func:`prepare_respondents` builds both from tidy inputs and
checks that every survey value is an option of its question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .distributions import OpinionDistributions

__all__ = ["RespondentData", "prepare_respondents", "respondent_alignment"]


@dataclass(frozen=True)
class RespondentData:
    """Aligned respondent-level arrays (see :func:`prepare_respondents`).

    Attributes
    ----------
    responses : ndarray, shape (N, Q)
        Answers as ordinal positions; NaN = no valid answer.
    groups : ndarray of int64, shape (N, F)
        Group code of each respondent in each factor (-1 = missing).
    group_labels : list of list
        Labels of the codes of each factor.
    weights : ndarray, shape (N,)
    answers : ndarray, shape (M, Q, K)
        Model distributions on each question's option grid (zero-padded).
    positions : ndarray, shape (Q, K)
        Option positions, ascending, NaN-padded.
    n_options : ndarray of int64, shape (Q,)
    models, questions, factors : list of str
    """

    responses: np.ndarray
    groups: np.ndarray
    group_labels: list
    weights: np.ndarray
    answers: np.ndarray
    positions: np.ndarray
    n_options: np.ndarray
    models: list
    questions: list
    factors: list

    @property
    def span(self) -> np.ndarray:
        """``max position - min position`` of each question."""
        return self.positions[np.arange(len(self.questions)), self.n_options - 1] - self.positions[:, 0]


def prepare_respondents(
    data,
    answers,
    *,
    factors=(),
    weight=None,
    questions=None,
    positions=None,
    missing_as_group=False,
    missing_label="(missing)",
    policy=None,
) -> RespondentData:
    """Align respondent microdata with tidy model answers.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent; one column per question holding the answer's
        ordinal position (NaN = no valid answer) and one column per factor.
    answers : pandas.DataFrame
        Tidy model answers: ``model``, ``question``, ``option``, ``prob``
        (a point answer is a one-hot distribution).
    factors : sequence of str
        Grouping columns of `data` (e.g. ``"country"``, ``"gender"``).
    weight : str, optional
        Weight column of `data`; default equal weights.
    questions : sequence of str, optional
        Questions to use; default those both in `answers` and among `data`'s
        columns (in the order of `answers`).
    positions : dict or QuestionBank, optional
        The full scale of some questions (``{question: positions}`` or an
        :class:`alignstat.QuestionBank`), used when the answers do not list
        every option -- e.g. a majority-vote point answer on a 0--10 item is
        placed on the full 0--10 scale, not on a scale guessed from the
        answers.  See :meth:`OpinionDistributions.grid`.
    missing_as_group : bool
        Give respondents with a missing factor value their own group
        (labelled `missing_label`) instead of code -1.
    policy : Policy, optional
        Passed to :meth:`OpinionDistributions.from_frame` for the answers.

    Raises
    ------
    ValueError
        Naming the column of a question whose data hold a value that is not
        one of its options, a missing factor or weight column, or bad weights.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    if "model" not in answers.columns:
        raise ValueError("`answers` needs a `model` column.")
    dist = OpinionDistributions.from_frame(answers, groups=["model"], policy=policy, name="answers")
    if questions is None:
        qs = [q for q in dist.questions if q in data.columns]
        if not qs:
            raise ValueError("no question of `answers` is a column of `data`.")
    else:
        qs = [str(q) for q in questions]
        for q in qs:
            if q not in data.columns:
                raise ValueError(f"question {q!r} is not a column of `data`.")
        missing = set(qs) - set(dist.questions)
        if missing:
            raise ValueError(f"questions {sorted(missing)[:10]} have no model answer.")
    factors = [factors] if isinstance(factors, str) else list(factors)
    for c in factors:
        if c not in data.columns:
            raise ValueError(f"factor column {c!r} is not in `data`.")
    grid = dist.grid(questions=qs, positions=positions, ordinal=True)
    nq = len(qs)
    pos, nk = grid.positions, grid.n_options
    few = np.flatnonzero(nk < 2)
    if len(few):
        raise ValueError(
            f"question {qs[few[0]]!r}: the answers list fewer than two options; list the full scale "
            "(zeros allowed) or pass `positions` (a mapping or an alignstat.QuestionBank)."
        )
    models = list(grid.group_values["model"])
    # responses
    resp = np.empty((len(data), nq))
    for i, q in enumerate(qs):
        col = pd.to_numeric(data[q], errors="coerce").to_numpy(dtype=float)
        nonnum = data[q].notna().to_numpy() & np.isnan(col)
        if nonnum.any():
            raise ValueError(f"column {q!r}: value {data[q][nonnum].iloc[0]!r} is not a number (expected ordinal positions).")
        opts = pos[i, : nk[i]]
        ok = np.isnan(col) | np.isin(col, opts)
        if not ok.all():
            bad = np.unique(col[~ok])[:5].tolist()
            raise ValueError(
                f"column {q!r}: values {bad} are not options of the question (options {opts.tolist()}); "
                "recode missing-value codes to NaN first (see surveys)."
            )
        resp[:, i] = col
    # model answers on the grid: (models, questions, K)
    ans = np.zeros((len(models), nq, pos.shape[1]))
    ans[grid.item_group, grid.item_question] = grid.prob
    # groups
    groups = np.full((len(data), len(factors)), -1, dtype=np.int64)
    labels = []
    for j, c in enumerate(factors):
        vals = data[c]
        printed = pd.Series(pd.unique(vals.dropna())).astype(str)
        if printed.duplicated().any():
            dup = printed[printed.duplicated()].iloc[0]
            raise ValueError(
                f"factor column {c!r} holds values that differ only in type ({dup!r} more than once, e.g. 1 and "
                f"'1'); convert the column to one type first, e.g. data[{c!r}].astype(str)."
            )
        try:
            codes, uniq = pd.factorize(vals, sort=True)
        except TypeError:  # unorderable mixed labels: first-seen order
            codes, uniq = pd.factorize(vals)
        lab = list(uniq)
        if missing_as_group and (codes < 0).any():
            codes = np.where(codes < 0, len(lab), codes)
            lab.append(missing_label)
        groups[:, j] = codes
        labels.append(lab)
    if weight is None:
        w = np.ones(len(data))
    else:
        if weight not in data.columns:
            raise ValueError(f"weight column {weight!r} is not in `data`.")
        w = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weight column {weight!r} must be finite and non-negative.")
        if w.sum() <= 0:
            raise ValueError(f"weight column {weight!r} sums to zero.")
    return RespondentData(
        responses=resp, groups=groups, group_labels=labels, weights=w, answers=ans, positions=pos,
        n_options=nk, models=models, questions=qs, factors=factors,
    )


def respondent_alignment(responses, answers, positions, *, metric="likert", engine="numba"):
    r"""Per-respondent, per-question alignment with each model.

    Parameters
    ----------
    responses : array_like, shape (N, Q)
        Answers as ordinal positions; NaN = no valid answer.
    answers : array_like, shape (M, Q, K)
        Model distributions on each question's option grid.
    positions : array_like, shape (Q, K)
        Option positions, ascending, NaN-padded.
    metric : {"likert", "wasserstein"}
        ``"likert"``: :math:`1 - |x - \mu_m| / (x_{max} - x_{min})`;
        ``"wasserstein"``: the Wasserstein alignment of a point mass at the
        respondent's answer with the model distribution,
        :math:`1 - \sum_k p_k |x - x_k| / (x_{max} - x_{min})`.

    Returns
    -------
    ndarray, shape (M, N, Q)
        NaN where the respondent has no valid answer or the model none.
    """
    if metric not in ("likert", "wasserstein"):
        raise ValueError(f"`metric` must be 'likert' or 'wasserstein', got {metric!r}.")
    r = np.ascontiguousarray(responses, dtype=np.float64)
    a = np.ascontiguousarray(answers, dtype=np.float64)
    p = np.ascontiguousarray(positions, dtype=np.float64)
    if r.ndim != 2 or a.ndim != 3 or p.ndim != 2:
        raise ValueError("`responses`, `answers`, `positions` must be 2-, 3- and 2-dimensional.")
    if a.shape[1:] != p.shape or r.shape[1] != p.shape[0]:
        raise ValueError(
            f"shapes do not match: responses {r.shape}, answers {a.shape}, positions {p.shape}."
        )
    nk = np.sum(~np.isnan(p), axis=1).astype(np.int64)
    if np.any(nk < 2):
        raise ValueError("every question needs at least two positions.")
    kidx = np.arange(p.shape[1])[None, :]
    if np.any(np.isnan(p) != (kidx >= nk[:, None])):
        raise ValueError("`positions` must hold NaN only as trailing padding.")
    inside = kidx < nk[:, None]
    steps = np.diff(np.where(inside, p, 0.0), axis=1)
    if np.any((steps <= 0) & inside[:, 1:]):
        raise ValueError("`positions` must be strictly ascending within each row.")
    if engine not in ("numba", "numpy"):
        raise ValueError(f"`engine` must be 'numba' or 'numpy', got {engine!r}.")
    # answers: option column of each response (the respondent's one-hot distribution)
    codes = np.full(r.shape, -1, dtype=np.int64)
    for q in range(p.shape[0]):
        x = p[q, : nk[q]]
        col = r[:, q]
        have = ~np.isnan(col)
        t = np.searchsorted(x, col[have])
        t = np.minimum(t, nk[q] - 1)
        off = x[t] != col[have]
        if off.any():
            raise ValueError(f"`responses` column {q}: value {col[have][off][0]!r} is not one of the positions "
                             f"{x.tolist()}.")
        codes[have, q] = t
    # model distributions, normalised; a model without mass on a question has no answer there
    m_models = a.shape[0]
    a = np.where(np.arange(p.shape[1])[None, None, :] < nk[None, :, None], a, 0.0)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("`answers` must be finite and non-negative (use zeros for a model without an answer).")
    tot = a.sum(-1)
    has = tot > 0
    a = np.divide(a, tot[..., None], out=np.zeros_like(a), where=has[..., None])
    a2 = np.ascontiguousarray(a.reshape(m_models * p.shape[0], p.shape[1]))
    from ._kernels import metrics as _k

    mid = _k.METRIC_IDS[metric]
    kern = _k.respondent_alignment_kernel if engine == "numba" else _k.respondent_alignment_numpy
    return kern(mid, codes, a2, has.reshape(-1), p, nk, m_models)
