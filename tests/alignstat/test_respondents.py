"""Respondent-level helpers: per-respondent alignment against a direct computation, validation."""

import numpy as np
import pandas as pd
import pytest

import alignstat as al


@pytest.fixture
def small(rng):
    n = 300
    data = pd.DataFrame(
        {
            "Q1": rng.choice([1.0, 2.0, 3.0, 4.0, np.nan], n),
            "Q2": rng.choice([0.0, 5.0, 10.0], n),
            "Q3": rng.choice([1.0, 2.0, np.nan], n),
            "country": rng.choice(["NO", "SE", "DK"], n),
            "gender": rng.choice(["f", "m", None], n),
            "w": rng.uniform(0.2, 3, n),
        }
    )
    rows = []
    for m in ("m1", "m2"):
        for q, opts in (("Q1", [1, 2, 3, 4]), ("Q2", [0, 5, 10]), ("Q3", [1, 2])):
            p = rng.dirichlet(np.ones(len(opts)))
            rows += [{"model": m, "question": q, "option": o, "prob": v} for o, v in zip(opts, p)]
    return data, pd.DataFrame(rows)


def test_prepare_respondents_layout(small):
    data, answers = small
    rd = al.prepare_respondents(data, answers, factors=["country", "gender"], weight="w")
    assert rd.questions == ["Q1", "Q2", "Q3"] and rd.models == ["m1", "m2"]
    np.testing.assert_array_equal(rd.n_options, [4, 3, 2])
    np.testing.assert_array_equal(rd.span, [3.0, 10.0, 1.0])
    np.testing.assert_array_equal(rd.responses[:, 1], data["Q2"].to_numpy())
    assert rd.group_labels[0] == ["DK", "NO", "SE"]
    np.testing.assert_array_equal(rd.groups[:, 1] == -1, data["gender"].isna().to_numpy())
    rd2 = al.prepare_respondents(data, answers, factors=["gender"], missing_as_group=True)
    assert rd2.group_labels[0][-1] == "(missing)" and (rd2.groups >= 0).all()
    m2q2 = answers[(answers.model == "m2") & (answers.question == "Q2")].sort_values("option")["prob"].to_numpy()
    np.testing.assert_allclose(rd.answers[1, 1, :3], m2q2)


@pytest.mark.parametrize("metric", ["likert", "wasserstein"])
def test_respondent_alignment_direct(small, metric):
    data, answers = small
    rd = al.prepare_respondents(data, answers, factors=["country"])
    got = al.respondent_alignment(rd.responses, rd.answers, rd.positions, metric=metric)
    twin = al.respondent_alignment(rd.responses, rd.answers, rd.positions, metric=metric, engine="numpy")
    np.testing.assert_allclose(got, twin, atol=1e-12)
    # direct computation from the tidy inputs
    for (m, q), a in answers.groupby(["model", "question"]):
        x, p = a["option"].to_numpy(float), a["prob"].to_numpy()
        span = x.max() - x.min()
        resp = data[q].to_numpy()
        if metric == "likert":
            ref = 1 - np.abs(resp - (p * x).sum()) / span
        else:
            ref = 1 - (np.abs(resp[:, None] - x[None, :]) * p).sum(1) / span
        mi, qi = rd.models.index(m), rd.questions.index(q)
        np.testing.assert_allclose(got[mi, :, qi], ref, atol=1e-12)


def test_prepare_respondents_messages(small):
    data, answers = small
    bad = data.assign(Q1=data["Q1"].replace(4.0, 8.0))
    with pytest.raises(ValueError, match=r"column 'Q1': values \[8.0\] are not options of the question"):
        al.prepare_respondents(bad, answers)
    with pytest.raises(ValueError, match="factor column 'region' is not in `data`"):
        al.prepare_respondents(data, answers, factors=["region"])
    with pytest.raises(ValueError, match="weight column 'pspwght' is not in `data`"):
        al.prepare_respondents(data, answers, weight="pspwght")
    with pytest.raises(ValueError, match="weight column 'w' must be finite and non-negative"):
        al.prepare_respondents(data.assign(w=-data["w"]), answers, weight="w")
    with pytest.raises(ValueError, match="weight column 'w' sums to zero"):
        al.prepare_respondents(data.assign(w=0.0), answers, weight="w")
    with pytest.raises(ValueError, match="question 'Q9' is not a column of `data`"):
        al.prepare_respondents(data, answers, questions=["Q9"])
    with pytest.raises(ValueError, match="needs a `model` column"):
        al.prepare_respondents(data, answers.drop(columns="model"))
    point = pd.DataFrame({"model": ["m"], "question": ["Q1"], "option": [2.0], "prob": [1.0]})
    with pytest.raises(ValueError, match="fewer than two options; list the full scale"):
        al.prepare_respondents(data, point)
    rd = al.prepare_respondents(data, point, positions={"Q1": [1, 2, 3, 4]})
    assert rd.n_options.tolist() == [4]
    with pytest.raises(ValueError, match="`positions` must be strictly ascending"):
        al.respondent_alignment(np.ones((2, 1)), np.ones((1, 1, 2)), np.array([[2.0, 1.0]]))
    with pytest.raises(ValueError, match="shapes do not match"):
        al.respondent_alignment(np.ones((2, 2)), np.ones((1, 1, 2)), np.array([[1.0, 2.0]]))
