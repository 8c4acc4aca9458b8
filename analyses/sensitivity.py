r"""Prompt sensitivity (Liu, Kaneko & Chu 2025, section 7.3, Table 2), with agreement measures.

For each model, the alignment scores with every country under the default
prompt and under a perturbed prompt (shuffled option order, fewer few-shot
examples, changed few-shot distributions) are compared across countries:

* Pearson's r with its Fisher-z interval and p-value (the paper's measure,
  :func:`alignstat.pearson_r`);
* Lin's concordance correlation coefficient :math:`\rho_c` with its
  Fisher-z interval (Lin 1989), which is 1 only when the two sets of scores
  are *equal*, not merely linearly related;
* the mean absolute change :math:`\overline{|\Delta|}` of a country's score,
  with a percentile bootstrap interval over countries;
* the alignment between the model's *own answers* under the two prompts
  (``self_alignment``: the study's metric between the two answer
  distributions, averaged over questions), when answers rather than scores
  are given.

Why r alone misleads: scores across countries are dominated by how far each
country's opinions are from *any* typical answer (a polarised country scores
low against every model), so two answer sets that disagree on many questions
still rank the countries alike; r measures that shared ranking, not whether
the model answered the same.  In a simulation of 66 countries two unrelated
answer sets correlated at r = 0.98 while agreeing with each other at 0.89.
The agreement measures above see the instability that r hides.

References
----------
Lin, L. I.-K. (1989). A concordance correlation coefficient to evaluate
reproducibility. *Biometrics* 45, 255-268 (and the 2000 correction, 56, 324-325).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from alignstat._bootstrap_iv import as_rng, confidence, positive_int

from ._common import align_plain, check_frame, check_one_item, concat_reports, usable

__all__ = ["prompt_sensitivity", "concordance"]


def concordance(x, y, *, confidence_level=0.95):
    r"""Lin's concordance correlation coefficient with its Fisher-z confidence interval.

    Parameters
    ----------
    x, y : array_like
        Paired scores (finite).
    confidence_level : float

    Returns
    -------
    (float, float, float)
        :math:`\hat\rho_c`, lower and upper limit.

    Notes
    -----
    With moments divided by :math:`n`,

    .. math::

        \hat\rho_c = \frac{2 s_{xy}}{s_x^2 + s_y^2 + (\bar x - \bar y)^2},

    and the interval is :math:`\tanh(z \pm z_{1-\alpha/2}\,\hat\sigma_z)`,
    :math:`z = \operatorname{artanh}\hat\rho_c`, with Lin's (1989) asymptotic
    variance

    .. math::

        \hat\sigma_z^2 = \frac{1}{n-2}\left[\frac{(1-r^2)\rho_c^2}{(1-\rho_c^2) r^2}
        + \frac{2\rho_c^3(1-\rho_c)u^2}{r(1-\rho_c^2)^2}
        - \frac{\rho_c^4 u^4}{2 r^2 (1-\rho_c^2)^2}\right],
        \quad u = \frac{\bar x - \bar y}{\sqrt{s_x s_y}},

    r the Pearson correlation.

    Examples
    --------
    >>> round(concordance([1.0, 2, 3, 4], [1.0, 2, 3, 4])[0], 12)
    1.0
    >>> round(concordance([1.0, 2, 3, 4], [2.0, 3, 4, 5])[0], 4)  # r = 1 but shifted by 1
    0.7143
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n != len(y) or n < 3:
        return np.nan, np.nan, np.nan
    mx, my = x.mean(), y.mean()
    sx2, sy2 = x.var(), y.var()
    sxy = np.mean((x - mx) * (y - my))
    den = sx2 + sy2 + (mx - my) ** 2
    if den <= 0:
        return np.nan, np.nan, np.nan
    rc = 2 * sxy / den
    if sx2 <= 0 or sy2 <= 0 or abs(rc) >= 1 or n < 4:
        return float(rc), np.nan, np.nan
    r = sxy / np.sqrt(sx2 * sy2)
    u = (mx - my) / np.sqrt(np.sqrt(sx2 * sy2))
    var = ((1 - r * r) * rc * rc / ((1 - rc * rc) * r * r)
           + 2 * rc ** 3 * (1 - rc) * u * u / (r * (1 - rc * rc) ** 2)
           - rc ** 4 * u ** 4 / (2 * r * r * (1 - rc * rc) ** 2)) / (n - 2)
    if not np.isfinite(var) or var <= 0:
        return float(rc), np.nan, np.nan
    z = np.arctanh(rc)
    q = stats.norm.ppf(0.5 + confidence_level / 2)
    return float(rc), float(np.tanh(z - q * np.sqrt(var))), float(np.tanh(z + q * np.sqrt(var)))


def _mean_abs_diff(d, rng, n_resamples, confidence_level):
    a = np.abs(d)
    if len(a) < 2 or n_resamples <= 0:
        return float(a.mean()) if len(a) else np.nan, np.nan, np.nan
    idx = rng.integers(0, len(a), size=(n_resamples, len(a)))
    boot = a[idx].mean(1)
    alpha = 1 - confidence_level
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(a.mean()), float(lo), float(hi)


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
    n_resamples=2000,
    rng=None,
):
    """Agreement between country scores (and answers) under the default and each perturbed prompt.

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
    metric : str
        See :func:`alignstat.align`.
    confidence_level : float
    model, condition, country : str
        Column names.
    policy : Policy, optional
    n_resamples : int
        Country resamples of the interval of the mean absolute change.
    rng : None, int or Generator

    Returns
    -------
    (DataFrame, DataFrame)
        The table ``model, condition, r, ci_low, ci_high, pvalue`` (Pearson,
        Fisher-z interval, two-sided), ``ccc, ccc_low, ccc_high`` (Lin's
        concordance and its interval), ``mean_abs_diff, mad_low, mad_high``
        (mean over countries of ``|perturbed - default|`` and its percentile
        bootstrap interval over countries), ``self_alignment`` and
        ``n_questions`` (the model's answers under the two prompts aligned
        with each other; NaN for precomputed scores), ``n_countries``; and
        the pairs ``model, condition, country, default, perturbed``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"model": "m", "condition": ["none"] * 4 + ["order"] * 4, "country": list("ABCD") * 2,
    ...                   "alignment": [0.70, 0.75, 0.80, 0.85, 0.72, 0.77, 0.82, 0.87]})
    >>> table, _ = prompt_sensitivity(s, default="none", n_resamples=0)
    >>> round(float(table["r"].iloc[0]), 6), round(float(table["mean_abs_diff"].iloc[0]), 6)
    (1.0, 0.02)
    """
    from alignstat.stats import pearson_r

    n_resamples = positive_int("n_resamples", n_resamples, minimum=0)
    confidence_level = confidence(confidence_level)
    rng = as_rng(rng)
    self_al = {}
    if human is None:
        check_frame(answers, "answers", [model, condition, country, "alignment"])
        scores = answers.rename(columns={model: "model", condition: "condition", country: "country"})
        report = pd.DataFrame()
        ans = None
    else:
        check_frame(answers, "answers", ["question", "option", "prob", model, condition])
        check_frame(human, "human", ["question", "option", "prob", country])
        ans = usable(answers).rename(columns={model: "model", condition: "condition"})
        check_one_item(ans, ["model", "condition"], "answers")
        ans = ans[["model", "condition", "question", "option", "prob"]]
        check_one_item(human.rename(columns={country: "country"}), ["country"], "human")
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
    if not conditions:
        raise ValueError(f"`answers` holds only the default condition {default!r}; prompt sensitivity needs at "
                         f"least one other condition to compare with it (column {condition!r}).")
    if ans is not None:
        d_ans = ans.loc[ans["condition"] == default].drop(columns="condition")
        for c in conditions:
            p_ans = ans.loc[ans["condition"] == c].drop(columns="condition").rename(columns={"model": "model_p"})
            sa = align_plain([], d_ans, p_ans, metric=metric, groups_a=["model"], groups_b=["model_p"], policy=policy)
            sa = sa.loc[sa["model"] == sa["model_p"]]
            for r in sa.itertuples(index=False):
                self_al[(r.model, c)] = (float(r.alignment), int(r.n_questions))
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
            lo, hi = float(ci.low), float(ci.high)
            ccc = concordance(x[ok], y[ok], confidence_level=confidence_level)
            mad = _mean_abs_diff(y[ok] - x[ok], rng, int(n_resamples), confidence_level)
            sa, nq = self_al.get((m, c), (np.nan, 0))
            rows.append((m, c, float(res.statistic), lo, hi, float(res.pvalue), *ccc, *mad, sa, nq, n))
    table = pd.DataFrame(rows, columns=["model", "condition", "r", "ci_low", "ci_high", "pvalue", "ccc", "ccc_low",
                                        "ccc_high", "mean_abs_diff", "mad_low", "mad_high", "self_alignment",
                                        "n_questions", "n_countries"])
    pairs = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(
        columns=["model", "condition", "country", "default", "perturbed"])
    table.attrs["params"] = dict(default=default, conditions=conditions, metric=metric,
                                 confidence_level=confidence_level, n_resamples=int(n_resamples))
    table.attrs["repairs"] = report.to_dict("records") if len(report) else []
    return table, pairs
