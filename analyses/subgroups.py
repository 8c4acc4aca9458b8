"""Alignment of models with socio-demographic groups (the ESS subgroup study).

Following "People are not their countries" (ESS round 11): a model's answer to
a question is the majority vote over repeated samples (refusals reported);
the alignment of model *m* with group *G* on question *q* is
``1 - |mean_G(q) - a_m(q)| / (R_q - 1)`` (Likert mean; the group mean is
weighted and omits missing answers) and the group's score is the mean over
questions.  Confidence intervals come from the bootstrap engine
(:func:`alignstat.bootstrap.bootstrap_alignment`): 5000 respondent resamples
as in the paper, or a design-based replicate scheme from :mod:`surveys`
(``scheme=surveys.RaoWuScheme(...)``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import alignstat
from alignstat._warnings import SmallCellWarning

__all__ = ["subgroup_alignment", "answer_summary", "add_intersections", "OVERALL"]

#: Factor and group label of the whole-population row.
OVERALL = "(all)"


def add_intersections(data, intersections, *, sep=" × ", missing_as_group=False, missing_label="(missing)"):
    """Add one column per intersection of factors (e.g. gender × education).

    Parameters
    ----------
    data : DataFrame
    intersections : sequence of sequence of str
        Each entry lists two or more factor columns.
    sep : str
        Separator of the new column's name and of its labels.
    missing_as_group : bool
        Label a missing component `missing_label` instead of leaving the
        intersection missing.

    Returns
    -------
    (DataFrame, list of str)
        The frame with the new columns and their names.
    """
    out = data.copy()
    names = []
    for combo in intersections:
        combo = [combo] if isinstance(combo, str) else list(combo)
        if len(combo) < 2:
            raise ValueError(f"an intersection needs at least two factors, got {combo!r}.")
        for c in combo:
            if c not in data.columns:
                raise ValueError(f"intersection factor {c!r} is not a column of `data`.")
        name = sep.join(combo)
        parts = []
        miss = np.zeros(len(data), dtype=bool)
        for c in combo:
            col = data[c]
            miss |= col.isna().to_numpy()
            parts.append(col.astype(object).where(col.notna(), missing_label).astype(str).to_numpy())
        lab = parts[0].astype(object)
        for p in parts[1:]:
            lab = lab + sep + p
        if not missing_as_group:
            lab = np.where(miss, None, lab)
        out[name] = pd.Series(lab, index=data.index, dtype=object)
        names.append(name)
    return out, names


def answer_summary(answers, *, model="model"):
    """Per-model summary of repeated-sample answers (the ESS paper's Table 1).

    Parameters
    ----------
    answers : DataFrame
        Majority-vote answers with ``n_samples``, ``n_valid``, ``agreement``
        and ``refusal_rate`` per question (as :func:`inference.read_store`
        writes them with ``freetext="majority"``).

    Returns
    -------
    DataFrame
        ``model, n_questions, mean_disagreement`` (mean over questions of the
        share of valid samples that differ from the majority),
        ``refusal_rate`` (share of all samples that refused),
        ``questions_refused_any`` (questions refused at least once),
        ``questions_refused_all`` (no valid sample: no answer),
        ``n_samples`` (total samples).
    """
    need = ["question", model, "n_samples", "n_valid", "agreement", "refusal_rate"]
    missing = [c for c in need if c not in answers.columns]
    if missing:
        raise ValueError(f"`answers` lacks column(s) {missing} needed for the refusal summary.")
    items = answers.drop_duplicates([model, "question"])
    rows = []
    for m, g in items.groupby(model, sort=True):
        ns = g["n_samples"].to_numpy(dtype=float)
        rr = g["refusal_rate"].to_numpy(dtype=float)
        rows.append({
            "model": m,
            "n_questions": len(g),
            "mean_disagreement": float(np.nanmean(1.0 - g["agreement"].to_numpy(dtype=float)))
            if np.isfinite(g["agreement"].to_numpy(dtype=float)).any() else np.nan,
            "refusal_rate": float(np.nansum(rr * ns) / ns.sum()) if ns.sum() else np.nan,
            "questions_refused_any": int(np.sum(rr > 0)),
            "questions_refused_all": int(np.sum(g["n_valid"].to_numpy() == 0)),
            "n_samples": int(ns.sum()),
        })
    return pd.DataFrame(rows)


def subgroup_alignment(
    data,
    answers,
    *,
    factors,
    metric="likert",
    n_boot=5000,
    rng=None,
    weight=None,
    scheme="multinomial",
    resample="respondents",
    confidence_level=0.95,
    method="percentile",
    missing_as_group=False,
    missing_label="(missing)",
    intersections=(),
    min_n=50,
    overall=True,
    questions=None,
    positions=None,
    chunk_size=None,
    precision="double",
):
    """Alignment of every model with every group of every factor, with bootstrap CIs.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondent microdata: one column per question (answers as ordinal
        positions, NaN = no valid answer) and one per factor (e.g. the frame
        of :meth:`surveys.synthetic.SyntheticSurvey.responses`).
    answers : pandas.DataFrame
        Tidy model answers: ``model``, ``question``, ``option``, ``prob``
        (a majority-vote answer is a one-hot distribution).  A question
        without a valid answer (every sample refused; all ``prob`` missing or
        no rows) is left out for that model.
    factors : sequence of str
        Factor columns of `data` (``"country"`` included if wanted).
    metric : {"likert", "wasserstein"}
        ``"likert"``: the paper's ``1 - |mean_G - a_m| / (R - 1)``;
        ``"wasserstein"``: the group's answer shares against the model's
        distribution.
    n_boot : int
        Bootstrap replicates (the paper: 5000).
    rng : None, int or Generator
    weight : str, optional
        Weight column (design/post-stratification weight); default equal.
    scheme : {"multinomial", "poisson"} or ReplicateScheme
        ``"multinomial"``: resample respondents (the paper).  A design-based
        scheme (``surveys.RaoWuScheme``, ``surveys.CantyDavisonScheme``)
        gives design-based intervals.
    resample : {"respondents", "questions", "both"}
    confidence_level : float
    method : {"percentile", "bca"}
    missing_as_group : bool
        Respondents with a missing factor value form a group labelled
        `missing_label` (the paper's appendix A.2); otherwise they are left out
        of that factor (but stay in the others and in the overall row).
    intersections : sequence of sequence of str
        Intersectional groupings, e.g. ``[("gender", "education")]``.
    min_n : int
        Groups with fewer respondents are flagged ``small_cell`` (and a
        :class:`~alignstat.SmallCellWarning` is issued).
    overall : bool
        Add the whole-population row (factor and group ``"(all)"``).
    questions, positions
        Passed to :func:`alignstat.prepare_respondents`.
    chunk_size : int, optional
        Passed to the bootstrap engine.
    precision : {"double", "single"}
        Precision of the replicate group sums (see
        :func:`alignstat.bootstrap.bootstrap_alignment`); point estimates are
        always computed in double precision.

    Returns
    -------
    pandas.DataFrame
        ``model, factor, group, alignment, ci_low, ci_high, se, n, n_eff,
        n_valid, n_questions, small_cell``; ``attrs["params"]`` records the
        options.
    """
    from alignstat.bootstrap import bootstrap_alignment

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    if isinstance(factors, str):
        factors = [factors]
    factors = list(factors)
    if not factors and not overall:
        raise ValueError("`factors` is empty and `overall` is False: nothing to estimate.")
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ValueError(f"`min_n` must be a non-negative integer, got {min_n!r}.")
    for c in ("model", "question", "option", "prob"):
        if c not in answers.columns:
            raise ValueError(f"`answers` lacks the column {c!r}.")
    ans = answers
    if "status" in ans.columns:
        ans = ans.loc[ans["status"].astype(str) != "rejected"]
    ans = ans.loc[ans["prob"].notna(), ["model", "question", "option", "prob"]].reset_index(drop=True)
    frame = data
    all_factors = list(factors)
    if intersections:
        frame, names = add_intersections(frame, intersections, missing_as_group=missing_as_group,
                                         missing_label=missing_label)
        all_factors += names
    if overall:
        frame = frame.assign(**{OVERALL: OVERALL}) if frame is data else frame.assign(**{OVERALL: OVERALL})
        all_factors = [OVERALL] + all_factors
    rd = alignstat.prepare_respondents(
        frame, ans, factors=all_factors, weight=weight, questions=questions, positions=positions,
        missing_as_group=missing_as_group, missing_label=missing_label,
    )
    dist = rd.answers.copy()
    tot = dist.sum(axis=2)
    dist[tot <= 0] = np.nan
    if metric == "likert":
        # the Likert metric only uses the answer's mean position: pass (M, Q) point answers (faster)
        dist = np.einsum("mqk,qk->mq", np.nan_to_num(dist), np.nan_to_num(rd.positions))
        dist[tot <= 0] = np.nan
    res = bootstrap_alignment(
        rd.responses, rd.groups, dist, positions=rd.positions, weights=rd.weights, metric=metric,
        resample=resample, scheme=scheme, n_resamples=n_boot, confidence_level=confidence_level,
        method=method, rng=rng, chunk_size=chunk_size, precision=precision,
        group_names={f: [str(x) for x in lab] for f, lab in zip(all_factors, rd.group_labels)},
        model_names=[str(m) for m in rd.models],
    )
    out = res.to_frame().rename(columns={"grouping": "factor"})
    out = out.drop(columns=["code"])
    out["small_cell"] = out["n"] < min_n
    small = out.loc[out["small_cell"]].drop_duplicates(["factor", "group"])
    if len(small):
        desc = ", ".join(f"{f}={g} (n={n})" for f, g, n in zip(small["factor"], small["group"], small["n"]))
        warnings.warn(f"{len(small)} group(s) have fewer than {min_n} respondents: {desc[:300]}",
                      SmallCellWarning, stacklevel=2)
    cols = ["model", "factor", "group", "alignment", "ci_low", "ci_high", "se", "n", "n_eff", "n_valid",
            "n_questions", "small_cell"]
    out = out[cols].reset_index(drop=True)
    out.attrs["params"] = dict(
        metric=metric, n_boot=int(n_boot), scheme=getattr(scheme, "name", str(scheme)), resample=resample,
        confidence_level=confidence_level, method=method, missing_as_group=missing_as_group, min_n=min_n,
        weight=weight, questions=list(rd.questions), factors=all_factors,
    )
    return out
