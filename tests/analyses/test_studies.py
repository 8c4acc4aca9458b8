"""Global (RQ1), steering (RQ2), temporal (RQ3) and sensitivity studies vs independent references."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignstat.stats import adjust_pvalues
from analyses.global_study import global_alignment
from analyses.sensitivity import prompt_sensitivity
from analyses.steering import steering_alignment, steering_table
from analyses.temporal import temporal_alignment

QS = [f"Q{i}" for i in range(10)]
K = 4


def _dists(keys, names, seed, conc=1.0):
    rng = np.random.default_rng(seed)
    rows = []
    for key in keys:
        for q in QS:
            p = rng.dirichlet(np.full(K, conc))
            rows += [(*key, q, float(k + 1), p[k]) for k in range(K)]
    return pd.DataFrame(rows, columns=[*names, "question", "option", "prob"])


def _wass(p, q):
    x = np.arange(1.0, K + 1)
    return 1 - stats.wasserstein_distance(x, x, p, q) / (K - 1)


def _vec(frame, **sel):
    m = np.ones(len(frame), bool)
    for k, v in sel.items():
        m &= (frame[k] == v).to_numpy()
    f = frame[m]
    return {q: g.sort_values("option")["prob"].to_numpy() for q, g in f.groupby("question")}


HUM = _dists([(c,) for c in "ABCDEF"], ["country"], 1)
ANS = _dists([(m,) for m in ["m1", "m2"]], ["model"], 2)


def test_global_scores_baseline_and_ranking():
    res = global_alignment(ANS, HUM, n_resamples=400, rng=3, top_k=2)
    avg = {q: np.mean([_vec(HUM, country=c)[q] for c in "ABCDEF"], axis=0) for q in QS}
    for _, r in res.scores.iterrows():
        a, h = _vec(ANS, model=r["model"]), _vec(HUM, country=r["country"])
        per_q = np.array([_wass(a[q], h[q]) for q in QS])
        assert r["alignment"] == pytest.approx(per_q.mean(), abs=1e-12)
        assert r["sd"] == pytest.approx(per_q.std(ddof=1), abs=1e-12)
        base = np.mean([_wass(avg[q], h[q]) for q in QS])
        assert r["baseline"] == pytest.approx(base, abs=1e-12)
        d = per_q.mean() - base
        assert r["classification"] == ("over" if d > 0.02 else "under" if d < -0.02 else "appropriate")
        # question-bootstrap CI: covers the estimate, width comparable to a normal-theory one
        assert r["ci_low"] <= r["alignment"] <= r["ci_high"]
        se = per_q.std(ddof=1) / np.sqrt(len(QS))
        assert r["se"] == pytest.approx(se * np.sqrt((len(QS) - 1) / len(QS)), rel=0.15)
    for m, g in res.scores.groupby("model"):
        best = g.sort_values("alignment", ascending=False)["country"].tolist()
        rk = res.ranking[res.ranking.model == m]
        assert rk[rk.end == "top"]["country"].tolist() == best[:2]
        assert rk[rk.end == "bottom"]["country"].tolist() == best[-2:]
        assert res.models.set_index("model").loc[m, "mean"] == pytest.approx(g["alignment"].mean())
    cm = res.countries.pivot(index="country_a", columns="country_b", values="alignment")
    np.testing.assert_allclose(cm.to_numpy(), cm.to_numpy().T, atol=1e-12)
    np.testing.assert_allclose(np.diag(cm.to_numpy()), 1.0)
    assert res.model_matrix().shape == (2, 6)


def test_global_validation():
    with pytest.raises(ValueError, match="lacks the column 'country'"):
        global_alignment(ANS, HUM.rename(columns={"country": "nation"}))
    with pytest.raises(ValueError, match="`top_k` must be a positive integer"):
        global_alignment(ANS, HUM, top_k=0)
    with pytest.raises(ValueError, match="share no question"):
        global_alignment(ANS.assign(question=ANS["question"] + "x"), HUM, n_resamples=0)
    two = pd.concat([ANS.assign(condition="none"), ANS.assign(condition="persona")])
    with pytest.raises(ValueError, match=r"more than one answer for model='m1', question='Q0'; the column\(s\) "
                                         r"\['condition'\] vary"):
        global_alignment(two, HUM, n_resamples=0)
    broken = ANS.copy()
    broken.loc[3, "prob"] = np.nan  # a missing probability in an item nobody marked rejected
    with pytest.raises(ValueError, match=r"question 'Q0' \(model='m1'\) has a missing `prob` but is not marked"):
        global_alignment(broken, HUM, n_resamples=0)
    marked = ANS.assign(status="ok")
    marked.loc[marked.question == "Q0", ["prob", "status"]] = [np.nan, "rejected"]
    res = global_alignment(marked, HUM, n_resamples=0)
    assert (res.scores["n_questions"] == len(QS) - 1).all()


def _steering_answers():
    none = _dists([(m, "none") for m in ["m1", "m2"]], ["model", "condition"], 4)
    steered = _dists([(m, meth, c) for m in ["m1", "m2"] for meth in ["persona", "language-persona"] for c in "AB"],
                     ["model", "condition", "country"], 5)
    return pd.concat([none, steered], ignore_index=True)


def test_steering_paired_t_test_matches_scipy():
    ans = _steering_answers()
    res = steering_alignment(ans, HUM, adjust="holm")
    assert (res["adjust"] == "holm").all() and res["family"].nunique() == 1
    for _, r in res[(res.model != "AVG") & (res.method != "none")].iterrows():
        s = _vec(ans, model=r["model"], condition=r["method"], country=r["country"])
        b = _vec(ans, model=r["model"], condition="none")
        h = _vec(HUM, country=r["country"])
        xs = np.array([_wass(s[q], h[q]) for q in QS])
        ys = np.array([_wass(b[q], h[q]) for q in QS])
        t = stats.ttest_rel(xs, ys)
        assert r["alignment"] == pytest.approx(xs.mean(), abs=1e-12)
        assert r["pvalue"] == pytest.approx(t.pvalue, rel=1e-9)
        assert r["statistic"] == pytest.approx(t.statistic, rel=1e-9)
        assert r["difference"] == pytest.approx((xs - ys).mean(), abs=1e-12)
    # AVG row: per-question mean over models, then the same paired test
    r = res[(res.model == "AVG") & (res.method == "persona") & (res.country == "A")].iloc[0]
    h = _vec(HUM, country="A")
    xs = np.mean([[_wass(_vec(ans, model=m, condition="persona", country="A")[q], h[q]) for q in QS]
                  for m in ["m1", "m2"]], axis=0)
    ys = np.mean([[_wass(_vec(ans, model=m, condition="none")[q], h[q]) for q in QS] for m in ["m1", "m2"]], axis=0)
    assert r["pvalue"] == pytest.approx(stats.ttest_rel(xs, ys).pvalue, rel=1e-9)
    # Holm by hand
    p = res["pvalue"].to_numpy()
    ok = np.isfinite(p)
    order = np.argsort(p[ok])
    m = ok.sum()
    holm = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[ok][order]))
    np.testing.assert_allclose(np.sort(res["pvalue_adj"].to_numpy()[ok]), np.sort(holm))
    stars = res["stars"].to_numpy()
    pa = res["pvalue_adj"].to_numpy()
    assert all((s == "***") == (q < 0.001) for s, q in zip(stars, pa) if np.isfinite(q))
    # the table layout puts methods in the paper's order
    tab = steering_table(res, "A")
    assert tab["method"].tolist() == ["none", "persona", "language-persona"]
    assert tab.columns[-1] == "AVG"


def test_steering_wilcoxon_and_validation():
    ans = _steering_answers()
    res = steering_alignment(ans, HUM, test="wilcoxon")
    r = res[(res.model == "m1") & (res.method == "persona") & (res.country == "B")].iloc[0]
    h = _vec(HUM, country="B")
    xs = [_wass(_vec(ans, model="m1", condition="persona", country="B")[q], h[q]) for q in QS]
    ys = [_wass(_vec(ans, model="m1", condition="none")[q], h[q]) for q in QS]
    assert r["pvalue"] == pytest.approx(stats.wilcoxon(xs, ys).pvalue, rel=1e-9)
    with pytest.raises(ValueError, match="no distribution in `human`"):
        steering_alignment(ans.replace({"country": {"A": "Z"}}), HUM)
    with pytest.raises(ValueError, match="baseline condition 'none'"):
        steering_alignment(ans[ans.condition != "none"], HUM)
    with pytest.raises(ValueError, match="`adjust` must be"):
        steering_alignment(ans, HUM, adjust="bonf")
    raw = steering_alignment(ans, HUM, adjust=None)
    np.testing.assert_array_equal(raw["pvalue_adj"].to_numpy(), raw["pvalue"].to_numpy())


def test_bh_adjustment_matches_scipy():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    adj = adjust_pvalues(p, adjust="bh")
    np.testing.assert_allclose(adj[[0, 1, 2, 4]], stats.false_discovery_control(p[[0, 1, 2, 4]]))
    assert np.isnan(adj[3])


def test_temporal_filter_and_waves():
    waves = {5: 11, 6: 12, 7: 13}
    hum = pd.concat([_dists([(c,) for c in "ABCDEF"], ["country"], s).assign(wave=w) for w, s in waves.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = temporal_alignment(ANS, hum, tau=0.05)
    last = hum[hum.wave == 7]
    avg = {q: np.mean([_vec(last, country=c)[q] for c in "ABCDEF"], axis=0) for q in QS}
    for _, r in res.filter.iterrows():
        a, h = _vec(ANS, model=r["model"]), _vec(last, country=r["country"])
        ms = np.mean([_wass(a[q], h[q]) for q in QS])
        bs = np.mean([_wass(avg[q], h[q]) for q in QS])
        assert r["model_score"] == pytest.approx(ms, abs=1e-12)
        assert r["baseline_score"] == pytest.approx(bs, abs=1e-12)
        assert bool(r["kept"]) == (abs(ms - bs) < 0.05)
    for m in ["m1", "m2"]:
        kept = res.filter[(res.filter.model == m) & res.filter.kept]["country"].tolist()
        for w in waves:
            hw = hum[hum.wave == w]
            vals = [np.mean([_wass(_vec(ANS, model=m)[q], _vec(hw, country=c)[q]) for q in QS]) for c in kept]
            row = res.by_wave[(res.by_wave.model == m) & (res.by_wave.wave == w)
                              & (res.by_wave.countries == "tau-filtered")]
            if kept:
                assert row["mean"].iloc[0] == pytest.approx(np.mean(vals), abs=1e-12)
                assert row["n_countries"].iloc[0] == len(kept)
    with pytest.raises(ValueError, match="`tau` must be a positive number"):
        temporal_alignment(ANS, hum, tau=0)
    with pytest.raises(ValueError, match="lacks the column 'wave'"):
        temporal_alignment(ANS, hum.drop(columns="wave"))


def test_sensitivity_pearson_matches_numpy():
    ans = pd.concat([_dists([(m, "none") for m in ["m1", "m2"]], ["model", "condition"], 6),
                     _dists([(m, "sensitivity-order") for m in ["m1", "m2"]], ["model", "condition"], 7)])
    table, pairs = prompt_sensitivity(ans, HUM)
    for _, r in table.iterrows():
        pr = pairs[(pairs.model == r["model"]) & (pairs.condition == r["condition"])]
        x = [np.mean([_wass(_vec(ans, model=r["model"], condition="none")[q], _vec(HUM, country=c)[q])
                      for q in QS]) for c in pr["country"]]
        np.testing.assert_allclose(pr["default"], x, atol=1e-12)
        assert r["r"] == pytest.approx(np.corrcoef(pr["default"], pr["perturbed"])[0, 1], abs=1e-12)
        n = len(pr)
        t = r["r"] * np.sqrt((n - 2) / (1 - r["r"] ** 2))
        assert r["pvalue"] == pytest.approx(2 * stats.t.sf(abs(t), n - 2), rel=1e-6)
        assert r["ci_low"] < r["r"] < r["ci_high"]
    # precomputed scores give the same table
    scores = pairs.melt(id_vars=["model", "condition", "country"], value_vars=["perturbed"])
    with pytest.raises(ValueError, match="default condition 'none'"):
        prompt_sensitivity(scores.rename(columns={"value": "alignment"}), default="none")


def test_repairs_made_while_aligning_are_reported_by_the_studies(tmp_path):
    from alignstat import DataPolicyWarning
    from analyses.runners import run_global

    ans = ANS.copy()
    bad = (ans["model"] == "m1") & (ans["question"] == "Q3")
    ans.loc[bad, "prob"] *= 1.25  # sums to 1.25: renormalised by the default policy, and reported
    with pytest.warns(DataPolicyWarning, match="sum != 1"):
        res = global_alignment(ans, HUM, n_resamples=50, rng=1)
    rep = res.report
    assert len(rep) and set(rep["issue"]) == {"sum != 1"} and set(rep["question"]) == {"Q3"}
    assert set(rep["group"].astype(str)) == {"m1"} and (rep["action"] == "renormalized").all()
    # the score uses the renormalised distribution: equal to the clean answers' score
    clean = global_alignment(ANS, HUM, n_resamples=50, rng=1).scores
    np.testing.assert_allclose(res.scores["alignment"], clean["alignment"], atol=1e-12)
    waves = pd.concat([HUM.assign(wave=w) for w in (6, 7)])
    with pytest.warns(DataPolicyWarning):
        tres = temporal_alignment(ans, waves, tau=1.0, n_resamples=0)
    assert len(tres.report) and set(tres.report["question"]) == {"Q3"}
    with pytest.warns(DataPolicyWarning):
        s = run_global(ans, HUM, tmp_path / "g", n_resamples=50, rng=1, report=False)
    written = pd.read_csv(tmp_path / "g" / "repairs.csv")
    assert "repairs" in s.tables and written["issue"].tolist() == rep["issue"].tolist()


def test_global_and_temporal_results_print_one_line_and_summarise():
    res = global_alignment(ANS, HUM, n_resamples=20, rng=1)
    text = repr(res)
    assert "\n" not in text and len(text) <= 300 and text.startswith("GlobalResult(")
    assert f"scores: {len(res.scores)} x {res.scores.shape[1]}" in text and str(res) == text
    summ = res.summary()
    assert summ.splitlines()[0] == text and "models (2 rows)" in summ
    assert len(summ.splitlines()) < 20 and "m1" in summ and "m2" in summ
    waves = pd.concat([HUM.assign(wave=w) for w in (6, 7)])
    tres = temporal_alignment(ANS, waves, tau=1.0, n_resamples=0)
    text = repr(tres)
    assert "\n" not in text and len(text) <= 300 and text.startswith("TemporalResult(")
    assert f"by_wave: {len(tres.by_wave)} x {tres.by_wave.shape[1]}" in text
    assert "by_wave" in tres.summary(n=3) and len(tres.summary(n=3).splitlines()) < 15
