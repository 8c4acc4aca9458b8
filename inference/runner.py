"""Collect model answers into an append-only store: resumable and fault tolerant.

:func:`collect` asks every question of a bank ``samples`` times, with a
concurrency limit, bounded retries with exponential backoff and jitter on
transient failures (HTTP 429 and 5xx, timeouts, connection errors, empty or
invalid responses), and a bounded number of re-asks when an answer cannot be
parsed.  Every finished request is one line of the
:class:`~inference.store.AnswerStore`:

* ``done`` -- answered; never asked again;
* ``transient`` -- the run's attempts failed for a passing cause; the next run
  asks again, until the request's total attempt budget (``max_attempts``,
  counted over all runs from the store) is spent;
* ``failed`` -- a permanent failure (a 400-type client error, or the budget
  spent); asked again only with ``retry_failed=True``.

Configuration errors stop the run before or at the first request, storing
nothing for it: an unreachable server at start (checked by a cheap preflight,
listing the server's models), a refused key (401/403), an unknown model
(404), an invalid ``timeout`` or ``base_url``.  One writer per store: the run
holds the store's OS-level lock.  A run killed at any instant resumes without
losing, duplicating or repeating anything.

Exit codes of ``alignstat collect`` (also :attr:`CollectSummary.exit_code`):
:data:`EXIT_OK` (0) every requested item answered; :data:`EXIT_INCOMPLETE` (3)
the run finished but some requested items are unanswered (transient ones are
asked again by the next run); :data:`EXIT_FATAL` (4) stopped by a fatal
error (configuration, key, unknown model, unreachable server, store busy).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from .backends import FatalError, Request, TransientError, redact
from .extract import extract_choice, parse_sequence
from .parsing import parse_distribution, resolve_repair
from .prompts import PromptBuilder
from .store import STORE_VERSION, AnswerStore, request_key

__all__ = ["collect", "CollectSummary", "plan_requests", "EXIT_OK", "EXIT_INCOMPLETE", "EXIT_FATAL"]

#: every requested item is answered
EXIT_OK = 0
#: the run finished, but some requested items are unanswered
EXIT_INCOMPLETE = 3
#: the run was stopped by a fatal error (configuration, key, model, server, busy store)
EXIT_FATAL = 4


@dataclass
class CollectSummary:
    """What a :func:`collect` run did, and where the store stands.

    Attributes
    ----------
    n_planned : int
        Distinct requests implied by the bank, samples and settings.
    n_skipped : int
        Not sent in this run: already answered, or failed permanently (see
        ``retry_failed``), or out of attempt budget.
    n_done, n_transient, n_failed : int
        Requests finished in this run: answered / failed for a passing cause
        (asked again by the next run) / failed permanently.
    n_requests : int
        Requests sent to the backend in this run (every attempt, retries and
        discarded answers included); equals the sum of the ``attempts`` the
        run wrote to the store, plus a request stopped by a fatal error.
    n_retries : int
        Attempts beyond the first of each request in this run.
    prompt_tokens, completion_tokens : int
        Tokens of every attempt that returned an answer (discarded answers
        included), as the backend reported them; equal to the sum of
        ``usage`` over the records this run wrote.
    n_answered, n_unanswered : int
        After the run, the planned requests the store holds as answered / not
        answered (``transient`` or ``failed`` or absent).
    elapsed : float
        Wall seconds.
    """

    n_planned: int = 0
    n_skipped: int = 0
    n_done: int = 0
    n_transient: int = 0
    n_failed: int = 0
    n_requests: int = 0
    n_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    n_answered: int = 0
    n_unanswered: int = 0
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_OK` when every planned request is answered, else :data:`EXIT_INCOMPLETE`."""
        return EXIT_OK if self.n_unanswered == 0 else EXIT_INCOMPLETE

    def __str__(self):
        out = (
            f"{self.n_planned} requests planned, {self.n_skipped} not sent (already stored); this run: "
            f"{self.n_done} answered, {self.n_transient} transient failures, {self.n_failed} permanent failures; "
            f"{self.n_requests} requests sent ({self.n_retries} retries); "
            f"tokens {self.prompt_tokens} prompt + {self.completion_tokens} completion; {self.elapsed:.1f} s. "
            f"Store: {self.n_answered} of {self.n_planned} answered"
        )
        if self.n_unanswered:
            out += (f", {self.n_unanswered} not yet (run again to retry transient failures; "
                    "--retry-failed to re-ask permanent ones)")
        return out + "."


def plan_requests(bank, builder, *, model, samples=1, temperature=None, max_tokens=None, questions=None):
    """List ``(Request, metadata)`` for every question and sample."""
    _check_count("samples", samples, 1)
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
                "answer_method": builder.answer_method,
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


def _usable(answer_method, completion, meta, repair):
    """(ok, why) -- whether an answer can be read by the answer method's parser."""
    keys = meta["keys"]
    if answer_method == "verbalized":
        p = parse_distribution(completion.text, keys, repair=repair, question=meta["question"])
        return p.status != "rejected", p.reason
    if answer_method == "logprobs":
        lp = completion.option_logprobs or {}
        return bool(lp), "no_logprobs: no option token among the returned log-probabilities"
    if answer_method == "sequence":
        counts, _ = parse_sequence(completion.text, keys)
        return sum(counts.values()) > 0, "no_valid_answer: no option key in the sequence"
    e = extract_choice(completion.text, keys, meta["labels"])
    return e.kind != "unparsable", "unparsable: no option and no refusal found"


def _is_retryable(rec):
    """Tell whether the next run asks a stored failure again (store v1 wrote transient failures as 'failed')."""
    if rec.get("status") == "transient":
        return True
    return rec.get("status") == "failed" and int(rec.get("v", 1)) < 2 and str(rec.get("error", "")).startswith(
        ("transient:", "unparsable"))


def _check_count(name, val, minimum):
    if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < minimum:
        what = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"`{name}` must be {what} integer; got {val!r}.")


def collect(bank, *, backend, store, answer_method="verbalized", steering="none", country=None, language=None,
            samples=1, examples=None, n_examples=5, n_sequence=30, shuffle_options=False, questions=None,
            temperature=None, max_tokens=None, concurrency=8, max_retries=6, parse_retries=2, max_attempts=20,
            backoff=0.5, max_backoff=30.0, retry_failed=False, repair="lenient", lock_timeout=0.0,
            progress=True, prompt_seed=0, templates=None, rng=None, sleep=time.sleep) -> CollectSummary:
    """Ask a model every question of a bank and store the answers.

    Parameters
    ----------
    bank : alignstat.QuestionBank
        Questions to ask (for ``language*`` steering, the bank in the target
        language, e.g. ``WV7_German.jsonl``).
    backend : inference.backends.Backend
        Where answers come from (OpenAI-compatible server, Batch API,
        transformers model, or a test double).  A backend with a
        ``preflight()`` method is checked with it before the first request.
    store : str, path-like or AnswerStore
        The JSONL answer store (appended to; created if absent).
    answer_method : {"verbalized", "logprobs", "sequence", "freetext"}
        How the model is asked.
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
    n_examples, n_sequence, shuffle_options, templates
        See :class:`inference.prompts.PromptBuilder`.
    questions : sequence of str, optional
        Subset of question ids.
    temperature, max_tokens : optional
        Generation parameters (answer-method defaults otherwise).
    concurrency : int
        Requests in flight at once (capped by the backend's own limit).  No
        more than this many answers are ever received but not yet stored, so
        a run killed at any instant asks at most ``concurrency`` requests
        again when resumed.
    max_retries : int
        Retries of one request in one run after transient failures; then it
        is stored as ``transient`` and the next run asks again.
    parse_retries : int
        Re-asks of one request in one run whose answer cannot be parsed;
        then it is stored as ``transient`` with its raw text.
    max_attempts : int
        Total attempt budget of one request over all runs (counted from the
        store).  A request that spends it is stored as ``failed``.
    backoff, max_backoff : float
        Delay before retry ``k`` is ``min(max_backoff, backoff * 2**(k-1))``
        times a uniform jitter factor in [0.5, 1), or the server's
        ``Retry-After`` when longer (capped at ``max_backoff``).
    retry_failed : bool
        Also ask again requests stored as ``failed`` (permanent failures or
        spent budgets), with one run's worth of attempts.
    repair : str or RepairRules
        Decides whether a verbalized answer is parsable.
    lock_timeout : float or None
        Seconds to wait for another process writing the same store (0:
        refuse at once; None: wait without limit).
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
        Its ``exit_code`` is 0 only when every requested item is answered.

    Raises
    ------
    inference.backends.FatalError
        A configuration error (server unreachable at start, key refused,
        unknown model); answers stored so far are kept and nothing is stored
        for the request that met it.
    inference.store.StoreBusyError
        Another process writes the store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from alignstat import QuestionBank, Question
    >>> from inference import OpenAIChatBackend
    >>> from inference.testing import LocalOpenAIServer
    >>> bank = QuestionBank([Question("Q1", "Happy?", ("Yes", "No"), ("1", "2"), (1.0, 2.0))])
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "answers.jsonl"
    >>> with LocalOpenAIServer() as srv:
    ...     backend = OpenAIChatBackend("toy", base_url=srv.base_url, api_key_env=None)
    ...     summary = collect(bank, backend=backend, store=store, answer_method="freetext", progress=False)
    >>> summary.n_answered, summary.exit_code
    (1, 0)
    """
    t0 = time.monotonic()
    rng = np.random.default_rng(rng)
    repair = resolve_repair(repair)
    _check_count("concurrency", concurrency, 1)
    _check_count("max_retries", max_retries, 0)
    _check_count("parse_retries", parse_retries, 0)
    _check_count("max_attempts", max_attempts, 1)
    for name, val in (("backoff", backoff), ("max_backoff", max_backoff), ("lock_timeout", lock_timeout)):
        if name == "lock_timeout" and val is None:
            continue
        if isinstance(val, bool) or not isinstance(val, (int, float, np.integer, np.floating)) or not (
                0 <= float(val) < float("inf")):
            raise ValueError(f"`{name}` must be a finite number of seconds >= 0; got {val!r}.")
    if language is None and steering.startswith("language"):
        language = bank.questions[0].language if len(bank) else None
    builder = PromptBuilder(answer_method=answer_method, steering=steering, country=country, language=language,
                            examples=examples, n_examples=n_examples, n_sequence=n_sequence,
                            shuffle_options=shuffle_options, rng=int(prompt_seed), templates=templates)
    store = store if isinstance(store, AnswerStore) else AnswerStore(store)
    plan = plan_requests(bank, builder, model=backend.model, samples=samples, temperature=temperature,
                         max_tokens=max_tokens, questions=questions)
    planned = list(dict.fromkeys(req.key for req, _ in plan))
    summary = CollectSummary(n_planned=len(planned))
    secrets = tuple(getattr(backend, "secrets", ()) or ())
    try:
        with store.lock(lock_timeout):
            _collect_locked(plan, store, backend, builder, summary, secrets, repair=repair, rng=rng,
                            concurrency=concurrency, max_retries=max_retries, parse_retries=parse_retries,
                            max_attempts=max_attempts, backoff=backoff, max_backoff=max_backoff,
                            retry_failed=retry_failed, progress=progress, sleep=sleep)
    finally:
        store.close()
        summary.elapsed = time.monotonic() - t0
    return summary


def _collect_locked(plan, store, backend, builder, summary, secrets, *, repair, rng, concurrency, max_retries,
                    parse_retries, max_attempts, backoff, max_backoff, retry_failed, progress, sleep):
    """Run the body of :func:`collect` while the store's lock is held."""
    answer_method = builder.answer_method
    history = store.history()  # read under the lock: what another process wrote is seen
    pending, seen = [], set()
    for req, meta in plan:
        if req.key in seen:
            continue
        seen.add(req.key)
        old, spent = history.get(req.key, (None, 0))
        if old is None:
            budget = max_attempts
        elif old.get("status") == "done":
            continue
        elif _is_retryable(old) and spent < max_attempts:
            budget = max_attempts - spent
        elif retry_failed:
            budget = max_retries + parse_retries + 1
        else:
            continue
        pending.append((req, meta, (budget, max_attempts - spent), spent))
    summary.n_skipped = len(seen) - len(pending)
    jitter_lock = threading.Lock()

    def jitter():
        with jitter_lock:
            return 0.5 + 0.5 * float(rng.random())

    def record(meta, *, status, spent, text=None, usage=None, completion=None, error="", attempts=1):
        rec = dict(meta)
        rec.update(status=status, text=redact(text, secrets, key_like=False) if text is not None else None,
                   error=redact(error, secrets) if error else "", attempts=attempts,
                   attempts_total=spent + attempts, usage=dict(usage or {"prompt_tokens": 0, "completion_tokens": 0}),
                   backend=getattr(backend, "name", "backend"), time=time.time())
        if completion is not None:
            rec["finish_reason"] = completion.finish_reason
            if completion.option_logprobs is not None:
                rec["option_logprobs"] = completion.option_logprobs
        return rec

    from tqdm.auto import tqdm

    bar = tqdm(total=len(pending), disable=not progress, unit="req",
               desc=f"{backend.model} {answer_method}/{builder.steering}")

    def commit(records):
        """Durably store finished requests (one write + fsync), then count them."""
        store.append_many(records)
        for rec in records:
            summary.prompt_tokens += rec["usage"].get("prompt_tokens", 0)
            summary.completion_tokens += rec["usage"].get("completion_tokens", 0)
            summary.n_requests += rec["attempts"]
            summary.n_retries += rec["attempts"] - 1
            name = {"done": "n_done", "transient": "n_transient"}.get(rec["status"], "n_failed")
            setattr(summary, name, getattr(summary, name) + 1)
        bar.update(len(records))
        bar.set_postfix(done=summary.n_done, failed=summary.n_transient + summary.n_failed,
                        tokens=summary.prompt_tokens + summary.completion_tokens, refresh=False)

    try:
        if pending:
            preflight = getattr(backend, "preflight", None)
            if preflight is not None:
                preflight()
        if getattr(backend, "batch", False) and pending:
            _run_batch(pending, store, backend, answer_method, repair, record, commit)
        elif pending:
            _run_pool(pending, backend, answer_method, repair, concurrency, max_retries, parse_retries, backoff,
                      max_backoff, jitter, sleep, record, commit, summary)
    except FatalError as exc:
        exc.summary = summary
        raise
    finally:
        bar.close()
        final = store.load()
        summary.n_answered = sum(1 for k in seen if final.get(k, {}).get("status") == "done")
        summary.n_unanswered = len(seen) - summary.n_answered


def _run_batch(pending, store, backend, answer_method, repair, record, commit):
    items = {req.key: (meta, spent) for req, meta, _, spent in pending}

    def on_result(req, completion):
        meta, spent = items[req.key]
        ok, why = _usable(answer_method, completion, meta, repair)
        commit([record(meta, status="done" if ok else "transient", spent=spent, text=completion.text,
                       usage=completion.usage, completion=completion, error="" if ok else why)])

    def on_error(req, message):
        meta, spent = items[req.key]
        commit([record(meta, status="transient", spent=spent, error=message)])

    backend.run_batch([r for r, _, _, _ in pending], state_path=str(store.path) + ".batch.json",
                      on_result=on_result, on_error=on_error)


class _Attempts:
    """Attempts of one request in one run: counts, tokens, last answer.

    ``budget`` is ``(cap, left)``: at most ``cap`` attempts in this run; a
    passing failure becomes permanent once ``left`` (the request's total
    budget still unspent) is used up.
    """

    def __init__(self, budget):
        self.cap, self.left = budget
        self.n = 0
        self.transient = 0
        self.unparsable = 0
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.last = None  # (completion, why) of the last unparsable answer
        self.error = ""

    def add_usage(self, completion):
        for k in self.usage:
            self.usage[k] += int((completion.usage or {}).get(k, 0) or 0)

    def result(self, status, error, completion=None, text=None):
        if status == "transient" and self.n >= self.left:
            status, error = "failed", f"{error} (attempt budget of this request spent)"
        return dict(status=status, error=error, text=text, completion=completion, attempts=self.n,
                    usage=dict(self.usage))


def _run_pool(pending, backend, answer_method, repair, concurrency, max_retries, parse_retries, backoff,
              max_backoff, jitter, sleep, record, commit, summary):
    stop = threading.Event()

    def run_one(req, meta, budget):
        a = _Attempts(budget)
        while True:
            if stop.is_set() or a.n >= a.cap:
                if a.n == 0:
                    return None
                if a.last is not None:
                    return a.result("transient", f"unparsable after {a.n} attempt(s): {a.last[1]}",
                                    completion=a.last[0], text=a.last[0].text)
                return a.result("transient", a.error or "stopped before an answer")
            a.n += 1
            try:
                comp = backend.complete(req)
            except TransientError as exc:
                a.error = f"transient: {exc} (after {a.n} attempt(s))"
                if a.transient >= max_retries:
                    return a.result("transient", a.error)
                a.transient += 1
                delay = min(max_backoff, backoff * 2 ** (a.transient - 1)) * jitter()
                hint = getattr(exc, "retry_after", None)
                if hint is not None:  # the server's Retry-After, within max_backoff
                    delay = max(delay, min(float(hint), max_backoff))
                sleep(delay)
                continue
            except FatalError as exc:
                stop.set()
                exc.attempts = a.n
                raise
            except Exception as exc:  # noqa: BLE001 - one request fails permanently, the run goes on
                return a.result("failed", f"error: {exc}")
            a.add_usage(comp)
            ok, why = _usable(answer_method, comp, meta, repair)
            if ok:
                return a.result("done", "", completion=comp, text=comp.text)
            a.last = (comp, why)
            if a.unparsable >= parse_retries:
                return a.result("transient", f"unparsable after {a.n} attempt(s): {why}", completion=comp,
                                text=comp.text)
            a.unparsable += 1

    workers = min(int(concurrency), backend.max_concurrency or int(concurrency))
    fatal = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        todo = iter(pending)
        running = {}

        def refill():
            while len(running) < workers and not stop.is_set():  # at most `workers` unstored answers
                try:
                    req, meta, budget, spent = next(todo)
                except StopIteration:
                    return
                running[pool.submit(run_one, req, meta, budget)] = (meta, spent)

        refill()
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                finished = []
                for fut in done:
                    meta, spent = running.pop(fut)
                    try:
                        res = fut.result()
                    except FatalError as exc:
                        summary.n_requests += getattr(exc, "attempts", 1)  # sent, but nothing is stored for it
                        fatal = fatal or exc
                        continue
                    if res is not None:
                        finished.append(record(meta, spent=spent, **res))
                if finished:
                    commit(finished)  # group commit: everything that finished meanwhile
                refill()
        except BaseException:
            stop.set()
            for fut in running:
                fut.cancel()
            raise
    if fatal is not None:
        raise fatal
