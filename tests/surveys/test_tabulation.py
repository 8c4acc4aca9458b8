"""The one-pass tabulator equals its NumPy twin and the per-question path on both layouts."""

import numpy as np
import pandas as pd
import pytest

import surveys
from surveys._kernels import tabulate_block, tabulate_block_numpy
from surveys.encoding import encode_all


def _data(rng, n=3000, Q=7):
    X = rng.integers(-3, 12, size=(n, Q)).astype(float)
    X[rng.random((n, Q)) < 0.05] = np.nan
    g = rng.integers(-1, 5, n)
    w = rng.uniform(0.2, 3, n)
    return X, g, w


@pytest.mark.parametrize("layout", ["C", "F", "list", "mixed"])
def test_kernel_matches_numpy_twin(rng, layout):
    X, g, w = _data(rng)
    X[5, 3], g[5] = 500.0, 0  # outside the window: question 3 is not tabulated
    if layout == "C":
        cols = [X[:, q] for q in range(X.shape[1])]  # strided views of one buffer
    elif layout == "F":
        F = np.asfortranarray(X)
        cols = [F[:, q] for q in range(X.shape[1])]
    elif layout == "list":
        cols = [X[:, q].copy() for q in range(X.shape[1])]
    else:
        cols = [X[:, q].copy() if q % 2 else X[:, q] for q in range(X.shape[1])]
    got = tabulate_block(cols, g, w, 5, -128, 256)
    ref = tabulate_block_numpy(cols, g, w, 5, -128, 256)
    assert list(got[7]) == list(ref[7]) and not got[7][3]
    ok = ref[7]
    for a, b in zip(got[:7], ref[:7]):
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-12, atol=1e-12)
    # more distinct codes than kept: not tabulated (the per-question path takes over)
    few = tabulate_block(cols, g, w, 5, -128, 256, kmax=4)
    assert not few[7].any()


def test_consolidated_and_block_frames_give_the_per_question_result(rng):
    X, g, w = _data(rng, n=5000, Q=12)
    qs = [f"q{i}" for i in range(12)]
    wide = pd.DataFrame(X, columns=qs)  # one 2-D block: strided columns
    frame = wide.assign(grp=np.where(g < 0, None, g.astype(str)), w=w)
    blocks = pd.DataFrame({q: X[:, i].copy() for i, q in enumerate(qs)}).assign(grp=frame.grp, w=w)
    miss = {q: {-1: "nonresponse", -2: "nonresponse", -3: "structural"} for q in qs}
    kw = dict(variables=qs, by="grp", weights="w", missing=miss, system_missing="nonresponse")
    a = surveys.distributions(frame, **kw)
    b = surveys.distributions(blocks, **kw)
    pd.testing.assert_frame_equal(a, b)
    # the per-question path (kept for standard errors) gives the same numbers
    c = surveys.distributions(frame, se="linearization", **kw)
    cols = ["grp", "question", "option", "prob", "n", "n_weighted", "n_eff", "nonresponse"]
    pd.testing.assert_frame_equal(a[cols], c[cols], check_exact=False, rtol=1e-12, atol=1e-14)
    # and an explicit NumPy count of one cell
    q = "q4"
    sel = (frame.grp == "2") & (frame[q] >= 0)
    ref = frame.loc[sel & (frame[q] == 7), "w"].sum() / frame.loc[sel, "w"].sum()
    row = a[(a.grp == "2") & (a.question == q) & (a.option == 7.0)]
    assert row["prob"].iloc[0] == pytest.approx(ref, rel=1e-12)


def test_codes_outside_the_window_fall_back(rng):
    df = pd.DataFrame({"yrbrn": rng.integers(1930, 2005, 2000).astype(float), "q": rng.integers(1, 5, 2000)})
    d = surveys.distributions(df, variables=["yrbrn", "q"])
    vc = df.yrbrn.value_counts(normalize=True)
    got = d[d.question == "yrbrn"].set_index("option")["prob"]
    np.testing.assert_allclose(got.loc[vc.index].to_numpy(), vc.to_numpy(), rtol=1e-12)
    enc = encode_all(df, ["q"], surveys.SurveyMeta(), None, positions=None, missing=None, indicators=None,
                     system_missing="structural", src="t")
    assert list(enc[0].positions) == [1.0, 2.0, 3.0, 4.0]
