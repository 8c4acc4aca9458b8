"""Global alignment of models with countries (Liu, Kaneko & Chu 2025, RQ1, section 4).

For every model x country: the alignment (mean over shared questions of the
per-question alignment, Eq. 2 for the Wasserstein metric), its standard
deviation over questions and a bootstrap confidence interval obtained by
resampling *questions* (the only source of variation left when both sides are
distributions rather than respondents); the ranking of countries with the top
and bottom k (Fig. 2b); the average-human baseline's alignment with each
country and the over/under/appropriate classification of the model against it
(Fig. 2c); a model-level summary (Fig. 2a); and the country x country and
model x country matrices (Fig. 4, Fig. 19).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import alignstat

from ._common import align_plain, check_frame, check_one_item, usable

__all__ = ["GlobalResult", "global_alignment", "question_bootstrap"]


@dataclass
class GlobalResult:
    """Tables of the global study (every one a tidy DataFrame).

    Attributes
    ----------
    scores : DataFrame
        ``model, country, alignment, sd, n_questions, ci_low, ci_high, se,
        rank, baseline, difference, classification``: one row per model x
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

    def model_matrix(self) -> pd.DataFrame:
        """Model x country alignment as a wide matrix (Fig. 19)."""
        return self.scores.pivot(index="model", columns="country", values="alignment")


def question_bootstrap(per_question, keys, *, n_boot=1000, confidence_level=0.95, rng=None):
    """Bootstrap CI of a mean over questions, resampling questions.

    Parameters
    ----------
    per_question : DataFrame
        Key columns, ``question`` and ``alignment``.
    keys : list of str
        Columns identifying one score (e.g. ``["model", "country"]``).

    Returns
    -------
    DataFrame
        Key columns, ``ci_low``, ``ci_high``, ``se``.
    """
    from alignstat.bootstrap import bootstrap_questions

    wide = per_question.pivot_table(index=keys, columns="question", values="alignment", aggfunc="first")
    res = bootstrap_questions(
        wide.to_numpy(dtype=float), n_resamples=int(n_boot), confidence_level=confidence_level, rng=rng
    )
    out = wide.index.to_frame(index=False)
    out["ci_low"] = np.asarray(res.confidence_interval.low, dtype=float)
    out["ci_high"] = np.asarray(res.confidence_interval.high, dtype=float)
    out["se"] = np.asarray(res.standard_error, dtype=float)
    return out


def global_alignment(
    answers,
    human,
    *,
    metric="wasserstein",
    model="model",
    country="country",
    n_boot=1000,
    confidence_level=0.95,
    top_k=5,
    tolerance=0.02,
    policy=None,
    rng=None,
):
    """Alignment of every model with every country, with the paper-000 RQ1 summaries.

    Parameters
    ----------
    answers : DataFrame
        Tidy model answers (``question``, ``option``, ``prob``, `model`);
        one condition only (filter before calling).
    human : DataFrame
        Tidy human distributions by `country` (``question``, ``option``,
        ``prob``), e.g. from :func:`surveys.distributions`.
    metric : {"wasserstein", "likert", "jsd", "tvd"}
        See :func:`alignstat.align`.
    model, country : str
        Names of the model and country columns.
    n_boot : int
        Question resamples of the bootstrap CIs (0 skips them).
    confidence_level : float
    top_k : int
        Countries shown at each end of the ranking.
    tolerance : float
        Half-width of the "appropriate" band around the baseline (default
        the tau of Eq. 3).
    policy : Policy, optional
        Passed to :func:`alignstat.align`.
    rng : None, int or Generator

    Returns
    -------
    GlobalResult
    """
    check_frame(answers, "answers", ["question", "option", "prob", model])
    check_frame(human, "human", ["question", "option", "prob", country])
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"`top_k` must be a positive integer, got {top_k!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"`n_boot` must be a non-negative integer, got {n_boot!r}.")
    rng = np.random.default_rng(rng)
    ans = usable(answers).rename(columns={model: "model"})
    check_one_item(ans, ["model"], "answers")
    hum = human.rename(columns={country: "country"})
    shared = set(ans["question"].astype(str)) & set(hum["question"].astype(str))
    if not shared:
        raise ValueError("`answers` and `human` share no question.")

    reports = []
    pq = align_plain(reports, ans, hum, metric=metric, level="question", groups_a=["model"], groups_b=["country"],
                         policy=policy)
    pq = pq[["model", "country", "question", "alignment"]]
    scores = align_plain(reports, ans, hum, metric=metric, groups_a=["model"], groups_b=["country"], policy=policy)
    scores = scores[["model", "country", "alignment", "sd", "n_questions"]]
    if n_boot > 0:
        ci = question_bootstrap(pq, ["model", "country"], n_boot=n_boot, confidence_level=confidence_level, rng=rng)
        scores = scores.merge(ci, on=["model", "country"], how="left")
    else:
        scores = scores.assign(ci_low=np.nan, ci_high=np.nan, se=np.nan)
    scores["rank"] = scores.groupby("model")["alignment"].rank(ascending=False, method="min").astype(int)

    # average-human baseline (section 4.3)
    avg = alignstat.average_distribution(hum[["question", "option", "prob", "country"]], over="country")
    avg.attrs = {}
    avg = avg.drop(columns=["n_groups"], errors="ignore").assign(baseline_group="average human")
    base = align_plain(reports, avg, hum, metric=metric, groups_a=["baseline_group"], groups_b=["country"], policy=policy)
    base = base[["country", "alignment"]].rename(columns={"alignment": "baseline"})
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
    for m, sub in scores.groupby("model", sort=True):
        sub = sub.sort_values("rank", kind="stable")
        k = min(top_k, len(sub))
        parts.append(sub.head(k).assign(end="top"))
        parts.append(sub.tail(k).assign(end="bottom"))
    ranking = pd.concat(parts, ignore_index=True)[["model", "end", "rank", "country", "alignment", "sd"]]

    countries = align_plain(reports, hum, hum, metric=metric, groups_a=["country"], groups_b=["country"], policy=policy)
    countries = countries[["country_a", "country_b", "alignment", "sd", "n_questions"]]

    params = dict(metric=metric, n_boot=n_boot, confidence_level=confidence_level, top_k=top_k,
                  tolerance=tolerance, ci="question resampling (percentile)")
    report = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()
    return GlobalResult(scores=scores, models=models, ranking=ranking, countries=countries,
                        per_question=pq, params=params, report=report)
