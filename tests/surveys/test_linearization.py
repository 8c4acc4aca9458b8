"""Taylor-linearised SEs on R's API samples against samplics, hand formulas and R's published values."""

import warnings

import numpy as np
import pandas as pd
import pytest

import surveys

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # samplics announces it is archived
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

#: (design columns) of R's api designs: svydesign(id=~1 | ~dnum, strata=~stype, fpc=~fpc, weights=~pw)
DESIGNS = {
    "srs": {"strata": None, "psu": None},
    "strat": {"strata": "stype", "psu": None},
    "clus1": {"strata": None, "psu": "dnum"},
}


def _design(api, name, fpc):
    df = api[name]
    return surveys.Design(df, weights="pw", fpc="fpc" if fpc else None, **DESIGNS[name])


def _samplics(api, name, fpc, param, y, *, domain=None, x=None):
    df = api[name]
    cols = DESIGNS[name]
    kw = {}
    if cols["strata"]:
        kw["stratum"] = df[cols["strata"]].to_numpy()
    kw["psu"] = df[cols["psu"]].to_numpy() if cols["psu"] else np.arange(len(df))
    if fpc:
        if cols["strata"]:
            g = df.groupby(cols["strata"])
            kw["fpc"] = {h: 1 - len(s) / s["fpc"].iloc[0] for h, s in sorted(g)}
        elif cols["psu"]:
            kw["fpc"] = 1 - df[cols["psu"]].nunique() / df["fpc"].iloc[0]
        else:
            kw["fpc"] = 1 - len(df) / df["fpc"].iloc[0]
    elif cols["strata"]:
        kw["fpc"] = {h: 1.0 for h in sorted(df[cols["strata"]].unique())}
    est = TaylorEstimator(param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(y=y, samp_weight=df["pw"].to_numpy(), x=x, domain=domain, **kw)
    return est.point_est, est.stderror


CASES = [(name, fpc) for name in DESIGNS for fpc in (True, False)]


@pytest.mark.parametrize(("name", "fpc"), CASES)
def test_means_totals_ratios_match_samplics(api, name, fpc):
    df = api[name]
    d = _design(api, name, fpc)
    m = surveys.means(d, variables="api00")
    pe, se = _samplics(api, name, fpc, PopParam.mean, df["api00"].to_numpy(float))
    assert m["mean"].iloc[0] == pytest.approx(pe, rel=1e-12)
    assert m["se"].iloc[0] == pytest.approx(se, rel=1e-8)
    t = surveys.totals(d, variables="enroll")
    pe, se = _samplics(api, name, fpc, PopParam.total, df["enroll"].to_numpy(float))
    assert t["total"].iloc[0] == pytest.approx(pe, rel=1e-12)
    assert t["se"].iloc[0] == pytest.approx(se, rel=1e-8)
    r = surveys.ratios(d, variables="api00", denominator="enroll")
    pe, se = _samplics(api, name, fpc, PopParam.ratio, df["api00"].to_numpy(float),
                       x=df["enroll"].to_numpy(float))
    assert r["ratio"].iloc[0] == pytest.approx(pe, rel=1e-12)
    assert r["se"].iloc[0] == pytest.approx(se, rel=1e-8)


@pytest.mark.parametrize(("name", "fpc"), CASES)
def test_domains_match_samplics(api, name, fpc):
    """svyby: domains of the full design (zero-extended influence values), not subset designs."""
    df = api[name]
    d = _design(api, name, fpc)
    m = surveys.means(d, variables="api00", by="awards").set_index("awards")
    pe, se = _samplics(api, name, fpc, PopParam.mean, df["api00"].to_numpy(float),
                       domain=df["awards"].to_numpy())
    for g in ("Yes", "No"):
        assert m.loc[g, "mean"] == pytest.approx(pe[g], rel=1e-12)
        assert m.loc[g, "se"] == pytest.approx(se[g], rel=1e-8)
    t = surveys.totals(d, variables="enroll", by="awards").set_index("awards")
    pe, se = _samplics(api, name, fpc, PopParam.total, df["enroll"].to_numpy(float),
                       domain=df["awards"].to_numpy())
    for g in ("Yes", "No"):
        assert t.loc[g, "total"] == pytest.approx(pe[g], rel=1e-12)
        assert t.loc[g, "se"] == pytest.approx(se[g], rel=1e-8)


@pytest.mark.parametrize(("name", "fpc"), CASES)
def test_option_shares_match_samplics(api, name, fpc):
    df = api[name]
    d = _design(api, name, fpc)
    pos = {"stype": {"E": 1, "M": 2, "H": 3}}
    out = surveys.distributions(d, variables="stype", positions=pos, se="linearization")
    pe, se = _samplics(api, name, fpc, PopParam.prop, df["stype"].to_numpy())
    for code, p in pos["stype"].items():
        row = out[out["option"] == p].iloc[0]
        assert row["prob"] == pytest.approx(pe[code], rel=1e-12)
        if name != "strat":  # stype is the stratum there: its shares have no variance
            assert row["se"] == pytest.approx(se[code], rel=1e-8)
        else:
            assert row["se"] == pytest.approx(0.0, abs=1e-10)
    byd = surveys.distributions(d, variables="stype", positions=pos, by="awards", se="linearization")
    pe, se = _samplics(api, name, fpc, PopParam.prop, df["stype"].to_numpy(), domain=df["awards"].to_numpy())
    for _, row in byd.iterrows():
        code = {1.0: "E", 2.0: "M", 3.0: "H"}[row["option"]]
        assert row["prob"] == pytest.approx(pe[row["awards"]][code], rel=1e-12)
        assert row["se"] == pytest.approx(se[row["awards"]][code], rel=1e-8, abs=1e-12)


def test_hand_formula_stratified_cluster_with_fpc(rng):
    """The textbook stratified formula on a random two-stage-looking design, by hand."""
    n = 300
    h = rng.integers(0, 4, n)
    p = rng.integers(0, 6, n)
    w = rng.uniform(0.5, 3, n)
    y = rng.normal(size=n) + h
    N_h = np.array([40, 50, 60, 70])
    df = pd.DataFrame({"h": h, "p": p, "w": w, "y": y, "N": N_h[h]})
    d = surveys.Design(df, weights="w", strata="h", psu="p", fpc="N")
    m = surveys.means(d, variables="y")
    mu = (w * y).sum() / w.sum()
    z = w * (y - mu) / w.sum()
    var = 0.0
    for hh in range(4):
        zp = pd.Series(z[h == hh]).groupby(p[h == hh]).sum().to_numpy()
        nh = zp.size
        var += (1 - nh / N_h[hh]) * nh / (nh - 1) * ((zp - zp.mean()) ** 2).sum()
    assert m["mean"].iloc[0] == pytest.approx(mu, rel=1e-12)
    assert m["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=1e-10)
    assert d.df == d.n_psu - d.n_strata
    # a sampling fraction gives the same as the population size it implies
    f = surveys.Design(df.assign(f=df.p.groupby(df.h).transform("nunique") / df.N), weights="w",
                       strata="h", psu="p", fpc="f")
    assert surveys.means(f, variables="y")["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=1e-12)


def test_r_published_values(api):
    """R survey's printed results for data(api) (svymean/svytotal on dsrs, dstrat, dclus1)."""
    got = {
        "srs": (surveys.means(_design(api, "srs", True), variables="api00"),
                surveys.totals(_design(api, "srs", True), variables="enroll")),
        "strat": (surveys.means(_design(api, "strat", True), variables="api00"),
                  surveys.totals(_design(api, "strat", True), variables="enroll")),
        "clus1": (surveys.means(_design(api, "clus1", True), variables="api00"),
                  surveys.totals(_design(api, "clus1", True), variables="enroll")),
    }
    ref = {  # mean, SE, total, SE as R prints them
        "srs": (656.58, 9.2497, 3621074, 169520),
        "strat": (662.29, 9.4089, 3687178, 114642),
        "clus1": (644.17, 23.542, 3404940, 932235),
    }
    for k, (m, s, t, st) in ref.items():
        mm, tt = got[k]
        assert mm["mean"].iloc[0] == pytest.approx(m, abs=0.006)
        assert mm["se"].iloc[0] == pytest.approx(s, rel=5e-5)
        assert tt["total"].iloc[0] == pytest.approx(t, abs=0.6)
        assert tt["se"].iloc[0] == pytest.approx(st, abs=0.6)


def test_confidence_interval_uses_design_df(api):
    from scipy import stats

    d = _design(api, "clus1", True)
    m = surveys.means(d, variables="api00", confidence_level=0.9).iloc[0]
    q = stats.t.ppf(0.95, 14)  # 15 PSUs, 1 stratum
    assert d.df == 14
    assert m["ci_low"] == pytest.approx(m["mean"] - q * m["se"], rel=1e-12)
    assert m["ci_high"] == pytest.approx(m["mean"] + q * m["se"], rel=1e-12)
    assert "df=14" in m["interval"] and "linearization" in m["interval"]


def test_lonely_psu_rules():
    df = pd.DataFrame({"h": [1, 1, 1, 2, 2, 3], "p": [1, 2, 2, 3, 4, 5],
                       "w": [1.0, 2, 1, 1, 3, 2], "y": [1.0, 4, 2, 5, 3, 6]})
    with pytest.raises(ValueError, match=r"single PSU \(3\).*lonely_psu"):
        surveys.means(surveys.Design(df, weights="w", strata="h", psu="p"), variables="y")
    w, y = df.w.to_numpy(), df.y.to_numpy()
    mu = (w * y).sum() / w.sum()
    zp = {1: [w[0] * (y[0] - mu), w[1] * (y[1] - mu) + w[2] * (y[2] - mu)],
          2: [w[3] * (y[3] - mu), w[4] * (y[4] - mu)], 3: [w[5] * (y[5] - mu)]}
    zp = {k: np.array(v) / w.sum() for k, v in zp.items()}
    ok = sum(2 * ((v - v.mean()) ** 2).sum() for k, v in zp.items() if k != 3)

    def se(rule):
        return surveys.means(surveys.Design(df, weights="w", strata="h", psu="p", lonely_psu=rule),
                             variables="y")["se"].iloc[0]

    assert se("certainty") == pytest.approx(np.sqrt(ok), rel=1e-12)
    assert se("average") == pytest.approx(np.sqrt(ok * 3 / 2), rel=1e-12)
    allz = np.concatenate(list(zp.values()))
    assert se("adjust") == pytest.approx(np.sqrt(ok + (zp[3][0] - allz.mean()) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="lonely_psu"):
        surveys.Design(df, strata="h", psu="p", lonely_psu="remove")


def test_design_summary_and_validation(api):
    d = _design(api, "strat", True)
    text = repr(d)
    for part in ("stratified", "with fpc", "strata: 3", "PSUs: 200", "design degrees of freedom: 197",
                 "weights: pw"):
        assert part in text
    df = api["strat"]
    with pytest.raises(ValueError, match="fpc .*varies within stratum"):
        surveys.Design(df.assign(fpc=np.arange(len(df)) + 1000.0), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ValueError, match="population size must be at least"):
        surveys.Design(df.assign(fpc=10.0), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ValueError, match="psu column 'nope'"):
        surveys.Design(df, psu="nope")
    with pytest.raises(ValueError, match="psu of .* missing value"):
        surveys.Design(df.assign(p=np.where(np.arange(len(df)) == 3, np.nan, 1.0)), psu="p")
    with pytest.raises(ValueError, match="design carries the weights"):
        surveys.means(d, variables="api00", weights="pw")
    with pytest.raises(ValueError, match="`se` must be one of"):
        surveys.means(d, variables="api00", se="bootstrap")


def test_domain_is_not_a_subset_design(api):
    """A domain estimate differs from the subset-design estimate that drops the other PSUs' zeros."""
    df = api["clus1"]
    d = _design(api, "clus1", False)
    dom = surveys.totals(d, variables="enroll", by="awards").set_index("awards")
    sub = df[df.awards == "Yes"]
    ds = surveys.Design(sub, weights="pw", psu="dnum")
    subset = surveys.totals(ds, variables="enroll")["se"].iloc[0]
    assert dom.loc["Yes", "total"] == pytest.approx(surveys.totals(ds, variables="enroll")["total"].iloc[0])
    assert ds.n_psu < d.n_psu
    assert dom.loc["Yes", "se"] != pytest.approx(subset, rel=1e-3)
