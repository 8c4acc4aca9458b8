"""Input validation and construction of the alignment outcome."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from alignstat import DataPolicyWarning, respondent_alignment

__all__ = ["alignment_array", "factor_codes", "tidy_answers"]

MISSING_LABEL = "(missing)"


def _require_frame(obj, name):
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(obj).__name__}.")


def _require_columns(frame, cols, name):
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"`{name}` lacks required column(s) {missing}; it has {list(frame.columns)[:20]}.")


def tidy_answers(answers, data, *, questions=None):
    """Validate tidy model answers and return ``(models, questions, positions, probs)``.

    Returns
    -------
    models : list of str
    questions : list of str
    positions : ndarray, shape (Q, K)
        Option positions, NaN-padded.
    probs : ndarray, shape (M, Q, K)
        Answer distributions (normalised to sum to 1), NaN-padded.
    """
    _require_frame(answers, "answers")
    _require_columns(answers, ["model", "question", "option", "prob"], "answers")
    opt = pd.to_numeric(answers["option"], errors="coerce")
    if opt.isna().any():
        raise ValueError("`answers` column 'option' must hold numeric ordinal positions; found non-numeric values.")
    prob = pd.to_numeric(answers["prob"], errors="coerce")
    if prob.isna().any() or not np.isfinite(prob.to_numpy(float)).all() or (prob < 0).any():
        raise ValueError("`answers` column 'prob' must hold finite, non-negative probabilities.")
    ans = pd.DataFrame({"model": answers["model"].astype(str).to_numpy(), "question": answers["question"].astype(str).to_numpy(),
                        "option": opt.to_numpy(float), "prob": prob.to_numpy(float)})
    qs_all = list(dict.fromkeys(ans["question"]))
    if questions is None:
        questions = [q for q in qs_all if q in data.columns]
        if not questions:
            raise ValueError("no question of `answers` (column 'question') is a column of `data`.")
    else:
        questions = [str(q) for q in questions]
        bad = [q for q in questions if q not in qs_all]
        if bad:
            raise ValueError(f"`questions` {bad} have no rows in `answers`.")
        _require_columns(data, questions, "data")
    models = list(dict.fromkeys(ans["model"]))
    ans = ans[ans["question"].isin(questions)]
    for m, sub in ans.groupby("model", sort=False):
        lack = sorted(set(questions) - set(sub["question"]))
        if lack:
            raise ValueError(f"`answers` has no distribution for model {m!r} on question(s) {lack[:10]}.")
    opts = {q: np.sort(sub["option"].unique()) for q, sub in ans.groupby("question", sort=False)}
    K = max(len(v) for v in opts.values())
    positions = np.full((len(questions), K), np.nan)
    for j, q in enumerate(questions):
        if len(opts[q]) < 2:
            raise ValueError(f"question {q!r} has fewer than two options in `answers`.")
        positions[j, : len(opts[q])] = opts[q]
    probs = np.full((len(models), len(questions), K), np.nan)
    qidx = {q: j for j, q in enumerate(questions)}
    midx = {m: i for i, m in enumerate(models)}
    for (m, q), sub in ans.groupby(["model", "question"], sort=False):
        j = qidx[q]
        p = sub.groupby("option")["prob"].sum()
        if p.sum() <= 0:
            raise ValueError(f"`answers` probabilities of model {m!r} on question {q!r} sum to zero.")
        vec = np.zeros(len(opts[q]))
        vec[np.searchsorted(opts[q], p.index.to_numpy())] = p.to_numpy() / p.sum()
        probs[midx[m], j, : len(vec)] = vec
    return models, questions, positions, probs


def _responses(data, questions, positions):
    out = np.empty((len(data), len(questions)))
    for j, q in enumerate(questions):
        col = pd.to_numeric(data[q], errors="coerce")
        bad_type = col.isna() & data[q].notna()
        if bad_type.any():
            raise ValueError(f"column {q!r} of `data` must hold numeric ordinal positions (NaN = no answer).")
        x = col.to_numpy(float)
        valid = positions[j][~np.isnan(positions[j])]
        ok = np.isnan(x) | np.isin(x, valid)
        if not ok.all():
            raise ValueError(f"column {q!r} of `data` holds {np.unique(x[~ok])[:5].tolist()}, which are not option "
                             f"positions of the question ({valid.tolist()}).")
        out[:, j] = x
    return out


def alignment_array(data, answers, *, questions=None, metric="likert"):
    """Per-respondent, per-question alignment ``(M, N, Q)`` and the model/question names.

    Computed by :func:`alignstat.respondent_alignment`.
    """
    if metric not in ("likert", "wasserstein"):
        raise ValueError(f"`metric` must be one of ['likert', 'wasserstein'], got {metric!r}.")
    models, questions, positions, probs = tidy_answers(answers, data, questions=questions)
    responses = _responses(data, questions, positions)
    a = np.asarray(respondent_alignment(responses, np.nan_to_num(probs), positions, metric=metric), dtype=float)
    a[:, np.isnan(responses)] = np.nan
    return a, models, questions


def factor_codes(data, factors, *, missing="group"):
    """Integer codes and labels of each factor column.

    Returns
    -------
    codes : dict of str -> ndarray of int (−1 where missing and ``missing="drop"``)
    labels : dict of str -> list of str
    """
    codes, labels = {}, {}
    for f in factors:
        col = data[f]
        cat = pd.Categorical(col)
        c = np.asarray(cat.codes, dtype=np.int64)
        labs = [str(v) for v in cat.categories]
        if (c < 0).any() and missing == "group":
            c = np.where(c < 0, len(labs), c)
            labs.append(MISSING_LABEL)
        codes[f], labels[f] = c, labs
    return codes, labels


def validate_factors(data, factors, country, weight):
    _require_frame(data, "data")
    if isinstance(factors, str):
        raise TypeError("`factors` must be a sequence of column names, not a single string.")
    factors = [str(f) for f in factors]
    if country is not None and country in factors:
        raise ValueError(f"`factors` must not repeat the country column {country!r}.")
    if len(set(factors)) != len(factors):
        raise ValueError("`factors` holds duplicate column names.")
    cols = ([country] if country is not None else []) + factors + ([weight] if weight is not None else [])
    _require_columns(data, cols, "data")
    if not ([country] if country else []) + factors:
        raise ValueError("at least one grouping column (`country` or `factors`) is required.")
    if weight is not None:
        w = pd.to_numeric(data[weight], errors="coerce").to_numpy(float)
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"weight column {weight!r} must hold finite, non-negative numbers.")
    return factors


def drop_rows_warning(n_dropped, reason, *, stacklevel=3):
    """Emit a :class:`alignstat.DataPolicyWarning` when rows were dropped."""
    if n_dropped:
        warnings.warn(f"{n_dropped} respondent(s) dropped: {reason}.", DataPolicyWarning, stacklevel=stacklevel)
