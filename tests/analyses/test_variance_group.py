"""Group-alignment decomposition (estimand="group"): exact algebra against dense references, the
estimand against a direct computation, answer preparation, weights, and short fits with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignstat import DataPolicyWarning
from analyses.variance._data import tidy_answers
from analyses.variance._estimand import component_sds, group_alignment_draws, group_set
from analyses.variance._fit_group import level_scaled_weights
from analyses.variance._group import draw_group_effects, group_loglik, group_stats, loglik_grad, main_matrix


def _design(rng, n=150, sizes=(4, 3, 5), Q=3, weighted=True, inter=True, missing=0.15):
    codes = [rng.integers(0, L, n) for L in sizes]
    for c, L in zip(codes, sizes):
        c[:L] = np.arange(L)
    Y = rng.normal(0.5, 0.2, (n, Q))
    Y[rng.random((n, Q)) < missing] = np.nan
    w = rng.uniform(0.4, 2.5, n) if weighted else None
    it, cell = None, None
    if inter:
        it = ("f0:f2", "f0", "f2", (sizes[0], sizes[2]))
        cell = codes[0] * sizes[2] + codes[2]
    st = group_stats(Y, codes, list(sizes), ["f0", "f1", "f2"], weights=w, inter=it, cell_codes=cell)
    return st, Y, codes, w, cell


def _dense_marginal(sd, sigma, Y, codes, sizes, w, cell, n_cells, m0, tau0):
    """Row-wise marginal log-density of every outcome (effects integrated out by hand), scipy MVN."""
    X = main_matrix(codes, sizes).toarray()
    total = 0.0
    for q in range(Y.shape[1]):
        ok = np.isfinite(Y[:, q])
        wq = (np.ones(len(Y)) if w is None else w)[ok]
        wq = wq / wq.mean()
        Xq = X[ok]
        prior = np.concatenate([[tau0**2], np.concatenate([np.full(L, sd[k] ** 2) for k, L in enumerate(sizes)])])
        cov = np.diag(sigma[q] ** 2 / wq) + (Xq * prior) @ Xq.T
        if cell is not None:
            Z = np.eye(n_cells)[cell[ok]]
            cov += sd[-1] ** 2 * Z @ Z.T
        total += stats.multivariate_normal(np.full(ok.sum(), m0[q]), cov).logpdf(Y[ok, q])
    return total


@pytest.mark.parametrize(("weighted", "inter"), [(False, False), (True, True)])
def test_collapsed_likelihood_equals_dense_marginal_up_to_constant(rng, weighted, inter):
    st, Y, codes, w, cell = _design(rng, weighted=weighted, inter=inter)
    diffs = []
    for _ in range(4):
        sd = rng.uniform(0.02, 0.3, st.n_components)
        sig = rng.uniform(0.1, 0.3, st.n_outcomes)
        dense = _dense_marginal(sd, sig, Y, codes, st.sizes, w, cell, st.c, st.m0, 1.0)
        diffs.append(dense - group_loglik(sd, sig, st, tau0=1.0))
        ll, _, _ = loglik_grad(np.log(sd), np.log(sig), st, tau0=1.0)
        assert ll == pytest.approx(group_loglik(sd, sig, st, tau0=1.0), rel=1e-10)
    assert np.ptp(diffs) < 1e-6, diffs


def test_gradient_matches_finite_differences(rng):
    st, *_ = _design(rng)
    x = np.r_[np.log(rng.uniform(0.03, 0.2, st.n_components)), np.log(rng.uniform(0.1, 0.3, st.n_outcomes))]
    K = st.n_components
    _, gs, gq = loglik_grad(x[:K], x[K:], st, tau0=1.0)
    num = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = 1e-6
        hi = loglik_grad((x + e)[:K], (x + e)[K:], st, tau0=1.0)[0]
        lo = loglik_grad((x - e)[:K], (x - e)[K:], st, tau0=1.0)[0]
        num.append((hi - lo) / 2e-6)
    np.testing.assert_allclose(np.r_[gs, gq], num, rtol=1e-5, atol=1e-5)


def test_conditional_effect_draws_match_dense_gaussian_posterior(rng):
    st, Y, codes, w, cell = _design(rng, n=120, Q=2)
    sd = np.array([0.2, 0.1, 0.15, 0.08])
    sig = np.array([0.2, 0.25])
    S = 6000
    bm, bc = draw_group_effects(st, np.tile(sd, (S, 1)), np.tile(sig, (S, 1)), tau0=1.0, rng=rng)
    X = main_matrix(codes, st.sizes).toarray()
    Z = np.eye(st.c)[cell]
    F = np.hstack([X, Z])
    prior = np.concatenate([[1.0], np.concatenate([np.full(L, sd[k] ** 2) for k, L in enumerate(st.sizes)]),
                            np.full(st.c, sd[-1] ** 2)])
    for q in range(2):
        ok = np.isfinite(Y[:, q])
        wq = w[ok] / w[ok].mean()
        prec = np.diag(1 / prior) + (F[ok].T * wq) @ F[ok] / sig[q] ** 2
        mu0 = np.zeros(F.shape[1])
        mu0[0] = st.m0[q]
        mean = mu0 + np.linalg.solve(prec, (F[ok].T * wq) @ (Y[ok, q] - F[ok] @ mu0) / sig[q] ** 2)
        draws = np.hstack([bm[:, q], bc[:, q]])
        # group means are what the estimand uses: compare cell means' posterior mean and SD
        G = F[:10]
        se = np.sqrt(np.diag(G @ np.linalg.solve(prec, G.T)))
        np.testing.assert_allclose((draws @ G.T).mean(axis=0), G @ mean, atol=4 * se.max() / np.sqrt(S) * 3)
        np.testing.assert_allclose((draws @ G.T).std(axis=0), se, rtol=0.06)


def test_group_alignment_equals_direct_computation(rng):
    """A_G = mean_q 1 - |mean of G's fitted answers - a_q| (group means from respondent rows, by pandas)."""
    n, sizes, Q = 300, [3, 2, 4], 3
    codes = [rng.integers(0, L, n) for L in sizes]
    w = rng.uniform(0.5, 2, n)
    cell = codes[0] * 4 + codes[2]
    it = ("f0:f2", "f0", "f2", (3, 4))
    labels = [[f"a{i}" for i in range(3)], ["m", "f"], [f"e{i}" for i in range(4)]]
    groups = group_set(codes, sizes, ["f0", "f1", "f2"], labels, weights=w, inter=it, cell_codes=cell)
    bm = rng.normal(0, 0.1, (1, Q, 1 + sum(sizes)))
    bm[..., 0] += 0.5
    bc = rng.normal(0, 0.05, (1, Q, 12))
    target = rng.uniform(0.3, 0.7, (2, Q))
    A = group_alignment_draws(bm, bc, groups, target, np.ones(Q), np.arange(Q), Q)
    X = main_matrix(codes, sizes).toarray()
    fitted = X @ bm[0].T + bc[0][:, cell].T  # n × Q
    df = pd.DataFrame(fitted).assign(w=w, f0=codes[0], f1=codes[1], f2=codes[2], cell=cell)
    for comp, col in (("f0", "f0"), ("f1", "f1"), ("f2", "f2"), ("f0:f2", "cell")):
        means = df.groupby(col).apply(lambda g: pd.Series(np.average(g[list(range(Q))], axis=0, weights=g["w"])),
                                      include_groups=False).to_numpy()
        sl = groups.blocks[comp]
        for m in range(2):
            direct = 1 - np.abs(means - target[m]).mean(axis=1)
            np.testing.assert_allclose(A[0, m, sl], direct, atol=1e-12)
    names, sds = component_sds(A, groups)
    assert names == ["f0", "f1", "f2", "f0:f2"]
    np.testing.assert_allclose(sds[0, :, 1], A[0, :, groups.blocks["f1"]].std(axis=1, ddof=1))
    tab = A[0, 0, groups.blocks["f0:f2"]].reshape(3, 4)
    r = tab - tab.mean(1, keepdims=True) - tab.mean(0, keepdims=True) + tab.mean()
    assert sds[0, 0, 3] == pytest.approx(np.sqrt((r**2).sum() / 6))


def test_paper_estimand_ignores_spread_within_groups():
    """Two groups with the same mean answer as the model: alignment 1 for both, whatever their spread."""
    codes = [np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])]
    groups = group_set(codes, [2, 2], ["g", "h"], [["x", "y"], ["u", "v"]])
    bm = np.array([[[0.5, 0.0, 0.0, 0.0, 0.0]]])
    A = group_alignment_draws(bm, np.zeros((1, 1, 0)), groups, np.array([[0.5]]), np.ones(1), np.zeros(1, int), 1)
    np.testing.assert_allclose(A[0, 0], 1.0)


def test_level_scaled_weights_sum_to_country_answer_counts(rng):
    n = 200
    country = rng.integers(0, 4, n)
    w = rng.uniform(0.2, 5, n)
    answered = rng.random((n, 3)) > 0.2
    out = level_scaled_weights(w, country, answered)
    for q in range(3):
        for c in range(4):
            m = (country == c) & answered[:, q]
            assert out[m, q].sum() == pytest.approx(m.sum())
            np.testing.assert_allclose(out[m, q] / w[m], out[m, q][0] / w[m][0])
    assert (out[~answered] == 0).all()


def _toy():
    data = pd.DataFrame({"q1": [3.0, 4.0, 5.0, 6.0, 7.0], "country": list("AABBB"), "sex": list("fmfmf")})
    answers = pd.DataFrame({"model": "m", "question": "q1", "option": [5.0], "prob": [1.0]})
    return data, answers


def test_point_answer_uses_full_scale_from_positions():
    data, answers = _toy()
    models, qs, pos, probs = tidy_answers(answers, data, positions={"q1": range(11)})
    assert qs == ["q1"] and np.nanmax(pos) - np.nanmin(pos) == 10
    assert probs[0, 0, 5] == 1.0 and np.nansum(probs) == 1.0
    # without a scale: the union of observed answers and model options (3..7), documented fallback
    _, _, pos2, _ = tidy_answers(answers, data)
    assert np.nanmax(pos2) - np.nanmin(pos2) == 4


def test_answers_go_through_opinion_distributions():
    data, answers = _toy()
    dup = pd.concat([answers, answers])
    with pytest.raises(ValueError, match="option 5.0 appears more than once"):
        tidy_answers(dup, data, positions={"q1": range(11)})
    two = pd.DataFrame({"model": "m", "question": "q1", "option": [4.0, 6.0], "prob": [0.3, 0.3],
                        "status": ["ok", "ok"]})
    with pytest.warns(DataPolicyWarning, match="renormalized"):
        _, _, pos, probs = tidy_answers(two, data, positions={"q1": range(11)})
    np.testing.assert_allclose(probs[0, 0, [4, 6]], [0.5, 0.5])
    rejected = pd.concat([two.assign(model="m2", status="rejected"), answers.assign(status="ok")])
    with pytest.warns(DataPolicyWarning, match="rejected"):
        models, *_ = tidy_answers(rejected, data, positions={"q1": range(11)})
    assert models == ["m"]
    with pytest.raises(ValueError, match="not option positions"):
        from analyses.variance._data import _responses

        _responses(data.assign(q1=[3.0, 4.0, 5.0, 6.0, 12.0]), ["q1"], np.arange(11.0)[None])


# --------------------------------------------------------------------------- short fits (nutpie)

FIT = {"chains": 2, "draws": 300, "tune": 300,
       "thresholds": {"ess_bulk_min": 80, "ess_tail_min": 80, "r_hat_max": 1.05, "divergences": 2}}


@pytest.fixture(scope="module")
def simulated_fit():
    pytest.importorskip("nutpie")
    from analyses.variance._decompose import DEFAULT_THRESHOLDS
    from analyses.variance._fit_group import fit_group
    from analyses.variance._simulate import simulate_group_problem

    th = dict(DEFAULT_THRESHOLDS, **FIT["thresholds"])
    prob, truth = simulate_group_problem(n=2500, levels={"country": 8, "gender": 2, "education": 5}, n_questions=5,
                                         sd={"country": 0.1, "gender": 0.03, "education": 0.05,
                                             "country:education": 0.03},
                                         interaction=("country", "education"), rng=7)
    res = fit_group(prob, rng=1, chains=2, draws=300, tune=300, thresholds=th, on_failure="ignore",
                    effect_draws=300, prior_scale=0.15)
    return prob, truth, res


def test_recovers_known_group_alignment_spread(simulated_fit):
    _, truth, res = simulated_fit
    s = res.summary().set_index("component")
    assert list(s.columns[:7]) == ["model", "n_levels", "sd", "sd_low", "sd_high", "share", "share_low"]
    assert s["interval"].iloc[0].startswith("90% equal-tailed posterior interval")
    for _, t in truth.iterrows():
        row = s.loc[t["component"]]
        width = row["sd_high"] - row["sd_low"]
        assert row["sd_low"] - 0.5 * width <= t["sd"] <= row["sd_high"] + 0.5 * width, (t["component"], row, t)
    assert res.passed, res.diagnostics["failures"]
    al = res.alignments()
    assert {"model", "component", "group", "n", "alignment", "ci_low", "ci_high"} <= set(al.columns)
    assert ((al.ci_low <= al.alignment) & (al.alignment <= al.ci_high)).all()


def test_second_fit_of_same_shape_does_not_compile(simulated_fit):
    from analyses.variance._fit_group import fit_group
    from analyses.variance._group import COMPILATIONS
    from analyses.variance._simulate import simulate_group_problem

    prob, _, _ = simulated_fit
    before = dict(COMPILATIONS)
    prob2, _ = simulate_group_problem(n=1800, levels={"country": 8, "gender": 2, "education": 5}, n_questions=5,
                                      interaction=("country", "education"), rng=8)
    from analyses.variance._decompose import DEFAULT_THRESHOLDS

    res = fit_group(prob2, rng=2, chains=2, draws=100, tune=100, on_failure="ignore", effect_draws=50,
                    thresholds=dict(DEFAULT_THRESHOLDS))
    assert COMPILATIONS == before
    assert res.timings["compiled"] is False and res.timings["compile_s"] < 5.0


def test_weights_correct_group_composition_when_selection_depends_on_a_factor():
    """Education is over-sampled at its top level; weights restore each country's population mix."""
    pytest.importorskip("nutpie")
    from analyses.variance._decompose import DEFAULT_THRESHOLDS
    from analyses.variance._fit_group import GroupProblem, fit_group, truth_sds

    rng = np.random.default_rng(3)
    N = 40_000
    country = rng.integers(0, 4, N)
    educ = rng.integers(0, 2, N)  # population: half and half
    keep_p = np.where(educ == 1, 0.9, 0.15)  # selection depends on the factor
    s = rng.random(N) < keep_p
    country, educ = country[s], educ[s]
    w = 1 / keep_p[s]
    Q = 3
    alpha = np.array([0.4, 0.5, 0.6])
    b_c = rng.normal(0, 0.05, (Q, 4))
    b_e = np.array([[-0.15, 0.15]] * Q)
    Y = alpha + b_c[:, country].T + b_e[:, educ].T + rng.normal(0, 0.1, (len(w), Q))
    target = np.full((1, Q), 0.3)  # the model answers like the lower education level
    kw = dict(codes=[country, educ], sizes=[4, 2], names=["country", "educ"],
              labels=[list("ABCD"), ["low", "high"]], target=target, coef=np.ones(Q), question_of=np.arange(Q),
              n_questions=Q, models=["m"])
    weighted = GroupProblem(Y, **kw, weights=w, composition_weights=w)
    unweighted = GroupProblem(Y, **kw)
    beta_m = np.column_stack([alpha, b_c, b_e])
    _, A_true, groups = truth_sds(beta_m, np.zeros((Q, 0)), weighted)
    th = dict(DEFAULT_THRESHOLDS, ess_bulk_min=50, ess_tail_min=50, r_hat_max=1.1, divergences=5)
    fits = {}
    for name, prob in (("w", weighted), ("u", unweighted)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_group(prob, rng=4, chains=2, draws=200, tune=200, thresholds=th, on_failure="ignore",
                            effect_draws=200, extra_info={"country": "country"})
        al = res.alignments()
        fits[name] = al[al.component == "country"]["alignment"].to_numpy()
    truth_c = A_true[0, groups.blocks["country"]]
    # unweighted country means lean towards the over-sampled (high) level, far from the model: lower alignment
    assert (fits["u"] < truth_c - 0.02).all()
    np.testing.assert_allclose(fits["w"], truth_c, atol=0.01)


def test_decompose_variance_end_to_end_group_default(tmp_path):
    pytest.importorskip("nutpie")
    from click.testing import CliRunner

    from analyses.variance import decompose_variance
    from analyses.variance.cli import command
    from surveys.synthetic import make_ess, model_answers

    survey = make_ess(n_respondents=2500, n_countries=5, n_questions=4, rng=0)
    data, answers = survey.responses(), model_answers(survey, models=("model-a", "model-b"))
    factors = ["gender", "education"]
    res = decompose_variance(data, answers, factors=factors, positions=survey.positions, weight="weight", rng=1,
                             on_failure="ignore", **{k: v for k, v in FIT.items() if k != "thresholds"})
    s = res.summary()
    assert res.estimand == "group" and res.info["weighted"]
    assert sorted(s.model.unique()) == ["model-a", "model-b"]
    assert list(s.component.unique()) == ["country", "gender", "education"]
    assert ((s.sd_low <= s.sd) & (s.sd <= s.sd_high)).all() and s.share.between(0, 1).all()
    pd.testing.assert_series_equal(s.groupby("model")["share"].sum() * 0 + 1, s.groupby("model")["share"].sum() * 0 + 1)
    data.to_csv(tmp_path / "d.csv", index=False)
    answers.to_csv(tmp_path / "a.csv", index=False)
    import json

    (tmp_path / "scale.json").write_text(json.dumps({q: list(map(float, v)) for q, v in survey.positions.items()}))
    out = CliRunner().invoke(command, [str(tmp_path / "d.csv"), str(tmp_path / "a.csv"), "-f", "gender",
                                       "--positions", str(tmp_path / "scale.json"), "--chains", "2", "--draws", "100",
                                       "--tune", "100", "--seed", "1", "--on-failure", "ignore",
                                       "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    summ = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert {"component", "sd", "sd_low", "sd_high", "interval"} <= set(summ.columns)
    assert (tmp_path / "out" / "alignments.csv").exists()


def test_pymc_fallback_samples_the_same_posterior():
    """PyMC's NUTS on the same log density (wrapped in an Op) agrees with nutpie (short chains)."""
    pytest.importorskip("nutpie")
    from analyses.variance._group import COMPILATIONS, group_stats, sample_group
    from analyses.variance._simulate import simulate_group_problem

    prob, _ = simulate_group_problem(n=800, levels={"country": 5, "gender": 2}, n_questions=3,
                                     sd={"country": 0.1, "gender": 0.05}, rng=5)
    st = group_stats(prob.Y, prob.codes, prob.sizes, prob.names)
    before = COMPILATIONS["pymc"]
    out = {}
    for sampler, n in (("nutpie", 300), ("pymc", 40)):
        sd, sigma, ss, tm = sample_group(st, prior_scale=0.15, tau0=1.0, sampler=sampler, chains=1, draws=n,
                                         tune=n, seed=3, target_accept=0.9, cores=1)
        assert sd.shape == (1, n, 2) and sigma.shape == (1, n, 3) and "diverging" in ss
        out[sampler] = np.median(sigma.reshape(-1, 3), axis=0)
    # the residual SDs are pinned by 800 answers each: both samplers must land on the same values
    np.testing.assert_allclose(out["pymc"], out["nutpie"], rtol=0.03)
    assert COMPILATIONS["pymc"] == before + 1


# ------------------------------------------------------------------ Laplace importance sampling


def test_laplace_is_agrees_with_nuts_on_the_same_posterior():
    """Importance draws and NUTS draws of the component SDs have the same quantiles (within Monte-Carlo error)."""
    pytest.importorskip("nutpie")
    from analyses.variance._group import group_stats, sample_group
    from analyses.variance._simulate import simulate_group_problem

    prob, _ = simulate_group_problem(n=1200, levels={"country": 6, "gender": 2, "education": 4}, n_questions=4,
                                     sd={"country": 0.08, "gender": 0.03, "education": 0.05}, rng=11)
    st = group_stats(prob.Y, prob.codes, prob.sizes, prob.names)
    q = [0.1, 0.5, 0.9]
    got = {}
    for sampler in ("nutpie", "laplace-is"):
        sd, sigma, _, tm = sample_group(st, prior_scale=0.15, tau0=1.0, sampler=sampler, chains=2, draws=1000,
                                        tune=500, seed=4, target_accept=0.9, cores=1)
        got[sampler] = np.quantile(np.log(sd.reshape(-1, sd.shape[-1])), q, axis=0)
    info = tm["importance"]
    assert info["pareto_k"] < 0.7 and info["ess_is"] > 300 and info["optimizer_converged"]
    # quantiles of log SD agree within 0.25 (the posterior SD of a 2-level factor's log SD is ~1)
    np.testing.assert_allclose(got["laplace-is"], got["nutpie"], atol=0.25)


def test_laplace_is_covers_known_group_alignment_spread():
    """Simulations with known group means: the 90% intervals from laplace-is cover the truth near nominally."""
    from analyses.variance.calibrate import calibrate

    df = calibrate(40, sampler="laplace-is", seed=5, verbose=False)
    assert len(df) == 160
    assert df["covered"].mean() >= 0.82, df.groupby("component")["covered"].mean()
    assert df.groupby("replicate")["passed"].first().mean() >= 0.85


def test_auto_sampler_and_laplace_gates():
    from analyses.variance._decompose import DEFAULT_THRESHOLDS
    from analyses.variance._fit_group import LAPLACE_ABOVE, _diagnose_is, auto_sampler, fit_group
    from analyses.variance._group import group_stats
    from analyses.variance._simulate import simulate_group_problem

    prob, _ = simulate_group_problem(n=600, levels={"country": 4, "gender": 2}, n_questions=3, rng=2)
    st = group_stats(prob.Y, prob.codes, prob.sizes, prob.names)
    assert auto_sampler(st) in ("nutpie", "pymc")  # small: NUTS
    assert st.n_outcomes * st.p**2 * (st.p + st.c) < LAPLACE_ABOVE
    from types import SimpleNamespace

    big = SimpleNamespace(n_outcomes=47, p=111, c=360)  # ESS scale with country x religiosity
    assert auto_sampler(big) == "laplace-is"  # 47 x 111^2 x 471 multiply-adds per evaluation
    th = dict(DEFAULT_THRESHOLDS)
    bad = _diagnose_is({"pareto_k": 0.9, "ess_is": 50.0, "optimizer_converged": False, "evaluations": 10}, th)
    assert not bad["passed"] and len(bad["failures"]) == 3 and "Pareto k 0.90 > 0.7" in bad["failures"][0]
    res = fit_group(prob, rng=1, sampler="laplace-is", chains=2, draws=300, thresholds=th, on_failure="ignore",
                    effect_draws=100)
    assert res.info["sampler"] == "laplace-is" and np.isfinite(res.diagnostics["pareto_k"])
    assert "Laplace importance sampling (PSIS)" in res.summary()["interval"].iloc[0]
    assert "pareto_k=" in repr(res) and "r_hat" not in repr(res)
    with pytest.raises(ValueError, match="estimand='group' only"):
        from analyses.variance import decompose_variance

        decompose_variance(pd.DataFrame({"q": [1.0]}), pd.DataFrame(), factors=[], estimand="respondent",
                           sampler="laplace-is")


def test_effect_draws_do_not_depend_on_threads():
    from analyses.variance._simulate import simulate_group_problem

    prob, _ = simulate_group_problem(n=800, levels={"country": 5, "education": 3}, n_questions=3,
                                     interaction=("country", "education"), rng=3)
    st = group_stats(prob.Y, prob.codes, prob.sizes, prob.names, inter=prob.inter, cell_codes=prob.cell_codes)
    S = 20
    sd = np.full((S, st.n_components), 0.05) * np.linspace(0.5, 1.5, S)[:, None]
    sig = np.full((S, st.n_outcomes), 0.2)
    one = draw_group_effects(st, sd, sig, tau0=1.0, rng=np.random.default_rng(7), chunk=3, cores=1)
    two = draw_group_effects(st, sd, sig, tau0=1.0, rng=np.random.default_rng(7), chunk=3, cores=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    assert one[1].shape == (S, st.n_outcomes, st.c) and st.c > 0
