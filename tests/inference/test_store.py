"""Append-only answer store: durability, torn lines, keys, secrets."""

from __future__ import annotations

import json

import pytest

from inference import AnswerStore, request_key


def rec(key, status="done", **kw):
    return {"key": key, "status": status, "question": "Q1", "text": "{'1': '100%'}", **kw}


def test_roundtrip_and_one_line_per_record(tmp_path):
    path = tmp_path / "s.jsonl"
    with AnswerStore(path) as st:
        for i in range(5):
            st.append(rec(f"k{i}", text=f"answer\nwith newline {i}"))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 6
    got = AnswerStore(path).records()
    assert [r["key"] for r in got] == [f"k{i}" for i in range(5)]
    assert got[3]["text"] == "answer\nwith newline 3"


def test_torn_last_line_is_ignored_then_cut_on_next_append(tmp_path):
    path = tmp_path / "s.jsonl"
    with AnswerStore(path) as st:
        st.append(rec("a"))
        st.append(rec("b"))
    full = path.read_bytes()
    torn = json.dumps(rec("c")).encode()[:17]  # a write interrupted mid-record
    path.write_bytes(full + torn)
    assert [r["key"] for r in AnswerStore(path).records()] == ["a", "b"]
    with AnswerStore(path) as st:
        st.append(rec("d"))
    assert [r["key"] for r in AnswerStore(path).records()] == ["a", "b", "d"]
    assert path.read_bytes() == full + json.dumps(rec("d"), sort_keys=True).encode() + b"\n"


def test_complete_last_record_missing_its_newline_is_kept(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n" + json.dumps(rec("b")))
    assert [r["key"] for r in AnswerStore(path).records()] == ["a", "b"]
    with AnswerStore(path) as st:
        st.append(rec("c"))
    assert [r["key"] for r in AnswerStore(path).records()] == ["a", "b", "c"]


def test_damage_in_the_middle_names_file_and_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n{not json\n" + json.dumps(rec("b")) + "\n")
    with pytest.raises(ValueError, match=r"s\.jsonl:2: not a JSON record"):
        AnswerStore(path).records()


def test_done_record_wins_over_failure(tmp_path):
    path = tmp_path / "s.jsonl"
    with AnswerStore(path) as st:
        st.append(rec("a", status="failed", error="timeout"))
        st.append(rec("a", status="done"))
        st.append(rec("a", status="failed", error="later failure"))
    assert AnswerStore(path).load()["a"]["status"] == "done"


def test_store_writes_exactly_what_it_is_given(tmp_path):
    """No substring replacement inside the JSON: redaction is the runner's job, on free text only."""
    path = tmp_path / "s.jsonl"
    with AnswerStore(path) as st:
        st.append(rec("a", condition="none", error="x none test"))
    got = AnswerStore(path).records()[0]
    assert got == rec("a", condition="none", error="x none test")


def test_request_key_is_stable_and_sensitive():
    msgs = [{"role": "user", "content": "Q?"}]
    base = request_key("m", msgs, {"temperature": 0.0, "seed": 0}, 0)
    assert base == request_key("m", [dict(msgs[0])], {"seed": 0, "temperature": 0.0}, 0)
    assert len(base) == 64 and int(base, 16) >= 0
    others = {
        request_key("m2", msgs, {"temperature": 0.0, "seed": 0}, 0),
        request_key("m", [{"role": "user", "content": "Q!"}], {"temperature": 0.0, "seed": 0}, 0),
        request_key("m", msgs, {"temperature": 1.0, "seed": 0}, 0),
        request_key("m", msgs, {"temperature": 0.0, "seed": 0}, 1),
    }
    assert base not in others and len(others) == 4


def test_append_requires_key(tmp_path):
    with pytest.raises(ValueError, match="needs a 'key' field"):
        AnswerStore(tmp_path / "s.jsonl").append({"status": "done"})
