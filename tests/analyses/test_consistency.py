"""Internal consistency (paper 000, section 7.2)."""

import numpy as np
import pandas as pd
import pytest

from analyses import TABLE11, as_topics, internal_consistency, modal_answers


def _answers(model, modal, k):
    """One-peaked distributions whose modal option is `modal[q]` on a 1..k[q] scale."""
    rows = []
    for q, o in modal.items():
        K = k[q]
        p = np.full(K, 0.5 / (K - 1))
        p[o - 1] = 0.5
        rows += [(model, q, float(i + 1), p[i]) for i in range(K)]
    return pd.DataFrame(rows, columns=["model", "question", "option", "prob"])


K = {"Q29": 4, "Q30": 4, "Q31": 4, "Q33": 5, "Q165": 2, "Q166": 2, "Q167": 2, "Q168": 2, "Q243": 10, "Q250": 10}


def test_hand_computed_rates():
    # gender: [agree, agree, disagree, agree] -> 3/4; atheism: all yes -> 1; democracy: 7 vs 3 -> 1/2
    a = _answers("m", {"Q29": 1, "Q30": 2, "Q31": 4, "Q33": 2, "Q165": 1, "Q166": 1, "Q167": 1, "Q168": 1,
                       "Q243": 7, "Q250": 3}, K)
    full = internal_consistency(a)
    assert list(full.columns[:5]) == ["model", "topic", "reading", "rate", "n_questions"]
    # Q33 = agree: both readings of its middle option give the same rate
    g = full[full.topic == "gender fairness"]
    assert sorted(g["reading"]) == ["neither-as-disagree", "neither-separate"] and (g["rate"] == 0.75).all()
    out = full[full.reading != "neither-separate"].set_index("topic")
    assert out.loc["gender fairness", "rate"] == pytest.approx(0.75)
    assert out.loc["gender fairness", "majority"] == "agree"
    assert out.loc["atheism", "rate"] == 1.0
    assert out.loc["democracy", "rate"] == 0.5
    assert (out["n_questions"] == [4, 4, 2]).all()


def test_missing_question_and_rejected_rows_are_not_counted():
    a = _answers("m", {"Q165": 1, "Q166": 2, "Q167": 2}, K)
    a["status"] = "ok"
    a.loc[a["question"] == "Q165", "status"] = "rejected"
    out = internal_consistency(a).drop_duplicates("topic").set_index("topic")
    assert out.loc["atheism", "n_questions"] == 2 and out.loc["atheism", "rate"] == 1.0
    assert np.isnan(out.loc["democracy", "rate"]) and out.loc["democracy", "n_questions"] == 0


def test_ties_first_and_drop():
    a = pd.DataFrame({"model": "m", "question": ["Q165", "Q165", "Q166", "Q166"],
                      "option": [1.0, 2.0, 1.0, 2.0], "prob": [0.5, 0.5, 0.2, 0.8]})
    m = modal_answers(a).set_index("question")
    assert m.loc["Q165", "option"] == 1.0 and bool(m.loc["Q165", "tie"])
    assert "Q165" not in set(modal_answers(a, ties="drop")["question"])
    out = internal_consistency(a).drop_duplicates("topic").set_index("topic")
    assert out.loc["atheism", "n_ties"] == 1 and out.loc["atheism", "rate"] == 0.5


def test_custom_topics_and_validation(tmp_path):
    spec = {"trust": {"A": {"hi": [1, 2], "lo": [3, 4]}, "B": {"hi": [1, 2], "lo": [3, 4]}}}
    a = _answers("m", {"A": 1, "B": 4}, {"A": 4, "B": 4})
    out = internal_consistency(a, topics=spec)
    assert out["rate"].tolist() == [0.5]
    import json
    p = tmp_path / "t.json"
    p.write_text(json.dumps(spec))
    assert internal_consistency(a, topics=p)["rate"].tolist() == [0.5]
    with pytest.raises(ValueError, match="more than one opinion group"):
        as_topics({"t": {"A": {"hi": [1, 2], "lo": [2, 3]}}})
    with pytest.raises(ValueError, match="in no opinion group"):
        internal_consistency(_answers("m", {"A": 4}, {"A": 5}), topics={"t": {"A": {"hi": [1, 2], "lo": [3]}}})
    with pytest.raises(ValueError, match="lacks the column 'prob'"):
        internal_consistency(a.drop(columns="prob"))
    with pytest.raises(ValueError, match="does not exist"):
        as_topics(tmp_path / "nope.json")


def test_table11_is_complete():
    t = as_topics()
    assert t.groupby("topic")["question"].nunique().to_dict() == {"atheism": 4, "democracy": 2, "gender fairness": 4}
    # every option of every scale is covered exactly once per reading
    for q, k in K.items():
        for r, tr in t.loc[t["question"] == q].groupby("reading"):
            assert sorted(tr["option"]) == list(np.arange(1.0, k + 1)), (q, r)
    assert set(t.loc[t.question == "Q33", "reading"]) == {"neither-as-disagree", "neither-separate"}
    assert (t.loc[t.question != "Q33", "reading"] == "").all()
    assert t["source"].str.contains("Table 11").all()
    assert set(TABLE11["democracy"]["Q243"]) == {"important", "not important"}


def test_seed_rq1_reproduces_section_7_2(seed_data):
    import warnings

    from inference import read_results

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answers = read_results(seed_data / "results" / "RQ1")
    full = internal_consistency(answers)
    assert full["model"].nunique() == 7
    # the other reading of Q33's middle option: Qwen2.5's neutral modal answer breaks its 100%
    alt = full[(full.topic == "gender fairness") & (full.reading == "neither-separate")].set_index("model")["rate"]
    assert (alt < 1).sum() >= 1 and alt.min() == 0.75, alt
    out = full[full.reading != "neither-separate"]
    rate = out.pivot_table(index="model", columns="topic", values="rate")
    # all models 100% on gender fairness
    assert (rate["gender fairness"] == 1.0).all()
    # GPT-3.5-Turbo 50% on atheism and democracy; every other model fully consistent
    assert rate.loc["gpt-3.5-turbo", "atheism"] == 0.5
    assert rate.loc["gpt-3.5-turbo", "democracy"] == 0.5
    others = rate.drop(index="gpt-3.5-turbo")
    assert (others[["atheism", "democracy"]] == 1.0).all().all(), others
