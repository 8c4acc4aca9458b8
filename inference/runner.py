"""Collect model answers into an append-only store: resumable and fault tolerant.

:func:`collect` asks every question of a bank ``samples`` times, with a
concurrency limit, bounded retries with exponential backoff and jitter on
transient failures (HTTP 429 and 5xx, timeouts, connection errors), and a
bounded number of re-asks when an answer cannot be parsed; after that the
answer is recorded as a failure together with its raw text.  Every finished
request (answer or final failure) is one line of the
:class:`~inference.store.AnswerStore`; requests already there are skipped, so
a run killed at any instant resumes without losing, duplicating or repeating
anything.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from .backends import FatalError, Request, TransientError, redact
from .extract import extract_choice, parse_sequence
from .parsing import parse_distribution, resolve_policy
from .prompts import PromptBuilder
from .store import AnswerStore, STORE_VERSION, request_key

__all__ = ["collect", "CollectSummary", "plan_requests"]


@dataclass
class CollectSummary:
    """What a :func:`collect` run did.

    Attributes
    ----------
    n_planned : int
        Requests implied by the bank, samples and settings.
    n_skipped : int
        Already in the store (not sent again).
    n_done, n_failed : int
        Requests finished in this run with an answer / recorded as failures.
    n_retries : int
        Extra attempts (transient errors and unparsable answers).
    prompt_tokens, completion_tokens : int
        Token usage reported by the backend.
    elapsed : float
        Wall seconds.
    """

    n_planned: int = 0
    n_skipped: int = 0
    n_done: int = 0
    n_failed: int = 0
    n_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed: float = 0.0

    def __str__(self):
        return (
            f"{self.n_planned} requests planned, {self.n_skipped} already stored; this run: "
            f"{self.n_done} answered, {self.n_failed} failed, {self.n_retries} retries; "
            f"tokens {self.prompt_tokens} prompt + {self.completion_tokens} completion; {self.elapsed:.1f} s"
        )


def plan_requests(bank, builder, *, model, samples=1, temperature=None, max_tokens=None, questions=None):
    """List ``(Request, metadata)`` for every question and sample."""
    if int(samples) != samples or samples < 1:
        raise ValueError(f"`samples` must be a positive integer; got {samples!r}.")
    if questions is not None:
        unknown = [q for q in questions if q not in bank]
        if unknown:
            raise ValueError(f"`questions`: {unknown} are not in {bank.source or 'the question bank'}.")
    qs = list(bank) if questions is None else [bank[q] for q in questions]
    base = builder.params(temperature=temperature, max_tokens=max_tokens)
    out = []
    for q in qs:
        messages = builder.messages(q, bank)
        for s in range(int(samples)):
            params = dict(base, seed=s)
            key = request_key(model, messages, params, s)
            meta = {
                "v": STORE_VERSION,
                "key": key,
                "model": model,
                "method": builder.method,
                "condition": builder.steering,
                "country": builder.country,
                "language": builder.language,
                "question": q.id,
                "keys": list(q.keys),
                "labels": list(q.choices),
                "sample": s,
                "params": params,
                "messages": messages,
            }
            out.append((Request(key=key, messages=messages, params=params, option_keys=tuple(q.keys)), meta))
    return out


def _usable(method, completion, meta, policy):
    """(ok, why) -- whether an answer can be read by the method's parser."""
    keys = meta["keys"]
    if method == "verbalized":
        p = parse_distribution(completion.text, keys, policy=policy, question=meta["question"])
        return p.status != "rejected", p.reason
    if method == "logprobs":
        lp = completion.option_logprobs or {}
        return bool(lp), "no_logprobs: no option token among the returned log-probabilities"
    if method == "sequence":
        counts, _ = parse_sequence(completion.text, keys)
        return sum(counts.values()) > 0, "no_valid_answer: no option key in the sequence"
    e = extract_choice(completion.text, keys, meta["labels"])
    return e.kind != "unparsable", "unparsable: no option and no refusal found"


def collect(bank, *, backend, store, method="verbalized", steering="none", country=None, language=None,
            samples=1, examples=None, n_examples=5, n_sequence=30, shuffle_options=False, questions=None,
            temperature=None, max_tokens=None, concurrency=8, max_retries=6, parse_retries=2, backoff=0.5,
            max_backoff=30.0, retry_failed=False, policy="lenient", progress=True, prompt_seed=0, rng=None,
            sleep=time.sleep) -> CollectSummary:
    """Ask a model every question of a bank and store the answers.

    Parameters
    ----------
    bank : alignstat.QuestionBank
        Questions to ask (for ``language*`` steering, the bank in the target
        language, e.g. ``WV7_German.jsonl``).
    backend : inference.backends.Backend
        Where answers come from (OpenAI-compatible server, Batch API,
        transformers model, or a test double).
    store : str, path-like or AnswerStore
        The JSONL answer store (appended to; created if absent).
    method : {"verbalized", "logprobs", "sequence", "freetext"}
    steering : {"none", "persona", "few-shot", "language", "language-persona", "language-few-shot"}
    country : str, optional
        Persona / few-shot country.
    language : str, optional
        Template language (default English; for ``language*`` steering the
        bank's language).
    samples : int
        Requests per question (free text: 20 in the ESS paper).  Sample ``i``
        is sent with ``seed=i``.
    examples : FewShotExamples or callable, optional
        Few-shot block (required for ``*few-shot`` steering).
    n_examples, n_sequence, shuffle_options
        See :class:`inference.prompts.PromptBuilder`.
    questions : sequence of str, optional
        Subset of question ids.
    temperature, max_tokens : optional
        Generation parameters (method defaults otherwise).
    concurrency : int
        Requests in flight at once (capped by the backend's own limit).  No
        more than this many answers are ever received but not yet stored, so
        a run killed at any instant asks at most ``concurrency`` requests
        again when resumed.
    max_retries : int
        Retries of one request after transient failures.
    parse_retries : int
        Re-asks of one request whose answer cannot be parsed; then it is
        stored as ``failed`` with its raw text.
    backoff, max_backoff : float
        Delay before retry ``k`` is ``min(max_backoff, backoff * 2**(k-1))``
        times a uniform jitter factor in [0.5, 1), or the server's
        ``Retry-After`` when longer (capped at ``max_backoff``).
    retry_failed : bool
        Ask again requests stored as failures (default: a failure is final).
    policy : str or RepairPolicy
        Used to decide whether a verbalized answer is parsable.
    progress : bool
        Show a tqdm progress bar with counts, failures and tokens.
    prompt_seed : int
        Seed of the random-distribution examples and of option shuffling.
        It is part of the prompt's definition: the same seed gives the same
        prompts, hence the same store keys, so a re-run resumes.
    rng : seed or Generator, optional
        Jitter of the retry delays.
    sleep : callable
        Sleep function (tests pass a fake).

    Returns
    -------
    CollectSummary

    Raises
    ------
    inference.backends.FatalError
        When the backend reports an unrecoverable error (bad key, unknown
        model); answers stored so far are kept.
    """
    t0 = time.monotonic()
    rng = np.random.default_rng(rng)
    policy = resolve_policy(policy)
    if int(concurrency) != concurrency or concurrency < 1:
        raise ValueError(f"`concurrency` must be a positive integer; got {concurrency!r}.")
    for name, val in (("max_retries", max_retries), ("parse_retries", parse_retries)):
        if int(val) != val or val < 0:
            raise ValueError(f"`{name}` must be a non-negative integer; got {val!r}.")
    if language is None and steering.startswith("language"):
        language = bank.questions[0].language if len(bank) else None
    builder = PromptBuilder(method=method, steering=steering, country=country, language=language,
                            examples=examples, n_examples=n_examples, n_sequence=n_sequence,
                            shuffle_options=shuffle_options, rng=int(prompt_seed))
    own_store = not isinstance(store, AnswerStore)
    store = AnswerStore(store, secrets=getattr(backend, "secrets", ())) if own_store else store
    store._secrets = list(dict.fromkeys([*store._secrets, *getattr(backend, "secrets", ())]))
    plan = plan_requests(bank, builder, model=backend.model, samples=samples, temperature=temperature,
                         max_tokens=max_tokens, questions=questions)
    existing = store.load()
    pending = []
    seen = set()
    for req, meta in plan:
        if req.key in seen:
            continue
        seen.add(req.key)
        old = existing.get(req.key)
        if old is not None and (old.get("status") == "done" or not retry_failed):
            continue
        pending.append((req, meta))
    summary = CollectSummary(n_planned=len(seen), n_skipped=len(seen) - len(pending))
    jitter_lock = threading.Lock()

    def jitter():
        with jitter_lock:
            return 0.5 + 0.5 * float(rng.random())

    from tqdm.auto import tqdm

    bar = tqdm(total=len(pending), disable=not progress, unit="req", desc=f"{backend.model} {method}/{steering}")

    def record(meta, *, status, text=None, completion=None, error="", attempts=1):
        rec = dict(meta)
        rec.update(status=status, text=text, error=redact(error, store._secrets) if error else "",
                   attempts=attempts, backend=getattr(backend, "name", "backend"), time=time.time())
        if completion is not None:
            rec["usage"] = completion.usage
            rec["finish_reason"] = completion.finish_reason
            if completion.option_logprobs is not None:
                rec["option_logprobs"] = completion.option_logprobs
        return rec

    def commit(records):
        """Durably store finished requests (one write + fsync), then count them."""
        store.append_many(records)
        for rec in records:
            usage = rec.get("usage") or {}
            summary.prompt_tokens += usage.get("prompt_tokens", 0)
            summary.completion_tokens += usage.get("completion_tokens", 0)
            if rec["status"] == "done":
                summary.n_done += 1
            else:
                summary.n_failed += 1
        bar.update(len(records))
        bar.set_postfix(done=summary.n_done, failed=summary.n_failed,
                        tokens=summary.prompt_tokens + summary.completion_tokens, refresh=False)

    def finish(meta, **kw):
        commit([record(meta, **kw)])

    try:
        if getattr(backend, "batch", False) and pending:
            metas = {req.key: meta for req, meta in pending}

            def on_result(req, completion):
                ok, why = _usable(method, completion, metas[req.key], policy)
                finish(metas[req.key], status="done" if ok else "failed", text=completion.text,
                       completion=completion, error="" if ok else why)

            def on_error(req, message):
                finish(metas[req.key], status="failed", error=message)

            backend.run_batch([r for r, _ in pending], state_path=str(store.path) + ".batch.json",
                              on_result=on_result, on_error=on_error)
        elif pending:
            _run_pool(pending, backend, method, policy, concurrency, max_retries, parse_retries, backoff,
                      max_backoff, jitter, sleep, record, commit, summary)
    finally:
        bar.close()
        if own_store:
            store.close()
        summary.elapsed = time.monotonic() - t0
    return summary


def _run_pool(pending, backend, method, policy, concurrency, max_retries, parse_retries, backoff, max_backoff,
              jitter, sleep, record, commit, summary):
    stop = threading.Event()
    retries = [0]
    lock = threading.Lock()

    def run_one(req, meta):
        transient = 0
        unparsable = 0
        attempts = 0
        last = None
        while True:
            if stop.is_set():
                return None
            attempts += 1
            try:
                comp = backend.complete(req)
            except TransientError as exc:
                if transient >= max_retries:
                    return dict(status="failed", error=f"transient: {exc} (after {attempts} attempts)",
                                text=None, completion=None, attempts=attempts)
                transient += 1
                with lock:
                    retries[0] += 1
                delay = min(max_backoff, backoff * 2 ** (transient - 1)) * jitter()
                hint = getattr(exc, "retry_after", None)
                if hint is not None:  # the server's Retry-After, within max_backoff
                    delay = max(delay, min(float(hint), max_backoff))
                sleep(delay)
                continue
            except FatalError:
                stop.set()
                raise
            except Exception as exc:  # noqa: BLE001 - one request fails, the run goes on
                return dict(status="failed", error=f"error: {exc}", text=None, completion=None, attempts=attempts)
            ok, why = _usable(method, comp, meta, policy)
            if ok:
                return dict(status="done", text=comp.text, completion=comp, attempts=attempts, error="")
            last = (comp, why)
            if unparsable >= parse_retries:
                return dict(status="failed", text=comp.text, completion=last[0], attempts=attempts,
                            error=f"unparsable after {attempts} attempt(s): {last[1]}")
            unparsable += 1
            with lock:
                retries[0] += 1

    workers = min(int(concurrency), backend.max_concurrency or int(concurrency))
    fatal = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        todo = iter(pending)
        running = {}

        def refill():
            while len(running) < workers and not stop.is_set():  # at most `workers` unstored answers
                try:
                    req, meta = next(todo)
                except StopIteration:
                    return
                running[pool.submit(run_one, req, meta)] = meta

        refill()
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                finished = []
                for fut in done:
                    meta = running.pop(fut)
                    try:
                        res = fut.result()
                    except FatalError as exc:
                        fatal = fatal or exc
                        continue
                    if res is not None:
                        finished.append(record(meta, **res))
                if finished:
                    commit(finished)  # group commit: everything that finished meanwhile
                refill()
        except BaseException:
            stop.set()
            for fut in running:
                fut.cancel()
            raise
    summary.n_retries += retries[0]
    if fatal is not None:
        raise fatal
