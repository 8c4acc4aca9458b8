"""Free-text extraction, refusal detection, majority vote, sequences, log-probs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special

from inference import extract_choice, is_refusal, logprobs_to_distribution, majority_vote, parse_sequence
from inference.extract import Extraction

KEYS = ["1", "2", "3", "4"]
LABELS = ["Strongly agree", "Agree", "Disagree", "Strongly disagree"]


@pytest.mark.parametrize(
    "text, key, rule",
    [
        ("3", "3", "lead"),
        ("2. Agree - family matters to most people.", "2", "lead"),
        ("(4) Strongly disagree", "4", "lead"),
        ("**1**", "1", "lead"),
        ("Considering everything, my answer is 3.", "3", "cue"),
        ("Answer: **2**", "2", "cue"),
        ("I would choose option 4 because ...", "4", "cue"),
        ("I strongly agree with this statement: strongly agree.", "1", "label"),
        ("Most people would probably disagree with that.", "3", "label"),
        ("On this scale I lean towards 2, honestly.", "2", "number"),
    ],
)
def test_extraction_rules(text, key, rule):
    e = extract_choice(text, KEYS, LABELS)
    assert (e.key, e.kind, e.rule) == (key, "answer", rule)


@pytest.mark.parametrize(
    "text",
    [
        "As an AI, I don't have personal opinions.",
        "I cannot answer questions about my personal beliefs.",
        "I'm unable to share a view on this.",
    ],
)
def test_refusals(text):
    assert is_refusal(text)
    assert extract_choice(text, KEYS, LABELS).kind == "refusal"


def test_unparsable_and_ambiguous():
    assert extract_choice("It depends on many things.", KEYS, LABELS).kind == "unparsable"
    # two different labels and two different numbers: no unique answer
    assert extract_choice("Some agree, some disagree; between 1 and 4.", KEYS, LABELS).kind == "unparsable"
    assert extract_choice("", KEYS, LABELS).kind == "unparsable"


def test_ten_point_scale_number_not_confused_with_digits():
    keys = [str(i) for i in range(1, 11)]
    assert extract_choice("10", keys).key == "10"
    assert extract_choice("I'd say 7 out of 10... no, my answer is 7.", keys).key == "7"


def test_majority_vote_agreement_and_refusal_share():
    ex = [Extraction("2", "answer")] * 12 + [Extraction("3", "answer")] * 5 + [Extraction(None, "refusal")] * 3
    v = majority_vote(ex, KEYS)
    assert v.key == "2" and v.n_samples == 20 and v.n_valid_samples == 17
    assert math.isclose(v.agreement, 12 / 17) and math.isclose(v.refusal_share, 3 / 20)
    assert math.isclose(sum(v.shares.values()), 1.0) and v.shares["1"] == 0


def test_majority_tie_takes_first_listed_option_and_empty_vote():
    v = majority_vote([Extraction("3", "answer"), Extraction("1", "answer")], KEYS)
    assert v.key == "1" and v.agreement == 0.5
    v = majority_vote([Extraction(None, "refusal")] * 2, KEYS)
    assert v.key is None and math.isnan(v.agreement) and v.refusal_share == 1.0


def test_parse_sequence():
    counts, bad = parse_sequence("1, 2, 2, 4, x, 2", KEYS)
    assert counts == {"1": 1, "2": 3, "3": 0, "4": 1} and bad == 1
    counts, bad = parse_sequence("1124243412434213", KEYS)
    assert sum(counts.values()) == 16 and counts["4"] == 5 and bad == 0
    keys10 = [str(i) for i in range(1, 11)]
    counts, _ = parse_sequence("10, 1, 10", keys10)
    assert counts["10"] == 2 and counts["1"] == 1


def test_logprobs_to_distribution_is_softmax_over_options():
    lp = {"1": -0.5, "2": -1.2, "3": -3.0, "4": -2.2}
    p, missing = logprobs_to_distribution(lp, KEYS)
    np.testing.assert_allclose(p, scipy.special.softmax([-0.5, -1.2, -3.0, -2.2]), atol=1e-14)
    assert missing == 0
    p, missing = logprobs_to_distribution({"1": -0.1, "3": -2.0}, KEYS)
    assert missing == 2 and p[1] == 0 and p[3] == 0
    np.testing.assert_allclose([p[0], p[2]], scipy.special.softmax([-0.1, -2.0]), atol=1e-14)
