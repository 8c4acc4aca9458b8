"""Estimands of the global, temporal, sensitivity and consistency studies, against direct computations."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignstat import DiagnosticsWarning
from analyses import global_alignment

K = 5


def _micro(rng, n=600, countries="ABC", qs=("q1", "q2", "q3")):
    d = pd.DataFrame({q: rng.integers(1, K + 1, n).astype(float) for q in qs})
    d["country"] = rng.choice(list(countries), n)
    d["w"] = rng.uniform(0.5, 2, n)
    return d


def _model(rng, qs=("q1", "q2", "q3"), models=("m1", "m2")):
    rows = []
    for m in models:
        for q in qs:
            p = rng.dirichlet(np.ones(K))
            rows += [(m, q, float(k + 1), p[k]) for k in range(K)]
    return pd.DataFrame(rows, columns=["model", "question", "option", "prob"])


def test_global_from_microdata_weighted_with_respondent_intervals():
    rng = np.random.default_rng(0)
    d = _micro(rng)
    ans = _model(rng)
    res = global_alignment(ans, d, weights="w", n_resamples=300, rng=1)
    # estimate = Wasserstein alignment with the weighted shares, computed here with scipy
    x = np.arange(1.0, K + 1)
    for r in res.scores.itertuples():
        sub = d[d.country == r.country]
        vals = []
        for q in ("q1", "q2", "q3"):
            sh = np.array([sub.loc[sub[q] == v, "w"].sum() for v in x])
            p = ans[(ans.model == r.model) & (ans.question == q)].sort_values("option")["prob"].to_numpy()
            vals.append(1 - stats.wasserstein_distance(x, x, sh, p) / (K - 1))
        assert r.alignment == pytest.approx(np.mean(vals), abs=1e-12)
        assert r.ci_low <= r.alignment <= r.ci_high
    assert res.scores["interval"].str.contains("resampled: respondents, questions", regex=False).all()
    assert res.scores["interval"].str.contains("weights=w", regex=False).all()
    # the same numbers from tidy distributions: only the interval differs (questions only)
    tidy = []
    for c, sub in d.groupby("country"):
        for q in ("q1", "q2", "q3"):
            sh = np.array([sub.loc[sub[q] == v, "w"].sum() for v in x])
            tidy += [(c, q, v, s) for v, s in zip(x, sh / sh.sum())]
    tidy = pd.DataFrame(tidy, columns=["country", "question", "option", "prob"])
    res2 = global_alignment(ans, tidy, n_resamples=300, rng=1)
    m = res.scores.merge(res2.scores, on=["model", "country"], suffixes=("", "_t"))
    np.testing.assert_allclose(m["alignment"], m["alignment_t"], atol=1e-12)
    assert m["interval_t"].str.contains("resampled: questions;", regex=False).all()
    with pytest.raises(ValueError, match="needs respondent microdata"):
        global_alignment(ans, tidy, resample="respondents")
    paper = global_alignment(ans, d, n_resamples=50, rng=1, paper_defaults=True)
    assert paper.scores["interval"].str.contains("resampled: questions;", regex=False).all()


def test_global_one_question_interval_is_nan_with_warning():
    rng = np.random.default_rng(1)
    ans = _model(rng, qs=("q1",))
    hum = pd.DataFrame([(c, "q1", float(k + 1), p) for c in "AB" for k, p in enumerate(rng.dirichlet(np.ones(K)))],
                       columns=["country", "question", "option", "prob"])
    with pytest.warns(DiagnosticsWarning, match="single question"):
        res = global_alignment(ans, hum, n_resamples=100, rng=0)
    assert res.scores["ci_low"].isna().all() and res.scores["se"].isna().all()


def _wave_dists(rng, countries, qs, wave):
    rows = []
    for c in countries:
        for q in qs:
            p = rng.dirichlet(np.ones(K))
            rows += [(c, wave, q, float(k + 1), p[k]) for k in range(K)]
    return pd.DataFrame(rows, columns=["country", "wave", "question", "option", "prob"])


def test_temporal_fixed_question_and_country_sets():
    from analyses import temporal_alignment

    rng = np.random.default_rng(3)
    qs = [f"q{i}" for i in range(8)]
    hum = pd.concat([
        _wave_dists(rng, "ABCDE", qs[:6], 5),          # wave 5: q0-q5, countries A-E
        _wave_dists(rng, "ABCDEF", qs[2:], 6),         # wave 6: q2-q7, adds F
        _wave_dists(rng, "BCDEFG", qs, 7),             # wave 7: all, no A
    ])
    ans = _model(rng, qs=tuple(qs), models=("m1",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = temporal_alignment(ans, hum, tau=1.0, n_resamples=200, rng=0)  # tau=1 keeps every country
    assert res.params["questions"] == qs[2:6] and res.params["countries"] == list("BCDE")
    allc = res.by_wave[res.by_wave.countries == "all"]
    assert (allc["sets"] == "fixed").all() and (allc["n_questions"] == 4).all() and (allc["n_countries"] == 4).all()
    x = np.arange(1.0, K + 1)
    for r in allc.itertuples():
        sub = hum[(hum.wave == r.wave) & hum.country.isin(list("BCDE")) & hum.question.isin(qs[2:6])]
        vals = []
        for c in "BCDE":
            per_q = []
            for q in qs[2:6]:
                h = sub[(sub.country == c) & (sub.question == q)].sort_values("option")["prob"].to_numpy()
                a = ans[ans.question == q].sort_values("option")["prob"].to_numpy()
                per_q.append(1 - stats.wasserstein_distance(x, x, h, a) / (K - 1))
            vals.append(np.mean(per_q))
        assert r.mean == pytest.approx(np.mean(vals), abs=1e-12)
        assert r.ci_low <= r.mean <= r.ci_high and "questions" in r.interval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = temporal_alignment(ans, hum, tau=1.0, n_resamples=0, fixed_sets=False)
    o = old.by_wave[old.by_wave.countries == "all"].set_index("wave")
    assert (o["sets"] == "per wave").all()
    assert o.loc[5, "n_questions"] == 6 and o.loc[7, "n_countries"] == 6
    disjoint = pd.concat([_wave_dists(rng, "AB", ["q0"], 5), _wave_dists(rng, "AB", ["q1"], 6)])
    with pytest.raises(ValueError, match="no answered question is asked in every wave"):
        temporal_alignment(ans, disjoint, tau=1.0)


def _lin_reference(x, y):
    """Lin's CCC from its definition (population moments)."""
    x, y = np.asarray(x), np.asarray(y)
    return 2 * np.cov(x, y, bias=True)[0, 1] / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def test_sensitivity_agreement_measures_see_what_r_hides():
    from analyses import prompt_sensitivity
    from analyses.sensitivity import concordance

    rng = np.random.default_rng(7)
    qs = [f"q{i}" for i in range(20)]
    # countries from polarised to consensual: scores vary mostly between countries
    rows = []
    for i in range(40):
        conc = 0.2 + 3 * i / 40
        for q in qs:
            p = rng.dirichlet(np.full(K, conc))
            rows += [(f"c{i}", q, float(k + 1), p[k]) for k in range(K)]
    hum = pd.DataFrame(rows, columns=["country", "question", "option", "prob"])
    ans = []
    for cond in ("none", "shuffled"):  # two unrelated answer sets of the same model
        for q in qs:
            p = rng.dirichlet(np.full(K, 2.0))
            ans += [("m", cond, q, float(k + 1), p[k]) for k in range(K)]
    ans = pd.DataFrame(ans, columns=["model", "condition", "question", "option", "prob"])
    table, pairs = prompt_sensitivity(ans, hum, n_resamples=500, rng=0)
    r = table.iloc[0]
    x, y = pairs["default"].to_numpy(), pairs["perturbed"].to_numpy()
    assert r["r"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert r["ccc"] == pytest.approx(_lin_reference(x, y), abs=1e-12)
    assert r["ccc_low"] < r["ccc"] < r["ccc_high"]
    assert r["mean_abs_diff"] == pytest.approx(np.abs(y - x).mean(), abs=1e-12)
    assert r["mad_low"] < r["mean_abs_diff"] < r["mad_high"]
    # the model's own answers under the two prompts, aligned directly with scipy
    xs = np.arange(1.0, K + 1)
    own = np.mean([1 - stats.wasserstein_distance(
        xs, xs, ans[(ans.condition == "none") & (ans.question == q)].sort_values("option")["prob"],
        ans[(ans.condition == "shuffled") & (ans.question == q)].sort_values("option")["prob"]) / (K - 1)
        for q in qs])
    assert r["self_alignment"] == pytest.approx(own, abs=1e-12) and r["n_questions"] == 20
    # r looks reassuring while the answers are unrelated
    assert r["r"] > 0.8 and r["self_alignment"] < r["r"]
    # the CCC interval covers at its nominal rate (simulation with known rho_c)
    hits = 0
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    true = 2 * 0.6 / (1 + 1 + 0.5 ** 2)
    r2 = np.random.default_rng(1)
    for _ in range(300):
        z = r2.multivariate_normal([0, 0.5], cov, size=60)
        _, lo, hi = concordance(z[:, 0], z[:, 1], confidence_level=0.9)
        hits += lo <= true <= hi
    assert 0.85 <= hits / 300 <= 0.95
