"""Steering towards a country (Liu, Kaneko & Chu 2025, RQ2, Tables 1 and 9).

For every model x target country x steering method the study reports the
alignment of the steered answers with the target country's distribution and a
test against no steering.

The test, exactly: for one model and one target country, the per-question
alignment (Eq. 2) of the steered answers and of the unsteered (``"none"``)
answers with the country's distribution are *paired by question* over the
questions both answered; the paired t-test (``test="t"``, two-sided,
:func:`alignstat.stats.paired_ttest`, as :func:`scipy.stats.ttest_rel`) or the
Wilcoxon signed-rank test (``test="wilcoxon"``,
:func:`alignstat.stats.wilcoxon_signed_rank`) is applied to these pairs.  The ``AVG`` row of a
method first averages each question's alignment over the models that answered
it under both conditions, then applies the same paired test across questions.
Stars follow the paper: ``*`` p < .05, ``**`` p < .01, ``***`` p < .001, on
the adjusted p-value when a multiple-testing correction is requested (Holm or
Benjamini--Hochberg over every test in the table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignstat.stats import paired_ttest, significance_stars, wilcoxon_signed_rank

from ._common import adjust_family, align_plain, check_frame, check_one_item, concat_reports, usable

__all__ = ["steering_alignment", "steering_table", "METHOD_ORDER"]

#: Row order of Tables 1 and 9.
METHOD_ORDER = ("none", "language", "persona", "language-persona", "few-shot", "language-few-shot")
AVERAGE = "AVG"


def _paired(x, y, test):
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 2:
        return np.nan, np.nan, n
    if test == "t":
        r = paired_ttest(x[ok], y[ok])
    else:
        r = wilcoxon_signed_rank(x[ok], y[ok])
    return float(r.statistic), float(r.pvalue), n


def steering_alignment(
    answers,
    human,
    *,
    metric="wasserstein",
    baseline="none",
    test="t",
    adjust="holm",
    model="model",
    condition="condition",
    country="country",
    policy=None,
):
    """Alignment per country x model x steering method, with paired tests against no steering.

    Parameters
    ----------
    answers : DataFrame
        Tidy answers with `model`, `condition` (steering method) and `country`
        (the target country of a steered run; missing or ``"none"`` for
        unsteered runs, which are compared with every target country) -- the frame of
        :func:`inference.read_results` on the seed's RQ1 and RQ2 folders.
    human : DataFrame
        Tidy human distributions by `country`.
    metric : str
        See :func:`alignstat.align`.
    baseline : str
        The condition tested against (default ``"none"``).
    test : {"t", "wilcoxon"}
        Paired test across questions (see the module notes).
    adjust : {"holm", "bh", None}
        Multiple-testing adjustment over all tests of the table (one family,
        named in the ``family`` column); ``None`` gives the unadjusted stars
        of the paper's Tables 1 and 9.

    Returns
    -------
    DataFrame
        ``country, method, model, alignment, sd, n_questions, difference``
        (minus the baseline's alignment over the same paired questions),
        ``statistic, pvalue, pvalue_adj, adjust, family, stars`` (from
        ``pvalue_adj``), ``n_pairs, test``; one ``AVG`` model
        row per country and method.  Rows are ordered as in Tables 1 and 9.
        ``attrs["repairs"]`` lists the repairs made while aligning.
    """
    check_frame(answers, "answers", ["question", "option", "prob", model, condition])
    check_frame(human, "human", ["question", "option", "prob", country])
    if test not in ("t", "wilcoxon"):
        raise ValueError(f"`test` must be 't' or 'wilcoxon', got {test!r}.")
    if adjust not in (None, "holm", "bh"):
        raise ValueError(f"`adjust` must be None, 'holm' or 'bh', got {adjust!r}.")
    ans = usable(answers).rename(columns={model: "model", condition: "method"})
    if country in ans.columns:
        ans = ans.rename(columns={country: "target"})
        # the inference layer writes "none" for "no target country"
        tgt = ans["target"].astype(object)
        ans = ans.assign(target=tgt.where(~tgt.isin(["none", ""]), np.nan))
    else:
        ans = ans.assign(target=np.nan)
    check_one_item(human.rename(columns={country: "country"}), ["country"], "human")
    hum = human.rename(columns={country: "country"})[["question", "option", "prob", "country"]]
    if baseline not in set(ans["method"]):
        raise ValueError(f"`answers` has no row of the baseline condition {baseline!r} "
                         f"(conditions: {sorted(set(ans['method']))}).")
    steered = ans.loc[ans["method"] != baseline]
    targets = sorted(set(steered["target"].dropna().astype(str)))
    if steered["target"].isna().any():
        raise ValueError(f"`answers`: steered rows (condition != {baseline!r}) need a target in column {country!r}.")
    if not targets:
        targets = sorted(set(hum["country"].astype(str)))
    missing = set(targets) - set(hum["country"].astype(str))
    if missing:
        raise ValueError(f"target countries {sorted(missing)} have no distribution in `human`.")
    base = ans.loc[ans["method"] == baseline]
    base_known = base.loc[base["target"].notna()]
    base_any = base.loc[base["target"].isna()]
    parts = [steered, base_known]
    if len(base_any):
        parts += [base_any.assign(target=t) for t in targets]
    full = pd.concat(parts, ignore_index=True)[["model", "method", "target", "question", "option", "prob"]]
    full["target"] = full["target"].astype(str)
    full = full.loc[full["target"].isin(targets)]
    reports = []
    hum_t = hum.loc[hum["country"].isin(targets)]
    pq = align_plain(reports, full, hum_t, metric=metric, level="question",
                     groups_a=["model", "method", "target"], groups_b=["country"], policy=policy)
    pq = pq.loc[pq["target"] == pq["country"], ["model", "method", "country", "question", "alignment"]]
    # AVG over models, per question
    avg = pq.groupby(["method", "country", "question"], as_index=False)["alignment"].mean().assign(model=AVERAGE)
    # for AVG use only questions answered by the models under both conditions: handled by pairing below
    allq = pd.concat([pq, avg[pq.columns]], ignore_index=True)

    rows = []
    for (m, c), g in allq.groupby(["model", "country"], sort=False):
        w = g.pivot_table(index="question", columns="method", values="alignment", aggfunc="first")
        for meth in w.columns:
            x = w[meth].to_numpy(dtype=float)
            rec = {"country": c, "method": meth, "model": m, "alignment": np.nanmean(x),
                   "sd": np.nanstd(x, ddof=1) if np.isfinite(x).sum() > 1 else np.nan,
                   "n_questions": int(np.isfinite(x).sum())}
            if meth == baseline or baseline not in w.columns:
                rec.update(difference=np.nan, statistic=np.nan, pvalue=np.nan, n_pairs=0)
            else:
                y = w[baseline].to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(y)
                stat, p, n = _paired(x, y, test)
                rec.update(difference=float(np.mean(x[ok] - y[ok])) if ok.any() else np.nan,
                           statistic=stat, pvalue=p, n_pairs=n)
            rows.append(rec)
    out = pd.DataFrame(rows)
    out["test"] = {"t": "paired t-test across questions", "wilcoxon": "Wilcoxon signed-rank across questions"}[test]
    out["pvalue_adj"] = adjust_family(out["pvalue"].to_numpy(), adjust)
    out["adjust"] = adjust if adjust else "none"
    out["family"] = f"all {int(np.isfinite(out['pvalue'].to_numpy(dtype=float)).sum())} tests against {baseline!r}"
    out["stars"] = significance_stars(out["pvalue_adj"].to_numpy())
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    models = sorted(set(out["model"]) - {AVERAGE}, key=str) + [AVERAGE]
    out["_m"] = out["method"].map(lambda v: order.get(v, len(order)))
    out["_k"] = out["model"].map({m: i for i, m in enumerate(models)})
    out = out.sort_values(["country", "_m", "method", "_k"], kind="stable").drop(columns=["_m", "_k"])
    cols = ["country", "method", "model", "alignment", "sd", "n_questions", "difference", "statistic", "pvalue",
            "pvalue_adj", "adjust", "family", "stars", "n_pairs", "test"]
    out = out[cols].reset_index(drop=True)
    out.attrs["params"] = dict(metric=metric, baseline=baseline, test=test, adjust=adjust)
    # repairs made while aligning (see alignstat.Policy), as records so that the frame stays mergeable
    out.attrs["repairs"] = concat_reports(reports).to_dict("records")
    return out


def steering_table(result, country=None, *, digits=4):
    """Tables 1/9 layout: methods as rows, models as columns, ``0.8526*`` cells."""
    r = result if country is None else result.loc[result["country"] == country]
    cell = r["alignment"].map(lambda v: f"{v:.{digits}f}") + r["stars"].fillna("")
    wide = r.assign(cell=cell).pivot_table(index=["country", "method"], columns="model", values="cell",
                                           aggfunc="first", sort=False)
    cols = [c for c in wide.columns if c != AVERAGE] + ([AVERAGE] if AVERAGE in wide.columns else [])
    return wide[cols].reset_index()
