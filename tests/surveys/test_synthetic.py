"""Tests of the synthetic-survey generator (surveys.synthetic)."""

import numpy as np
import pandas as pd
import pytest

from surveys.synthetic import make_ess, make_wvs, model_answers

FACTORS = ["gender", "ethnic_majority", "generation", "education", "income_decile",
           "main_activity", "religion", "religiosity", "domicile", "political_interest",
           "internet_time"]


@pytest.fixture(scope="module")
def ess():
    return make_ess(6_000, 8, 47, rng=3)


@pytest.fixture(scope="module")
def wvs():
    return make_wvs(6_000, 10, 20, rng=4, not_asked=0.05)


def test_ess_shapes_and_names(ess):
    assert len(ess.data) == 6_000
    assert len(ess.questions) == 47
    assert ess.data["cntry"].nunique() == 8
    r = ess.responses()
    assert list(r.columns) == [*ess.questions, "country", *FACTORS, "weight"]
    for q in ess.questions:
        assert r[q].dtype == np.float64
    # split-ballot concept: three form variables in the raw data, one question in the clean frame
    assert {"testjc34", "testjc37", "testjc40"} <= set(ess.data.columns)
    assert "testjc37" not in r.columns
    assert ess.indicators["testjc34"] == pytest.approx({"testjc34": 1 / 3, "testjc37": 1 / 3, "testjc40": 1 / 3})


def test_same_seed_same_survey_other_seed_differs():
    a = make_ess(1_000, 3, 5, rng=11)
    b = make_ess(1_000, 3, 5, rng=11)
    c = make_ess(1_000, 3, 5, rng=12)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data["ppltrst"].equals(c.data["ppltrst"])


def test_clean_frame_decodes_raw_codes(ess):
    """Clean positions = raw codes where valid; NaN exactly where a missing code was recorded."""
    d, r = ess.data, ess.responses()
    for q in ("ppltrst", "gincdif", "ipcrtiva"):
        raw = d[q].to_numpy()
        lo, hi = ess.meta.missing_ranges[q][0]
        miss = (raw >= lo) & (raw <= hi)
        np.testing.assert_array_equal(np.isnan(r[q].to_numpy()), miss)
        np.testing.assert_array_equal(r[q].to_numpy()[~miss], raw[~miss])
        assert set(np.unique(raw[~miss])) <= set(ess.positions[q])
    # split-ballot: the clean value is the answer on the form the respondent got
    forms = d[["testjc34", "testjc37", "testjc40"]].to_numpy()
    got = forms[np.arange(len(d)), d["ballot"].to_numpy().astype(int) - 1]
    expect = np.where(got >= 66, np.nan, got)
    np.testing.assert_array_equal(r["testjc34"].to_numpy(), expect)
    # gender: 1 Male, 2 Female, 9 no answer -> NaN
    g = d["gndr"].to_numpy()
    np.testing.assert_array_equal(r["gender"].isna().to_numpy(), g == 9)
    assert set(r.loc[g == 1, "gender"]) == {"Male"}
    # religion is not applicable (NaN) for those who belong to no religion
    assert r.loc[d["rlgblg"].to_numpy() == 2, "religion"].isna().all()


def test_ess_weights_follow_the_ess_construction(ess):
    d = ess.data
    np.testing.assert_allclose(d["anweight"], d["pspwght"] * d["pweight"], rtol=1e-12)
    means = d.groupby("cntry")[["dweight", "pspwght"]].mean()
    np.testing.assert_allclose(means.to_numpy(), 1.0, rtol=1e-10)
    assert d.groupby("cntry")["pweight"].nunique().eq(1).all()
    np.testing.assert_allclose(d["pweight"].mean(), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(ess.responses()["weight"], d["anweight"])


def test_design_columns_are_nested_and_have_no_singleton_strata(ess, wvs):
    d = ess.data
    assert d.groupby("psu")["stratum"].nunique().eq(1).all()
    assert d.groupby("stratum")["cntry"].nunique().eq(1).all()
    assert d.groupby("stratum")["psu"].nunique().min() >= 2
    assert wvs.data.groupby("I_PSU")["B_COUNTRY"].nunique().eq(1).all()


def test_country_effects_are_recovered(ess):
    """Country means of answers (signed by the item's loading) track the true country effect."""
    r = ess.responses()
    t = ess.truth
    load = t["questions"].set_index("question")["loading"]
    scores = []
    for q in ess.questions:
        pos = ess.positions[q]
        m = r.groupby("country")[q].mean()
        scores.append(np.sign(load[q]) * (m - pos.min()) / (pos.max() - pos.min()))
    score = pd.concat(scores, axis=1).mean(axis=1)
    u = t["country"].set_index("country")["effect"].reindex(score.index)
    assert np.corrcoef(score, u)[0, 1] > 0.9


def test_factor_effects_can_be_fixed():
    s = make_ess(8_000, 4, 12, rng=5, factor_effects={"gender": [0.8, -0.8]}, factor_sd=0.0,
                 country_sd=0.0)
    f = s.truth["factors"]
    np.testing.assert_allclose(f.loc[f.factor == "gender", "effect"], [0.8, -0.8])
    r = s.responses()
    load = s.truth["questions"].set_index("question")["loading"]
    q = load.abs().idxmax()
    diff = r.loc[r.gender == "Male", q].mean() - r.loc[r.gender == "Female", q].mean()
    assert np.sign(diff) == np.sign(load[q])


def test_bad_settings_raise():
    with pytest.raises(TypeError, match="unknown effect setting"):
        make_ess(1_000, 2, 3, bogus=1)
    with pytest.raises(ValueError, match="n_respondents"):
        make_ess(10, 2, 3)
    with pytest.raises(ValueError, match="nonresponse"):
        make_ess(1_000, 2, 3, nonresponse=1.5)
    with pytest.raises(ValueError, match="factor_effects"):
        make_ess(1_000, 2, 3, factor_effects={"gender": [1.0, 2.0, 3.0]})


def test_wvs_codes_and_not_asked(wvs):
    d, r = wvs.data, wvs.responses()
    assert {"B_COUNTRY", "W_WEIGHT", "S018", "I_PSU", "Q260", "Q261", "Q288"} <= set(d.columns)
    na = wvs.truth["not_asked"]
    assert len(na) > 0
    for _, row in na.iterrows():
        col = d.loc[d.B_COUNTRY_ALPHA == row.country, row.question]
        assert (col == -4).all()
        assert r.loc[r.country == row.country, row.question].isna().all()
    # S018 makes each country worth 1000 respondents
    np.testing.assert_allclose(d.groupby("B_COUNTRY")["S018"].sum(), 1000.0)
    q = "Q1"
    raw = d[q].to_numpy()
    np.testing.assert_array_equal(np.isnan(r[q].to_numpy()), raw < 0)


def test_sav_and_dta_round_trip(ess, tmp_path):
    import pyreadstat

    small = make_ess(500, 2, 8, rng=9)
    p = tmp_path / "ess.sav"
    small.to_sav(p)
    df, meta = pyreadstat.read_sav(str(p), user_missing=True)
    np.testing.assert_array_equal(df["ppltrst"].to_numpy(), small.data["ppltrst"].to_numpy())
    assert meta.missing_ranges["ppltrst"] == [{"lo": 66.0, "hi": 99.0}]
    assert meta.variable_value_labels["gndr"][2.0] == "Female"
    df2, _ = pyreadstat.read_sav(str(p))  # default: user-missing -> NaN
    assert df2["ppltrst"].isna().sum() == (small.data["ppltrst"] >= 66).sum()

    p = tmp_path / "ess.dta"
    small.to_dta(p)
    df, meta = pyreadstat.read_dta(str(p), user_missing=True)
    raw = small.data["gincdif"].to_numpy()
    got = df["gincdif"].to_numpy()
    assert set(got[raw == 8]) <= {"c"} and set(got[raw == 7]) <= {"b"}
    np.testing.assert_array_equal(got[raw < 7].astype(float), raw[raw < 7])


def test_model_answers_have_the_announced_bias(ess):
    m = model_answers(ess, rng=0)
    assert list(m.columns) == ["model", "question", "option", "prob"]
    sums = m.groupby(["model", "question"])["prob"].sum()
    np.testing.assert_allclose(sums, 1.0)
    # model-a answers as a secular, politically very interested persona, model-b as a very
    # religious persona with no interest in politics: each sits closer to respondents like it
    r = ess.responses()
    secular = (r.religiosity == "0") & (r.political_interest == "Very interested")
    devout = (r.religiosity == "10") & (r.political_interest == "Not at all interested")
    assert secular.sum() > 10 and devout.sum() > 10
    mean_model = m.assign(x=m.option * m.prob).groupby(["model", "question"])["x"].sum()
    dist = {}
    for model in ("model-a", "model-b"):
        for name, grp in (("secular", secular), ("devout", devout)):
            dist[model, name] = np.mean([
                abs(mean_model[model, q] - r.loc[grp, q].mean()) / np.ptp(ess.positions[q])
                for q in ess.questions])
    assert dist["model-a", "secular"] < dist["model-a", "devout"]
    assert dist["model-b", "devout"] < dist["model-b", "secular"]
    assert m.attrs["targets"]["model-a"]["religiosity"] == "0"
