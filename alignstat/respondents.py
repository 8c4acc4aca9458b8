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

from ._kernels import metrics as _k
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
    positions : dict, optional
        ``{question: positions}`` giving the full scale of a question when
        the answers do not list every option.
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
    f = dist._frame
    if f["option"].isna().any():
        f = f.loc[f["option"].notna()]
    if questions is None:
        qs = [q for q in pd.unique(f["question"]) if q in data.columns]
        if not qs:
            raise ValueError("no question of `answers` is a column of `data`.")
    else:
        qs = [str(q) for q in questions]
        for q in qs:
            if q not in data.columns:
                raise ValueError(f"question {q!r} is not a column of `data`.")
        missing = set(qs) - set(f["question"])
        if missing:
            raise ValueError(f"questions {sorted(missing)[:10]} have no model answer.")
    factors = list(factors)
    for c in factors:
        if c not in data.columns:
            raise ValueError(f"factor column {c!r} is not in `data`.")
    models = sorted(pd.unique(f["model"]).tolist(), key=str)
    nq = len(qs)
    grids = []
    for q in qs:
        opts = np.unique(f.loc[f["question"] == q, "option"].to_numpy(dtype=float))
        if positions is not None and q in positions:
            full = np.unique(np.asarray(positions[q], dtype=float))
            extra = np.setdiff1d(opts, full)
            if len(extra):
                raise ValueError(f"question {q!r}: model options {extra.tolist()} are not in the given positions.")
            opts = full
        if len(opts) < 2:
            raise ValueError(
                f"question {q!r}: the answers list fewer than two options; list the full scale "
                "(zeros allowed) or pass `positions`."
            )
        grids.append(opts)
    kmax = max(len(g) for g in grids)
    pos = np.full((nq, kmax), np.nan)
    nk = np.array([len(g) for g in grids], dtype=np.int64)
    for i, g in enumerate(grids):
        pos[i, : len(g)] = g
    # responses
    resp = np.empty((len(data), nq))
    for i, q in enumerate(qs):
        col = pd.to_numeric(data[q], errors="coerce").to_numpy(dtype=float)
        nonnum = data[q].notna().to_numpy() & np.isnan(col)
        if nonnum.any():
            raise ValueError(f"column {q!r}: value {data[q][nonnum].iloc[0]!r} is not a number (expected ordinal positions).")
        ok = np.isnan(col) | np.isin(col, grids[i])
        if not ok.all():
            bad = np.unique(col[~ok])[:5].tolist()
            raise ValueError(
                f"column {q!r}: values {bad} are not options of the question (options {grids[i].tolist()}); "
                "recode missing-value codes to NaN first (see surveys)."
            )
        resp[:, i] = col
    # model answers on the grid
    ans = np.zeros((len(models), nq, kmax))
    mi = {m: j for j, m in enumerate(models)}
    qi = {q: j for j, q in enumerate(qs)}
    sub = f.loc[f["question"].isin(qs)]
    for row in sub.itertuples(index=False):
        j = qi[row.question]
        k = int(np.searchsorted(grids[j], row.option))
        ans[mi[row.model], j, k] = row.prob
    # groups
    groups = np.full((len(data), len(factors)), -1, dtype=np.int64)
    labels = []
    for j, c in enumerate(factors):
        codes, uniq = pd.factorize(data[c], sort=True)
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
    mid = _k.METRIC_IDS[metric]
    kern = _k.respondent_alignment_kernel if engine == "numba" else _k.respondent_alignment_numpy
    return kern(mid, r, a, p, nk)
