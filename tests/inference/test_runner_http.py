"""collect() with the real openai client against a local OpenAI-protocol server."""

from __future__ import annotations

import math
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.special

from alignstat import DataPolicyWarning
from inference import (
    AnswerStore,
    FatalError,
    OpenAIBatchBackend,
    OpenAIChatBackend,
    collect,
    read_results,
    read_store,
)
from inference.testing import Fault, IllustrativeAnswerModel, LocalOpenAIServer, Reply, request_text, scripted

KEY = "sk-test-DO-NOT-LEAK-0123456789"
GOOD4 = "{'1': '40%', '2': '30%', '3': '20%', '4': '10%'}"


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


def no_sleep(delays):
    def sleep(s):
        delays.append(s)
    return sleep


def run(bank, srv, store, **kw):
    backend = OpenAIChatBackend("toy-model", base_url=srv.base_url, timeout=kw.pop("timeout", 5.0))
    kw.setdefault("progress", False)
    kw.setdefault("sleep", no_sleep([]))
    return collect(bank, backend=backend, store=store, **kw)


def test_all_answers_stored_once_key_never_written(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer() as srv:
        s = run(bank, srv, store, samples=2, concurrency=4)
        reqs = srv.chat_requests()
    assert (s.n_planned, s.n_done, s.n_failed, s.n_skipped) == (14, 14, 0, 0)
    assert len(reqs) == 14
    assert all(r["authorization"] == f"Bearer {KEY}" for r in reqs)  # the key is used ...
    assert KEY not in store.read_text()  # ... and never written
    recs = AnswerStore(store).records()
    assert len({r["key"] for r in recs}) == 14
    assert sorted((r["question"], r["sample"]) for r in recs) == sorted(
        (q, s) for q in bank.ids for s in range(2))
    assert sorted(r["body"]["seed"] for r in reqs) == [0] * 7 + [1] * 7
    assert s.prompt_tokens == sum(r["usage"]["prompt_tokens"] for r in recs) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataPolicyWarning)
        frame = read_results(store)
    assert set(frame["status"]) == {"ok"}
    assert set(frame["model"]) == {"toy-model"} and set(frame["condition"]) == {"none"}


def test_resume_sends_only_what_is_missing(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer() as srv:
        run(bank, srv, store, questions=["Q1", "Q27", "Q46"])
        first = [request_text(r["body"]) for r in srv.chat_requests()]
        s = run(bank, srv, store)
        second = [request_text(r["body"]) for r in srv.chat_requests()][len(first):]
    assert (s.n_skipped, s.n_done) == (3, 4)
    assert len(first) == 3 and len(second) == 4 and not set(first) & set(second)
    assert len(AnswerStore(store).records()) == 7


def test_rate_limits_and_server_errors_are_retried_with_backoff(bank, tmp_path, api_key):
    delays = []
    faults = [Fault(429), Fault(500), Fault(503), Fault(429)]
    with LocalOpenAIServer(scripted(faults, IllustrativeAnswerModel())) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], concurrency=1, backoff=0.5,
                max_backoff=30, sleep=no_sleep(delays))
        assert len(srv.chat_requests()) == 5
    assert (s.n_done, s.n_failed, s.n_retries) == (1, 0, 4)
    # delay k is 0.5 * 2**(k-1) times a jitter factor in [0.5, 1)
    for k, d in enumerate(delays, start=1):
        assert 0.5 * 2 ** (k - 1) * 0.5 <= d < 0.5 * 2 ** (k - 1)
    rec = AnswerStore(tmp_path / "a.jsonl").records()[0]
    assert rec["status"] == "done" and rec["attempts"] == 5


def test_retry_after_header_is_honoured_up_to_max_backoff(bank, tmp_path, api_key):
    delays = []
    faults = [Fault(429, delay=7), Fault(429, delay=120)]
    with LocalOpenAIServer(scripted(faults, IllustrativeAnswerModel())) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], concurrency=1, backoff=0.1,
                max_backoff=60, sleep=no_sleep(delays))
    assert s.n_done == 1 and delays == [7.0, 60.0]


def test_retries_are_bounded_then_recorded_as_transient_and_retried_next_run(bank, tmp_path, api_key):
    with LocalOpenAIServer(lambda body, n: Fault(500)) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1", "Q46"], max_retries=2)
        assert len(srv.chat_requests()) == 6
    assert (s.n_done, s.n_transient, s.n_failed, s.n_requests) == (0, 2, 0, 6)
    assert s.exit_code == 3 and s.n_unanswered == 2
    recs = AnswerStore(tmp_path / "a.jsonl").records()
    assert all(r["status"] == "transient" and r["error"].startswith("transient:") for r in recs)
    assert all(r["attempts"] == 3 and r["attempts_total"] == 3 for r in recs)
    # a transient failure is asked again by the next run
    with LocalOpenAIServer() as srv:
        s2 = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1", "Q46"])
        assert s2.n_skipped == 0 and len(srv.chat_requests()) == 2
    assert s2.n_done == 2 and s2.exit_code == 0
    assert {r["status"] for r in AnswerStore(tmp_path / "a.jsonl").load().values()} == {"done"}


def test_attempt_budget_spans_runs_then_only_retry_failed_asks(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(lambda body, n: Fault(503)) as srv:
        s1 = run(bank, srv, store, questions=["Q1"], max_retries=2, max_attempts=5)
        s2 = run(bank, srv, store, questions=["Q1"], max_retries=2, max_attempts=5)
        s3 = run(bank, srv, store, questions=["Q1"], max_retries=2, max_attempts=5)
        assert len(srv.chat_requests()) == 5  # 3 + 2, then the budget is spent
    assert (s1.n_transient, s2.n_failed, s3.n_skipped, s3.n_requests) == (1, 1, 1, 0)
    assert s3.exit_code == 3
    recs = AnswerStore(store).records()
    assert [r["status"] for r in recs] == ["transient", "failed"]
    assert [r["attempts_total"] for r in recs] == [3, 5] and "budget" in recs[-1]["error"]
    with LocalOpenAIServer(lambda body, n: Fault(503)) as srv:  # re-asked on demand, fails again: stays failed
        s_again = run(bank, srv, store, questions=["Q1"], max_retries=1, max_attempts=5, retry_failed=True)
    assert (s_again.n_requests, s_again.n_failed) == (2, 1)
    assert AnswerStore(store).load()[recs[0]["key"]]["status"] == "failed"
    with LocalOpenAIServer() as srv:
        assert run(bank, srv, store, questions=["Q1"], max_attempts=5).n_requests == 0
        s4 = run(bank, srv, store, questions=["Q1"], max_attempts=5, retry_failed=True)
        assert len(srv.chat_requests()) == 1
    assert s4.n_done == 1 and s4.exit_code == 0


def test_client_error_is_permanent_until_retry_failed(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(lambda body, n: Fault(400)) as srv:
        s = run(bank, srv, store, questions=["Q1"])
        assert len(srv.chat_requests()) == 1
    assert (s.n_failed, s.exit_code) == (1, 3)
    with LocalOpenAIServer() as srv:
        assert run(bank, srv, store, questions=["Q1"]).n_requests == 0
        assert run(bank, srv, store, questions=["Q1"], retry_failed=True).n_done == 1


def test_timeouts_dropped_connections_and_garbled_bodies_are_retried(bank, tmp_path, api_key):
    faults = [Fault("slow", delay=1.5, then=GOOD4), Fault("drop"), Fault("garbage")]
    with LocalOpenAIServer(scripted(faults, lambda b, n: Reply(GOOD4))) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], concurrency=1, timeout=0.5)
        assert len(srv.chat_requests()) == 4
    assert (s.n_done, s.n_retries, s.n_requests) == (1, 3, 4)


def test_malformed_answer_is_asked_again(bank, tmp_path, api_key):
    items = ["I think family is important.", "{'1': '40%', '2': '3"]  # no mapping, then truncated
    with LocalOpenAIServer(scripted(items, lambda b, n: Reply(GOOD4))) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], concurrency=1, parse_retries=2)
        assert len(srv.chat_requests()) == 3
    rec = AnswerStore(tmp_path / "a.jsonl").records()[0]
    assert rec["status"] == "done" and rec["text"] == GOOD4 and rec["attempts"] == 3
    assert s.n_retries == 2


def test_unparsable_answer_recorded_with_raw_text_after_bounded_retries(bank, tmp_path, api_key):
    with LocalOpenAIServer(lambda b, n: Reply("Family? Hard to say.")) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], parse_retries=1)
        assert len(srv.chat_requests()) == 2
    assert s.n_transient == 1 and s.exit_code == 3
    rec = AnswerStore(tmp_path / "a.jsonl").records()[0]
    assert rec["status"] == "transient" and rec["text"] == "Family? Hard to say."
    assert "no_mapping" in rec["error"]
    with pytest.warns(DataPolicyWarning):
        frame = read_results(tmp_path / "a.jsonl")
    assert set(frame["status"]) == {"rejected"} and frame["prob"].isna().all()
    assert frame["reason"].iloc[0].startswith("no_mapping")


def asked(body):
    """The question block of a prompt (few-shot examples come before it)."""
    return request_text(body).split("------")[-1]


def test_auth_failure_stops_the_run_and_keeps_answers(bank, tmp_path, api_key):
    def responder(body, n):
        if "parents proud" in asked(body):
            return Fault(401, message=f"Incorrect API key provided: {KEY}")
        return Reply(GOOD4 if "'4'." in asked(body) else "{'1': '50%', '2': '50%'}")

    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(responder) as srv:
        with pytest.raises(FatalError) as err:
            run(bank, srv, store, concurrency=1)
    assert KEY not in str(err.value) and "[REDACTED]" in str(err.value)
    recs = AnswerStore(store).records()
    assert [r["question"] for r in recs] == ["Q1"]  # the one before the failure is kept
    assert KEY not in store.read_text()


def test_client_errors_fail_one_request_redacted(bank, tmp_path, api_key):
    def responder(body, n):
        if "parents proud" in asked(body):
            return Fault(400, message=f"context too long for key {KEY}")
        return IllustrativeAnswerModel()(body, n)

    with LocalOpenAIServer(responder) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl")
    assert (s.n_done, s.n_failed, s.exit_code) == (6, 1, 3)
    text = (tmp_path / "a.jsonl").read_text()
    assert KEY not in text and "[REDACTED]" in text


def test_concurrency_limit_is_honoured(bank, tmp_path, api_key):
    active, peak, lock = [0], [0], threading.Lock()
    inner = IllustrativeAnswerModel()

    def responder(body, n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        return inner(body, n)

    with LocalOpenAIServer(responder) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", samples=3, concurrency=3)
    assert s.n_done == 21
    assert 2 <= peak[0] <= 3


def test_logprobs_method(bank, tmp_path, api_key):
    lps = [("1", -0.4), (" 2", -1.3), ("3", -2.5), ("Very", -3.0), ("4", -4.0)]
    with LocalOpenAIServer(lambda b, n: Reply("1", top_logprobs=lps)) as srv:
        run(bank, srv, tmp_path / "a.jsonl", answer_method="logprobs", questions=["Q1"])
        body = srv.chat_requests()[0]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    frame = read_results(tmp_path / "a.jsonl")
    np.testing.assert_allclose(frame["prob"], scipy.special.softmax([-0.4, -1.3, -2.5, -4.0]), atol=1e-12)
    assert set(frame["status"]) == {"ok"} and set(frame["answer_method"]) == {"logprobs"}


def test_freetext_samples_vote_and_refusals(bank, tmp_path, api_key):
    answers = {0: "I would say 2.", 1: "Rather important, I think.", 2: "As an AI, I don't have personal opinions.",
               3: "2", 4: "Probably 3."}

    def responder(body, n):
        return Reply(answers[body["seed"]])

    with LocalOpenAIServer(responder) as srv:
        run(bank, srv, tmp_path / "a.jsonl", answer_method="freetext", samples=5, questions=["Q1"])
    frame = read_store(tmp_path / "a.jsonl")
    assert frame.loc[frame["prob"] == 1.0, "key"].tolist() == ["2"]
    assert math.isclose(frame["agreement"].iloc[0], 3 / 4)
    assert math.isclose(frame["refusal_share"].iloc[0], 1 / 5)
    assert (frame["n_samples"] == 5).all() and (frame["n_valid_samples"] == 4).all()
    dist = read_store(tmp_path / "a.jsonl", freetext="distribution")
    np.testing.assert_allclose(dist["prob"], [0, 0.75, 0.25, 0])


def test_sequence_method(bank, tmp_path, api_key):
    with LocalOpenAIServer(lambda b, n: Reply("1, 2, 2, 3, 2, 1, 9")) as srv:
        run(bank, srv, tmp_path / "a.jsonl", answer_method="sequence", questions=["Q1"], n_sequence=7)
        assert "Imagine 7 different people" in request_text(srv.chat_requests()[0]["body"])
    frame = read_store(tmp_path / "a.jsonl")
    np.testing.assert_allclose(frame["prob"], [2 / 6, 3 / 6, 1 / 6, 0])
    assert set(frame["repairs"]) == {"invalid_tokens_dropped"}


def test_batch_api_submit_poll_download_and_resume(bank, tmp_path, api_key):
    store = tmp_path / "b.jsonl"
    with LocalOpenAIServer(batch_polls=3) as srv:
        backend = OpenAIBatchBackend("toy-model", base_url=srv.base_url, poll_interval=0.01, max_wait=0.0)
        # first run: submitted, then gives up waiting (as if the process were stopped)
        with pytest.raises(Exception, match="run again to resume"):
            collect(bank, backend=backend, store=store, progress=False)
        state = store.with_name("b.jsonl.batch.json")
        assert state.exists() and not store.exists()
        backend2 = OpenAIBatchBackend("toy-model", base_url=srv.base_url, poll_interval=0.01)
        s = collect(bank, backend=backend2, store=store, progress=False)
        creates = [e for e in srv.log if e["path"].endswith("/batches") and e["method"] == "POST"]
        uploads = [e for e in srv.log if e["path"].endswith("/files") and e["method"] == "POST"]
        run_reqs = [e for e in srv.log if e["path"].startswith("batch:")]
    assert len(creates) == 1 and len(uploads) == 1  # resumed, not resubmitted
    assert s.n_done == 7 and len(run_reqs) == 7 and not state.exists()
    assert len({r["key"] for r in AnswerStore(store).records()}) == 7
    assert KEY not in store.read_text()
    frame = read_results(store)
    assert set(frame["status"]) == {"ok"}


def test_progress_bar_shows_counts_failures_and_tokens(bank, tmp_path, api_key, capsys):
    def responder(body, n):
        return Fault(400) if "parents proud" in asked(body) else IllustrativeAnswerModel()(body, n)

    with LocalOpenAIServer(responder) as srv:
        run(bank, srv, tmp_path / "a.jsonl", progress=True)
    err = capsys.readouterr().err
    assert "7/7" in err and "failed=1" in err and "done=6" in err and "tokens=" in err


def test_bad_arguments_are_named(bank, tmp_path, api_key):
    backend = OpenAIChatBackend("m", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match=r"`questions`: \['Q999'\] are not in .*WV7_English\.jsonl"):
        collect(bank, backend=backend, store=tmp_path / "s.jsonl", questions=["Q1", "Q999"], progress=False)
    with pytest.raises(ValueError, match="`concurrency` must be a positive integer"):
        collect(bank, backend=backend, store=tmp_path / "s.jsonl", concurrency=0, progress=False)
    with pytest.raises(ValueError, match="`samples` must be a positive integer"):
        collect(bank, backend=backend, store=tmp_path / "s.jsonl", samples=0, progress=False)
    assert not (tmp_path / "s.jsonl").exists()
