"""The question bank of the first seed paper, in all languages."""

import json

import numpy as np
import pytest

import alignstat as al


def test_all_languages_load(seed_data):
    files = sorted((seed_data / "dataset" / "questions").glob("WV7_*.jsonl"))
    assert len(files) == 10  # nine languages + the shuffled-option variant
    english = al.load_question_bank(seed_data / "dataset" / "questions" / "WV7_English.jsonl")
    assert len(english) == 144 and english.questions[0].language == "English"
    for f in files:
        bank = al.load_question_bank(f)
        assert len(bank) > 100
        for q in bank:
            assert len(q.keys) == len(q.choices) == len(q.positions)
            assert q.id in english  # every translated id exists in the English bank


def test_shuffled_bank_keeps_positions(seed_data):
    qdir = seed_data / "dataset" / "questions"
    plain = al.load_question_bank(qdir / "WV7_English.jsonl")
    shuf = al.load_question_bank(qdir / "WV7_shuffle.jsonl")
    q1s, q1 = shuf["Q1"], plain["Q1"]
    assert q1s.keys != q1.keys  # shown in another order ...
    for k, c in zip(q1s.keys, q1s.choices):  # ... but each label keeps its position
        assert q1.position_of(k) == q1s.position_of(k)
        assert q1.choices[q1.keys.index(k)] == c


def test_wave_mapping(seed_data):
    bank = al.load_question_bank(seed_data / "dataset" / "questions" / "WV567.jsonl")
    assert len(bank) == 75
    q = bank["Q1"]
    assert q.wave_ids[0] == "Q1" and len(q.wave_ids) == 3


def test_bank_messages(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        al.load_question_bank(tmp_path / "nope.jsonl")
    f = tmp_path / "bank.jsonl"
    f.write_text('{"id": "Q1", "question": "x", "choices": ["a"], "choice_keys": ["1", "2"]}\n')
    with pytest.raises(ValueError, match=r"bank.jsonl:1 \(question 'Q1'\): 1 choices but 2 choice_keys"):
        al.load_question_bank(f)
    f.write_text('{"id": "Q1", "question": "x", "choices": ["a", "b"]}\n')
    with pytest.raises(ValueError, match=r"bank.jsonl:1: field 'choice_keys' is missing"):
        al.load_question_bank(f)
    f.write_text("{not json\n")
    with pytest.raises(ValueError, match=r"bank.jsonl:1: not valid JSON"):
        al.load_question_bank(f)
    rec = {"id": "Q1", "question": "x", "choices": ["a", "b"], "choice_keys": ["1", "2"]}
    f.write_text(json.dumps(rec) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(ValueError, match="duplicate question id 'Q1'"):
        al.load_question_bank(f)
    rec2 = dict(rec, id="Q2", choice_keys=["1", "DK"])
    f.write_text(json.dumps(rec2) + "\n")
    q = al.load_question_bank(f)["Q2"]
    assert q.positions[0] == 1.0 and np.isnan(q.positions[1])
    with pytest.raises(KeyError, match="has no option key '3'"):
        q.position_of(3)
    assert q.with_positions([2, 1]).positions == (2.0, 1.0)
    with pytest.raises(ValueError, match="2 options"):
        q.with_positions([1])


@pytest.mark.parametrize("key, expected", [("1", 1.0), (" 10 ", 10.0), ("2.5", 2.5), (3, 3.0)])
def test_key_position_numbers(key, expected):
    assert al.key_position(key) == expected


@pytest.mark.parametrize("key", ["DK", "", None, "inf", "nan"])
def test_key_position_non_numbers(key):
    assert np.isnan(al.key_position(key))
