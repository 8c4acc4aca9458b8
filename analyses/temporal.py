"""Alignment across survey waves (Liu, Kaneko & Chu 2025, RQ3, Eq. 3, Fig. 3).

Countries are first filtered with Eq. 3: on the filter wave (by default the
latest), keep the countries ``c`` with ``|A_M(c) - A_avg(c)| < tau``, where
``A_M(c)`` is the model's alignment with country ``c`` and ``A_avg(c)`` the
alignment of the average-human distribution (the unweighted mean over that
wave's countries) with it.  Then, for every wave, the model's alignment with
each kept country's distribution in that wave is averaged over the kept
countries (mean and sd: the line and band of Fig. 3).  The same summary over
all countries is reported alongside, so a filter that keeps few countries
can be judged.

By default every wave is compared on the same questions (those asked in every
compared wave: the paper used the 75 questions shared by waves 5-7) and the
same countries (those surveyed in every wave), so a change between waves is
not a change of what is averaged; ``fixed_sets=False`` restores the old
behaviour (each wave on its own questions and countries; its line then joins
different sets and ``by_wave["sets"]`` says so).  Each wave's mean has a
percentile bootstrap interval over the questions of the set.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import alignstat
from alignstat._bootstrap_iv import as_rng, confidence, positive_int
from alignstat._warnings import DiagnosticsWarning, SmallCellWarning

from ._common import align_plain, check_frame, check_one_item, concat_reports, usable
from ._summary import StudyResultMixin

__all__ = ["temporal_alignment", "TemporalResult"]

from dataclasses import dataclass, field


@dataclass(repr=False)
class TemporalResult(StudyResultMixin):
    """Tables of the temporal study.

    Attributes
    ----------
    filter : DataFrame
        ``model, country, model_score, baseline_score, difference, kept`` on the filter wave.
    per_country : DataFrame
        ``model, wave, country, alignment, n_questions, kept``.
    by_wave : DataFrame
        ``model, countries`` (``"tau-filtered"`` or ``"all"``), ``wave, mean, sd, n_countries,
        n_questions, ci_low, ci_high, se, interval, sets`` (``"fixed"``: the same questions and
        countries in every wave, so the waves may be joined as one line; ``"per wave"``: they
        differ), ``questions`` and ``country_set`` (the questions and countries averaged over).
    params : dict
    report : DataFrame
    """

    filter: pd.DataFrame
    per_country: pd.DataFrame
    by_wave: pd.DataFrame
    params: dict = field(default_factory=dict)
    report: pd.DataFrame = field(default_factory=pd.DataFrame)

    _summary_table = "by_wave"


def temporal_alignment(
    answers,
    human,
    *,
    tau=0.02,
    metric="wasserstein",
    wave="wave",
    country="country",
    model="model",
    filter_wave=None,
    min_countries=5,
    policy=None,
    fixed_sets=True,
    n_resamples=1000,
    confidence_level=0.95,
    rng=None,
):
    """Alignment of each model with each wave's opinions, for the countries kept by Eq. 3.

    Parameters
    ----------
    answers : DataFrame
        Tidy model answers with a `model` column.
    human : DataFrame
        Tidy human distributions by `country` and `wave` (e.g.
        :func:`surveys.distributions` of WVS time-series microdata with
        ``by=["country", "wave"]``).
    tau : float or "auto"
        Margin of Eq. 3 (paper: 0.02).  ``"auto"`` follows the paper's
        rationale for its choice ("to ensure that we can filter out at least
        five countries"): the smallest multiple of 0.005 that keeps at least
        `min_countries` countries for every model (recorded in ``params``).
    min_countries : int
        Used by ``tau="auto"``.
    metric : str
        See :func:`alignstat.align`.
    filter_wave : optional
        Wave on which the filter is computed (default: the latest).
    fixed_sets : bool
        Compare every wave on the questions asked in every wave and the
        countries surveyed in every wave (default); ``False``: the old
        behaviour, each wave on what it has.
    n_resamples : int
        Question resamples of each wave's interval (0 skips them).
    confidence_level : float
    rng : None, int or Generator

    Returns
    -------
    TemporalResult
    """
    check_frame(answers, "answers", ["question", "option", "prob", model])
    check_frame(human, "human", ["question", "option", "prob", country, wave])
    n_resamples = positive_int("n_resamples", n_resamples, minimum=0)
    min_countries = positive_int("min_countries", min_countries, minimum=1)
    confidence_level = confidence(confidence_level)
    if isinstance(tau, str):
        if tau != "auto":
            raise ValueError(f"`tau` must be a positive number or 'auto', got {tau!r}.")
    elif not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"`tau` must be a positive number, got {tau!r}.")
    ans = usable(answers).rename(columns={model: "model"})
    check_one_item(ans, ["model"], "answers")
    ans = ans[["model", "question", "option", "prob"]]
    check_one_item(human.rename(columns={country: "country", wave: "wave"}), ["country", "wave"], "human")
    hum = human.rename(columns={country: "country", wave: "wave"})[["country", "wave", "question", "option", "prob"]]
    waves = sorted(pd.unique(hum["wave"]))
    answered = set(ans["question"].astype(str))
    hum["question"] = hum["question"].astype(str)
    q_by_wave = {w: set(hum.loc[hum["wave"] == w, "question"]) & answered for w in waves}
    c_by_wave = {w: set(hum.loc[hum["wave"] == w, "country"]) for w in waves}
    fixed_q = sorted(set.intersection(*q_by_wave.values())) if waves else []
    fixed_c = sorted(set.intersection(*c_by_wave.values()), key=str) if waves else []
    if fixed_sets:
        if not fixed_q:
            raise ValueError(f"no answered question is asked in every wave {waves}; pass `fixed_sets=False` to "
                             "compare waves on different questions.")
        if not fixed_c:
            raise ValueError(f"no country is surveyed in every wave {waves}; pass `fixed_sets=False`.")
        hum = hum.loc[hum["question"].isin(fixed_q) & hum["country"].isin(fixed_c)]
        ans = ans.loc[ans["question"].astype(str).isin(fixed_q)]
    rng = as_rng(rng)
    if filter_wave is None:
        filter_wave = waves[-1]
    if filter_wave not in set(waves):
        raise ValueError(f"`filter_wave` {filter_wave!r} is not a wave of `human` (waves: {waves}).")
    reports = []
    last = hum.loc[hum["wave"] == filter_wave].drop(columns="wave")
    ms = align_plain(reports, ans, last, metric=metric, groups_a=["model"], groups_b=["country"], policy=policy)
    avg = alignstat.average_distribution(last, over="country")
    avg.attrs = {}
    avg = avg.drop(columns=["n_groups"], errors="ignore").assign(baseline_group="average human")
    bs = align_plain(reports, avg, last, metric=metric, groups_a=["baseline_group"], groups_b=["country"],
                     policy=policy)
    filt = ms[["model", "country", "alignment"]].rename(columns={"alignment": "model_score"}).merge(
        bs[["country", "alignment"]].rename(columns={"alignment": "baseline_score"}), on="country", how="left")
    filt["difference"] = filt["model_score"] - filt["baseline_score"]
    tau_mode = "fixed"
    if isinstance(tau, str):
        tau_mode = f"auto (>= {min_countries} countries per model)"
        need = []
        for _, g in filt.groupby("model"):
            d = np.sort(np.abs(g["difference"].to_numpy()))
            need.append(d[min(min_countries, len(d)) - 1])
        tau = float(np.floor(max(need) / 0.005 + 1) * 0.005)
    filt["kept"] = alignstat.tau_filter(filt["model_score"].to_numpy(), filt["baseline_score"].to_numpy(), tau=tau)
    for m, g in filt.groupby("model"):
        if not g["kept"].any():
            warnings.warn(f"model {m!r}: no country passes the tau filter (tau={tau}); its filtered line is empty.",
                          SmallCellWarning, stacklevel=2)

    pc = align_plain(reports, ans, hum, metric=metric, groups_a=["model"], groups_b=["country", "wave"],
                     policy=policy)
    pc = pc[["model", "wave", "country", "alignment", "n_questions"]]
    kept = filt.loc[filt["kept"], ["model", "country"]].assign(kept=True)
    pc = pc.merge(kept, on=["model", "country"], how="left")
    pc["kept"] = pc["kept"].fillna(False).astype(bool)
    pc = pc.sort_values(["model", "wave", "country"], kind="stable").reset_index(drop=True)

    pq = align_plain(reports, ans, hum, metric=metric, level="question", groups_a=["model"],
                     groups_b=["country", "wave"], policy=policy)[["model", "wave", "country", "question", "alignment"]]
    pq = pq.merge(kept, on=["model", "country"], how="left")
    pq["kept"] = pq["kept"].fillna(False).astype(bool)

    def summarise(frame, qframe, label):
        g = frame.groupby(["model", "wave"], sort=True)["alignment"]
        s = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n_countries": g.size()}).reset_index()
        qs = qframe.groupby(["model", "wave"])["question"].agg(lambda x: ", ".join(sorted(set(map(str, x)))))
        nq = qframe.groupby(["model", "wave"])["question"].nunique()
        cs = frame.groupby(["model", "wave"])["country"].agg(lambda x: ", ".join(sorted(set(map(str, x)))))
        s["questions"] = [qs.get((m, w), "") for m, w in zip(s["model"], s["wave"])]
        s["n_questions"] = [int(nq.get((m, w), 0)) for m, w in zip(s["model"], s["wave"])]
        s["country_set"] = [cs.get((m, w), "") for m, w in zip(s["model"], s["wave"])]
        # interval: questions resampled; the wave's per-question alignment averaged over its countries
        lo, hi, se = [], [], []
        for m, w in zip(s["model"], s["wave"]):
            sub = qframe.loc[(qframe["model"] == m) & (qframe["wave"] == w)]
            v = sub.groupby("question")["alignment"].mean().to_numpy()
            if n_resamples > 0 and len(v) >= 2:
                from alignstat.bootstrap import bootstrap_questions

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DiagnosticsWarning)
                    r = bootstrap_questions(v[None, :], n_resamples=int(n_resamples),
                                            confidence_level=confidence_level, rng=rng)
                lo.append(float(np.asarray(r.confidence_interval.low).ravel()[0]))
                hi.append(float(np.asarray(r.confidence_interval.high).ravel()[0]))
                se.append(float(np.asarray(r.standard_error).ravel()[0]))
            else:
                lo.append(np.nan), hi.append(np.nan), se.append(np.nan)
        s["ci_low"], s["ci_high"], s["se"] = lo, hi, se
        sets = "fixed"
        for _m, gm in s.groupby("model"):
            if gm["questions"].nunique() > 1 or gm["country_set"].nunique() > 1:
                sets = "per wave"
        s["sets"] = sets
        return s.assign(countries=label)

    by_wave = pd.concat([summarise(pc.loc[pc["kept"]], pq.loc[pq["kept"]], "tau-filtered"),
                         summarise(pc, pq, "all")], ignore_index=True)
    by_wave["interval"] = (f"{confidence_level:.0%} percentile bootstrap; resampled: questions; B={n_resamples}"
                           if n_resamples > 0 else "none")
    if (by_wave["n_questions"] < 2).any() and n_resamples > 0:
        warnings.warn("a wave's mean rests on fewer than two questions: its interval is NaN.", DiagnosticsWarning,
                      stacklevel=2)
    by_wave = by_wave[["model", "countries", "wave", "mean", "sd", "n_countries", "n_questions", "ci_low", "ci_high",
                       "se", "interval", "sets", "questions", "country_set"]]
    params = dict(tau=tau, tau_mode=tau_mode, metric=metric, filter_wave=filter_wave, waves=waves,
                  fixed_sets=bool(fixed_sets), questions=fixed_q if fixed_sets else None,
                  countries=[str(c) for c in fixed_c] if fixed_sets else None, n_resamples=int(n_resamples))
    return TemporalResult(filter=filt.sort_values(["model", "country"]).reset_index(drop=True),
                          per_country=pc, by_wave=by_wave, params=params, report=concat_reports(reports))
