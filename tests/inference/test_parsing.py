"""Verbalized-distribution parsing: every repair and rejection, by hand-made cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference import RepairRules, parse_distribution, resolve_repair
from inference.prompts import format_distribution

K4 = ["1", "2", "3", "4"]
K3 = ["1", "2", "3"]


def probs(text, keys=K4, policy="lenient"):
    return parse_distribution(text, keys, repair=policy)


@pytest.mark.parametrize(
    "text, keys, expected",
    [
        ("{'1': '70%', '2': '25%', '3': '4%', '4': '1%'}", K4, [0.70, 0.25, 0.04, 0.01]),
        ("{1: 31%, 2: 4%, 3: 30%, 4: 35%}", K4, [0.31, 0.04, 0.30, 0.35]),  # the paper's own example
        ('{"1": 0.5, "2": 0.25, "3": 0.25}', K3, [0.5, 0.25, 0.25]),
        ("{'3': '40%', '1': '20%', '2': '40%'}", ["3", "1", "2"], [0.4, 0.2, 0.4]),  # shuffled bank order
        ("{'1':'25%','2':'40%','3':'25%','4':'10%'}", K4, [0.25, 0.40, 0.25, 0.10]),
    ],
)
def test_ok_answers(text, keys, expected):
    r = parse_distribution(text, keys)
    assert r.status == "ok" and r.repairs == () and r.reason == ""
    np.testing.assert_allclose(r.probs, expected, rtol=0, atol=1e-12)


def test_rounding_within_tolerance_is_ok_and_rescaled():
    r = probs("{'1': '33.33%', '2': '33.33%', '3': '33.33%'}", K3)
    assert r.status == "ok"
    np.testing.assert_allclose(r.probs, [1 / 3] * 3, atol=1e-12)


@pytest.mark.parametrize(
    "text, keys, repair, expected",
    [
        ("{'1': '27.5%', '2': '34.7%', '3': '17.9%', '4': '14.9%', '5': '14.9%'}", ["1", "2", "3", "4", "5"],
         "renormalized", np.array([27.5, 34.7, 17.9, 14.9, 14.9]) / 109.9),
        ("{'1': '10.29%', '2': '89.71%'}", K3, "missing_zero", [0.1029, 0.8971, 0.0]),
        ("{'0': '50%', '1': '30%', '2': '20%'}", K3, "keys_rebased", [0.5, 0.3, 0.2]),
        ("{'1': 'about 70%', '2': '30 percent'}", ["1", "2"], "value_strings", [0.7, 0.3]),
        ("{'1': '70%', '2': 30}", ["1", "2"], "value_strings", [0.7, 0.3]),
        ("{'1': 70, '2': 30}", ["1", "2"], "percent_scale", [0.7, 0.3]),
        ("Here is my estimate:\n{'1': '70%', '2': '30%'}\nHope this helps.", ["1", "2"], "extracted", [0.7, 0.3]),
        ("{'1': '0%', '2': '0%', '3': '100%', '4': '0%'}", K3, "extra_zero_dropped", [0.0, 0.0, 1.0]),
    ],
)
def test_each_repair(text, keys, repair, expected):
    r = parse_distribution(text, keys)
    assert r.status == "repaired"
    assert repair in r.repairs
    np.testing.assert_allclose(r.probs, expected, atol=1e-12)
    assert math.isclose(sum(r.probs), 1.0)
    # strict policy rejects the same answer and names the repair
    s = parse_distribution(text, keys, repair="strict")
    assert s.status == "rejected"
    assert s.reason.startswith("not_allowed:") and repr(repair) in s.reason
    assert all(math.isnan(p) for p in s.probs)


def test_repairs_combine_in_documented_order():
    r = probs("Answer: {'1': '60%', '2': '60%'}", K3)
    assert r.status == "repaired"
    assert r.repairs == ("extracted", "missing_zero", "renormalized")
    np.testing.assert_allclose(r.probs, [0.5, 0.5, 0.0])


@pytest.mark.parametrize(
    "text, keys, code",
    [
        ("", K4, "empty"),
        (None, K4, "empty"),
        (float("nan"), K4, "empty"),
        ("Answer: {'1': '15.23%', '2': '12.45%', '3': '18", K4, "truncated"),
        ("I think most people would agree.", K4, "no_mapping"),
        ("{}", K4, "no_mapping"),
        ("{'1': 'high', '2': 'low'}", K4, "bad_value"),
        ("{'1': '50%', '1': '50%'}", K4, "duplicate_key"),
        ("{'1': '20%', '2': '35%', '3': '25%', '4': '20%'}", ["1", "2"], "unknown_keys"),
        ("{'1': '-20%', '2': '120%'}", ["1", "2"], "negative"),
        ("{'1': '0%', '2': '0%'}", ["1", "2"], "zero_sum"),
        ("{'1': '0.9', '2': '0.9'}", ["1", "2"], "sum_out_of_range"),
    ],
)
def test_rejections(text, keys, code):
    r = parse_distribution(text, keys)
    assert r.status == "rejected"
    assert r.reason.split(":", 1)[0] == code
    assert len(r.probs) == len(keys) and all(math.isnan(p) for p in r.probs)


def test_unknown_keys_message_names_question_and_options():
    r = parse_distribution("{'1': '20%', '4': '80%'}", K3, question="Q174")
    assert "Q174" in r.reason and "['4']" in r.reason and "['1', '2', '3']" in r.reason


def test_custom_policy_forbids_one_repair_only():
    pol = dataclasses.replace(RepairRules(), name="no-renorm", renormalized=False)
    assert parse_distribution("{'1': '60%', '2': '60%'}", ["1", "2"], repair=pol).status == "rejected"
    assert parse_distribution("{'1': '100%'}", ["1", "2"], repair=pol).status == "repaired"


def test_policy_validation_messages():
    with pytest.raises(ValueError, match="`repair` must be one of"):
        resolve_repair("sloppy")
    with pytest.raises(TypeError, match="`repair` must be a preset name"):
        resolve_repair(3)
    with pytest.raises(ValueError, match="`sum_tolerance` must be in"):
        RepairRules(sum_tolerance=-0.1)
    with pytest.raises(ValueError, match="`max_sum_error`"):
        RepairRules(sum_tolerance=0.2, max_sum_error=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolve_repair("lenient").renormalized = False


def test_strict_allows_nothing_lenient_allows_everything():
    strict, lenient = resolve_repair("strict"), resolve_repair("lenient")
    from inference.parsing import REPAIRS

    assert not any(strict.allows(r) for r in REPAIRS)
    assert all(lenient.allows(r) for r in REPAIRS)


@st.composite
def distributions(draw):
    n = draw(st.integers(2, 10))
    w = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    p = np.array(w) / sum(w)
    order = draw(st.permutations(list(range(n))))
    return p, order


@settings(max_examples=60, deadline=None)
@given(distributions())
def test_roundtrip_of_the_prompt_format(case):
    """What the prompt shows as the answer format parses back to the same distribution."""
    p, order = case
    keys = [str(i + 1) for i in range(len(p))]
    text = format_distribution([keys[i] for i in order], [p[i] for i in order])
    r = parse_distribution(text, keys)
    assert r.status == "ok"
    # 2-decimal percentages: each value within 0.005 percentage points, then rescaled
    np.testing.assert_allclose(r.probs, p, atol=len(p) * 5e-5 + 1e-12)
