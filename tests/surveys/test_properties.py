"""Property tests: distributions/means against a direct per-group reference, and invariances."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surveys


def _frame(seed, n):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "q": rng.choice([1.0, 2.0, 3.0, 4.0, 8.0, 9.0, np.nan], n, p=[.25, .25, .2, .1, .08, .07, .05]),
        "a": rng.choice(["x", "y", "z"], n),
        "b": rng.integers(0, 3, n),
        "w": rng.uniform(0.1, 3.0, n),
    })
    return df


MISSING = {"q": {8: "nonresponse", 9: "structural"}}


def _reference(df):
    """Direct per-group computation from the definitions (loop over groups, no package code)."""
    rows = {}
    for (a, b), grp in df.groupby(["a", "b"]):
        valid = grp[grp.q.isin([1.0, 2.0, 3.0, 4.0])]
        nr = grp[grp.q == 8.0]
        if len(valid) == 0 or valid.w.sum() == 0:
            continue
        w = valid.w.to_numpy()
        rows[(a, b)] = {
            "probs": {k: valid.loc[valid.q == k, "w"].sum() / w.sum() for k in (1.0, 2.0, 3.0, 4.0)},
            "mean": (w * valid.q).sum() / w.sum(),
            "n": len(valid), "n_weighted": w.sum(), "n_eff": w.sum() ** 2 / (w ** 2).sum(),
            "nonresponse": nr.w.sum() / (w.sum() + nr.w.sum()),
        }
    return rows


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(5, 200))
def test_distributions_and_means_match_direct_reference(seed, n):
    df = _frame(seed, n)
    ref = _reference(df)
    d = surveys.distributions(df, variables="q", by=["a", "b"], weights="w", missing=MISSING,
                              on_empty="drop")
    m = surveys.means(df, variables="q", by=["a", "b"], weights="w", missing=MISSING, on_empty="drop")
    assert set(zip(m.a, m.b)) == set(ref)
    for _, row in m.iterrows():
        r = ref[(row.a, row.b)]
        assert row["mean"] == pytest.approx(r["mean"], abs=1e-10)
        assert row["n"] == r["n"]
        for c in ("n_weighted", "n_eff", "nonresponse"):
            assert row[c] == pytest.approx(r[c], abs=1e-10)
    opts = set(d.option)
    for _, row in d.iterrows():
        r = ref[(row.a, row.b)]
        assert row["prob"] == pytest.approx(r["probs"][row.option], abs=1e-12)
    assert opts <= {1.0, 2.0, 3.0, 4.0}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-3, 1e3))
def test_invariances(seed, scale):
    df = _frame(seed, 150)
    base = surveys.distributions(df, variables="q", by="a", weights="w", missing=MISSING, on_empty="drop")
    # weights scaled by a constant: shares, n and n_eff unchanged
    sc = surveys.distributions(df.assign(w=df.w * scale), variables="q", by="a", weights="w",
                               missing=MISSING, on_empty="drop")
    np.testing.assert_allclose(sc["prob"], base["prob"], atol=1e-12)
    np.testing.assert_allclose(sc["n_eff"], base["n_eff"], rtol=1e-9)
    np.testing.assert_allclose(sc["n_weighted"], base["n_weighted"] * scale, rtol=1e-9)
    # row order does not matter
    perm = df.sample(frac=1.0, random_state=seed % 1000).reset_index(drop=True)
    pm = surveys.distributions(perm, variables="q", by="a", weights="w", missing=MISSING, on_empty="drop")
    pd.testing.assert_frame_equal(pm, base, check_exact=False, atol=1e-12)
    # shares sum to one within every group
    np.testing.assert_allclose(base.groupby("a")["prob"].sum(), 1.0, atol=1e-12)
    # equal weights give the unweighted shares
    eq = surveys.distributions(df.assign(w=2.5), variables="q", by="a", weights="w", missing=MISSING,
                               on_empty="drop")
    un = surveys.distributions(df, variables="q", by="a", weights=False, missing=MISSING, on_empty="drop")
    np.testing.assert_allclose(eq["prob"], un["prob"], atol=1e-12)
