"""Fault injection: a local OpenAI-protocol server (127.0.0.1) scripted to fail in every way.

One test per fault asserts what is stored, what the next run asks again and
the exit code (``CollectSummary.exit_code`` is the exit status of
``alignstat collect``; the CLI tests below check that too).  Every loop is
bounded in count (``max_retries``, ``parse_retries``, ``max_attempts``) and
in time (client timeouts of a fraction of a second, sleeps faked).
"""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from inference import EXIT_FATAL, EXIT_INCOMPLETE, EXIT_OK, AnswerStore, FatalError, OpenAIChatBackend, collect
from inference.cli import collect as collect_cmd
from inference.testing import Fault, IllustrativeAnswerModel, LocalOpenAIServer, Reply, request_text

KEY = "sk-fault-test-0123456789abcdef"
GOOD4 = "{'1': '40%', '2': '30%', '3': '20%', '4': '10%'}"


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


def run(bank, srv, store, *, timeout=2.0, delays=None, **kw):
    backend = OpenAIChatBackend("toy-model", base_url=srv.base_url, timeout=timeout)
    kw.setdefault("progress", False)
    kw.setdefault("sleep", (delays if delays is not None else []).append)
    return collect(bank, backend=backend, store=store, **kw)


def answered(srv):
    return [e for e in srv.chat_requests() if e["status"] == 200]


def asked(body):
    return request_text(body).split("------")[-1]


def failing_for(question_text, fault, times):
    """A responder that answers `fault` to the first `times` requests about `question_text`, then answers."""
    lock, seen = threading.Lock(), [0]
    inner = IllustrativeAnswerModel()

    def responder(body, n):
        if question_text in asked(body):
            with lock:
                seen[0] += 1
                if seen[0] <= times:
                    return fault() if callable(fault) else fault
        return inner(body, n)

    return responder


FAULTS = {
    "stall": (lambda: Fault("slow", delay=1.0, then=GOOD4), "Timeout"),
    "drop": (lambda: Fault("drop"), "transient"),
    "reset": (lambda: Fault("reset"), "transient"),
    "midbody": (lambda: Fault("midbody"), "transient"),
    "429": (lambda: Fault(429), "RateLimitError"),
    "500": (lambda: Fault(500), "InternalServerError"),
    "invalid_json": (lambda: Fault("garbage"), "transient"),
    "empty_choices": (lambda: Fault("empty"), "no choices"),
    "unparsable": (lambda: Reply("Family? Hard to say."), "unparsable"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_is_stored_as_transient_and_asked_again_by_the_next_run(name, bank, tmp_path, api_key):
    make, why = FAULTS[name]
    store = tmp_path / "a.jsonl"
    responder = failing_for("parents proud", make, times=2)  # Q27 fails twice, the others answer
    with LocalOpenAIServer(responder) as srv:
        s1 = run(bank, srv, store, questions=["Q1", "Q27", "Q46"], concurrency=1, max_retries=1, parse_retries=1,
                 timeout=0.4)
        n1 = len(srv.chat_requests())
        recs = AnswerStore(store).load()
        s2 = run(bank, srv, store, questions=["Q1", "Q27", "Q46"], concurrency=1, timeout=2.0)
        second = srv.chat_requests()[n1:]
    # what is stored: two answers, one transient failure with its cause and both attempts
    assert (s1.n_done, s1.n_transient, s1.n_failed) == (2, 1, 0)
    bad = [r for r in recs.values() if r["question"] == "Q27"][0]
    assert bad["status"] == "transient" and why in bad["error"], bad["error"]
    assert bad["attempts"] == 2 and bad["attempts_total"] == 2
    if name == "unparsable":
        assert bad["text"] == "Family? Hard to say."  # the raw answer is kept
    # the summary counts every request that was sent, and the store says the same
    assert s1.n_requests == n1 == 4 == sum(r["attempts"] for r in recs.values())
    assert s1.exit_code == EXIT_INCOMPLETE and s1.n_unanswered == 1
    # what is retried: only Q27, once, and then everything is answered
    assert len(second) == 1 and "parents proud" in asked(second[0]["body"])
    assert (s2.n_skipped, s2.n_done, s2.exit_code) == (2, 1, EXIT_OK)
    final = AnswerStore(store).load()
    assert {r["status"] for r in final.values()} == {"done"} and len(final) == 3
    assert final[bad["key"]]["attempts_total"] == 3


@pytest.mark.parametrize("retry_after", [2.5, None])
def test_429_with_and_without_retry_after(retry_after, bank, tmp_path, api_key):
    delays = []
    responder = failing_for("important is family", lambda: Fault(429, delay=retry_after or 0), times=2)
    with LocalOpenAIServer(responder) as srv:
        s = run(bank, srv, tmp_path / "a.jsonl", questions=["Q1"], backoff=0.1, max_backoff=30, delays=delays)
        assert len(srv.chat_requests()) == 3
    assert (s.n_done, s.n_retries, s.exit_code) == (1, 2, EXIT_OK)
    if retry_after is None:  # exponential backoff with jitter in [0.5, 1)
        assert 0.05 <= delays[0] < 0.1 and 0.1 <= delays[1] < 0.2
    else:  # the server's hint wins when longer
        assert delays == [2.5, 2.5]


def test_outage_at_start_stops_before_any_request_then_rerun_answers_everything(bank_path, bank, tmp_path,
                                                                                 api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer() as srv:
        srv.refuse()  # connection refused
        with pytest.raises(FatalError, match="cannot reach the server"):
            run(bank, srv, store)
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet"])
        assert r.exit_code == EXIT_FATAL
        assert r.output.count("\n") == 1 and "cannot reach the server" in r.output
        assert not store.exists() or AnswerStore(store).records() == []  # nothing poisoned
        srv.accept()
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet"])
        assert r.exit_code == EXIT_OK, r.output
        assert "Store: 7 of 7 answered." in r.output
    assert {r["status"] for r in AnswerStore(store).load().values()} == {"done"}


def test_outage_during_the_run_is_transient_and_a_rerun_answers_everything(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    holder = {}
    inner = IllustrativeAnswerModel()

    def responder(body, n):
        if n == 1:  # the server goes away after answering its second request
            holder["srv"].refuse()
        return inner(body, n)

    with LocalOpenAIServer(responder) as srv:
        holder["srv"] = srv
        s1 = run(bank, srv, store, concurrency=1, max_retries=1, timeout=1.0)
        srv.accept()
        s2 = run(bank, srv, store, concurrency=1)
    assert (s1.n_done, s1.n_transient, s1.exit_code) == (2, 5, EXIT_INCOMPLETE)
    assert all("transient" in r["error"] for r in AnswerStore(store).records() if r["status"] != "done")
    assert (s2.n_skipped, s2.n_done, s2.exit_code, s2.n_answered) == (2, 5, EXIT_OK, 7)


def test_unknown_model_404_stops_at_the_first_request_storing_nothing(bank, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(lambda body, n: Fault(404, message="The model `nope` does not exist")) as srv:
        with pytest.raises(FatalError, match="unknown model") as err:
            run(bank, srv, store, concurrency=1)
        assert len(srv.chat_requests()) == 1
    assert err.value.summary.n_requests == 1
    assert not store.exists() or AnswerStore(store).records() == []


def test_refused_key_stops_at_the_preflight(bank_path, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(api_key="the-right-key-123") as srv:
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet"])
        assert srv.chat_requests() == []
    assert r.exit_code == EXIT_FATAL and "refused the API key" in r.output
    assert KEY not in r.output and not store.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:9/v1"], "cannot reach the server at http://127.0.0.1:9/v1"),
        (["--base-url", "notaurl"], "is not an http(s) URL"),
        (["--base-url", "http://127.0.0.1:9/v1", "--timeout", "-1"], "`timeout` must be a positive number"),
        (["--base-url", "http://127.0.0.1:9/v1", "--timeout", "0"], "`timeout` must be a positive number"),
    ],
)
def test_configuration_errors_exit_4_with_one_line_and_store_nothing(args, message, bank_path, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "m", "--store", str(store),
                                         "--quiet", *args])
    assert r.exit_code == EXIT_FATAL, r.output
    assert message in r.output and r.output.count("\n") == 1
    assert not store.exists()


def test_exit_code_3_when_items_stay_unanswered_and_help_documents_codes(bank_path, tmp_path, api_key):
    store = tmp_path / "a.jsonl"
    with LocalOpenAIServer(failing_for("parents proud", lambda: Fault(400), times=99)) as srv:
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet"])
        assert r.exit_code == EXIT_INCOMPLETE and "Store: 6 of 7 answered, 1 not yet" in r.output
        r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", "toy-model", "--base-url",
                                             srv.base_url, "--store", str(store), "--quiet", "--retry-failed"])
        assert r.exit_code == EXIT_INCOMPLETE and "1 permanent failures" in r.output  # asked again, fails again
    help_text = CliRunner().invoke(collect_cmd, ["--help"]).output
    assert "Exit status:" in help_text and "3  finished" in help_text and "4  stopped" in help_text


def test_tokens_and_requests_of_every_attempt_are_counted(bank, tmp_path, api_key):
    """Discarded (unparsable) answers and retries are billed: the summary, the store and the server agree."""
    store = tmp_path / "a.jsonl"
    responder = failing_for("important is family", lambda: Reply("Hmm."), times=2)
    with LocalOpenAIServer(responder) as srv:
        s = run(bank, srv, store, questions=["Q1", "Q46"], concurrency=1, parse_retries=3)
        served = answered(srv)
    # the server's own token count: max(1, len(prompt) // 4) and max(1, len(answer) // 4)
    prompt = sum(max(1, len(request_text(e["body"])) // 4) for e in served)
    assert len(served) == 4 and s.n_requests == 4 and s.n_retries == 2
    assert s.prompt_tokens == prompt
    recs = AnswerStore(store).records()
    assert sum(r["usage"]["prompt_tokens"] for r in recs) == prompt
    assert sum(r["usage"]["completion_tokens"] for r in recs) == s.completion_tokens
    q1 = [r for r in recs if r["question"] == "Q1"][0]
    assert q1["attempts"] == 3 and q1["usage"]["prompt_tokens"] == 3 * (len(request_text(served[0]["body"])) // 4)
