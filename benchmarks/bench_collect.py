"""Benchmark: collecting answers concurrently vs sequentially against a local server.

Workload: 144 questions x 20 samples (the size of the WVS wave-7 bank with
the ESS paper's 20 samples per question) against
:class:`inference.testing.LocalOpenAIServer`, run in a separate process so
that the server does not share the client's interpreter, with a fixed
per-request latency (default 50 ms) standing in for a model server.

Peers measured in the same run:

* ``raw loop`` -- the seed code's approach: a plain ``for`` loop calling
  ``client.chat.completions.create`` one request at a time (no store);
* ``collect c=1`` -- :func:`inference.collect` sequentially (durable store,
  parsing, hashing);
* ``collect c=16`` -- :func:`inference.collect` with 16 requests in flight.

The client's own overhead is measured with zero server latency: the time per
request of ``raw loop`` and of ``collect c=1`` with nothing to wait for, and
reported next to the latency it is meant to be negligible against.

Run ``python benchmarks/bench_collect.py`` (about 3 minutes on 2 cores) or
``--quick`` (24 questions x 5 samples; sequential runs on a subset).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path


def _serve(latency, queue, stop):
    from inference.testing import LocalOpenAIServer

    with LocalOpenAIServer(latency=latency) as srv:
        queue.put(srv.base_url)
        stop.wait()


class ServerProcess:
    def __init__(self, latency):
        ctx = mp.get_context("spawn")
        self._q = ctx.Queue()
        self._stop = ctx.Event()
        self._p = ctx.Process(target=_serve, args=(latency, self._q, self._stop), daemon=True)

    def __enter__(self):
        self._p.start()
        self.base_url = self._q.get(timeout=60)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._p.join(timeout=10)
        if self._p.is_alive():
            self._p.terminate()


def make_bank(path, n_questions):
    from alignstat import load_question_bank

    labels = ["Very important", "Rather important", "Not very important", "Not at all important"]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_questions):
            fh.write(json.dumps({"id": f"Q{i + 1}", "question": f"How important is topic {i + 1} in your life?",
                                 "choices": labels, "choice_keys": ["1", "2", "3", "4"]}) + "\n")
    return load_question_bank(path)


def run_collect(bank, base_url, store, samples, concurrency):
    from inference import OpenAIChatBackend, collect

    backend = OpenAIChatBackend("bench-model", base_url=base_url)
    t = time.perf_counter()
    s = collect(bank, backend=backend, store=store, samples=samples, concurrency=concurrency, progress=False)
    dt = time.perf_counter() - t
    if s.n_answered != s.n_planned or s.exit_code != 0:
        raise RuntimeError(f"collect did not answer everything: {s}")
    return dt, s.n_requests


def run_raw_loop(bank, base_url, samples, n_limit=None):
    """The seed code's approach: one request after another, no store."""
    import openai

    from inference.prompts import PromptBuilder

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    builder = PromptBuilder(answer_method="verbalized", rng=0)
    prompts = [builder.messages(q, bank) for q in bank]
    n = 0
    t = time.perf_counter()
    for messages in prompts:
        for s in range(samples):
            client.chat.completions.create(model="bench-model", messages=messages, max_tokens=400, seed=s)
            n += 1
            if n_limit and n >= n_limit:
                return time.perf_counter() - t, n
    return time.perf_counter() - t, n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (24 questions x 5 samples)")
    ap.add_argument("--latency", type=float, default=0.05, help="server latency per request, seconds")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args(argv)
    n_q, samples = (24, 5) if args.quick else (144, 20)
    n_total = n_q * samples
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bank = make_bank(tmp / "bank.jsonl", n_q)
        # sequential peers on a subset (a full sequential run is n_total x latency long)
        seq_q = max(1, min(n_q, 24 if args.quick else 36))
        seq_bank = bank.subset(bank.ids[:seq_q])
        print(f"workload: {n_q} questions x {samples} samples = {n_total} requests, "
              f"server latency {1000 * args.latency:.0f} ms (separate process)")
        with ServerProcess(args.latency) as srv:
            run_raw_loop(seq_bank, srv.base_url, 1, n_limit=5)  # warm-up (imports, connection)
            t_raw, n_raw = run_raw_loop(seq_bank, srv.base_url, samples)
            t_seq, n_seq = run_collect(seq_bank, srv.base_url, tmp / "seq.jsonl", samples, 1)
            t_con, n_con = run_collect(bank, srv.base_url, tmp / "con.jsonl", samples, args.concurrency)
        with ServerProcess(0.0) as srv0:
            n0 = 300 if args.quick else 1000
            q0 = max(1, n0 // samples)
            b0 = bank.subset(bank.ids[:q0])
            run_raw_loop(b0, srv0.base_url, 1, n_limit=5)
            t_raw0, m_raw0 = run_raw_loop(b0, srv0.base_url, samples)
            t_seq0, m_seq0 = run_collect(b0, srv0.base_url, tmp / "zero.jsonl", samples, 1)
        rate_raw, rate_seq, rate_con = n_raw / t_raw, n_seq / t_seq, n_con / t_con
        print(f"{'peer':<26}{'requests':>10}{'seconds':>10}{'answers/s':>12}")
        print(f"{'raw loop (seed approach)':<26}{n_raw:>10}{t_raw:>10.2f}{rate_raw:>12.1f}")
        print(f"{'collect c=1':<26}{n_seq:>10}{t_seq:>10.2f}{rate_seq:>12.1f}")
        print(f"{f'collect c={args.concurrency}':<26}{n_con:>10}{t_con:>10.2f}{rate_con:>12.1f}")
        print(f"speed-up collect c={args.concurrency} vs raw loop: {rate_con / rate_raw:.1f}x "
              f"(ideal {args.concurrency}x); vs collect c=1: {rate_con / rate_seq:.1f}x")
        beyond_raw = 1000 * (t_raw / n_raw - args.latency)
        beyond_seq = 1000 * (t_seq / n_seq - args.latency)
        print(f"time per request beyond the server latency, sequential: raw loop {beyond_raw:.2f} ms, "
              f"collect c=1 {beyond_seq:.2f} ms ({100 * beyond_seq / (1000 * args.latency):.1f}% of the latency; "
              f"collect's own share over the raw client: {beyond_seq - beyond_raw:+.2f} ms)")
        per_raw = 1000 * t_raw0 / m_raw0
        per_seq = 1000 * t_seq0 / m_seq0
        print(f"CPU+disk cost per request at zero latency: raw openai loop {per_raw:.2f} ms, "
              f"collect c=1 {per_seq:.2f} ms (store fsync, parse, hash: {per_seq - per_raw:+.2f} ms); "
              f"= {100 * per_seq / (1000 * args.latency):.1f}% of the {1000 * args.latency:.0f} ms server latency")


if __name__ == "__main__":
    main()
