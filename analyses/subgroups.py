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
from alignstat._bootstrap_iv import as_rng
from alignstat._warnings import DataPolicyWarning, SmallCellWarning

from ._common import adjust_family, as_scales, check_frame, check_label_types, resolve_design, usable

__all__ = ["subgroup_alignment", "subgroup_comparisons", "answer_summary", "add_intersections", "OVERALL",
           "SUBGROUP_COLUMNS"]

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


def answer_summary(answers, *, model="model", level="model"):
    """Summary of repeated-sample answers: per model (the ESS paper's Table 1) or per question.

    Parameters
    ----------
    answers : DataFrame
        Majority-vote answers as :func:`analyses.majority_vote` returns them
        (``n_samples``, ``n_valid_samples``, ``agreement``,
        ``refusal_share``, ``tie``) or as :func:`inference.read_store` writes
        them (the same columns, without ``tie``).
    model : str
        Model column.
    level : {"model", "question"}
        ``"question"``: one row per model x question with its refusal share.

    Returns
    -------
    DataFrame
        ``level="model"``: ``model, n_questions, mean_disagreement`` (mean
        over questions of the share of valid samples that differ from the
        majority), ``refusal_share`` (share of all samples that refused),
        ``questions_refused_any``, ``questions_refused_all`` (no valid
        sample), ``questions_rejected`` (no answer counted: every sample
        refused, too few valid samples or a dropped tie), ``n_ties``
        (questions whose vote was tied; NaN when unknown), ``n_samples``.
        ``level="question"``: ``model, question, option`` (the answer; NaN
        when none counted), ``n_samples, n_valid_samples, refusal_share,
        agreement, tie, status``.
    """
    a = answers
    need = ["question", model, "n_samples", "n_valid_samples", "agreement", "refusal_share"]
    missing = [c for c in need if c not in a.columns]
    if missing:
        raise ValueError(f"`answers` lacks column(s) {missing} needed for the refusal summary "
                         "(see analyses.majority_vote).")
    if level not in ("model", "question"):
        raise ValueError(f"`level` must be 'model' or 'question', got {level!r}.")
    if "status" not in a.columns:
        a = a.assign(status=np.where(a["n_valid_samples"].to_numpy() > 0, "ok", "rejected"))
    if "tie" not in a.columns:
        a = a.assign(tie=np.nan)
    chosen = a.loc[a["prob"].fillna(0) >= a.groupby([model, "question"])["prob"].transform("max").fillna(0)] \
        if "prob" in a.columns else a
    items = chosen.sort_values([model, "question"]).drop_duplicates([model, "question"])
    if level == "question":
        out = items[[model, "question", "option", "n_samples", "n_valid_samples", "refusal_share", "agreement",
                     "tie", "status"]].rename(columns={model: "model"}).reset_index(drop=True)
        out.loc[out["status"] == "rejected", "option"] = np.nan
        return out
    rows = []
    for m, g in items.groupby(model, sort=True):
        ns = g["n_samples"].to_numpy(dtype=float)
        rr = g["refusal_share"].to_numpy(dtype=float)
        ag = g["agreement"].to_numpy(dtype=float)
        tie = pd.to_numeric(g["tie"], errors="coerce").to_numpy(dtype=float)
        rows.append({
            "model": m,
            "n_questions": len(g),
            "mean_disagreement": float(np.nanmean(1.0 - ag)) if np.isfinite(ag).any() else np.nan,
            "refusal_share": float(np.nansum(rr * ns) / ns.sum()) if ns.sum() else np.nan,
            "questions_refused_any": int(np.sum(rr > 0)),
            "questions_refused_all": int(np.sum(g["n_valid_samples"].to_numpy() == 0)),
            "questions_rejected": int(np.sum(g["status"].astype(str).to_numpy() == "rejected")),
            "n_ties": int(np.nansum(tie)) if np.isfinite(tie).any() else np.nan,
            "n_samples": int(ns.sum()),
        })
    return pd.DataFrame(rows)


_RESAMPLE_UNITS = ("respondents", "samples", "questions")


def parse_resample(resample):
    """Normalise `resample` to a sorted tuple drawn from ``respondents, samples, questions``."""
    if isinstance(resample, str):
        parts = ("respondents", "questions") if resample == "both" else (resample,)
    else:
        parts = tuple(resample)
    bad = [p for p in parts if p not in _RESAMPLE_UNITS]
    if bad or not parts:
        raise ValueError(
            f"`resample` must be one or more of {_RESAMPLE_UNITS} (or 'both'), got {resample!r}."
        )
    return tuple(p for p in _RESAMPLE_UNITS if p in parts)


def interval_label(confidence_level, ci_method, resample, design, scheme_name, n_resamples):
    """Describe the interval in words (the ``interval`` column)."""
    units = []
    for r in resample:
        if r == "respondents":
            units.append(f"design ({scheme_name}; {design.strata or 'one stratum'} x {design.psu})"
                         if design.psu_codes is not None else "respondents")
        elif r == "samples":
            units.append("model samples (re-voted)")
        else:
            units.append("questions")
    w = f"weights={design.weights}" if design.weights else "unweighted"
    return (f"{confidence_level:.0%} {ci_method} bootstrap; resampled: {', '.join(units)}; "
            f"B={n_resamples}; {w}")


def _scheme_for(design, frame, scheme):
    if scheme is not None:
        return scheme
    if design.psu_codes is None:
        return "multinomial"
    from surveys import RaoWuScheme

    lonely = design.lonely_psu if design.lonely_psu in ("fail", "collapse", "certainty") else "collapse"
    return RaoWuScheme(design.strata_codes, design.psu_codes, lonely_psu=lonely)


def _warn_unmatched(frame, ans, questions):
    """Warn (naming them) about answered questions that are no column of the respondent data."""
    if questions is not None:
        return
    cols = {str(c) for c in frame.columns}
    missing = sorted({str(q) for q in ans["question"]} - cols)
    if missing:
        warnings.warn(
            f"{len(missing)} answered question(s) are not columns of `data` and are left out: {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}; check the question ids (or rename the data's columns).",
            DataPolicyWarning, stacklevel=3)


def _observed_scales(frame, ans):
    """``{question: scale}`` for questions whose answers list fewer than two options.

    A point answer that lists only its own option is placed on the scale of
    the values the respondents gave (plus the answer's option), so majority
    votes work without `positions`; pass `positions` (e.g. from a question
    bank) when some scale point is used by nobody.  Missing-value codes must
    be NaN in `data` (as :mod:`surveys` returns them).
    """
    out = {}
    opts = ans.groupby("question")["option"].agg(lambda s: set(pd.to_numeric(s, errors="coerce").dropna()))
    for q, o in opts.items():
        if q in frame.columns and len(o) < 2:
            col = pd.to_numeric(frame[q], errors="coerce")
            out[q] = sorted(o | set(col.dropna().unique().tolist()))
    return out


def subgroup_alignment(
    data,
    answers,
    *,
    factors,
    metric="likert",
    n_resamples=5000,
    rng=None,
    weights="auto",
    strata="auto",
    psu="auto",
    paper_defaults=False,
    scheme=None,
    resample="respondents",
    confidence_level=0.95,
    ci_method="percentile",
    n_null=1000,
    n_splits=20,
    ties="random",
    min_valid_share=0.5,
    missing_as_group=False,
    missing_label="(missing)",
    intersections=(),
    min_n=alignstat.SMALL_CELL_N,
    overall=True,
    questions=None,
    positions=None,
    chunk_size=None,
    precision="double",
):
    r"""Alignment of every model with every group of every factor, with intervals, a null and a ceiling.

    Parameters
    ----------
    data : pandas.DataFrame, surveys.Design or survey object
        Respondent microdata: one column per question (answers as ordinal
        positions, NaN = no valid answer) and one per factor.  A
        ``surveys.Design``, a :class:`surveys.SyntheticSurvey`, or a frame
        whose columns a survey profile knows (ESS ``anweight``, ``stratum``,
        ``psu``) carries its weights and design, which are then the default.
    answers : pandas.DataFrame
        Tidy model answers ``model, question, option, prob`` (a majority
        vote is a one-hot distribution; items marked ``status="rejected"``
        are left out; any other missing ``prob`` is an error naming the
        question and model), **or** the model's individual samples
        ``model, question, sample, option`` (``option`` NaN = refused), which
        are majority-voted here (:func:`analyses.majority_vote` with `ties`
        and `min_valid_share`) and re-voted per replicate when `resample`
        includes ``"samples"``.
    factors : str or sequence of str
        Factor columns of `data` (``"country"`` included if wanted).
    metric : {"likert", "wasserstein"}
        ``"likert"``: the paper's ``1 - |mean_G - a_m| / (R - 1)``;
        ``"wasserstein"``: the group's answer shares against the model's
        distribution.
    n_resamples : int
        Bootstrap replicates (the paper: 5000).
    rng : None, int or Generator
    weights, strata, psu : "auto", str or None
        Design columns.  ``"auto"`` takes them from the design or profile
        `data` carries (none for a plain frame); a column name overrides,
        None switches off.  With PSUs the respondent replicates are Rao--Wu
        design replicates (:class:`surveys.RaoWuScheme`).
    paper_defaults : bool
        Reproduce the ESS paper: unweighted, plain respondent bootstrap,
        whatever design the data carry.
    scheme : ReplicateScheme, optional
        Explicit respondent replicate scheme (overrides the design's).
    resample : str or tuple of str
        Sources of uncertainty in one bootstrap: ``"respondents"`` (the
        design's PSUs when there is a design), ``"samples"`` (the model's
        samples re-drawn and re-voted per replicate; needs sample-level
        `answers` and ``metric="likert"``), ``"questions"``; ``"both"`` is
        ``("respondents", "questions")``.  The ``interval`` column states
        which.
    confidence_level : float
    ci_method : {"percentile", "bca"}
    n_null : int
        Random groups per group size for the random-group null (0: skip).
    n_splits : int
        Random split halves of the distribution-answer ceiling.
    ties, min_valid_share
        Majority-vote rules for sample-level `answers` (see
        :func:`analyses.majority_vote`).
    missing_as_group : bool
        Respondents with a missing factor value form a group labelled
        `missing_label` (the paper's appendix A.2); otherwise they are left out
        of that factor.
    intersections : sequence of sequence of str
        Intersectional groupings, e.g. ``[("gender", "education")]``.
    min_n : int
        Groups with fewer respondents are flagged ``small_cell`` (with a
        :class:`~alignstat.SmallCellWarning`); default
        :data:`alignstat.SMALL_CELL_N`.
    overall : bool
        Add the whole-population row (factor and group ``"(all)"``).
    questions, positions
        Passed to :func:`alignstat.prepare_respondents`; `positions`
        (``{question: full scale}`` or an :class:`alignstat.QuestionBank`,
        e.g. ``surveys.question_bank`` of the labelled file) defaults to the
        scale a survey object carries, else (for point answers listing one
        option) to the values the respondents gave.
    chunk_size, precision
        Passed to the bootstrap engine.

    Returns
    -------
    pandas.DataFrame
        One row per model x group:

        * ``model, factor, group``;
        * ``alignment`` -- the paper's estimate (plug-in);
        * ``alignment_bc`` -- bias-corrected (see Notes);
        * ``ci_low, ci_high, se, interval`` -- the bootstrap interval of
          ``alignment`` and what it resampled;
        * ``null_mean, null_low, null_high, p_null`` -- the random-group
          null for a group of this size and its two-sided p-value;
        * ``ceiling, alignment_rel`` -- the best score possible for this
          group and ``alignment / ceiling``;
        * ``n, n_weighted, n_eff, n_resamples_valid, n_questions,
          small_cell, metric``.

        ``attrs["params"]`` records the options (JSON-serialisable).

    Notes
    -----
    *Small groups look less aligned*: :math:`E|\bar x_G - a| \ge |\mu_G - a|`,
    so the plug-in alignment of a small group is biased down.
    ``alignment_bc`` (Likert) replaces :math:`|\bar x_G - a|` on each
    question by its empirical-Bayes posterior mean under a normal
    random-effects model of the factor's groups, with the linearised
    design-based SE of each group mean (:func:`analyses._null.bias_corrected`);
    random groups then score the population's alignment on average.  For Wasserstein it
    is the bootstrap bias correction :math:`2\hat\theta - \bar\theta^*`
    from the respondent replicates (NaN when respondents are not resampled).

    *Random-group null*: the alignment of random groups of the same size
    drawn from all respondents, members keeping their weights
    (:func:`analyses._null.random_group_null`); ``p_null`` judges a group's
    gap against what chance composition produces.  The overall row has no
    null (NaN).  Groups of the same size share the same null draws, so their
    p-values are dependent through the null sample; raise `n_null` when many
    groups are compared (cost: one pass over the respondents' answers per
    draw, about 30 ms at ESS scale, 50,000 respondents x 47 questions).

    *Ceiling* (:func:`analyses._null.ceiling`): point answers -- the
    nearest scale point to the group; distributions -- split-half
    self-alignment (whole PSUs per half under a design).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analyses import subgroup_alignment
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"q1": rng.integers(1, 6, 200).astype(float),
    ...                      "sex": rng.choice(["F", "M"], 200)})
    >>> answers = pd.DataFrame({"model": "m", "question": "q1", "option": [1.0, 2, 3, 4, 5],
    ...                         "prob": [0.0, 0, 1, 0, 0]})
    >>> res = subgroup_alignment(data, answers, factors="sex", n_resamples=200, n_null=100, rng=0)
    >>> list(res["group"])
    ['(all)', 'F', 'M']
    >>> bool((res["alignment"] <= res["ceiling"] + 1e-12).all())
    True
    """
    from ._null import GroupPack, bias_corrected, ceiling, mean_se, null_summary, random_group_null
    from ._uncertainty import is_sample_level, majority_vote, samples_bootstrap

    design = resolve_design(data, weights=weights, strata=strata, psu=psu, paper_defaults=paper_defaults)
    frame0 = design.frame
    if isinstance(factors, str):
        factors = [factors]
    factors = list(factors)
    if not factors and not overall:
        raise ValueError("`factors` is empty and `overall` is False: nothing to estimate.")
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ValueError(f"`min_n` must be a non-negative integer, got {min_n!r}.")
    if isinstance(n_null, bool) or not isinstance(n_null, (int, np.integer)) or n_null < 0:
        raise ValueError(f"`n_null` must be a non-negative integer, got {n_null!r}.")
    if metric not in ("likert", "wasserstein"):
        raise ValueError(f"`metric` must be 'likert' or 'wasserstein', got {metric!r}.")
    res_units = parse_resample(resample)
    positions = as_scales(positions)
    if positions is None and not isinstance(data, pd.DataFrame):
        positions = getattr(data, "positions", None)
        positions = positions if isinstance(positions, dict) else None
    rng = as_rng(rng)
    rng_boot, rng_null, rng_split = rng.spawn(3)

    check_frame(answers, "answers", ["model", "question", "option"])
    votes = None
    if is_sample_level(answers):
        votes = answers
        ans = majority_vote(answers, ties=ties, min_valid_share=min_valid_share, rng=rng.spawn(1)[0])
        ans = ans.loc[ans["status"] != "rejected"]
    else:
        if "samples" in res_units:
            raise ValueError("resample='samples' needs the model's individual samples in `answers` "
                             "(columns model, question, sample, option); these answers are already voted.")
        check_frame(answers, "answers", ["prob"])
        ans = usable(answers)
    ans = ans[["model", "question", "option", "prob"]].reset_index(drop=True)
    _warn_unmatched(frame0, ans, questions)
    if positions is None:
        positions = _observed_scales(frame0, ans)
    frame = frame0
    all_factors = list(factors)
    if intersections:
        frame, names = add_intersections(frame, intersections, missing_as_group=missing_as_group,
                                         missing_label=missing_label)
        all_factors += names
    if overall:
        frame = frame.assign(**{OVERALL: OVERALL})
        all_factors = [OVERALL] + all_factors
    check_label_types(frame, all_factors, "data")
    rd = alignstat.prepare_respondents(
        frame, ans, factors=all_factors, weight=design.weight_column, questions=questions, positions=positions,
        missing_as_group=missing_as_group, missing_label=missing_label,
    )
    scheme_obj = _scheme_for(design, frame, scheme)
    scheme_name = getattr(scheme_obj, "name", str(scheme_obj))
    group_names = {f: [str(x) for x in lab] for f, lab in zip(all_factors, rd.group_labels)}
    dist = rd.answers.copy()
    tot = dist.sum(axis=2)
    dist[tot <= 0] = np.nan
    if "samples" in res_units:
        if metric != "likert":
            raise ValueError("resample='samples' is implemented for metric='likert' (point answers).")
        out, B_used = samples_bootstrap(
            rd, votes, scheme_obj, res_units, n_resamples=n_resamples, confidence_level=confidence_level,
            rng=rng_boot, ties=ties, min_valid_share=min_valid_share, group_names=group_names,
        )
        if ci_method != "percentile":
            raise ValueError("resample='samples' gives percentile intervals; use ci_method='percentile'.")
        boot_mean = None
    else:
        if metric == "likert":
            dist = np.einsum("mqk,qk->mq", np.nan_to_num(dist), np.nan_to_num(rd.positions))
            dist[tot <= 0] = np.nan
        eng_resample = "both" if res_units == ("respondents", "questions") else res_units[0]
        res = alignstat.bootstrap_alignment(
            responses=rd.responses, groups=rd.groups, answers=dist, positions=rd.positions, weights=rd.weights,
            metric=metric, resample=eng_resample,
            scheme="multinomial" if eng_resample == "questions" else scheme_obj,
            n_resamples=n_resamples, confidence_level=confidence_level, ci_method=ci_method, rng=rng_boot,
            chunk_size=chunk_size, precision=precision, group_names=group_names,
            model_names=[str(m) for m in rd.models],
        )
        B_used = res.n_resamples
        out = res.to_frame().rename(columns={"grouping": "factor"})
        out = out.drop(columns=["code"])
        boot_mean = None
        if "respondents" in res_units:
            with np.errstate(invalid="ignore"):
                bm = np.nanmean(res.bootstrap_distribution, axis=0) if res.bootstrap_distribution.size else None
            if bm is not None:
                boot_mean = (res.estimate - res.interval_scale * (bm - res.estimate)).ravel()
    out["interval"] = interval_label(confidence_level, ci_method, res_units, design, scheme_name, B_used)

    # bias correction, random-group null, ceiling
    pack = GroupPack(rd, rd.weights, design.strata_codes, design.psu_codes)
    members = pack.members()
    null = random_group_null(pack, [len(m[2]) for m in members], metric, int(n_null), rng_null)
    G = len(members)
    extra = {k: np.full((pack.M, G), np.nan) for k in
             ("null_mean", "null_low", "null_high", "p_null", "ceiling", "n_weighted")}
    stats = []
    for j, (f, g, idx) in enumerate(members):
        W, mean, shares = pack.group_stats(idx)
        A = pack.question_alignment(W, mean, shares, metric)  # (M, Q)
        mask = ~np.isnan(A)
        est = np.where(mask.any(1), np.nansum(np.where(mask, A, 0), 1) / np.maximum(mask.sum(1), 1), np.nan)
        if metric == "likert":
            stats.append((f, W, mean, mean_se(pack, idx, mean), A))
        extra["ceiling"][:, j] = ceiling(pack, idx, W, mean, shares, metric, mask, point=pack.is_point,
                                         n_splits=int(n_splits), rng=rng_split)
        extra["n_weighted"][:, j] = pack.w[idx].sum()
        nd = null.get(len(idx))
        for m in range(pack.M):
            if nd is not None:
                vals = null_summary(nd[:, m], est[m], confidence_level)
                for k, v in zip(("null_mean", "null_low", "null_high", "p_null"), vals):
                    extra[k][m, j] = v
    if metric == "likert":
        extra["alignment_bc"] = bias_corrected(pack, stats)
    for k, v in extra.items():
        out[k] = v.ravel()
    if metric == "wasserstein":
        out["alignment_bc"] = boot_mean if boot_mean is not None else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["alignment_rel"] = out["alignment"] / out["ceiling"]
    out["small_cell"] = out["n"] < min_n
    out["metric"] = metric
    small = out.loc[out["small_cell"]].drop_duplicates(["factor", "group"])
    if len(small):
        desc = ", ".join(f"{f}={g} (n={n})" for f, g, n in zip(small["factor"], small["group"], small["n"]))
        warnings.warn(f"{len(small)} group(s) have fewer than {min_n} respondents: {desc[:300]}",
                      SmallCellWarning, stacklevel=2)
    out = out[list(SUBGROUP_COLUMNS)].reset_index(drop=True)
    out.attrs["params"] = dict(
        metric=metric, n_resamples=int(B_used), scheme=scheme_name, resample=list(res_units),
        confidence_level=confidence_level, ci_method=ci_method, missing_as_group=missing_as_group, min_n=int(min_n),
        weights=design.weights, strata=design.strata, psu=design.psu, design=design.describe(),
        paper_defaults=bool(paper_defaults), n_null=int(n_null), n_splits=int(n_splits),
        questions=[str(q) for q in rd.questions], factors=all_factors,
        ties=ties if votes is not None else None, min_valid_share=min_valid_share if votes is not None else None,
    )
    return out


#: Columns of :func:`subgroup_alignment`, in order.
SUBGROUP_COLUMNS = (
    "model", "factor", "group", "alignment", "alignment_bc", "ci_low", "ci_high", "se", "interval",
    "null_mean", "null_low", "null_high", "p_null", "ceiling", "alignment_rel", "n", "n_weighted", "n_eff",
    "n_resamples_valid", "n_questions", "small_cell", "metric",
)


def subgroup_comparisons(
    data,
    answers,
    *,
    factors,
    metric="likert",
    n_resamples=2000,
    rng=None,
    weights="auto",
    strata="auto",
    psu="auto",
    paper_defaults=False,
    scheme=None,
    confidence_level=0.95,
    adjust="holm",
    compare=("rest", "pairs"),
    missing_as_group=False,
    missing_label="(missing)",
    min_n=alignstat.SMALL_CELL_N,
    questions=None,
    positions=None,
):
    r"""Differences in alignment between groups, with bootstrap p-values adjusted for multiple testing.

    Parameters
    ----------
    data, answers, factors, metric, n_resamples, rng, weights, strata, psu, paper_defaults, scheme
        As in :func:`subgroup_alignment` (``answers`` voted or distributions).
    confidence_level : float
    adjust : {"holm", "bh"} or None
        Multiple-testing adjustment within each family (R ``p.adjust``).
    compare : str or sequence of {"rest", "pairs"}
        ``"rest"``: each group against everyone else with a value of the
        factor; ``"pairs"``: every pair of groups within a factor.
    missing_as_group, missing_label, min_n, questions, positions
        As in :func:`subgroup_alignment`.

    Returns
    -------
    pandas.DataFrame
        ``model, factor, comparison`` (``"rest"``/``"pairs"``), ``group_a,
        group_b`` (``"(rest)"`` for the complement), ``difference``
        (a - b), ``ci_low, ci_high, se, interval, pvalue, pvalue_adj,
        adjust, family, n_a, n_b``.  ``family`` is ``"model / factor /
        comparison"``: the tests adjusted together.

    Notes
    -----
    Every group and its complement are domains of the same respondent
    replicates (design replicates under a design), so a difference's
    replicate distribution keeps their dependence; ``pvalue`` is the
    two-sided percentile-bootstrap p-value :math:`\min(1, 2\min(P^*(d\le
    0), P^*(d \ge 0)))` (Efron & Tibshirani 1993, sec. 16.4).  Holm controls
    the family-wise error rate, Benjamini--Hochberg the false discovery rate.
    """
    design = resolve_design(data, weights=weights, strata=strata, psu=psu, paper_defaults=paper_defaults)
    if isinstance(factors, str):
        factors = [factors]
    compare = (compare,) if isinstance(compare, str) else tuple(compare)
    if not compare or any(c not in ("rest", "pairs") for c in compare):
        raise ValueError(f"`compare` must be 'rest', 'pairs' or both, got {compare!r}.")
    if adjust not in ("holm", "bh", None):
        raise ValueError(f"`adjust` must be 'holm', 'bh' or None, got {adjust!r}.")
    check_frame(answers, "answers", ["model", "question", "option", "prob"])
    ans = usable(answers)[["model", "question", "option", "prob"]].reset_index(drop=True)
    frame = design.frame
    positions = as_scales(positions)
    _warn_unmatched(frame, ans, questions)
    if positions is None:
        positions = _observed_scales(frame, ans)
    check_label_types(frame, factors, "data")
    # one indicator grouping per group: code 0 = the group, 1 = the rest of the factor
    cols, spec = {}, []
    for f in factors:
        if f not in frame.columns:
            raise ValueError(f"factor column {f!r} is not in `data`.")
        col = frame[f].astype(object)
        if missing_as_group:
            col = col.where(col.notna(), missing_label)
        levels = sorted(pd.unique(col.dropna()), key=str)
        for j, lev in enumerate(levels):
            name = f"{f}\x1f{j}"
            cols[name] = np.where(col.isna(), None, np.where(col == lev, "a", "b")).astype(object)
            spec.append((f, lev, name))
    ind = frame.assign(**{k: pd.Series(v, index=frame.index) for k, v in cols.items()})
    rd = alignstat.prepare_respondents(ind, ans, factors=[s[2] for s in spec], weight=design.weight_column,
                                       questions=questions, positions=positions)
    scheme_obj = _scheme_for(design, ind, scheme)
    dist = rd.answers.copy()
    tot = dist.sum(axis=2)
    dist[tot <= 0] = np.nan
    if metric == "likert":
        dist = np.einsum("mqk,qk->mq", np.nan_to_num(dist), np.nan_to_num(rd.positions))
        dist[tot <= 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        res = alignstat.bootstrap_alignment(
            responses=rd.responses, groups=rd.groups, answers=dist, positions=rd.positions, weights=rd.weights,
            metric=metric, resample="respondents", scheme=scheme_obj, n_resamples=n_resamples,
            confidence_level=confidence_level, ci_method="percentile", rng=rng,
            model_names=[str(m) for m in rd.models],
            group_names={s[2]: [str(x) for x in lab] for s, lab in zip(spec, rd.group_labels)})
    label = interval_label(confidence_level, "percentile", ("respondents",), design,
                           getattr(scheme_obj, "name", str(scheme_obj)), res.n_resamples)
    n_of = dict(zip(map(tuple, res.group_index.tolist()), res.n.tolist()))
    rows = []
    by_factor = {}
    for fi, (f, lev, name) in enumerate(spec):
        by_factor.setdefault(f, []).append((fi, lev))
    for f, items in by_factor.items():
        tasks = []
        if "rest" in compare:
            tasks += [("rest", (fi, "a"), (fi, "b"), lev, "(rest)") for fi, lev in items]
        if "pairs" in compare:
            for i in range(len(items)):
                for k in range(i + 1, len(items)):
                    tasks.append(("pairs", (items[i][0], "a"), (items[k][0], "a"), items[i][1], items[k][1]))
        for kind, ga, gb, la, lb in tasks:
            ia = (spec[ga[0]][2], ga[1])
            ib = (spec[gb[0]][2], gb[1])
            try:
                cmp = res.compare(ia, ib)
            except (KeyError, ValueError):
                continue
            code_a, code_b = (0 if ga[1] == "a" else 1), (0 if gb[1] == "a" else 1)
            for r in cmp.itertuples(index=False):
                rows.append(dict(model=r.model, factor=f, comparison=kind, group_a=str(la), group_b=str(lb),
                                 difference=r.difference, ci_low=r.ci_low, ci_high=r.ci_high, se=r.se,
                                 pvalue=r.pvalue, n_a=n_of.get((ga[0], code_a), np.nan),
                                 n_b=n_of.get((gb[0], code_b), np.nan)))
    out = pd.DataFrame(rows, columns=["model", "factor", "comparison", "group_a", "group_b", "difference", "ci_low",
                                      "ci_high", "se", "pvalue", "n_a", "n_b"])
    out["interval"] = label
    out["family"] = out["model"].astype(str) + " / " + out["factor"].astype(str) + " / " + out["comparison"]
    out["adjust"] = adjust if adjust else "none"
    out["pvalue_adj"] = out["pvalue"]
    if adjust:
        for _, idx in out.groupby("family").groups.items():
            out.loc[idx, "pvalue_adj"] = adjust_family(out.loc[idx, "pvalue"].to_numpy(dtype=float), adjust)
    out = out[["model", "factor", "comparison", "group_a", "group_b", "difference", "ci_low", "ci_high", "se",
               "interval", "pvalue", "pvalue_adj", "adjust", "family", "n_a", "n_b"]]
    out.attrs["params"] = dict(metric=metric, n_resamples=int(res.n_resamples), adjust=adjust,
                               compare=list(compare), design=design.describe(), min_n=int(min_n))
    return out
