"""Rao-Wu and Canty-Davison replicate schemes: structure, variance, singletons, engine."""

import numpy as np
import pandas as pd
import pytest

import surveys
from alignstat import MultinomialScheme, ReplicateScheme
from surveys import CantyDavisonScheme, RaoWuScheme


def _toy(rng, sizes=(3, 5, 2, 8)):
    """Strata with the given numbers of PSUs, 1-4 respondents per PSU."""
    strata, psu = [], []
    pid = 0
    for h, n_h in enumerate(sizes):
        for _ in range(n_h):
            m = rng.integers(1, 5)
            strata += [f"s{h}"] * m
            psu += [pid] * m
            pid += 1
    return np.array(strata), np.array(psu)


def test_rao_wu_factor_structure(rng):
    strata, psu = _toy(rng)
    sch = RaoWuScheme(strata, psu)
    assert isinstance(sch, ReplicateScheme) and sch.n_units == len(psu)
    F = sch.multipliers(rng, 300)
    assert F.shape == (300, len(psu))
    df = pd.DataFrame({"h": strata, "p": psu})
    first = df.drop_duplicates("p").index.to_numpy()
    for h, n_h in zip(["s0", "s1", "s2", "s3"], (3, 5, 2, 8)):
        idx = first[df.h.to_numpy()[first] == h]
        # factor = n_h/(n_h-1) * count, counts of n_h - 1 draws: PSU factors sum to n_h
        np.testing.assert_allclose(F[:, idx].sum(axis=1), n_h)
        counts = F[:, idx] * (n_h - 1) / n_h
        np.testing.assert_allclose(counts, np.round(counts), atol=1e-12)
    # constant within PSU
    for p in np.unique(psu):
        cols = F[:, psu == p]
        assert np.all(cols == cols[:, :1])


def test_canty_davison_counts_and_scale(rng):
    strata, psu = _toy(rng)
    sch = CantyDavisonScheme(strata, psu)
    F = sch.multipliers(rng, 200)
    df = pd.DataFrame({"h": strata, "p": psu})
    first = df.drop_duplicates("p").index.to_numpy()
    for h, n_h in zip(["s0", "s1", "s2", "s3"], (3, 5, 2, 8)):
        idx = first[df.h.to_numpy()[first] == h]
        np.testing.assert_array_equal(F[:, idx].sum(axis=1), n_h)
    hbar = 4 / (1 / 3 + 1 / 5 + 1 / 2 + 1 / 8)
    assert sch.variance_scale(200) == pytest.approx(hbar / ((hbar - 1) * 199))
    assert RaoWuScheme(strata, psu).variance_scale(200) == pytest.approx(1 / 199)


def test_bootstrap_variance_of_a_total_matches_closed_form(rng):
    """Var of sum_i f_i w_i y_i over replicates -> sum_h n_h/(n_h-1) SS_h (Rao-Wu)."""
    strata, psu = _toy(rng, sizes=(4, 6, 3, 9, 2))
    y = rng.normal(size=len(psu)) + (psu % 3)
    w = rng.uniform(0.5, 2.0, len(psu))
    z = pd.DataFrame({"h": strata, "p": psu, "z": w * y}).groupby(["h", "p"])["z"].sum()
    ref_rw = ref_cd = 0.0
    n_hs = []
    for _, g in z.groupby(level="h"):
        n_h = len(g)
        ss = ((g - g.mean()) ** 2).sum()
        ref_rw += n_h / (n_h - 1) * ss
        ref_cd += ss
        n_hs.append(n_h)
    hbar = len(n_hs) / np.sum(1 / np.asarray(n_hs, float))
    ref_cd *= hbar / (hbar - 1)
    R = 40_000
    for cls, ref in ((RaoWuScheme, ref_rw), (CantyDavisonScheme, ref_cd)):
        sch = cls(strata, psu)
        t = sch.multipliers(np.random.default_rng(5), R) @ (w * y)
        v = sch.variance_scale(R) * ((t - t.mean()) ** 2).sum()
        assert v == pytest.approx(ref, rel=0.04)  # MC error of a variance from 40k reps ~ 0.7 %
    # the closed form helper agrees with the hand computation
    d = surveys.Design(pd.DataFrame({"y": y, "w": w, "h": strata, "p": psu}), weights="w", strata="h", psu="p")
    assert surveys.totals(d, variables="y")["se"].iloc[0] ** 2 == pytest.approx(ref_rw, rel=1e-10)


def test_singleton_strata(rng):
    strata = np.array(["a", "b", "b", "c", "c", "c"])
    psu = np.array([1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match=r"single PSU \('a'\).*lonely_psu='collapse'"):
        RaoWuScheme(strata, psu)
    cert = RaoWuScheme(strata, psu, lonely_psu="certainty")
    F = cert.multipliers(rng, 50)
    np.testing.assert_array_equal(F[:, 0], 1.0)
    np.testing.assert_allclose(F[:, 1:3].sum(axis=1), 2.0)
    col = RaoWuScheme(strata, psu, lonely_psu="collapse")
    assert col.n_strata == 2 and list(col.psu_per_stratum) == [3, 3]
    F = col.multipliers(rng, 50)
    np.testing.assert_allclose(F[:, :3].sum(axis=1), 3.0)  # a merged into b: 3 PSUs, factor 3/2*count
    # last stratum merges into the previous one
    col2 = RaoWuScheme(np.array(["a", "a", "b"]), np.array([1, 2, 3]), lonely_psu="collapse")
    assert col2.n_strata == 1 and col2.n_psu == 3
    with pytest.raises(ValueError, match="lonely_psu"):
        RaoWuScheme(strata, psu, lonely_psu="drop")


def test_bad_design_input():
    with pytest.raises(ValueError, match="`psu` has 1 missing"):
        RaoWuScheme(["a", "a"], [1, None])
    with pytest.raises(ValueError, match="`strata` has 3 entries"):
        RaoWuScheme(["a", "a", "b"], [1, 2])
    with pytest.raises(ValueError, match="more than one stratum"):
        RaoWuScheme(["a", "a", "b", "b"], [1, 2, 1, 3], nest=False)
    # nested ids: PSU 1 of stratum a and PSU 1 of stratum b are different PSUs
    assert RaoWuScheme(["a", "a", "b", "b"], [1, 2, 1, 2]).n_psu == 4


def test_jackknife_deletes_whole_psus(rng):
    strata, psu = _toy(rng)
    J = RaoWuScheme(strata, psu).jackknife_multipliers(rng, 5)
    assert J.shape == (5, len(psu))
    for row in J:
        zero = row == 0
        assert set(psu[zero]).isdisjoint(set(psu[~zero]))
        np.testing.assert_allclose(row[~zero], 5 / 4)


def test_clustered_design_se_exceeds_respondent_resampling():
    """Strong PSU effects: the design-based SE matches linearisation with clusters and is
    clearly larger than the SE from resampling respondents (the ESS seed paper's method)."""
    s = surveys.make_ess(3_000, 1, 3, rng=21, psu_sd=1.2, clustered_share=1.0)
    d = s.data
    rw = surveys.means(s, variables="ppltrst", se="rao-wu", n_resamples=1500, rng=1)
    mn = surveys.means(s, variables="ppltrst", se=MultinomialScheme(len(s.data)), n_resamples=1500, rng=1)
    y = d["ppltrst"].to_numpy()
    valid = y <= 10
    w = d["anweight"].to_numpy() * valid
    est = (w * np.where(valid, y, 0)).sum() / w.sum()
    z = w * (np.where(valid, y, 0) - est) / w.sum()
    zz = pd.DataFrame({"h": d.stratum, "p": d.psu, "z": z}).groupby(["h", "p"])["z"].sum()
    var = sum(len(g) / (len(g) - 1) * ((g - g.mean()) ** 2).sum() for _, g in zz.groupby(level="h"))
    assert rw["mean"].iloc[0] == pytest.approx(est, abs=1e-10)
    assert rw["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=0.08)
    assert rw["se"].iloc[0] > 1.5 * mn["se"].iloc[0]


def test_schemes_feed_the_alignstat_bootstrap_engine():
    from alignstat.bootstrap import bootstrap_alignment

    s = surveys.make_ess(1_500, 2, 4, rng=2)
    r = s.responses()
    qs = s.questions
    pos = np.full((len(qs), 11), np.nan)
    for j, q in enumerate(qs):
        pos[j, : len(s.positions[q])] = s.positions[q]
    groups = pd.factorize(r["gender"])[0][:, None]
    answers = np.nanmean(pos, axis=1)[None, :]
    sch = RaoWuScheme(s.data["stratum"], s.data["psu"])
    res = bootstrap_alignment(r[qs].to_numpy(), groups, answers, positions=pos,
                              weights=r["weight"].to_numpy(), scheme=sch, n_resamples=200, rng=0)
    se = np.asarray(res.standard_error)
    assert np.all(np.isfinite(se)) and np.all(se > 0)


def test_se_formula_with_fixed_replicates_exact(rng):
    """With given replicate factors the SE is exactly sqrt(c * sum_r (theta_r - mean)^2)."""
    from alignstat.resampling import FixedReplicates

    n, R = 60, 7
    df = pd.DataFrame({"q": rng.integers(1, 5, n).astype(float), "g": rng.integers(0, 2, n),
                       "w": rng.uniform(0.5, 2, n)})
    df.loc[:4, "q"] = np.nan
    F = rng.uniform(0, 2, (R, n))
    m = surveys.means(df, variables="q", by="g", weights="w",
                      se=FixedReplicates(F, scale=0.37), n_resamples=R)
    d = surveys.distributions(df, variables="q", by="g", weights="w",
                              se=FixedReplicates(F), n_resamples=R)
    for gval in (0, 1):
        sel = ((df.g == gval) & df.q.notna()).to_numpy()
        y = df.q.to_numpy()
        rw = F[:, sel] * df.w.to_numpy()[sel]
        th = (rw * y[sel]).sum(axis=1) / rw.sum(axis=1)
        se = np.sqrt(0.37 * ((th - th.mean()) ** 2).sum())
        assert m.loc[m.g == gval, "se"].iloc[0] == pytest.approx(se, rel=1e-10)
        share = (rw * (y[sel] == 2)).sum(axis=1) / rw.sum(axis=1)
        se2 = np.sqrt(((share - share.mean()) ** 2).sum() / (R - 1))
        assert d.loc[(d.g == gval) & (d.option == 2.0), "se"].iloc[0] == pytest.approx(se2, rel=1e-10)


def test_replicate_scheme_from_a_survey_uses_the_pooled_design():
    s = surveys.make_ess(3_000, 3, 3, rng=2)
    sch = surveys.replicate_scheme(s)
    d = s.data
    assert isinstance(sch, RaoWuScheme) and sch.n_units == len(d)
    assert sch.n_strata == d.groupby(["cntry", "stratum"]).ngroups
    assert sch.n_psu == d.groupby(["cntry", "stratum", "psu"]).ngroups
    assert isinstance(surveys.replicate_scheme(s, "canty-davison"), CantyDavisonScheme)
    w = surveys.make_wvs(2_000, 4, 3, rng=2)
    sw = surveys.replicate_scheme(w)
    assert sw.n_strata == 4 and sw.n_psu == w.data["I_PSU"].nunique()
