"""Question banks from a labelled .sav: full scales, missing codes out, JSONL round trip, collect and align."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import alignstat
import surveys


@pytest.fixture
def labelled_sav(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    rng = np.random.default_rng(3)
    n = 400
    # 0-10 scale where nobody answered 0, 1 or 10; 77/88/99 are missing codes
    lr = rng.choice([2, 3, 4, 5, 5, 5, 6, 7, 8, 9, 77, 88, 99], size=n).astype(float)
    imp = rng.choice([1, 2, 3, 4, -1, -2], size=n).astype(float)
    df = pd.DataFrame({"lrscale": lr, "imp_family": imp, "w": rng.uniform(0.5, 2, n)})
    lr_labels = {0.0: "Left", 10.0: "Right", 77.0: "Refusal", 88.0: "Don't know", 99.0: "No answer"}
    lr_labels.update({float(k): str(k) for k in range(1, 10)})
    labels = {
        "lrscale": lr_labels,
        "imp_family": {1.0: "Very important", 2.0: "Rather important", 3.0: "Not very important",
                       4.0: "Not at all important", -1.0: "Don't know", -2.0: "No answer"},
    }
    path = tmp_path / "toy.sav"
    pyreadstat.write_sav(df, str(path), column_labels={"lrscale": "Placement on left right scale",
                                                        "imp_family": "How important is family in your life?",
                                                        "w": "weight"},
                         variable_value_labels=labels, missing_ranges={"imp_family": [{"lo": -2, "hi": -1}]})
    return path


def test_bank_has_the_full_scale_without_missing_codes(labelled_sav):
    sv = surveys.read_survey(labelled_sav, profile=None)
    bank = surveys.question_bank(sv, variables=["lrscale", "imp_family"])
    lr = bank["lrscale"]
    assert lr.text == "Placement on left right scale"
    assert lr.keys == tuple(str(k) for k in range(11))  # 0..10 although 0, 1 and 10 never occur
    assert lr.choices[0] == "Left" and lr.choices[-1] == "Right"
    assert lr.positions == tuple(float(k) for k in range(11))
    imp = bank["imp_family"]
    assert imp.keys == ("1", "2", "3", "4") and imp.choices[0] == "Very important"
    assert bank.reversed == ("imp_family",)
    # the survey side has the same options, unobserved ones with share 0
    d = surveys.distributions(sv, variables="lrscale", weights="w")
    assert list(d["option"]) == [float(k) for k in range(11)]
    assert d.loc[d.option == 0.0, "prob"].iloc[0] == 0.0


def test_jsonl_round_trip_and_cli(labelled_sav, tmp_path):
    sv = surveys.read_survey(labelled_sav, profile=None)
    bank = surveys.question_bank(sv, variables=["lrscale", "imp_family"])
    out = surveys.write_question_bank(bank, tmp_path / "bank.jsonl")
    back = alignstat.load_question_bank(out)
    for q in bank:
        b = back[q.id]
        assert (b.text, b.choices, b.keys, b.positions) == (q.text, q.choices, q.keys, q.positions)
    from analyses.cli import main

    res = CliRunner().invoke(main, ["questions", str(labelled_sav), "--variables", "lrscale,imp_family",
                                    "-o", str(tmp_path / "cli.jsonl"), "--profile", "none"])
    assert res.exit_code == 0, res.output
    assert "wrote 2 question(s)" in res.output and "imp_family" in res.output
    assert (tmp_path / "cli.jsonl").read_text() == out.read_text()
    bad = CliRunner().invoke(main, ["questions", str(labelled_sav), "--variables", "nope", "-o",
                                    str(tmp_path / "x.jsonl"), "--profile", "none"])
    assert bad.exit_code != 0 and "variable 'nope' is not a column" in bad.output


def test_bank_feeds_collect_and_align(labelled_sav, tmp_path, monkeypatch):
    from inference import OpenAIChatBackend, collect, read_store
    from inference.testing import LocalOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    sv = surveys.read_survey(labelled_sav, profile=None)
    bank = alignstat.load_question_bank(
        surveys.write_question_bank(surveys.question_bank(sv, variables=["lrscale", "imp_family"]),
                                    tmp_path / "bank.jsonl"))
    with LocalOpenAIServer() as srv:
        backend = OpenAIChatBackend("toy-model", base_url=srv.base_url, timeout=5.0)
        s = collect(bank, backend=backend, store=tmp_path / "a.jsonl", progress=False, n_examples=1,
                    sleep=lambda t: None)
    assert s.n_done == 2
    answers = read_store(tmp_path / "a.jsonl")
    asked = answers.loc[answers.question == "lrscale"]
    assert sorted(asked["option"].astype(float)) == [float(k) for k in range(11)]  # the full 0-10 scale
    human = surveys.distributions(sv, variables=["lrscale", "imp_family"], weights="w")
    res = alignstat.align(human, answers, positions=bank)
    assert len(res) == 1 and np.isfinite(res["alignment"].iloc[0])


def test_question_bank_errors():
    sv = surveys.as_survey(pd.DataFrame({"a": [1, 2], "b": [1, 2], "c": [1, 8]}),
                           value_labels={"b": {1: "Yes", 2: "No"}, "c": {1: "Yes", 8: "Don't know"}},
                           profile=None)
    with pytest.raises(ValueError, match="variable 'a' .* has no value labels"):
        surveys.question_bank(sv, variables="a")
    with pytest.raises(ValueError, match="variable 'b' .* has no variable label; give its wording in `texts=`"):
        surveys.question_bank(sv, variables="b")
    assert surveys.question_bank(sv, variables="b", texts={"b": "Agree?"})["b"].text == "Agree?"
    with pytest.raises(ValueError, match="variable 'c' .* 1 valid labelled code"):
        surveys.question_bank(sv, variables="c", texts={"c": "x"})
