"""The packed representation (OpinionDistributions.grid), result frames that compose with pandas,
and the silent cases that must be errors."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

import alignstat as al
from alignstat import DataPolicyWarning, Policy


def _side(rng, n_groups, col, questions):
    rows = []
    for q, opts in questions.items():
        for g in range(n_groups):
            p = rng.dirichlet(np.ones(len(opts)))
            rows += [{"question": q, "option": o, "prob": v, col: f"{col}{g}"} for o, v in zip(opts, p)]
    return pd.DataFrame(rows)


QS = {"Q1": [1.0, 2.0, 3.0], "Q2": [0.0, 5.0, 10.0, 2.5], "Q3": [1.0, 2.0]}


# ----------------------------------------------------------------- the grid accessor
def test_grid_layout_matches_the_frame(rng):
    df = _side(rng, 3, "model", QS).sample(frac=1.0, random_state=3)  # any row order
    d = al.OpinionDistributions.from_frame(df)
    g = d.grid()
    assert list(g.questions) == ["Q1", "Q2", "Q3"]
    np.testing.assert_array_equal(g.n_options, [3, 4, 2])
    np.testing.assert_array_equal(g.positions[1], [0.0, 2.5, 5.0, 10.0])
    assert np.isnan(g.positions[2, 2:]).all() and np.isnan(g.positions[0, 3])
    assert g.prob.shape == (9, 4)
    np.testing.assert_allclose(g.prob.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(g.item_offsets, [0, 3, 6, 9])
    assert (np.diff(g.item_question) >= 0).all() and not g.incomplete.any()
    np.testing.assert_array_equal(g.span, [2.0, 10.0, 1.0])
    # every probability sits in the column of its position
    for _, r in df.iterrows():
        qi = list(g.questions).index(r["question"])
        gi = list(g.group_values["model"]).index(r["model"])
        item = np.flatnonzero((g.item_question == qi) & (g.item_group == gi))[0]
        col = np.flatnonzero(g.positions[qi] == r["option"])[0]
        assert g.prob[item, col] == pytest.approx(r["prob"], abs=1e-12)
    assert g.group_labels["model"].tolist() == ["model0", "model1", "model2"]
    # a subset of questions, in the order asked
    g2 = d.grid(questions=["Q3", "Q1"])
    assert list(g2.questions) == ["Q3", "Q1"] and g2.prob.shape == (6, 3)
    np.testing.assert_array_equal(g2.item_offsets, [0, 3, 6])


def test_grid_full_scale_from_positions_and_question_bank():
    votes = pd.DataFrame({"model": ["m1", "m2"], "question": "Q1", "option": [7, 9], "prob": 1.0})
    d = al.OpinionDistributions.from_frame(votes)
    guessed = d.grid()
    assert guessed.n_options.tolist() == [2]  # a scale guessed from the answers alone
    g = d.grid(positions={"Q1": range(11)})
    assert g.n_options.tolist() == [11] and g.span.tolist() == [10.0]
    assert g.incomplete.all() and g.listed.sum(1).tolist() == [1, 1] and g.listed[0, 7] and g.listed[1, 9]
    keys = tuple(str(k) for k in range(11)) + ("DK",)
    bank = al.QuestionBank([al.Question(id="Q1", text="?", choices=keys, keys=keys,
                                        positions=tuple(float(k) for k in range(11)) + (np.nan,))])
    gb = d.grid(positions=bank)
    np.testing.assert_array_equal(gb.positions, g.positions)
    np.testing.assert_array_equal(gb.prob, g.prob)
    with pytest.raises(ValueError, match=r"data: question 'Q1': option 9 is not on the question's scale"):
        d.grid(positions={"Q1": [1, 2, 3, 4, 5, 6, 7]})
    with pytest.raises(TypeError, match="`positions` must be a mapping"):
        d.grid(positions=[1, 2, 3])


def test_point_answer_on_full_scale_in_align():
    # people answered only 4..6 of a 0..10 item; the model's majority vote is 8
    people = pd.DataFrame({"question": "Q1", "option": [4, 5, 6], "prob": [0.2, 0.5, 0.3], "country": "NO"})
    model = pd.DataFrame({"question": "Q1", "option": [8], "prob": [1.0], "model": "m"})
    out = al.align(model, people, metric="likert", positions={"Q1": range(11)})
    assert out["alignment"].item() == pytest.approx(1 - abs(8 - 5.1) / 10, abs=1e-12)
    x = np.arange(11.0)
    p = np.zeros(11)
    p[8] = 1
    q = np.zeros(11)
    q[[4, 5, 6]] = [0.2, 0.5, 0.3]
    with pytest.warns(DataPolicyWarning, match="missing options -> set to 0"):
        w = al.align(model, people, metric="wasserstein", positions={"Q1": range(11)}, policy="lenient")
    assert w["alignment"].item() == pytest.approx(1 - wasserstein_distance(x, x, p, q) / 10, abs=1e-12)


def test_to_frame_round_trip_with_labels_and_groups(rng):
    df = _side(rng, 2, "country", QS).assign(wave=7)
    dk = pd.DataFrame({"question": "Q1", "option": np.nan, "label": "don't know", "prob": 0.0,
                       "country": ["country0", "country1"], "wave": 7})
    df = pd.concat([df.assign(label=""), dk], ignore_index=True)
    d = al.OpinionDistributions.from_frame(df, groups=["country", "wave"])
    back = d.to_frame()
    assert list(back.columns) == ["question", "country", "wave", "option", "label", "prob"]
    d2 = al.OpinionDistributions.from_frame(back, groups=["country", "wave"])
    pd.testing.assert_frame_equal(d2.to_frame(), back)
    assert back["wave"].tolist() == [7] * len(back)
    nominal = d.grid(ordinal=False)
    assert nominal.n_options.tolist() == [4, 4, 2]
    assert nominal.labels[0, 3] == "don't know" and np.isnan(nominal.positions[0, 3])


def test_prepared_distributions_are_reused(rng):
    a = _side(rng, 3, "model", QS)
    b = _side(rng, 5, "country", QS)
    da = al.OpinionDistributions.from_frame(a, groups="model")
    db = al.OpinionDistributions.from_frame(b, groups="country")
    first = al.align(da, db)
    assert any(k[0] == "joint" for k in da._cache)
    again = al.align(da, db)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, al.align(a, b))
    for metric in al.METRICS:
        pd.testing.assert_frame_equal(al.align(da, db, metric=metric), al.align(a, b, metric=metric))


# ----------------------------------------------------------------- results that compose with pandas
def test_results_concat_merge_parquet(rng, tmp_path):
    a = _side(rng, 3, "model", QS)
    b = _side(rng, 4, "country", QS)
    b.loc[b["question"] == "Q1", "prob"] *= 100  # percents: renormalised and reported
    with pytest.warns(DataPolicyWarning):
        lik = al.align(a, b, metric="likert")
    with pytest.warns(DataPolicyWarning):
        was = al.align(a, b, metric="wasserstein")
    json.dumps(lik.attrs)  # only JSON-serialisable values
    both = pd.concat([lik, was], ignore_index=True)
    assert both["metric"].value_counts().to_dict() == {"likert": 12, "wasserstein": 12}
    wide = lik.merge(was, on=["model", "country"], suffixes=("_likert", "_wasserstein"))
    assert len(wide) == 12
    path = tmp_path / "res.parquet"
    lik.to_parquet(path)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, lik, check_dtype=False)
    rep = al.report_frame(lik)
    assert list(rep.columns) == ["side", "question", "group", "issue", "action", "detail"]
    assert set(rep["issue"]) == {"sum != 1"} and set(rep["question"]) == {"Q1"} and len(rep) == 4
    assert al.report_frame(back)["issue"].tolist() == rep["issue"].tolist()


def test_string_group_argument_means_one_column(rng):
    a = _side(rng, 2, "model", QS)
    b = _side(rng, 3, "country", QS).assign(wave=7)
    out = al.align(a, b, groups_a="model", groups_b="country")
    assert list(out.columns[:2]) == ["model", "country"] and len(out) == 6
    d = al.OpinionDistributions.from_frame(b, groups="country")
    assert d.groups == ("country",)


def test_alignment_matrix_from_align_result_keeps_nan_group(rng):
    b = _side(rng, 3, "country", QS)
    b.loc[b["country"] == "country2", "country"] = np.nan
    long = al.align(b, b, metric="tvd")
    assert long["country_a"].isna().sum() == 3  # align keeps the NaN group
    mat = al.alignment_matrix(long)
    assert mat.shape == (3, 3) and mat.index[:2].tolist() == ["country0", "country1"] and pd.isna(mat.index[2])
    np.testing.assert_allclose(np.diag(mat.to_numpy()), 1.0, atol=1e-12)
    direct = al.alignment_matrix(b, b, metric="tvd")
    np.testing.assert_allclose(direct.to_numpy(), mat.to_numpy(), atol=0)
    both = pd.concat([long, al.align(b, b, metric="jsd")])
    with pytest.raises(ValueError, match="holds several metrics"):
        al.alignment_matrix(both)
    with pytest.raises(TypeError, match="needs a result of alignstat.align"):
        al.alignment_matrix(b)
    lost = long.copy()
    lost.attrs = {}
    np.testing.assert_allclose(al.alignment_matrix(lost).to_numpy(), mat.to_numpy(), atol=0)


def test_rejected_rows_reported_once_the_same_way():
    a = pd.DataFrame({"question": ["Q1"] * 2 + ["Q2"] * 2, "option": [1, 2, 1, 2], "prob": [0.5, 0.5, np.nan, np.nan],
                      "status": ["ok", "ok", "rejected", "rejected"], "model": "m"})
    with pytest.warns(DataPolicyWarning, match="1 item\\(s\\) rejected upstream -> excluded"):
        d = al.OpinionDistributions.from_frame(a)
    rec = list(d.report)
    assert rec == [{"side": "data", "question": "Q2", "group": "m", "issue": "rejected upstream",
                    "action": "excluded", "detail": ""}]
    with pytest.warns(DataPolicyWarning):
        out = al.align(a, a.assign(status="ok", prob=0.5))
    assert al.report_frame(out)[["question", "issue"]].values.tolist() == [["Q2", "rejected upstream"]]


# ----------------------------------------------------------------- silent cases that must be errors
def test_group_values_that_differ_only_in_type():
    df = pd.DataFrame({"question": "Q1", "option": [1, 2, 1, 2], "prob": 0.5,
                       "wave": pd.Series([1, 1, "1", "1"], dtype=object)})
    with pytest.raises(ValueError, match=r"column 'wave' holds values that differ only in type \('1' as int, str\)"):
        al.OpinionDistributions.from_frame(df)
    q = pd.DataFrame({"question": pd.Series([1, 1, "1", "1"], dtype=object), "option": [1, 2, 1, 2], "prob": 0.5})
    with pytest.raises(ValueError, match="column 'question' holds ids that differ only in type"):
        al.OpinionDistributions.from_frame(q)


def test_reserved_column_that_distinguishes_rows_is_named():
    df = pd.DataFrame({"question": "Q1", "option": [1, 2, 1, 2], "prob": 0.5,
                       "source": ["ess", "ess", "wvs", "wvs"], "country": "NO"})
    with pytest.raises(ValueError, match=(r"question 'Q1' \(country='NO'\): option 1.0 appears more than once\. "
                                          r"Column 'source' differs between these rows, but 'source' is reserved "
                                          r"\(alignstat.RESERVED_COLUMNS\).*rename.*groups=\[\.\.\., 'source_'\]")):
        al.OpinionDistributions.from_frame(df)
    ok = al.OpinionDistributions.from_frame(df.rename(columns={"source": "source_"}), groups=["country", "source_"])
    assert ok.n_items == 2
    extra = df.drop(columns="source").assign(mode=["web", "web", "phone", "phone"])
    with pytest.raises(ValueError, match="Column 'mode' differs between these rows; add it to `groups`"):
        al.OpinionDistributions.from_frame(extra, groups=["country"])
    assert "source" in al.RESERVED_COLUMNS


@pytest.mark.parametrize("bad, match", [(np.nan, r"row 1: the question id is missing \(NaN\)"),
                                        ("", "row 1: the question id is empty"),
                                        ("  ", "row 1: the question id is empty")])
def test_missing_question_id_names_the_row(bad, match):
    df = pd.DataFrame({"question": pd.Series(["Q1", bad, "Q1"], dtype=object), "option": [1, 2, 3], "prob": 1 / 3})
    with pytest.raises(ValueError, match=match):
        al.OpinionDistributions.from_frame(df)


def test_messages_name_question_and_group():
    df = pd.DataFrame({"question": "Q7", "option": [1, 2], "prob": [0.5, -0.5], "country": "CL", "wave": 6})
    with pytest.raises(ValueError, match=r"question 'Q7' \(country='CL', wave=6\): prob -0.5 for option 2.0 is negative"):
        al.OpinionDistributions.from_frame(df)
    with pytest.raises(ValueError, match=r"data: question 'Q7' \(country='CL', wave=6\) has zero total prob"):
        al.OpinionDistributions.from_frame(df.assign(prob=0.0))


def test_policy_is_the_objects_and_warnings_are_alignstats():
    df = pd.DataFrame({"question": "Q1", "option": [1, 2], "prob": [30.0, 70.0]})
    with pytest.raises(ValueError, match="probabilities sum to 100, not 1"):
        al.OpinionDistributions.from_frame(df, policy="strict")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        d = al.OpinionDistributions.from_frame(df, policy=Policy(sums="renormalize"))
    assert [w.category for w in rec] == [DataPolicyWarning]
    assert al.report_frame(d)["detail"].tolist() == ["sum=100"]


def test_missing_options_message_lists_zero_probability_options():
    a = pd.DataFrame({"question": "Q1", "option": [1, 2], "prob": [1.0, 0.0], "model": "m"})
    b = pd.DataFrame({"question": "Q1", "option": [1, 2, 3], "prob": [0.2, 0.3, 0.5], "country": "NO"})
    with pytest.raises(ValueError, match=(r"a: question 'Q1' \(model='m'\) lists options \[1.0, 2.0\] but the two "
                                          r"sides together list \[1.0, 2.0, 3.0\]; use policy missing_options")):
        al.align(a, b)
    with pytest.raises(ValueError, match="a: every item was dropped for missing options"):
        al.align(a, b, policy=Policy(missing_options="drop"))


# ----------------------------------------------------------------- fast packing routes
@pytest.mark.parametrize(
    "values",
    [
        pd.Series(np.array([5, -3, 5, 7, -3, 2], dtype=np.int64)),  # short-range ints, coded by offset
        pd.Series(np.array([120, -100, 120, 3], dtype=np.int8)),  # x - min overflows int8
        pd.Series(np.array([10**12, 1, 10**12])),  # wide range: hashed
        pd.Series(np.repeat(["b", "a", "c", "a"], 200)),  # Arrow strings in runs: one hash per run
        pd.Series(np.repeat(np.array(["b", None, "a", "b"], dtype=object), 100), dtype="str"),
        pd.Series(["x", "y"] * 400),  # no runs: hashed
        pd.concat([pd.Series(np.repeat(["a", "b"], 300)), pd.Series(np.repeat(["b", "c", None], 200), dtype="str")],
                  ignore_index=True),  # two Arrow chunks
        pd.Series(np.array(["q", 1, "q", 2.5], dtype=object)),
        pd.Series(np.tile(np.array([7, -2, 30, 7], dtype=np.int32), 2000)),  # large: numba offset codes
        pd.Series(np.tile(np.array([np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max, 0]), 2000)),
        pd.Series(np.tile(np.array([np.iinfo(np.int64).max - 3, np.iinfo(np.int64).max]), 3000)),
    ],
)
def test_factorize_routes_match_pandas(values):
    from alignstat.distributions import _factorize

    for na in (False, True):
        codes, u = _factorize(values, use_na_sentinel=na)
        ref_codes, ref_u = pd.factorize(values, use_na_sentinel=na)
        assert codes.dtype == np.int64 and len(codes) == len(values)
        assert type(u) is type(values.array)
        # the same partition of the rows, and each code names the row's own value
        assert len(u) == len(ref_u)
        pairs = set(zip(codes.tolist(), ref_codes.tolist()))
        assert len(pairs) == len(set(ref_codes.tolist()))
        got = [None if c < 0 else u[c] for c in codes]
        want = values.tolist()
        for g, w, rc in zip(got, want, ref_codes):
            assert (rc < 0 and g is None) or (g == w or (pd.isna(g) and pd.isna(w)))


def test_offset_codes_kernel_matches_numpy_twin(rng):
    from alignstat._kernels.packing import offset_codes, offset_codes_numpy

    for x in (rng.integers(-50, 50, 5000), np.array([3]), rng.integers(0, 10**9, 100)):
        x = x.astype(np.int64)
        got, ref = offset_codes(x, 1000), offset_codes_numpy(x, 1000)
        assert got[0] == ref[0]
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(x[got[2]], x[ref[2]])  # a row holding each value
        if got[0]:
            np.testing.assert_array_equal(x[got[2]][got[1]], x)


def test_item_runs_kernel_matches_numpy_twin(rng):
    from alignstat._kernels.packing import item_runs, item_runs_numpy

    ik = np.repeat(np.arange(50, dtype=np.int64), rng.integers(1, 6, 50))
    ok = np.concatenate([np.sort(rng.choice(20, (ik == i).sum(), replace=False)) for i in range(50)]).astype(float)
    cases = [(ik, ok), (ik[::-1].copy(), ok), (ik, ok[::-1].copy()), (ik[:0], ok[:0])]
    dup = ok.copy()
    j = int(np.flatnonzero(np.diff(ik) == 0)[0])
    dup[j + 1] = dup[j]
    cases.append((ik, dup))
    for a, b in cases:
        got, ref = item_runs(a, b), item_runs_numpy(a, b)
        assert got[0] == ref[0]
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(got[2], ref[2])
    assert item_runs(ik, ok)[0] and not item_runs(ik, dup)[0]


@pytest.mark.parametrize("shuffle", [False, True])
def test_large_frames_pack_as_small_ones(rng, monkeypatch, shuffle):
    """The numba route (>= _KERNEL_MIN_ROWS rows) and the NumPy route give the same distributions."""
    import alignstat.distributions as D

    n_q, n_g = 150, 12
    k = rng.integers(2, 8, n_q)
    rows = {"question": [], "option": [], "count": [], "country": []}
    for q in range(n_q):
        for g in range(n_g):
            rows["question"] += [f"Q{q:03d}"] * k[q]
            rows["option"] += list(np.arange(1.0, k[q] + 1))
            rows["count"] += list(rng.integers(0, 50, k[q]) + (np.arange(k[q]) == 0))
            rows["country"] += [g - 5] * k[q]
    df = pd.DataFrame(rows)
    if shuffle:
        df = df.sample(frac=1.0, random_state=1)
    assert len(df) >= D._KERNEL_MIN_ROWS
    fast = al.OpinionDistributions.from_frame(df)
    monkeypatch.setattr(D, "_KERNEL_MIN_ROWS", 10**9)
    slow = al.OpinionDistributions.from_frame(df)
    pd.testing.assert_frame_equal(fast.to_frame(), slow.to_frame())
    # against an independent normalisation with pandas
    ref = df.assign(prob=df["count"] / df.groupby(["question", "country"])["count"].transform("sum"))
    ref = ref.sort_values(["question", "country", "option"]).reset_index(drop=True)
    out = fast.to_frame()
    np.testing.assert_allclose(out["prob"], ref["prob"], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out["country"], ref["country"])
    dup = pd.concat([df, df.iloc[[7]]])
    with pytest.raises(ValueError, match="appears more than once"):
        al.OpinionDistributions.from_frame(dup)


def test_fill_items_kernel_matches_numpy_twin(rng):
    from alignstat._kernels.packing import fill_items, fill_items_numpy

    n_items, kmax, nv = 40, 6, 9
    dest = np.repeat(np.arange(n_items, dtype=np.int64), 3)
    p = rng.random(len(dest))
    # distinct cells per item, as the packing guarantees
    key = np.concatenate([rng.choice(kmax, 3, replace=False) + nv * rng.integers(0, 5) for _ in range(n_items)])
    key = key.astype(np.int64)
    colmap = np.arange(5 * nv, dtype=np.int64) % nv
    cells = dest * kmax + colmap[key]
    assert len(np.unique(cells)) == len(cells)
    got, ref = fill_items(dest, key, colmap, p, n_items, kmax), fill_items_numpy(dest, key, colmap, p, n_items, kmax)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)
    assert got[2].sum() == len(dest) and got[1].sum() == len(np.unique(cells))


def test_large_joint_grids_match_the_numpy_route(rng, monkeypatch):
    """align on frames past the kernel threshold equals align with every kernel threshold off, and scipy."""
    import alignstat._packed as P
    import alignstat.distributions as D

    qs = {f"Q{q}": list(np.arange(1.0, 3 + q % 5)) for q in range(120)}
    a = _side(rng, 4, "model", qs)
    b = _side(rng, 30, "country", qs)
    b = b[~((b["question"] == "Q7") & (b["option"] == 1.0))]  # some items lack an option
    assert len(b) >= P._KERNEL_MIN_ROWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)  # renormalised sums, missing options set to 0
        fast = al.align(a, b, policy={"missing_options": "zero"}, level="question")
        monkeypatch.setattr(P, "_KERNEL_MIN_ROWS", 10**9)
        monkeypatch.setattr(D, "_KERNEL_MIN_ROWS", 10**9)
        slow = al.align(a, b, policy={"missing_options": "zero"}, level="question")
    assert fast.attrs["report"] == slow.attrs["report"]
    assert sum(r["issue"] == "missing options" for r in fast.attrs["report"]) == 30
    assert (fast.loc[fast["question"] == "Q7", "alignment"] < 1).all()
    pd.testing.assert_frame_equal(fast, slow)
    row = fast.iloc[123]
    pa = a[(a["question"] == row["question"]) & (a["model"] == row["model"])]
    pb = b[(b["question"] == row["question"]) & (b["country"] == row["country"])]
    x = np.asarray(qs[row["question"]])
    wa = pa.set_index("option")["prob"].reindex(x, fill_value=0.0).to_numpy()
    wb = pb.set_index("option")["prob"].reindex(x, fill_value=0.0).to_numpy()
    ref = 1 - wasserstein_distance(x, x, wa, wb / wb.sum()) / (x[-1] - x[0])
    assert row["alignment"] == pytest.approx(ref, abs=1e-12)
