"""Fixtures of the inference tests: a small hand-made question bank."""

from __future__ import annotations

import json

import pytest

from alignstat import load_question_bank

TINY = [
    {"id": "Q1", "question": "How important is family in your life?",
     "choices": ["Very important", "Rather important", "Not very important", "Not at all important"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
    {"id": "Q27", "question": "One of my main goals in life has been to make my parents proud.",
     "choices": ["Strongly agree", "Agree", "Disagree", "Strongly disagree"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
    {"id": "Q46", "question": "Taking all things together, would you say you are:",
     "choices": ["Very happy", "Rather happy", "Not very happy", "Not at all happy"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
    {"id": "Q57", "question": "Would you say that most people can be trusted or that you need to be very careful?",
     "choices": ["Most people can be trusted", "Need to be very careful"],
     "choice_keys": ["1", "2"], "type": "Opinion-Dependent"},
    {"id": "Q106", "question": "Incomes should be made more equal (1) vs larger income differences (10)?",
     "choices": [str(i) for i in range(1, 11)], "choice_keys": [str(i) for i in range(1, 11)],
     "type": "Opinion-Dependent"},
    {"id": "Q60", "question": "How much do you trust your family?",
     "choices": ["Trust completely", "Trust somewhat", "Do not trust very much", "Do not trust at all"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
    {"id": "Q70", "question": "How much confidence do you have in the courts?",
     "choices": ["A great deal", "Quite a lot", "Not very much", "None at all"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
]

TINY_DE = [
    dict(TINY[0], question="Wie wichtig ist Ihnen die Familie?",
         choices=["Sehr wichtig", "Ziemlich wichtig", "Nicht sehr wichtig", "Überhaupt nicht wichtig"]),
    dict(TINY[2], question="Alles in allem, würden Sie sagen, Sie sind:",
         choices=["Sehr glücklich", "Ziemlich glücklich", "Nicht sehr glücklich", "Überhaupt nicht glücklich"]),
]


def write_bank(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def bank_path(tmp_path):
    return write_bank(tmp_path / "WV7_English.jsonl", TINY)


@pytest.fixture
def bank(bank_path):
    return load_question_bank(bank_path)


@pytest.fixture
def bank_de(tmp_path):
    return load_question_bank(write_bank(tmp_path / "WV7_German.jsonl", TINY_DE))
