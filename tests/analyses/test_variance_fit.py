"""Respondent-level variance decomposition (``estimand="respondent"``) fitted by MCMC: recovery, REML
agreement, diagnostics, CLI.  The default group estimand, its calibration and the PyMC fallback are tested in
``test_variance_group.py`` (calibration at 50 replicates: ``python -m analyses.variance.calibrate``).

Every nutpie fit here has 12 components (country + 11 factors, or an
equivalent set), so the model is compiled once per worker and reused with new
``pm.Data`` values.  Runs are short (2 chains) and the ESS thresholds are
lowered accordingly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alignstat import DataPolicyWarning, DiagnosticsWarning
from analyses.variance import ConvergenceError, decompose_outcome, decompose_variance, simulate_outcome

FACTORS = ["gender", "ethnic_majority", "generation", "education", "income_decile", "main_activity", "religion",
           "religiosity", "domicile", "political_interest", "internet_time"]
SHORT = {"chains": 2, "draws": 300, "tune": 300, "thresholds": {"ess_bulk_min": 100, "ess_tail_min": 100,
                                                                  "r_hat_max": 1.03}}
TRUE_SD = {"country": 0.04, "gender": 0.004, "ethnic_majority": 0.01, "generation": 0.012, "education": 0.02,
           "income_decile": 0.008, "main_activity": 0.01, "religion": 0.03, "religiosity": 0.022, "domicile": 0.005,
           "political_interest": 0.015, "internet_time": 0.006}


@pytest.fixture(scope="module")
def ess():
    from surveys.synthetic import make_ess, model_answers

    survey = make_ess(n_respondents=20_000, n_countries=10, n_questions=8, rng=0)
    return survey.responses(), model_answers(survey)


@pytest.fixture(scope="module")
def simulated(ess):
    data, _ = ess
    y, truth = simulate_outcome(data, factors=FACTORS, sd=TRUE_SD, sigma=0.08, intercept=0.62, rng=11)
    res = decompose_outcome(data.assign(y=y), outcome="y", factors=FACTORS, reml=True, rng=3, chains=2, draws=500,
                            tune=500, thresholds={"ess_bulk_min": 200, "ess_tail_min": 200})
    return data, truth, res


def test_recovers_known_components(simulated):
    _, truth, res = simulated
    assert res.passed, res.diagnostics["failures"]
    s = res.summary().set_index("component")
    t = truth.set_index("component")
    assert list(s.index) == ["country"] + FACTORS + ["residual"]
    inside = [(s.loc[c, "sd_low"] <= t.loc[c, "sd_finite"] <= s.loc[c, "sd_high"]) for c in s.index]
    assert sum(inside) >= 11, s[["sd", "sd_low", "sd_high"]].assign(truth=t["sd_finite"])
    # the biggest components are pinned down: median within 25% of the realised SD
    for c in ("country", "religion"):
        assert s.loc[c, "sd"] == pytest.approx(t.loc[c, "sd_finite"], rel=0.25)
    assert s.loc["residual", "sd"] == pytest.approx(0.08, rel=0.03)
    # shares of between-group variance: intervals cover, medians close
    comps = s.index[:-1]
    inside = [(s.loc[c, "share_low"] <= t.loc[c, "share"] <= s.loc[c, "share_high"]) for c in comps]
    assert sum(inside) >= 10, s[["share", "share_low", "share_high"]].assign(truth=t["share"])
    np.testing.assert_allclose(s.loc[comps, "share"], t.loc[comps, "share"], atol=0.06)
    draws = res.idata.posterior["share"].sum("component").values
    np.testing.assert_allclose(draws, 1.0, rtol=1e-12)  # per draw the shares are a partition


def test_reml_agrees_with_posterior_where_informative(simulated):
    _, _, res = simulated
    cmp = res.reml_comparison().set_index("component")
    assert res.reml["converged"].all()
    for c in ("country", "religion", "religiosity", "education", "residual"):
        assert cmp.loc[c, "sd_reml"] == pytest.approx(cmp.loc[c, "sd"], rel=0.15), cmp


def test_diagnostics_and_idata_contents(simulated, tmp_path):
    import arviz as az

    _, _, res = simulated
    d = res.diagnostics
    for key in ("r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences", "max_treedepth_hits", "ebfmi_min",
                "passed", "failures"):
        assert key in d
    assert 0.99 < d["r_hat_max"] < 1.03 and d["divergences"] == 0
    post = res.idata.posterior
    assert post["sd_finite"].dims == ("chain", "draw", "model", "component")
    eff = post["effect_religion"]
    np.testing.assert_allclose(eff.sum("religion_level"), 0, atol=1e-10)  # zero-sum effects
    path = res.to_netcdf(tmp_path / "fit.nc")
    back = az.from_netcdf(path)
    np.testing.assert_array_equal(back.posterior["sd_finite"].values, post["sd_finite"].values)
    assert "diverging" in back.sample_stats
    for kind, suffix in (("components", "png"), ("effects", "pdf")):
        fig = res.plot(tmp_path / f"{kind}.{suffix}", kind=kind)
        assert (tmp_path / f"{kind}.{suffix}").stat().st_size > 1000 and fig.axes
    e = res.effects()
    assert set(e.columns) == {"model", "component", "level", "mean", "median", "low", "high"}
    assert (e["low"] <= e["median"]).all() and (e["median"] <= e["high"]).all()


def test_end_to_end_on_answers_with_weights(ess, tmp_path):
    data, answers = ess
    res = decompose_variance(data, answers, factors=FACTORS, weight="weight", rng=1, estimand="respondent", **SHORT)
    s = res.summary()
    models = sorted(answers["model"].unique())
    assert sorted(s["model"].unique()) == models
    assert len(s) == len(models) * (len(FACTORS) + 2)
    required = ["model", "component", "sd", "sd_low", "sd_high", "share"]
    assert all(c in s.columns for c in required) and s[required].iloc[:, 2:].notna().sum().gt(0).all()
    inner = s[s.component != "residual"]
    assert ((inner.sd_low <= inner.sd) & (inner.sd <= inner.sd_high)).all()
    assert inner["share"].between(0, 1).all()
    assert res.info["weighted"] and res.info["n_respondents"] == len(data)
    assert s.set_index(["model", "component"]).loc[(models[0], "country"), "n_levels"] == data["country"].nunique()


def test_response_level_unit_adds_question_effects(ess):
    data, answers = ess
    factors = FACTORS[:10]  # country + 10 factors + question = 12 components, reusing the compiled model
    res = decompose_variance(data, answers[answers.model == "model-a"], factors=factors, unit="response",
                             estimand="respondent",
                             metric="wasserstein", rng=2, **SHORT)
    s = res.summary().set_index("component")
    assert "question" in s.index and s.loc["question", "n_levels"] == 8
    assert res.info["n_rows"] == int(data[res.info["questions"]].notna().to_numpy().sum())


def test_interaction_block_is_double_centred(ess):
    data, _ = ess
    y, truth = simulate_outcome(data, factors=FACTORS[:10], sd={"country": 0.04, "religion": 0.03,
                                                                "country:religion": 0.02},
                                sigma=0.08, interactions=[("country", "religion")], rng=5)
    res = decompose_outcome(data.assign(y=y), outcome="y", factors=FACTORS[:10],
                            interactions=[("country", "religion")], rng=5, on_failure="ignore",
                            **dict(SHORT, draws=200, tune=200))
    name = "country:religion"
    s = res.summary().set_index("component")
    n_c, n_r = data["country"].nunique(), data["religion"].fillna("x").nunique()
    assert s.loc[name, "n_levels"] == n_c * n_r
    eff = res.idata.posterior["effect_country_x_religion"].values.reshape(-1, n_c, n_r)
    np.testing.assert_allclose(eff.sum(axis=1), 0, atol=1e-10)
    np.testing.assert_allclose(eff.sum(axis=2), 0, atol=1e-10)
    t = truth.set_index("component")
    wide = res.summary(hdi_prob=0.99).set_index("component")  # one interval checked: use 99% so it rarely misses
    for c in (name, "country", "religion"):
        assert wide.loc[c, "sd_low"] <= t.loc[c, "sd_finite"] <= wide.loc[c, "sd_high"], (c, wide.loc[c], t.loc[c])


def test_seeded_runs_are_reproducible(ess):
    data, _ = ess
    y, _ = simulate_outcome(data, factors=FACTORS, sd=TRUE_SD, sigma=0.08, rng=7)
    kw = dict(outcome="y", factors=FACTORS, chains=2, draws=50, tune=50, on_failure="ignore")
    a = decompose_outcome(data.assign(y=y), rng=42, **kw).summary()
    b = decompose_outcome(data.assign(y=y), rng=42, **kw).summary()
    c = decompose_outcome(data.assign(y=y), rng=43, **kw).summary()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["sd"], c["sd"])


def test_failed_diagnostics_warn_or_raise(ess):
    data, _ = ess
    y, _ = simulate_outcome(data, factors=FACTORS, sd=TRUE_SD, sigma=0.08, rng=8)
    kw = dict(outcome="y", factors=FACTORS, chains=2, draws=20, tune=20, rng=1)
    with pytest.warns(DiagnosticsWarning, match="failed its sampler diagnostics") as rec:
        res = decompose_outcome(data.assign(y=y), **kw)
    assert rec[0].filename == __file__  # the warning points at the caller
    assert not res.passed and any("ESS" in f for f in res.diagnostics["failures"])
    with pytest.raises(ConvergenceError, match="ESS") as info:
        decompose_outcome(data.assign(y=y), on_failure="raise", **kw)
    assert info.value.result is not None and not info.value.result.passed


def test_cli_end_to_end(ess, tmp_path):
    import json

    from click.testing import CliRunner

    from analyses.variance.cli import command

    data, answers = ess
    data.to_parquet(tmp_path / "ess.parquet")
    answers[answers.model == "model-b"].to_csv(tmp_path / "answers.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(command, [str(tmp_path / "ess.parquet"), str(tmp_path / "answers.csv"),
                                       "--factors", ",".join(FACTORS), "--chains", "2", "--draws", "200",
                                       "--tune", "200", "--seed", "1", "--reml", "--estimand", "respondent",
                                       "--out", str(out), "--format", "pdf"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "REML cross-check" in res.output and "diagnostics" in res.output
    for name in ("summary.csv", "effects.csv", "decomposition.nc", "components.pdf", "effects_model-b.pdf",
                 "diagnostics.json", "reml.csv"):
        assert (out / name).stat().st_size > 0, name
    summ = pd.read_csv(out / "summary.csv")
    assert list(summ["component"]) == ["country"] + FACTORS + ["residual"]
    diag = json.loads((out / "diagnostics.json").read_text())
    assert {"r_hat_max", "ess_bulk_min", "divergences", "passed"} <= set(diag)


def test_missing_factor_values_group_or_drop(simulated):
    data, _, res = simulated
    n_missing = int(data["religion"].isna().sum())
    assert n_missing > 0
    levels = res.effects().query("component == 'religion'")["level"].tolist()
    assert "(missing)" in levels  # default: missing is its own group, every factor partitions respondents
    rng = np.random.default_rng(0)
    frame = data.assign(y=rng.normal(0.6, 0.1, len(data)))
    frame.loc[:9, "weight"] = 0.0
    with pytest.warns(DataPolicyWarning) as rec:
        dropped = decompose_outcome(frame, outcome="y", factors=FACTORS, missing="drop", weight="weight", rng=1,
                                    on_failure="ignore", chains=2, draws=50, tune=50)
    messages = " ".join(str(w.message) for w in rec)
    assert "missing='drop'" in messages and "zero weight in column 'weight'" in messages
    assert "(missing)" not in dropped.effects()["level"].tolist()
    complete = frame[FACTORS + ["country"]].notna().all(axis=1) & (frame["weight"] > 0)
    assert dropped.info["n_rows"] == int(complete.sum())
