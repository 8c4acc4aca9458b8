"""CLI commands (click), and a kill -9 / resume run of a real subprocess."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from inference import AnswerStore
from inference.cli import answers, collect, commands, main
from inference.testing import IllustrativeAnswerModel, LocalOpenAIServer, request_text

KEY = "sk-test-CLI-SECRET-9876543210"
REPO = Path(__file__).resolve().parents[2]


def test_commands_are_exported_and_documented():
    assert [c.name for c in commands] == ["collect", "answers"]
    for cmd in commands:
        result = CliRunner().invoke(main, [cmd.name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output and "alignstat " + cmd.name in result.output


def test_collect_then_answers(bank_path, tmp_path):
    store = tmp_path / "answers.jsonl"
    with LocalOpenAIServer() as srv:
        result = CliRunner().invoke(
            collect,
            ["--questions", str(bank_path), "--model", "toy", "--base-url", srv.base_url, "--answer-method", "verbalized",
             "--steering", "persona", "--country", "Chile", "--concurrency", "4", "--store", str(store), "--quiet"],
            env={"OPENAI_API_KEY": KEY},
        )
        assert result.exit_code == 0, result.output
        assert "7 answered, 0 transient failures, 0 permanent failures" in result.output
        assert "Store: 7 of 7 answered." in result.output
        assert len(srv.chat_requests()) == 7
        assert all("people from Chile" in request_text(r["body"]) for r in srv.chat_requests())
    out = tmp_path / "tidy.parquet"
    result = CliRunner().invoke(answers, [str(store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "7 items" in result.output and "ok" in result.output
    frame = pd.read_parquet(out)
    assert {"question", "option", "prob", "status", "model", "condition", "country"} <= set(frame.columns)
    assert set(frame["condition"]) == {"persona"} and set(frame["country"]) == {"Chile"}
    assert KEY not in store.read_text() and KEY not in result.output


def test_answers_reads_seed_layout_and_reports_status(tmp_path):
    d = tmp_path / "results" / "RQ1" / "org" / "model-x"
    d.mkdir(parents=True)
    rows = pd.DataFrame({
        "id": ["Q1", "Q2", "Q3"],
        "question": ["a?", "b?", "c?"],
        "choices": ["['x', 'y']"] * 3,
        "choice_keys": ["['1', '2']"] * 3,
        "answer": [""] * 3,
        "type": ["Opinion-Dependent"] * 3,
        "response": ["{'1': '60%', '2': '40%'}", "{'1': '60%', '2': '60%'}", "no idea"],
    })
    rows.to_csv(d / "results.csv", index=False)
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(answers, [str(tmp_path / "results"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 items" in result.output and "renormalized" in result.output and "no_mapping" in result.output
    frame = pd.read_csv(out)
    assert set(frame["model"]) == {"org/model-x"}
    st = frame.drop_duplicates("question").set_index("question")["status"]
    assert st.to_dict() == {"Q1": "ok", "Q2": "repaired", "Q3": "rejected"}
    strict = CliRunner().invoke(answers, [str(tmp_path / "results"), "-o", str(out), "--repair", "strict"])
    assert strict.exit_code == 0
    assert pd.read_csv(out).drop_duplicates("question")["status"].tolist() == ["ok", "rejected", "rejected"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--steering", "persona"], "needs `country`"),
        (["--steering", "few-shot", "--country", "Chile"], "--few-shot-file"),
    ],
)
def test_collect_bad_input_messages(bank_path, tmp_path, extra, message):
    result = CliRunner().invoke(
        collect, ["--questions", str(bank_path), "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                  "--store", str(tmp_path / "s.jsonl"), *extra], env={"OPENAI_API_KEY": KEY})
    assert result.exit_code != 0
    assert message in result.output


def test_collect_without_key_names_the_variable(bank_path, tmp_path):
    result = CliRunner().invoke(
        collect, ["--questions", str(bank_path), "--model", "gpt-x", "--store", str(tmp_path / "s.jsonl"),
                  "--api-key-env", "ALIGNSTAT_TEST_NO_SUCH_VAR"])
    assert result.exit_code != 0 and "ALIGNSTAT_TEST_NO_SUCH_VAR" in result.output


def _asked(messages_or_body):
    msgs = messages_or_body["messages"] if isinstance(messages_or_body, dict) else messages_or_body
    return request_text({"messages": msgs}).split("------")[-1]


def _complete(reqs):
    """Requests whose body arrived (a client killed mid-send leaves an empty one)."""
    return [r for r in reqs if r["body"] and r["body"].get("messages")]


@pytest.mark.slow
def test_kill_9_then_resume_loses_and_repeats_nothing(bank_path, tmp_path):
    store = tmp_path / "run.jsonl"
    n_expected = 7 * 20
    env = dict(os.environ, OPENAI_API_KEY=KEY, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with LocalOpenAIServer(IllustrativeAnswerModel(), latency=0.04) as srv:
        cmd = [sys.executable, "-m", "inference.cli", "collect", "--questions", str(bank_path), "--model", "toy",
               "--base-url", srv.base_url, "--samples", "20", "--concurrency", "4", "--store", str(store)]
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if store.exists() and store.read_bytes().count(b"\n") >= 25:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        out1, err1 = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        before = AnswerStore(store).records()
        assert 25 <= len(before) < n_expected
        n_requests_first = len(_complete(srv.chat_requests()))

        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        reqs = _complete(srv.chat_requests())

    recs = AnswerStore(store).records()
    keys = [r["key"] for r in recs]
    assert len(keys) == n_expected and len(set(keys)) == n_expected  # nothing lost, nothing duplicated
    assert {(r["question"], r["sample"]) for r in recs} == {(q, s) for q in
                                                           ["Q1", "Q27", "Q46", "Q57", "Q106", "Q60", "Q70"]
                                                           for s in range(20)}
    assert all(r["status"] == "done" for r in recs)
    # requests counted at the server: every answer stored before the kill was asked exactly once
    seen = collections.Counter((_asked(r["body"]), r["body"]["seed"]) for r in reqs)
    for r in before:
        assert seen[(_asked(r["messages"]), r["params"]["seed"])] == 1
    # the resumed run asked exactly what was missing; before the kill the server saw every attempt
    # of the stored answers (retries included) plus at most --concurrency requests in flight
    assert len(reqs) - n_requests_first == n_expected - len(before)
    attempts_before = sum(r["attempts"] for r in before)
    assert 0 <= n_requests_first - attempts_before <= 4
    for blob in (store.read_bytes(), out1, err1, done.stdout, done.stderr):
        assert KEY.encode() not in blob


def test_collect_few_shot_from_distributions_and_language_steering(bank_path, bank_de, tmp_path):
    rows = []
    for qid, ps in {"Q60": [0.7, 0.2, 0.1, 0.0], "Q70": [0.1, 0.2, 0.3, 0.4], "Q57": [0.3, 0.7]}.items():
        rows += [{"question": qid, "option": float(i + 1), "prob": p, "country": "Chile"} for i, p in enumerate(ps)]
    dist = tmp_path / "chile.csv"
    pd.DataFrame(rows).to_csv(dist, index=False)
    with LocalOpenAIServer() as srv:
        r = CliRunner().invoke(collect, [
            "--questions", str(bank_path), "--model", "toy", "--base-url", srv.base_url, "--steering", "few-shot",
            "--country", "Chile", "--distributions", str(dist), "--n-examples", "2", "--questions", str(bank_path),
            "--store", str(tmp_path / "fs.jsonl"), "--quiet"], env={"OPENAI_API_KEY": KEY})
        assert r.exit_code == 0, r.output
        texts = [request_text(x["body"]) for x in srv.chat_requests()]
        assert len(texts) == 7
        q1 = next(t for t in texts if t.split("------")[-1].startswith("\n\nQuestion: How important is family"))
        assert "Answer: {'1': '70.00%', '2': '20.00%', '3': '10.00%', '4': '0.00%'}" in q1
        # an example question is never its own example: Q60 is asked with Q70 and Q57
        q60 = next(t for t in texts if "How much do you trust your family?\n'1'" in t.split("------")[-1])
        assert q60.count("Answer: {") == 2 and q60.count("How much do you trust your family?") == 1
        assert "Answer: {'1': '30.00%', '2': '70.00%'}" in q60

        de_path = Path(bank_de.source)
        r = CliRunner().invoke(collect, [
            "--questions", str(de_path), "--model", "toy", "--base-url", srv.base_url, "--steering", "language",
            "--n-examples", "1", "--store", str(tmp_path / "de.jsonl"), "--quiet"], env={"OPENAI_API_KEY": KEY})
        assert r.exit_code == 0, r.output
        de_texts = [request_text(x["body"]) for x in srv.chat_requests()][7:]
        assert len(de_texts) == 2 and all(t.startswith("Ich gebe Ihnen") for t in de_texts)


def test_collect_with_the_batch_backend(bank_path, tmp_path):
    store = tmp_path / "batch.jsonl"

    def responder(body, n):
        from inference.testing import Fault

        if "parents proud" in request_text(body).split("------")[-1]:
            return Fault(500)
        return IllustrativeAnswerModel()(body, n)

    with LocalOpenAIServer(responder, batch_polls=2) as srv:
        r = CliRunner().invoke(collect, [
            "--questions", str(bank_path), "--model", "toy", "--base-url", srv.base_url, "--backend", "batch",
            "--poll-interval", "0.01", "--store", str(store), "--quiet"], env={"OPENAI_API_KEY": KEY})
        assert r.exit_code == 3, r.output  # finished with an unanswered item
        assert "6 answered, 1 transient failures" in r.output
        assert len([e for e in srv.log if e["path"].endswith("/batches") and e["method"] == "POST"]) == 1
    recs = AnswerStore(store).load()
    failed = [x for x in recs.values() if x["status"] == "transient"]
    assert len(recs) == 7 and len(failed) == 1 and failed[0]["question"] == "Q27"
    assert KEY not in store.read_text()
