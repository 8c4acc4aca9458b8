"""Subgroup alignment (the ESS study) against straightforward pandas/NumPy references."""

import warnings

import numpy as np
import pandas as pd
import pytest

from alignstat import SmallCellWarning
from analyses import add_intersections, answer_summary, subgroup_alignment

QS = ["q1", "q2", "q3"]
K = {"q1": 5, "q2": 11, "q3": 4}  # positions 1..K


def _data(rng, n=400):
    d = pd.DataFrame({q: rng.integers(1, K[q] + 1, n).astype(float) for q in QS})
    d.loc[rng.random(n) < 0.1, "q2"] = np.nan
    d["gender"] = rng.choice(["F", "M"], n)
    d["edu"] = rng.choice(["low", "mid", "high"], n, p=[0.3, 0.5, 0.2])
    d.loc[rng.random(n) < 0.05, "edu"] = np.nan
    d["w"] = rng.uniform(0.5, 2.0, n)
    return d


def _answers():
    # model "a": point answers (majority votes); model "b": distributions
    rows = []
    point = {"q1": 2, "q2": 7, "q3": 3}
    for q in QS:
        for o in range(1, K[q] + 1):
            rows.append(("a", q, float(o), 1.0 if o == point[q] else 0.0))
    for q in QS:
        p = np.arange(1, K[q] + 1, dtype=float)
        p /= p.sum()
        for o in range(1, K[q] + 1):
            rows.append(("b", q, float(o), p[o - 1]))
    return pd.DataFrame(rows, columns=["model", "question", "option", "prob"])


def _reference_alignment(frame, answers, weight=None):
    """Paper formula: mean over questions of 1 - |weighted group mean - model mean| / (R - 1)."""
    out = {}
    for m, g in answers.groupby("model"):
        vals = []
        for q in QS:
            a = float((g.loc[g.question == q, "option"] * g.loc[g.question == q, "prob"]).sum())
            x = frame[q]
            ok = x.notna()
            w = frame[weight][ok] if weight else np.ones(ok.sum())
            mu = np.average(x[ok], weights=w)
            vals.append(1 - abs(mu - a) / (K[q] - 1))
        out[m] = np.mean(vals)
    return out


def test_estimates_match_pandas_reference(rng):
    d = _data(rng)
    ans = _answers()
    res = subgroup_alignment(d, ans, factors=["gender", "edu"], n_resamples=200, rng=1, weights="w")
    for col in ["model", "factor", "group", "alignment", "ci_low", "ci_high", "n", "n_eff"]:
        assert col in res.columns
    for factor in ["gender", "edu"]:
        for gname, sub in d.groupby(factor):
            ref = _reference_alignment(sub, ans, weight="w")
            for m, v in ref.items():
                row = res[(res.model == m) & (res.factor == factor) & (res.group == gname)]
                assert len(row) == 1
                assert row["alignment"].iloc[0] == pytest.approx(v, abs=1e-12)
                assert row["n"].iloc[0] == len(sub)
                w = sub["w"].to_numpy()
                assert row["n_eff"].iloc[0] == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    overall = res[res.factor == "(all)"]
    ref = _reference_alignment(d, ans, weight="w")
    for m, v in ref.items():
        assert overall.loc[overall.model == m, "alignment"].iloc[0] == pytest.approx(v, abs=1e-12)
    # missing factor values are left out of the factor unless missing_as_group
    assert "(missing)" not in set(res.group)
    res2 = subgroup_alignment(d, ans, factors=["edu"], n_resamples=50, rng=1, missing_as_group=True, overall=False,
                              min_n=0)
    miss = res2[res2.group == "(missing)"]
    assert (miss["n"] == d["edu"].isna().sum()).all()
    ref = _reference_alignment(d[d["edu"].isna()], ans)
    assert miss.loc[miss.model == "a", "alignment"].iloc[0] == pytest.approx(ref["a"], abs=1e-12)


def test_cis_agree_with_independent_bootstrap(rng):
    """Percentile CIs and SEs vs a naive respondent bootstrap written here (Monte-Carlo tolerance)."""
    d = _data(rng, n=300)
    ans = _answers()
    B = 3000
    res = subgroup_alignment(d, ans, factors=["gender"], n_resamples=B, rng=7, overall=False)
    r2 = np.random.default_rng(12345)
    X = d[QS].to_numpy()
    a = {m: np.array([float((g.loc[g.question == q, "option"] * g.loc[g.question == q, "prob"]).sum())
                      for q in QS]) for m, g in ans.groupby("model")}
    R = np.array([K[q] - 1 for q in QS], dtype=float)
    for gname in ["F", "M"]:
        Xg = X[(d["gender"] == gname).to_numpy()]
        n = len(Xg)
        stats = {m: np.empty(B) for m in a}
        for b in range(B):
            s = Xg[r2.integers(0, n, n)]
            mu = np.nanmean(s, axis=0)
            for m in a:
                stats[m][b] = np.mean(1 - np.abs(mu - a[m]) / R)
        for m in a:
            row = res[(res.model == m) & (res.group == gname)].iloc[0]
            lo, hi = np.percentile(stats[m], [2.5, 97.5])
            se = stats[m].std(ddof=1)
            # quantile MC error ~0.06 se per estimate; allow 0.3 se
            assert abs(row["ci_low"] - lo) < 0.3 * se, (m, gname, row["ci_low"], lo, se)
            assert abs(row["ci_high"] - hi) < 0.3 * se
            assert row["se"] == pytest.approx(se, rel=0.1)


def test_design_based_scheme_and_intersections(rng):
    from surveys import RaoWuScheme

    d = _data(rng)
    ans = _answers()
    strata = np.repeat([0, 1], len(d) // 2)
    psu = np.arange(len(d)) // 4  # clusters of 4 respondents
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        res = subgroup_alignment(d, ans, factors=["gender"], n_resamples=300, rng=2,
                                 scheme=RaoWuScheme(strata, psu), intersections=[("gender", "edu")], min_n=40)
        plain = subgroup_alignment(d, ans, factors=["gender"], n_resamples=300, rng=2, min_n=40)
    # design-based replicates change the intervals, not the estimates
    both = res.merge(plain, on=["model", "factor", "group"], suffixes=("", "_plain"))
    np.testing.assert_allclose(both["alignment"], both["alignment_plain"], atol=1e-12)
    assert np.all(np.isfinite(both["se"])) and np.all(both["se"] > 0)
    assert res.attrs["params"]["scheme"] == "rao-wu"
    inter = res[res.factor == "gender × edu"]
    sizes = d.dropna(subset=["edu"]).groupby(["gender", "edu"]).size()
    assert len(inter) == 2 * len(sizes)
    for (g, e), n in sizes.items():
        row = inter[(inter.model == "a") & (inter.group == f"{g} × {e}")].iloc[0]
        assert row["n"] == n
        assert bool(row["small_cell"]) == (n < 40)


def test_small_cells_warn_and_validation(rng):
    d = _data(rng, n=60)
    ans = _answers()
    with pytest.warns(SmallCellWarning, match="fewer than 30 respondents"):
        subgroup_alignment(d, ans, factors=["edu"], n_resamples=20, rng=1)
    with pytest.raises(ValueError, match="factor column 'nope'"):
        subgroup_alignment(d, ans, factors=["nope"], n_resamples=20, min_n=0)
    with pytest.raises(ValueError, match="lacks the column 'prob'"):
        subgroup_alignment(d, ans.drop(columns="prob"), factors=["edu"], n_resamples=20)
    bad = d.copy()
    bad.loc[0, "q1"] = 99
    with pytest.raises(ValueError, match="column 'q1'"):
        subgroup_alignment(bad, ans, factors=["gender"], n_resamples=20, min_n=0)
    with pytest.raises(ValueError, match="at least two factors"):
        add_intersections(d, [("gender",)])


def test_refused_question_is_left_out(rng):
    d = _data(rng)
    ans = _answers()
    ans.loc[(ans.model == "a") & (ans.question == "q2"), "prob"] = np.nan  # every sample refused
    with pytest.raises(ValueError, match=r"question 'q2' \(model='a'\).*rejected"):
        subgroup_alignment(d, ans, factors=["gender"], n_resamples=20, rng=1)
    ans["status"] = np.where((ans.model == "a") & (ans.question == "q2"), "rejected", "ok")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        res = subgroup_alignment(d, ans, factors=["gender"], n_resamples=50, rng=1)
    row = res[(res.model == "a") & (res.factor == "(all)")].iloc[0]
    assert row["n_questions"] == 2
    sub_ans = ans[~((ans.model == "a") & (ans.question == "q2"))]
    a = {q: float((sub_ans[(sub_ans.model == "a") & (sub_ans.question == q)].eval("option * prob")).sum())
         for q in ["q1", "q3"]}
    ref = np.mean([1 - abs(d[q].mean() - a[q]) / (K[q] - 1) for q in ["q1", "q3"]])
    assert row["alignment"] == pytest.approx(ref, abs=1e-12)


def test_answer_summary_hand_computed():
    a = pd.DataFrame({
        "model": ["m", "m", "m"], "question": ["q1", "q2", "q3"], "option": [1.0, 2.0, np.nan],
        "prob": [1.0, 1.0, np.nan], "n_samples": [20, 20, 20], "n_valid_samples": [20, 15, 0],
        "agreement": [0.9, 0.8, np.nan], "refusal_share": [0.0, 0.25, 1.0],
    })
    s = answer_summary(a).iloc[0]
    assert s["mean_disagreement"] == pytest.approx(0.15)
    assert s["refusal_share"] == pytest.approx((0 + 5 + 20) / 60)
    assert s["questions_rejected"] == 1
    assert s["questions_refused_any"] == 2 and s["questions_refused_all"] == 1


def test_wasserstein_metric_matches_scipy(rng):
    from scipy.stats import wasserstein_distance

    d = _data(rng)
    ans = _answers()
    res = subgroup_alignment(d, ans, factors=["gender"], metric="wasserstein", n_resamples=50, rng=1, weights="w",
                             overall=False)
    for gname, sub in d.groupby("gender"):
        for m, g in ans.groupby("model"):
            vals = []
            for q in QS:
                ok = sub[q].notna()
                x = np.arange(1.0, K[q] + 1)
                shares = np.array([sub.loc[ok, "w"][sub.loc[ok, q] == v].sum() for v in x])
                model = g[g.question == q].sort_values("option")["prob"].to_numpy()
                vals.append(1 - wasserstein_distance(x, x, shares, model) / (K[q] - 1))
            row = res[(res.model == m) & (res.group == gname)].iloc[0]
            assert row["alignment"] == pytest.approx(np.mean(vals), abs=1e-12)
