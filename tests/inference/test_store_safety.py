"""The store under hostile conditions: short or common keys, secrets in answers, two writers, kill -9."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference import AnswerStore, OpenAIChatBackend, StoreBusyError, collect, read_results
from inference.backends import redact
from inference.testing import Fault, LocalOpenAIServer, Reply

REPO = Path(__file__).resolve().parents[2]
VOLATILE = ("time",)


def _collect(bank, srv, store, **kw):
    backend = OpenAIChatBackend("toy-model", base_url=srv.base_url, timeout=5.0)
    return collect(bank, backend=backend, store=store, progress=False, sleep=lambda s: None, **kw)


def _stable(store):
    return sorted((json.dumps({k: v for k, v in r.items() if k not in VOLATILE}, sort_keys=True)
                   for r in AnswerStore(store).records()))


@pytest.mark.parametrize("key", ["x", "none"])
def test_short_or_common_key_changes_no_stored_field(key, bank, tmp_path, monkeypatch):
    """OPENAI_API_KEY=x or =none (local servers) must not touch 'none' conditions, texts or keys."""
    with LocalOpenAIServer() as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-a-long-reference-key-0123456789")
        _collect(bank, srv, tmp_path / "ref.jsonl", samples=2)
        monkeypatch.setenv("OPENAI_API_KEY", key)
        s = _collect(bank, srv, tmp_path / "short.jsonl", samples=2)
        assert {e["authorization"] for e in srv.chat_requests()[-14:]} == {f"Bearer {key}"}
    assert s.exit_code == 0 and s.n_done == 14
    assert _stable(tmp_path / "short.jsonl") == _stable(tmp_path / "ref.jsonl")
    recs = AnswerStore(tmp_path / "short.jsonl").records()
    assert {r["condition"] for r in recs} == {"none"} and "[REDACTED]" not in (tmp_path / "short.jsonl").read_text()
    frame = read_results(tmp_path / "short.jsonl")
    assert set(frame["status"]) == {"ok"} and frame["question"].nunique() == 7


def test_secret_is_redacted_in_free_text_only(bank, tmp_path, monkeypatch):
    key = "sk-proj-secret-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)

    def responder(body, n):
        if "parents proud" in body["messages"][0]["content"].split("------")[-1]:
            return Fault(400, message=f"bad request for key {key}")
        return Reply(f"{{'1': '40%', '2': '30%', '3': '20%', '4': '10%'}} (key {key})")

    with LocalOpenAIServer(responder) as srv:
        _collect(bank, srv, tmp_path / "a.jsonl", questions=["Q1", "Q27"])
    text = (tmp_path / "a.jsonl").read_text()
    assert key not in text
    recs = {r["question"]: r for r in AnswerStore(tmp_path / "a.jsonl").records()}
    assert recs["Q1"]["text"].endswith("(key [REDACTED])") and recs["Q1"]["status"] == "done"
    assert recs["Q27"]["error"].endswith("bad request for key [REDACTED]")
    # the structure is untouched: every field but the two free-text ones is as planned
    assert recs["Q1"]["condition"] == "none" and recs["Q1"]["keys"] == ["1", "2", "3", "4"]


def test_redact_replaces_only_the_exact_secret():
    assert redact("abcdefgh-1 abcdefgh-12", ["abcdefgh-12"]) == "abcdefgh-1 [REDACTED]"
    assert redact("te-x-t none", ["x", "none"]) == "te-x-t none"
    assert redact("echo sk-abc***wxyz", []) == "echo [REDACTED]"
    assert redact("answer mentions sk-abc123", [], key_like=False) == "answer mentions sk-abc123"


def test_second_writer_is_refused_with_a_clear_message(bank, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k" * 20)
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer() as srv:
        with AnswerStore(store).lock():
            with pytest.raises(StoreBusyError, match=r"a\.jsonl.* being written by another process.*--wait-for-lock"):
                _collect(bank, srv, store)
            t0 = time.monotonic()
            with pytest.raises(StoreBusyError, match="after waiting 0.3 s"):
                _collect(bank, srv, store, lock_timeout=0.3)
            assert 0.25 < time.monotonic() - t0 < 5
        assert srv.chat_requests() == []
        assert _collect(bank, srv, store).n_done == 7  # the lock is released


def _cli(store, base_url, *extra):
    env = dict(os.environ, OPENAI_API_KEY="k" * 20, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "inference.cli", "collect", "--questions", str(store.parent / "WV7_English.jsonl"),
           "--model", "toy-model", "--base-url", base_url, "--store", str(store), "--quiet", *extra]
    return subprocess.Popen(cmd, env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_collects_ask_each_request_once(bank_path, tmp_path):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(latency=0.05) as srv:
        procs = [_cli(store, srv.base_url, "--samples", "2", "--concurrency", "2", "--wait-for-lock", "60")
                 for _ in range(2)]
        outs = [p.communicate(timeout=90) for p in procs]
        codes = [p.returncode for p in procs]
        n_chat = len(srv.chat_requests())
    assert codes == [0, 0], outs
    assert n_chat == 14  # 7 questions x 2 samples, asked once in all
    recs = AnswerStore(store).records()
    assert len(recs) == 14 and len({r["key"] for r in recs}) == 14
    assert sorted(o[0].count("14 not sent") for o in outs) == [0, 1]  # the second found everything stored


def test_cli_refuses_a_busy_store_with_exit_4(bank_path, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from inference.cli import collect as collect_cmd

    monkeypatch.setenv("OPENAI_API_KEY", "k" * 20)
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer() as srv, AnswerStore(store).lock():
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet"])
        assert srv.chat_requests() == []
    assert r.exit_code == 4 and "being written by another process" in r.output and "--wait-for-lock" in r.output
    assert not store.exists()


# kill -9 mid-collection: tests/inference/test_cli.py::test_kill_9_then_resume_loses_and_repeats_nothing
