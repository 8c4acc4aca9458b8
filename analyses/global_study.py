"""Global alignment of models with countries (Liu, Kaneko & Chu 2025, RQ1, section 4).

For every model x country: the alignment (mean over shared questions of the
per-question alignment, Eq. 2 for the Wasserstein metric), its standard
deviation over questions and a bootstrap confidence interval.  When `human`
holds distributions the interval resamples *questions* (the paper); when it
holds respondent microdata (a frame, a ``surveys.Design`` or a survey) it
resamples respondents -- the design's PSUs, weighted, when the data carry a
design -- and questions in one bootstrap, and the ``interval`` column says
which; the ranking of countries with the top
and bottom k (Fig. 2b); the average-human baseline's alignment with each
country and the over/under/appropriate classification of the model against it
(Fig. 2c); a model-level summary (Fig. 2a); and the country x country and
model x country matrices (Fig. 4, Fig. 19).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import alignstat
from alignstat._bootstrap_iv import as_rng
from alignstat._warnings import DiagnosticsWarning

from ._common import align_plain, as_scales, check_frame, check_one_item, resolve_design, usable
from ._summary import StudyResultMixin

__all__ = ["GlobalResult", "global_alignment", "question_bootstrap"]


@dataclass(repr=False)
class GlobalResult(StudyResultMixin):
    """Tables of the global study (every one a tidy DataFrame).

    Attributes
    ----------
    scores : DataFrame
        ``model, country, alignment, sd, n_questions, ci_low, ci_high, se,
        interval, rank, baseline, difference, classification``: one row per model x
        country; ``rank`` is 1 for the country the model aligns with best,
        ``baseline`` the average-human distribution's alignment with the
        country, ``difference = alignment - baseline`` and ``classification``
        over/under/appropriate (``|difference| <= tolerance``).
    models : DataFrame
        ``model, mean, sd, median, min, max, n_countries, n_over, n_under,
        n_appropriate``: the model-level summary over countries.
    ranking : DataFrame
        The top and bottom `top_k` countries of each model: ``model, end``
        (``"top"``/``"bottom"``), ``rank``, ``country``, ``alignment``, ``sd``.
    countries : DataFrame
        Country x country alignment (long): ``country_a, country_b,
        alignment, sd, n_questions``.
    per_question : DataFrame
        ``model, country, question, alignment``: the per-question scores.
    params : dict
    report : DataFrame
        Every repair and exclusion made while aligning (see :class:`alignstat.Policy`).
    """

    scores: pd.DataFrame
    models: pd.DataFrame
    ranking: pd.DataFrame
    countries: pd.DataFrame
    per_question: pd.DataFrame
    params: dict = field(default_factory=dict)
    report: pd.DataFrame = field(default_factory=pd.DataFrame)

    _summary_table = "models"

    def model_matrix(self) -> pd.DataFrame:
        """Model x country alignment as a wide matrix (Fig. 19)."""
        return self.scores.pivot(index="model", columns="country", values="alignment")


def question_bootstrap(per_question, keys, *, n_resamples=1000, confidence_level=0.95, rng=None):
    """Bootstrap CI of a mean over questions, resampling questions.

    Parameters
    ----------
    per_question : DataFrame
        Key columns, ``question`` and ``alignment``.
    keys : list of str
        Columns identifying one score (e.g. ``["model", "country"]``).
    n_resamples : int
    confidence_level : float
    rng : None, int or Generator

    Returns
    -------
    DataFrame
        Key columns, ``ci_low``, ``ci_high``, ``se``.  A score over fewer
        than two questions has no question-resampling interval: NaN, with a
        :class:`~alignstat.DiagnosticsWarning` (never a zero-width interval).
    """
    from alignstat.bootstrap import bootstrap_questions

    wide = per_question.pivot_table(index=keys, columns="question", values="alignment", aggfunc="first")
    vals = wide.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)  # the single-question case is reported below, once
        res = bootstrap_questions(vals, n_resamples=int(n_resamples), confidence_level=confidence_level, rng=rng)
    out = wide.index.to_frame(index=False)
    ci = getattr(res, "confidence_interval", None)
    out["ci_low"] = np.asarray(ci.low, dtype=float)
    out["ci_high"] = np.asarray(ci.high, dtype=float)
    out["se"] = np.asarray(res.standard_error, dtype=float)
    nq = np.sum(np.isfinite(vals), axis=1)
    one = nq < 2
    if one.any():
        out.loc[one, ["ci_low", "ci_high", "se"]] = np.nan
        first = out.loc[one].iloc[0]
        where = ", ".join(f"{k}={first[k]!r}" for k in keys)
        warnings.warn(f"{int(one.sum())} score(s) rest on a single question (e.g. {where}): resampling questions "
                      "gives no interval; ci_low/ci_high/se are NaN.", DiagnosticsWarning, stacklevel=3)
    return out


def _is_tidy(human):
    return isinstance(human, pd.DataFrame) and {"option", "prob"} <= set(human.columns)


def _microdata_shares(frame, questions, country, weights):
    """Tidy weighted shares ``country, question, option, prob`` of respondent microdata."""
    w = np.ones(len(frame)) if weights is None else pd.to_numeric(frame[weights], errors="coerce").to_numpy(float)
    parts = []
    for q in questions:
        x = pd.to_numeric(frame[q], errors="coerce")
        ok = x.notna().to_numpy() & frame[country].notna().to_numpy()
        g = pd.DataFrame({"country": frame[country].to_numpy()[ok], "option": x.to_numpy()[ok], "w": w[ok]})
        s = g.groupby(["country", "option"])["w"].sum()
        s = s / s.groupby(level=0).transform("sum")
        parts.append(s.rename("prob").reset_index().assign(question=q))
    return pd.concat(parts, ignore_index=True)[["country", "question", "option", "prob"]]


def _respondent_intervals(ans, design, country, questions, metric, units, n_resamples, confidence_level, rng,
                          positions):
    from .subgroups import _scheme_for, interval_label

    frame = design.frame
    rd = alignstat.prepare_respondents(frame, ans, factors=[country], weight=design.weight_column, questions=questions,
                                       positions=positions)
    dist = rd.answers.copy()
    dist[dist.sum(axis=2) <= 0] = np.nan
    scheme = _scheme_for(design, frame, None)
    eng = "both" if units == ("respondents", "questions") else units[0]
    res = alignstat.bootstrap_alignment(
        responses=rd.responses, groups=rd.groups, answers=dist, positions=rd.positions, weights=rd.weights,
        metric=metric, resample=eng, scheme="multinomial" if eng == "questions" else scheme,
        n_resamples=n_resamples, confidence_level=confidence_level, ci_method="percentile", rng=rng,
        group_names={country: [str(x) for x in rd.group_labels[0]]}, model_names=[str(m) for m in rd.models])
    out = res.to_frame()[["model", "group", "alignment", "ci_low", "ci_high", "se"]]
    out = out.rename(columns={"group": "country", "alignment": "alignment_engine"})
    label = interval_label(confidence_level, "percentile", units, design, getattr(scheme, "name", str(scheme)),
                           res.n_resamples)
    return out, label


def global_alignment(
    answers,
    human,
    *,
    metric="wasserstein",
    model="model",
    country="country",
    n_resamples=1000,
    resample="auto",
    confidence_level=0.95,
    top_k=5,
    tolerance=0.02,
    policy=None,
    rng=None,
    weights="auto",
    strata="auto",
    psu="auto",
    paper_defaults=False,
    questions=None,
    positions=None,
):
    """Alignment of every model with every country, with the paper-000 RQ1 summaries.

    Parameters
    ----------
    answers : DataFrame
        Tidy model answers (``question``, ``option``, ``prob``, `model`);
        one condition only (filter before calling).
    human : DataFrame, surveys.Design or survey object
        Either tidy human distributions by `country` (``question``,
        ``option``, ``prob``), e.g. from :func:`surveys.distributions`, or
        respondent microdata (one column per question holding positions, a
        `country` column), possibly carrying a design (see
        :func:`analyses.subgroup_alignment`); microdata give
        respondent-level intervals.
    metric : {"wasserstein", "likert", "jsd", "tvd"}
        See :func:`alignstat.align` (respondent-level intervals:
        ``"wasserstein"`` or ``"likert"``).
    model, country : str
        Names of the model and country columns.
    n_resamples : int
        Bootstrap replicates of the CIs (0 skips them).
    resample : "auto", str or tuple
        ``"auto"``: ``"questions"`` for distributions (the paper);
        ``("respondents", "questions")`` for microdata (``"questions"``
        with ``paper_defaults=True``).
    confidence_level : float
    top_k : int
        Countries shown at each end of the ranking.
    tolerance : float
        Half-width of the "appropriate" band around the baseline (default
        the tau of Eq. 3).
    policy : Policy, optional
        Passed to :func:`alignstat.align`.
    rng : None, int or Generator
    weights, strata, psu, paper_defaults
        Design of respondent microdata (see :func:`analyses.subgroup_alignment`).
    questions, positions
        For microdata: questions to use and ``{question: full scale}`` (or
        an :class:`alignstat.QuestionBank`).

    Returns
    -------
    GlobalResult
        ``scores["interval"]`` states what the interval resampled.

    Examples
    --------
    >>> import pandas as pd
    >>> from analyses import global_alignment
    >>> ans = pd.DataFrame({"model": "m", "question": ["q1"] * 3 + ["q2"] * 3, "option": [1.0, 2, 3] * 2,
    ...                     "prob": [0.2, 0.3, 0.5, 0.6, 0.3, 0.1]})
    >>> hum = pd.DataFrame({"country": "A", "question": ["q1"] * 3 + ["q2"] * 3, "option": [1.0, 2, 3] * 2,
    ...                     "prob": [0.2, 0.3, 0.5, 0.2, 0.3, 0.5]})
    >>> res = global_alignment(ans, hum, n_resamples=0)
    >>> round(float(res.scores["alignment"].iloc[0]), 4)  # (1 + (1 - 0.8 / 2)) / 2
    0.8
    """
    check_frame(answers, "answers", ["question", "option", "prob", model])
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"`top_k` must be a positive integer, got {top_k!r}.")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)) \
            or not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"`tolerance` must be a finite non-negative number, got {tolerance!r}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ValueError(f"`n_resamples` must be a non-negative integer, got {n_resamples!r}.")
    rng = as_rng(rng)
    ans = usable(answers).rename(columns={model: "model"})
    check_one_item(ans, ["model"], "answers")
    micro = not _is_tidy(human)
    design = None
    if micro:
        design = resolve_design(human, weights=weights, strata=strata, psu=psu, paper_defaults=paper_defaults)
        frame = design.frame
        if country not in frame.columns:
            raise ValueError(f"`human` (respondent data) lacks the country column {country!r}.")
        qs = [str(q) for q in (questions if questions is not None else pd.unique(ans["question"].astype(str)))
              if str(q) in frame.columns]
        if not qs:
            raise ValueError("`answers` and `human` share no question (no answered question is a column of "
                             "the respondent data).")
        hum = _microdata_shares(frame, qs, country, design.weight_column)
        ans = ans.loc[ans["question"].astype(str).isin(qs)]
    else:
        check_frame(human, "human", ["question", "option", "prob", country])
        hum = human.rename(columns={country: "country"})
        check_one_item(hum, ["country"], "human")
    from .subgroups import parse_resample

    if resample == "auto":
        units = ("respondents", "questions") if (micro and not paper_defaults) else ("questions",)
    else:
        units = parse_resample(resample)
    if "samples" in units:
        raise ValueError("the global study takes voted or distribution answers; resample='samples' is for "
                         "analyses.subgroup_alignment with sample-level answers.")
    if "respondents" in units and not micro:
        raise ValueError("resampling respondents needs respondent microdata in `human` (a frame with one column "
                         "per question and a country column, or a surveys.Design), not distributions.")
    shared = set(ans["question"].astype(str)) & set(hum["question"].astype(str))
    if not shared:
        raise ValueError("`answers` and `human` share no question.")

    reports = []
    pq = align_plain(reports, ans, hum, metric=metric, level="question", groups_a=["model"], groups_b=["country"],
                     policy=policy)
    pq = pq[["model", "country", "question", "alignment"]]
    scores = align_plain(reports, ans, hum, metric=metric, groups_a=["model"], groups_b=["country"], policy=policy)
    scores = scores[["model", "country", "alignment", "sd", "n_questions"]]
    if n_resamples > 0 and "respondents" in units:
        if metric not in ("wasserstein", "likert"):
            raise ValueError(f"respondent-level intervals need metric 'wasserstein' or 'likert', got {metric!r}.")
        ci, label = _respondent_intervals(ans[["model", "question", "option", "prob"]], design, country,
                                          sorted(shared), metric, units, n_resamples, confidence_level, rng,
                                          as_scales(positions))
        scores["country"] = scores["country"].astype(str)
        scores = scores.merge(ci, on=["model", "country"], how="left").drop(columns="alignment_engine")
        scores["interval"] = label
    elif n_resamples > 0:
        ci = question_bootstrap(pq, ["model", "country"], n_resamples=n_resamples, confidence_level=confidence_level,
                                rng=rng)
        scores = scores.merge(ci, on=["model", "country"], how="left")
        scores["interval"] = (f"{confidence_level:.0%} percentile bootstrap; resampled: questions; "
                              f"B={n_resamples}")
    else:
        scores = scores.assign(ci_low=np.nan, ci_high=np.nan, se=np.nan, interval="none")
    scores["rank"] = scores.groupby("model")["alignment"].rank(ascending=False, method="min").astype(int)

    # average-human baseline (section 4.3)
    avg = alignstat.average_distribution(hum[["question", "option", "prob", "country"]], over="country")
    avg.attrs = {}
    avg = avg.drop(columns=["n_groups"], errors="ignore").assign(baseline_group="average human")
    base = align_plain(reports, avg, hum, metric=metric, groups_a=["baseline_group"], groups_b=["country"],
                       policy=policy)
    base = base[["country", "alignment"]].rename(columns={"alignment": "baseline"})
    if micro:
        base["country"] = base["country"].astype(str)
        scores["country"] = scores["country"].astype(str)
    scores = scores.merge(base, on="country", how="left")
    scores["difference"] = scores["alignment"] - scores["baseline"]
    scores["classification"] = alignstat.classify_alignment(
        scores["alignment"].to_numpy(), scores["baseline"].to_numpy(), tolerance=tolerance
    )
    scores = scores.sort_values(["model", "rank", "country"], kind="stable").reset_index(drop=True)

    g = scores.groupby("model", sort=True)
    models = pd.DataFrame({
        "mean": g["alignment"].mean(), "sd": g["alignment"].std(ddof=1), "median": g["alignment"].median(),
        "min": g["alignment"].min(), "max": g["alignment"].max(), "n_countries": g["alignment"].size(),
    })
    for cls in ("over", "under", "appropriate"):
        models[f"n_{cls}"] = g["classification"].apply(lambda s, c=cls: int((s == c).sum()))
    models = models.reset_index()

    parts = []
    for _m, sub in scores.groupby("model", sort=True):
        sub = sub.sort_values("rank", kind="stable")
        k = min(top_k, len(sub))
        parts.append(sub.head(k).assign(end="top"))
        parts.append(sub.tail(k).assign(end="bottom"))
    ranking = pd.concat(parts, ignore_index=True)[["model", "end", "rank", "country", "alignment", "sd"]]

    countries = align_plain(reports, hum, hum, metric=metric, groups_a=["country"], groups_b=["country"],
                            policy=policy)
    countries = countries[["country_a", "country_b", "alignment", "sd", "n_questions"]]

    params = dict(metric=metric, n_resamples=int(n_resamples), confidence_level=confidence_level, top_k=top_k,
                  tolerance=tolerance, resample=list(units), interval=str(scores["interval"].iloc[0]) if len(scores)
                  else None, design=design.describe() if design is not None else "distributions (no respondents)")
    report = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()
    return GlobalResult(scores=scores, models=models, ranking=ranking, countries=countries,
                        per_question=pq, params=params, report=report)
