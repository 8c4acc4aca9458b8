"""Prompt sensitivity (Liu, Kaneko & Chu 2025, section 7.3, Table 2).

For each model, the alignment scores with every country under the default
prompt and under a perturbed prompt (shuffled option order, fewer few-shot
examples, changed few-shot distributions) are correlated across countries:
Pearson's r with its Fisher-z confidence interval and two-sided p-value
(:func:`alignstat.stats.pearson_r`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import align_plain, check_frame, check_one_item, concat_reports, usable

__all__ = ["prompt_sensitivity"]


def prompt_sensitivity(
    answers,
    human=None,
    *,
    default="none",
    conditions=None,
    metric="wasserstein",
    confidence_level=0.95,
    model="model",
    condition="condition",
    country="country",
    policy=None,
):
    """Pearson's r between country scores under the default and each perturbed prompt.

    Parameters
    ----------
    answers : DataFrame
        Either tidy answers (``question, option, prob``, `model`,
        `condition`) to be aligned with `human`, or precomputed scores
        (`model`, `condition`, `country`, ``alignment``; `human` None).
    human : DataFrame, optional
        Tidy human distributions by `country`.
    default : str
        The default condition (e.g. ``"none"``).
    conditions : sequence of str, optional
        Perturbed conditions (default: every other condition, e.g.
        ``sensitivity-order``, ``sensitivity-number``, ``sensitivity-prob``).

    Returns
    -------
    (DataFrame, DataFrame)
        The table ``model, condition, r, ci_low, ci_high, p, n_countries``
        and the pairs ``model, condition, country, default, perturbed``.
    """
    from alignstat.stats import pearson_r

    if human is None:
        check_frame(answers, "answers", [model, condition, country, "alignment"])
        scores = answers.rename(columns={model: "model", condition: "condition", country: "country"})
        report = pd.DataFrame()
    else:
        check_frame(answers, "answers", ["question", "option", "prob", model, condition])
        check_frame(human, "human", ["question", "option", "prob", country])
        ans = usable(answers).rename(columns={model: "model", condition: "condition"})
        check_one_item(ans, ["model", "condition"], "answers")
        ans = ans[["model", "condition", "question", "option", "prob"]]
        hum = human.rename(columns={country: "country"})[["country", "question", "option", "prob"]]
        reports = []
        scores = align_plain(reports, ans, hum, metric=metric, groups_a=["model", "condition"],
                             groups_b=["country"], policy=policy)
        report = concat_reports(reports)
    conds = sorted(set(scores["condition"]))
    if default not in conds:
        raise ValueError(f"the default condition {default!r} is not among the conditions {conds}.")
    if conditions is None:
        conditions = [c for c in conds if c != default]
    else:
        conditions = list(conditions)
        bad = set(conditions) - set(conds)
        if bad:
            raise ValueError(f"conditions {sorted(bad)} are not in `answers` (conditions: {conds}).")
    wide = scores.pivot_table(index=["model", "country"], columns="condition", values="alignment", aggfunc="first")
    rows, pairs = [], []
    for m in sorted(set(scores["model"]), key=str):
        if m not in wide.index.get_level_values(0):
            continue
        w = wide.loc[m]
        if default not in w.columns:
            continue
        for c in conditions:
            if c not in w.columns:
                continue
            x = w[default].to_numpy(dtype=float)
            y = w[c].to_numpy(dtype=float)
            ok = np.isfinite(x) & np.isfinite(y)
            pairs.append(pd.DataFrame({"model": m, "condition": c, "country": w.index[ok],
                                       "default": x[ok], "perturbed": y[ok]}))
            n = int(ok.sum())
            res = pearson_r(x[ok], y[ok])
            ci = res.confidence_interval(confidence_level)
            rows.append((m, c, float(res.statistic), float(ci.low), float(ci.high), float(res.pvalue), n))
    table = pd.DataFrame(rows, columns=["model", "condition", "r", "ci_low", "ci_high", "p", "n_countries"])
    pairs = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(
        columns=["model", "condition", "country", "default", "perturbed"])
    table.attrs["params"] = dict(default=default, conditions=conditions, metric=metric,
                                 confidence_level=confidence_level)
    return table, pairs
