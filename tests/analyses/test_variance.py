"""Variance decomposition: exact algebra, REML, simulator and input validation (no MCMC here).

Sampling tests live in ``test_variance_fit.py`` so that one worker compiles the
model once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, optimize, stats

from analyses.variance import decompose_outcome, decompose_variance, simulate_outcome
from analyses.variance._data import alignment_array
from analyses.variance._design import build_design, prior_blocks, sufficient_stats
from analyses.variance._model import build_collapsed_model, collapsed_logp
from analyses.variance._posterior import draw_effects, finite_population
from analyses.variance._reml import reml_fit, reml_loglik


# An independent NumPy formulation (einsum over options), used as an oracle for the core kernel.
def _reference_alignment(responses, probs, positions, metric):
    lo = np.nanmin(positions, axis=1)
    span = np.nanmax(positions, axis=1) - lo
    pos = np.nan_to_num(positions)
    p = np.nan_to_num(probs)
    if metric == "likert":
        mean = (p * pos[None]).sum(-1)  # M x Q
        return 1 - np.abs(responses[None] - mean[:, None, :]) / span
    dist = np.abs(responses[:, :, None] - pos[None])  # N x Q x K
    out = 1 - np.einsum("mqk,nqk->mnq", p, np.nan_to_num(dist)) / span
    out[:, np.isnan(responses)] = np.nan
    return out


def _random_design(rng, n, levels=(5, 3, 4), weights=False, interactions=()):
    names = [f"f{i}" for i in range(len(levels))]
    codes = {nm: rng.integers(0, L, n) for nm, L in zip(names, levels)}
    for nm, L in zip(names, levels):  # make sure every level occurs
        codes[nm][:L] = np.arange(L)
    labels = {nm: [f"{nm}_{j}" for j in range(L)] for nm, L in zip(names, levels)}
    w = rng.uniform(0.3, 3.0, n) if weights else None
    return build_design(codes, labels, interactions=interactions, weights=w)


def _dense(design):
    return np.asarray(design.matrix(scaled=False).toarray())


def _prior_cov(design, sd, tau0):
    """Covariance of the full coefficient vector under the zero-sum prior."""
    p = design.n_columns
    S = np.zeros((p, p))
    S[0, 0] = tau0**2
    for k, c in enumerate(design.components):
        Q = c.zero_sum_basis()
        S[c.columns, c.columns] = sd[k] ** 2 * (Q @ Q.T)
    return S


# --------------------------------------------------------------------------- exact compression


@pytest.mark.parametrize("weighted", [False, True])
def test_compressed_loglik_equals_rowwise_up_to_constant(rng, weighted):
    design = _random_design(rng, 120, weights=weighted)
    X = _dense(design)
    y = rng.normal(0.6, 0.1, design.n_rows)
    st = sufficient_stats(design, y)
    diffs = []
    for _ in range(6):
        b = rng.normal(0, 0.1, design.n_columns)
        sigma = rng.uniform(0.03, 0.3)
        # pseudo-likelihood: each row's Gaussian log-density times its (mean-1) weight
        row = float((design.weights * stats.norm(X @ b, sigma).logpdf(y)).sum())
        comp = stats.multivariate_normal(st.R @ b, sigma**2 * np.eye(st.rank)).logpdf(st.z) + stats.gamma(
            a=(st.n - st.rank) / 2, scale=2 * sigma**2
        ).logpdf(st.rss0)
        diffs.append(row - comp)
    assert np.ptp(diffs) < 1e-7 * max(1.0, abs(np.mean(diffs)))


def test_collapsed_logp_equals_integrated_rowwise_density(rng):
    """Effects integrated out: the n-variate Gaussian of y vs. the r-variate collapsed model."""
    design = _random_design(rng, 70, interactions=[("f0", "f1")])
    X = _dense(design)
    y = rng.normal(0.6, 0.1, design.n_rows)
    st = sufficient_stats(design, y)
    A, a0 = prior_blocks(design, st)
    mu0, tau0 = 0.55, 0.7
    diffs = []
    for _ in range(5):
        sd = rng.uniform(0.005, 0.2, len(design.components))
        sigma = rng.uniform(0.03, 0.3)
        mean = X[:, 0] * mu0
        cov = X @ _prior_cov(design, sd, tau0) @ X.T + sigma**2 * np.eye(design.n_rows)
        row = stats.multivariate_normal(mean, cov).logpdf(y)
        diffs.append(row - collapsed_logp(sd, sigma, A, a0, st.z, st.rss0, st.n, mu0=mu0, tau0=tau0))
    assert np.ptp(diffs) < 1e-7 * max(1.0, abs(np.mean(diffs)))


def test_pymc_model_logp_matches_scipy_oracle(rng):
    design = _random_design(rng, 90)
    y = rng.normal(0.6, 0.1, design.n_rows)
    st = sufficient_stats(design, y)
    A, a0 = prior_blocks(design, st)
    model = build_collapsed_model(A, a0, st.z, st.rss0, st.n, prior_scale=0.2, mu0=0.6, tau0=2.0)
    fn = model.compile_logp(vars=model.observed_RVs, jacobian=False)
    for _ in range(4):
        sd = rng.uniform(0.005, 0.2, len(design.components))
        sigma = rng.uniform(0.03, 0.3)
        got = fn({"sd_super_log__": np.log(sd), "sigma_log__": np.log(sigma)})
        want = collapsed_logp(sd, sigma, A, a0, st.z, st.rss0, st.n, mu0=0.6, tau0=2.0)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-7)


def test_zero_sum_basis_and_interaction_codes():
    design = build_design({"a": np.array([0, 1, 2, 0]), "b": np.array([1, 0, 1, 1])},
                          {"a": ["x", "y", "z"], "b": ["u", "v"]}, interactions=[("a", "b")])
    inter = design.components[2]
    assert inter.name == "a:b" and inter.shape == (3, 2) and inter.dof == 2
    assert inter.labels[design.codes[1, 2]] == "y|u"
    for c in design.components:
        Q = c.zero_sum_basis()
        np.testing.assert_allclose(Q.T @ Q, np.eye(c.dof), atol=1e-12)
        np.testing.assert_allclose(Q.sum(axis=0), 0, atol=1e-12)
    # the interaction basis is double-centred: zero sums over each axis
    Q = inter.zero_sum_basis().reshape(3, 2, -1)
    np.testing.assert_allclose(Q.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Q.sum(axis=1), 0, atol=1e-12)


# --------------------------------------------------------------------------- conditional effects


def test_conditional_effect_draws_match_gaussian_posterior(rng):
    design = _random_design(rng, 80, levels=(4, 3), weights=True)
    X = _dense(design)
    W = np.diag(design.weights)
    y = rng.normal(0.6, 0.1, design.n_rows)
    st = sufficient_stats(design, y)
    sd, sigma, mu0, tau0 = np.array([0.08, 0.04]), 0.1, 0.5, 1.0
    S = 20_000
    intercept, effects = draw_effects(design, st, np.tile(sd, (S, 1)), np.full(S, sigma), mu0=mu0, tau0=tau0, rng=rng)
    b = np.column_stack([intercept] + effects)
    # Exact posterior of b from the row-level weighted model, prior N(m, Sb)
    Sb = _prior_cov(design, sd, tau0)
    m = np.zeros(design.n_columns)
    m[0] = mu0
    V = X @ Sb @ X.T + sigma**2 * np.linalg.inv(W)
    gain = Sb @ X.T @ np.linalg.inv(V)
    post_mean = m + gain @ (y - X @ m)
    post_cov = Sb - gain @ X @ Sb
    se = np.sqrt(np.clip(np.diag(post_cov), 0, None) / S)
    np.testing.assert_array_less(np.abs(b.mean(axis=0) - post_mean), 5 * se + 1e-12)
    np.testing.assert_allclose(b.var(axis=0), np.diag(post_cov), rtol=0.06, atol=1e-12)


def test_finite_population_quantities(rng):
    # balanced full factorial: factors orthogonal, so the covariance remainder vanishes
    a, b = np.meshgrid(np.arange(4), np.arange(3), indexing="ij")
    codes = {"a": np.tile(a.ravel(), 5), "b": np.tile(b.ravel(), 5)}
    design = build_design(codes, {"a": list("wxyz"), "b": list("uvt")})
    st = sufficient_stats(design, rng.normal(size=design.n_rows))
    ea = rng.normal(size=(7, 4))
    ea -= ea.mean(axis=1, keepdims=True)
    eb = rng.normal(size=(7, 3))
    eb -= eb.mean(axis=1, keepdims=True)
    sigma = rng.uniform(0.5, 1.0, 7)
    fp = finite_population(design, st, [ea, eb], sigma)
    np.testing.assert_allclose(fp["sd_finite"][:, 0], ea.std(axis=1, ddof=1))
    np.testing.assert_allclose(fp["sd_finite"][:, 1], eb.std(axis=1, ddof=1))
    np.testing.assert_allclose(fp["share"].sum(axis=1), 1.0)
    s2 = fp["sd_finite"] ** 2
    np.testing.assert_allclose(fp["share_total"], s2 / (s2.sum(axis=1, keepdims=True) + sigma[:, None] ** 2))
    contrib_a = ea[:, design.codes[:, 0]]
    np.testing.assert_allclose(fp["var_explained"][:, 0], contrib_a.var(axis=1))
    np.testing.assert_allclose(fp["cov_remainder"], 0, atol=1e-12)


def test_covariance_remainder_when_factors_are_correlated(rng):
    n = 500
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < 0.8, a, rng.integers(0, 3, n))  # b mostly equals a
    design = build_design({"a": a, "b": b}, {"a": list("xyz"), "b": list("uvw")}, weights=rng.uniform(0.5, 2, n))
    st = sufficient_stats(design, rng.normal(size=n))
    ea = np.array([[-1.0, 0.0, 1.0]])
    eb = np.array([[-0.5, 0.0, 0.5]])
    fp = finite_population(design, st, [ea, eb], np.array([1.0]))
    total = ea[0, a] + eb[0, b]
    w = design.weights
    var_w = lambda x: np.average((x - np.average(x, weights=w)) ** 2, weights=w)  # noqa: E731
    want = var_w(total) - var_w(ea[0, a]) - var_w(eb[0, b])
    assert want > 0.1
    assert fp["cov_remainder"][0] == pytest.approx(want, rel=1e-10)


# --------------------------------------------------------------------------- REML


def test_reml_balanced_one_way_equals_anova_estimates(rng):
    """Balanced one-way layout: REML = the ANOVA estimators when the between-group estimate is positive.

    sigma^2 = MSW and sigma_g^2 = (MSB - MSW) / m (Searle, Casella & McCulloch, Variance
    Components, 1992, sec. 3.7 / 6.8).
    """
    L, m = 15, 20
    g = np.repeat(np.arange(L), m)
    y = 0.5 + rng.normal(0, 0.07, L)[g] + rng.normal(0, 0.1, L * m)
    design = build_design({"g": g}, {"g": [str(i) for i in range(L)]})
    st = sufficient_stats(design, y)
    A, a0 = prior_blocks(design, st)
    sd, sigma, info = reml_fit(A, a0, st.z, st.rss0, st.n, scale=st.y_sd)
    means = y.reshape(L, m).mean(axis=1)
    msw = ((y.reshape(L, m) - means[:, None]) ** 2).sum() / (L * (m - 1))
    msb = m * ((means - y.mean()) ** 2).sum() / (L - 1)
    assert msb > msw
    assert info["converged"]
    assert sigma == pytest.approx(np.sqrt(msw), rel=1e-4)
    assert sd[0] == pytest.approx(np.sqrt((msb - msw) / m), rel=1e-4)


def test_reml_crossed_loglik_equals_rowwise_restricted_likelihood(rng):
    """Against the textbook REML criterion on the n x n covariance with iid effects."""
    design = _random_design(rng, 100, levels=(6, 4))
    X = _dense(design)
    y = rng.normal(0.6, 0.1, design.n_rows)
    st = sufficient_stats(design, y)
    A, a0 = prior_blocks(design, st)
    one = np.ones((design.n_rows, 1))

    def rowwise(sd, sigma):
        V = sigma**2 * np.eye(design.n_rows)
        for k, c in enumerate(design.components):
            Z = X[:, c.columns]
            V += sd[k] ** 2 * Z @ Z.T
        c_ = linalg.cho_factor(V)
        Vi1 = linalg.cho_solve(c_, one)
        Viy = linalg.cho_solve(c_, y)
        beta = float((one.T @ Viy)[0] / (one.T @ Vi1)[0, 0])
        res = y - one[:, 0] * beta
        return -0.5 * (2 * np.log(np.diag(c_[0])).sum() + np.log(one.T @ Vi1)[0, 0] + res @ linalg.cho_solve(c_, res))

    diffs = []
    for _ in range(5):
        sd = rng.uniform(0.01, 0.2, 2)
        sigma = rng.uniform(0.05, 0.3)
        diffs.append(rowwise(sd, sigma) - reml_loglik(np.log(sd), np.log(sigma), A, a0, st.z, st.rss0, st.n))
    assert np.ptp(diffs) < 1e-7 * max(1.0, abs(np.mean(diffs)))
    # and the maximiser agrees with a direct optimisation of the row-wise criterion
    sd_hat, sig_hat, _ = reml_fit(A, a0, st.z, st.rss0, st.n, scale=st.y_sd)
    res = optimize.minimize(lambda x: -rowwise(np.exp(x[:2]), np.exp(x[2])), np.log([0.05, 0.05, 0.1]),
                            method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    want = np.exp(res.x)
    got = np.r_[sd_hat, sig_hat]
    big = want > 1e-3  # a component estimated at the boundary can sit anywhere near zero
    np.testing.assert_allclose(got[big], want[big], rtol=1e-3)


# --------------------------------------------------------------------------- simulator


def test_simulate_outcome_truth_is_consistent(rng):
    df = pd.DataFrame({"country": rng.choice(list("ABCDEFG"), 600), "sex": rng.choice(["f", "m", None], 600)})
    y, truth = simulate_outcome(df, factors=["sex"], sd={"country": 0.1, "sex": 0.05}, sigma=0.2, intercept=1.0, rng=rng)
    eff = truth.attrs["effects"]
    assert set(eff) == {"country", "sex"} and len(eff["sex"]) == 3  # missing is its own level
    for c in ("country", "sex"):
        assert eff[c].sum() == pytest.approx(0, abs=1e-12)
        row = truth.set_index("component").loc[c]
        assert row["sd_finite"] == pytest.approx(np.std(eff[c], ddof=1))
    assert truth["share"].sum() == pytest.approx(1.0)
    codes_c = pd.Categorical(df["country"]).codes
    resid = y - 1.0 - eff["country"][codes_c]
    assert abs(resid.std() - np.sqrt(0.2**2 + np.var(eff["sex"]))) < 0.03
    with pytest.raises(ValueError, match="unknown component"):
        simulate_outcome(df, factors=["sex"], sd={"religion": 0.1}, sigma=0.1)


# --------------------------------------------------------------------------- alignment outcome


def _toy_inputs():
    data = pd.DataFrame({"q1": [1.0, 2.0, 5.0, np.nan], "q2": [0.0, 1.0, np.nan, 1.0],
                         "country": ["A", "A", "B", "B"], "sex": ["f", "m", "f", None]})
    answers = pd.DataFrame({
        "model": ["m"] * 7,
        "question": ["q1"] * 5 + ["q2"] * 2,
        "option": [1, 2, 3, 4, 5, 0, 1],
        "prob": [0.1, 0.2, 0.4, 0.2, 0.1, 0.25, 0.75],
    })
    return data, answers


def test_alignment_outcome_by_hand():
    data, answers = _toy_inputs()
    a, models, qs = alignment_array(data, answers, metric="likert")
    assert models == ["m"] and qs == ["q1", "q2"]
    # q1 model mean 3, range 4; q2 model mean 0.75, range 1
    np.testing.assert_allclose(a[0, :, 0], [1 - 2 / 4, 1 - 1 / 4, 1 - 2 / 4, np.nan])
    np.testing.assert_allclose(a[0, :, 1], [1 - 0.75, 1 - 0.25, np.nan, 1 - 0.25])
    w, _, _ = alignment_array(data, answers, metric="wasserstein")
    # respondent 0 on q1: sum_k p_k |1 - k| / 4
    assert w[0, 0, 0] == pytest.approx(1 - (0.2 * 1 + 0.4 * 2 + 0.2 * 3 + 0.1 * 4) / 4)


def test_private_alignment_matches_alignstat(rng):
    from alignstat import respondent_alignment

    Q, K, N, M = 4, 5, 30, 2
    positions = np.tile(np.arange(K, dtype=float), (Q, 1))
    positions[1, 3:] = np.nan
    probs = rng.dirichlet(np.ones(K), size=(M, Q))
    probs[:, 1, 3:] = np.nan
    probs[:, 1, :3] = rng.dirichlet(np.ones(3), size=M)
    resp = rng.integers(0, K, (N, Q)).astype(float)
    resp[:, 1] = rng.integers(0, 3, N)
    resp[rng.random((N, Q)) < 0.1] = np.nan
    for metric in ("likert", "wasserstein"):
        np.testing.assert_allclose(_reference_alignment(resp, probs, positions, metric),
                                   respondent_alignment(resp, probs, positions, metric=metric), atol=1e-12)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"factors": ["nope"]}, ValueError, "lacks required column"),
        ({"factors": "sex"}, TypeError, "sequence of column names"),
        ({"factors": ["sex"], "metric": "euclid"}, ValueError, "`metric` must be one of"),
        ({"factors": ["sex"], "chains": 0}, ValueError, "`chains` must be an integer"),
        ({"factors": ["sex"], "sampler": "stan"}, ValueError, "`sampler` must be one of"),
        ({"factors": ["sex"], "on_failure": "shrug"}, ValueError, "`on_failure` must be one of"),
        ({"factors": ["sex"], "interactions": [("country", "age")]}, ValueError, "`interactions` entry"),
        ({"factors": ["sex"], "unit": "cell", "estimand": "respondent"}, ValueError, "`unit` must be one of"),
        ({"factors": ["sex"], "unit": "respondent"}, ValueError, "`unit` belongs to estimand='respondent'"),
        ({"factors": ["sex"], "estimand": "person"}, ValueError, "`estimand` must be one of"),
        ({"factors": ["sex"], "interactions": [("country", "sex"), ("sex", "country")]}, ValueError,
         "at most one interaction"),
        ({"factors": ["sex"], "reml": True}, ValueError, "estimand='respondent' only"),
        ({"factors": ["sex"], "missing": "impute"}, ValueError, "`missing` must be one of"),
        ({"factors": ["sex"], "target_accept": 1.5}, ValueError, "`target_accept`"),
        ({"factors": ["sex", "sex"]}, ValueError, "duplicate"),
        ({"factors": ["country"]}, ValueError, "must not repeat the country column"),
    ],
)
def test_decompose_variance_rejects_bad_options(kwargs, exc, match):
    data, answers = _toy_inputs()
    with pytest.raises(exc, match=match):
        decompose_variance(data, answers, **kwargs)


def test_decompose_variance_rejects_bad_data():
    data, answers = _toy_inputs()
    bad = data.assign(q1=[1.0, 2.0, 7.0, np.nan])
    scale = {"q1": [1, 2, 3, 4, 5], "q2": [0, 1]}
    with pytest.raises(ValueError, match="column 'q1'.*not option positions"):
        decompose_variance(bad, answers, factors=["sex"], positions=scale)
    with pytest.raises(ValueError, match="too few respondents"):
        decompose_variance(data, answers, factors=["sex"], positions=scale)
    with pytest.raises(ValueError, match="weight column 'w'"):
        decompose_variance(data.assign(w=[1.0, -1.0, 1.0, 1.0]), answers, factors=["sex"], weight="w")
    with pytest.raises(ValueError, match="lacks required column"):
        decompose_variance(data, answers.drop(columns="prob"), factors=["sex"])
    two = pd.concat([answers, answers[answers.question == "q1"].assign(model="m2")])
    with pytest.raises(ValueError, match="model 'm2' on question"):
        decompose_variance(data, two, factors=["sex"])
    with pytest.raises(ValueError, match="prob -0.1 for option 1.0 is negative"):
        decompose_variance(data, answers.assign(prob=-answers["prob"]), factors=["sex"])
    with pytest.raises(TypeError, match="`data` must be a pandas DataFrame"):
        decompose_variance(data.to_numpy(), answers, factors=["sex"])


def test_decompose_outcome_rejects_bad_outcome(rng):
    df = pd.DataFrame({"country": list("AABB"), "sex": list("fmfm"), "y": [0.1, 0.2, 0.3, 0.4]})
    with pytest.raises(ValueError, match="`outcome` column 'z'"):
        decompose_outcome(df, outcome={"z": "z"}, factors=["sex"])
    with pytest.raises(ValueError, match="one value per row"):
        decompose_outcome(df, outcome={"y": np.ones(3)}, factors=["sex"])
    with pytest.raises(ValueError, match="too few rows"):
        decompose_outcome(df, outcome="y", factors=["sex"], rng=rng)
    with pytest.raises(ValueError, match="grouping column 'country' has 1 level"):
        decompose_outcome(df.assign(country="A"), outcome="y", factors=["sex"])
    with pytest.raises(ValueError, match="unknown key"):
        decompose_outcome(pd.concat([df] * 5, ignore_index=True).assign(y=rng.normal(size=20)), outcome="y",
                          factors=["sex"], thresholds={"rhat": 1.1})


def test_cli_help_has_example_and_rejects_bad_interaction(tmp_path):
    from click.testing import CliRunner

    from analyses.variance.cli import command

    out = CliRunner().invoke(command, ["--help"])
    assert out.exit_code == 0 and "Example:" in out.output and "alignstat decompose" in out.output
    data, answers = _toy_inputs()
    data.to_csv(tmp_path / "d.csv", index=False)
    answers.to_csv(tmp_path / "a.csv", index=False)
    res = CliRunner().invoke(command, [str(tmp_path / "d.csv"), str(tmp_path / "a.csv"), "-f", "sex",
                                       "--interaction", "country"])
    assert res.exit_code != 0 and "must look like A:B" in res.output
    res = CliRunner().invoke(command, [str(tmp_path / "d.csv"), str(tmp_path / "a.csv"), "-f", "nope"])
    assert res.exit_code == 1 and "lacks required column" in res.output
