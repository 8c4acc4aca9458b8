"""The batched tabulator (one Table for all questions) equals the per-question path in every mix of questions."""

import numpy as np
import pandas as pd
import pytest

import surveys
from surveys.tabulation import tabulate, tabulate_table


def _frame(rng, n=2500):
    X = rng.integers(-2, 7, size=(n, 4)).astype(float)
    X[rng.random((n, 4)) < 0.05] = np.nan
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])  # one consolidated float block
    df["yr"] = rng.integers(1930, 2005, n).astype(float)  # outside the window: per-question path
    df["txt"] = rng.choice(["yes", "no", "maybe"], n)  # text: per-question path
    df["i"] = rng.integers(1, 6, n)  # int64 column: converted, one-pass kernel
    df["grp"] = rng.choice(["x", "y", "z"], n)
    df["w"] = rng.uniform(0.2, 3.0, n)
    return df


@pytest.mark.parametrize("what", ["distributions", "means", "totals"])
def test_mixed_questions_match_the_per_question_path(rng, what):
    df = _frame(rng)
    variables = ["txt", "a", "yr", "i", "d", "b"] if what == "distributions" else ["a", "yr", "i", "d", "b"]
    miss = {v: {-1: "nonresponse", -2: "structural"} for v in ["a", "b", "d"]}
    kw = dict(variables=variables, by="grp", weights="w", missing=miss,
              positions={"txt": {"no": 0, "maybe": 1, "yes": 2}})
    fast = getattr(surveys, what)(df, **kw)
    slow = getattr(surveys, what)(df, se="linearization", **kw)  # keeps encodings: per-question path
    cols = [c for c in fast.columns if c in slow.columns and c not in ("se", "ci_low", "ci_high", "interval")]
    pd.testing.assert_frame_equal(fast, slow[cols], check_exact=False, rtol=1e-12, atol=1e-12)
    assert list(dict.fromkeys(fast["question"])) == variables


def test_table_rows_equal_tabulated_and_a_hand_count(rng):
    df = _frame(rng)
    g, _ = pd.factorize(df["grp"], sort=True)
    g = g.astype(np.int64)
    w = df["w"].to_numpy()
    miss = {v: {-1: "nonresponse", -2: "structural"} for v in ["a", "b"]}
    kw = dict(positions=None, missing=miss, indicators=None, system_missing="structural", src="t")
    variables = ["b", "yr", "a", "b"]  # a duplicate: both rows filled
    t = tabulate_table(df, variables, surveys.SurveyMeta(), None, g, w, 3, **kw)
    per = tabulate(df, variables, surveys.SurveyMeta(), None, g, w, 3, keep_encoded=True, **kw)
    for q, e in enumerate(per):
        got = t.question(q)
        np.testing.assert_array_equal(got.positions, e.positions)
        for x, y in zip(got.acc, e.acc):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    # hand count: weight of code 3 of question "a" in group 1 (codes present are the options without a profile)
    sel = (g == 1) & (df["a"].to_numpy() == 3.0)
    k = int(np.flatnonzero(t.positions[2, : t.n_options[2]] == 3.0)[0])
    assert t.cell[2, 1, k] == pytest.approx(w[sel].sum(), rel=1e-12)
