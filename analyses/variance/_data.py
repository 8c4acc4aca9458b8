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


def _scale_of(positions, questions, data, frame):
    """Full scale of every question: `positions` where given, else observed answers and model options."""
    from alignstat._packed import scale_positions

    given = scale_positions(getattr(positions, "positions", positions), questions)
    out = {}
    for q in questions:
        if q in given:
            out[q] = given[q]
            continue
        x = pd.to_numeric(data[q], errors="coerce").to_numpy(float)
        opts = frame.loc[frame["question"] == q, "option"].to_numpy(float)
        out[q] = np.unique(np.concatenate([x[np.isfinite(x)], opts[np.isfinite(opts)]]))
    return out


def tidy_answers(answers, data, *, questions=None, positions=None):
    """Validate model answers through :class:`alignstat.OpinionDistributions`.

    Duplicate options, negative or missing probabilities are errors naming
    the question and model; rows with ``status == "rejected"`` are excluded
    and probabilities that do not sum to 1 are renormalised -- both reported
    (a :class:`alignstat.DataPolicyWarning` and the distributions' report).

    Parameters
    ----------
    answers : pandas.DataFrame or alignstat.OpinionDistributions
        Columns ``model``, ``question``, ``option`` (numeric position),
        ``prob`` (optionally ``status``).
    data : pandas.DataFrame
        Respondent microdata (one column per question).
    questions : sequence of str, optional
        Default: every question of `answers` that is a column of `data`.
    positions : mapping, alignstat.QuestionBank or object with ``.positions``, optional
        Full scale of each question.  Questions it does not cover take the
        union of the positions observed in `data` and listed in `answers`.

    Returns
    -------
    models : list of str
    questions : list of str
    positions : ndarray, shape (Q, K)
        Full scale of each question, ascending, NaN-padded.
    probs : ndarray, shape (M, Q, K)
        Answer distributions on that scale (zero on options not listed).
    """
    from alignstat import OpinionDistributions

    if isinstance(answers, OpinionDistributions):
        dist = answers
        if "model" not in dist.groups:
            raise ValueError("`answers` distributions must have a 'model' group column.")
    else:
        _require_frame(answers, "answers")
        _require_columns(answers, ["model", "question", "option", "prob"], "answers")
        dist = OpinionDistributions.from_frame(answers, value="prob", groups=["model"], name="answers")
    frame = dist.to_frame()
    qs_all = list(dict.fromkeys(frame["question"].astype(str)))
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
    scale = _scale_of(positions, questions, data, frame)
    for q in questions:
        if len(scale[q]) < 2:
            raise ValueError(f"question {q!r} has fewer than two positions on its scale; pass its full scale in "
                             "`positions`.")
    grid = dist.grid(questions=questions, positions=scale)
    models = [str(m) for m in grid.group_labels["model"]]
    M, Q, K = len(models), len(questions), grid.positions.shape[1]
    probs = np.full((M, Q, K), np.nan)
    have = np.zeros((M, Q), dtype=bool)
    probs[grid.item_group, grid.item_question] = grid.prob
    have[grid.item_group, grid.item_question] = True
    for i, m in enumerate(models):
        lack = [questions[j] for j in np.flatnonzero(~have[i])]
        if lack:
            raise ValueError(f"`answers` has no distribution for model {m!r} on question(s) {lack[:10]}.")
    probs[:, ~np.isfinite(grid.positions)] = np.nan
    return models, questions, np.asarray(grid.positions, dtype=float), probs


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


def alignment_array(data, answers, *, questions=None, metric="likert", positions=None):
    """Per-respondent, per-question alignment ``(M, N, Q)`` and the model/question names.

    Computed by :func:`alignstat.respondent_alignment`.
    """
    if metric not in ("likert", "wasserstein"):
        raise ValueError(f"`metric` must be one of ['likert', 'wasserstein'], got {metric!r}.")
    models, questions, positions, probs = tidy_answers(answers, data, questions=questions, positions=positions)
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
