"""Append-only JSON Lines answer store.

One line per finished request.  A request is identified by
:func:`request_key`, a SHA-256 hash of (model, prompt messages, generation
parameters, sample index): the same request always gets the same key, so a
run that was stopped at any instant can be started again and skips every
request already in the store.

Durability: each record is written with a single ``os.write`` of one
complete line on a file opened with ``O_APPEND``, then flushed to disk with
``os.fsync`` before it counts as finished (records that finish together are
written by one ``write`` and one ``fsync``: group commit).  A process killed during the write can leave at most one torn
(newline-less) last line; :meth:`AnswerStore.load` ignores it and the next
append first cuts it off, so nothing already stored is lost or duplicated.

Statuses of a record: ``done`` (answered), ``transient`` (the last
attempts failed for a passing cause -- connection, timeout, HTTP 429/5xx, an
unparsable answer -- and the request is asked again by the next run while
its attempt budget lasts) and ``failed`` (a permanent failure, or the budget
is spent; asked again only on demand).  ``attempts`` counts the requests
sent in the run that wrote the record, ``attempts_total`` all requests sent
for that key so far, and ``usage`` the tokens of every attempt of the run.

One writer: :meth:`AnswerStore.lock` takes an OS-level lock
(``<store>.lock``, :mod:`filelock`) that :func:`inference.collect` holds for
the whole run, so two processes never ask the same request twice.  The
operating system releases it when the holder dies (even by ``kill -9``).

Secrets: the store never receives API keys (backends read them from the
environment and records are built from prompts, parameters and answers
only).  The store writes exactly what it is given; the runner removes an
exact secret from the free-text fields (error messages, raw answers) before
they reach it, never from the JSON structure.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from pathlib import Path

import pandas as pd

from alignstat.questions import key_position

from .extract import Extraction, extract_choice, logprobs_to_distribution, majority_vote, parse_sequence
from .parsing import REPAIRS, parse_distribution, resolve_repair

__all__ = ["AnswerStore", "StoreBusyError", "request_key", "read_store", "STORE_VERSION", "STATUSES"]

STORE_VERSION = 2
STATUSES = ("done", "transient", "failed")


class StoreBusyError(RuntimeError):
    """Another process holds the answer store's lock."""


def request_key(model, messages, params, sample) -> str:
    """Stable hash of one request (hex SHA-256 of canonical JSON)."""
    payload = json.dumps(
        {"model": model, "messages": messages, "params": params, "sample": int(sample)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AnswerStore:
    """Append-only JSONL file of answers, keyed by :func:`request_key`.

    Parameters
    ----------
    path : str or path-like
        The ``.jsonl`` file (created on first append).
    fsync : bool, optional
        Flush every record to disk (default True).
    """

    def __init__(self, path, *, fsync=True):
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"answer store {str(self.path)!r} is a folder; give a .jsonl file path.")
        for parent in self.path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise ValueError(f"answer store {str(self.path)!r} lies below {str(parent)!r}, which is a "
                                     f"regular file, not a folder; choose another store path.")
                break
        self._fsync = fsync
        self._lock = threading.Lock()
        self._fd = None

    # -- reading ----------------------------------------------------------
    def records(self):
        """All complete records, in file order (a torn last line is ignored)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        out = []
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        for lineno, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                raise ValueError(
                    f"{self.path}:{lineno}: not a JSON record; the answer store is damaged in the middle "
                    "(only a torn last line is tolerated)."
                ) from None
            if not isinstance(rec, dict) or "key" not in rec:
                raise ValueError(f"{self.path}:{lineno}: record has no 'key' field.")
            out.append(rec)
        if tail.strip():
            try:  # a complete record missing only its newline
                rec = json.loads(tail)
                if isinstance(rec, dict) and "key" in rec:
                    out.append(rec)
            except ValueError:
                pass  # torn write: ignored, cut off on next append
        return out

    def load(self) -> dict:
        """Latest record per key (a ``done`` record wins over any failure)."""
        return _latest(self.records())

    def history(self) -> dict:
        """Per key: ``(latest record, attempts_total)``.

        ``attempts_total`` sums ``attempts`` over every record of the key
        (the attempt budget of :func:`inference.collect` counts against it).
        """
        recs = self.records()
        totals = {}
        for rec in recs:
            totals[rec["key"]] = totals.get(rec["key"], 0) + int(rec.get("attempts", 1) or 0)
        return {k: (r, totals[k]) for k, r in _latest(recs).items()}

    # -- one writer ---------------------------------------------------------
    def lock(self, timeout=0.0):
        """OS-level lock on the store (a context manager).

        Parameters
        ----------
        timeout : float or None
            Seconds to wait for another writer to finish; 0 refuses at once,
            None waits without limit.

        Raises
        ------
        StoreBusyError
            When the lock is still held after `timeout`.
        """
        import contextlib

        from filelock import FileLock, Timeout

        lock_path = str(self.path) + ".lock"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flock = FileLock(lock_path, timeout=-1 if timeout is None else float(timeout))

        @contextlib.contextmanager
        def held():
            try:
                flock.acquire()
            except Timeout:
                waited = "" if not timeout else f" after waiting {float(timeout):g} s"
                raise StoreBusyError(
                    f"answer store {str(self.path)!r} is being written by another process (lock {lock_path!r} "
                    f"held{waited}); wait for it to finish, or let this run wait with --wait-for-lock SECONDS "
                    "(Python: lock_timeout=)."
                ) from None
            try:
                yield self
            finally:
                flock.release()

        return held()

    # -- writing ----------------------------------------------------------
    def _open(self):
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(fd).st_size
        if size:
            # cut a torn last line (no trailing newline) so the next record starts clean
            with open(self.path, "rb") as fh:
                data = fh.read()
            if not data.endswith(b"\n"):
                last_nl = data.rfind(b"\n")
                tail = data[last_nl + 1 :]
                try:
                    json.loads(tail)
                    os.write(fd, b"\n")  # complete record, only the newline missing
                except ValueError:
                    os.ftruncate(fd, last_nl + 1)
        self._fd = fd

    def append(self, record: dict):
        """Write one record (single write + fsync)."""
        self.append_many([record])

    def append_many(self, records):
        """Write several records with one ``write`` and one ``fsync`` (group commit).

        A process killed during the write leaves complete lines plus at most
        one torn last line, which :meth:`records` ignores.
        """
        lines = []
        for record in records:
            if "key" not in record:
                raise ValueError("AnswerStore.append: record needs a 'key' field.")
            line = json.dumps(record, ensure_ascii=False, sort_keys=True, allow_nan=False, default=str)
            lines.append(line.replace("\n", "\\n") + "\n")
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        with self._lock:
            self._open()
            written = os.write(self._fd, data)
            while written < len(data):  # pragma: no cover - short writes on regular files are rare
                written += os.write(self._fd, data[written:])
            if self._fsync:
                os.fsync(self._fd)

    def close(self):
        """Close the file (the next append opens it again)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"AnswerStore({str(self.path)!r})"


def _latest(records):
    best = {}
    for rec in records:
        old = best.get(rec["key"])
        if old is None or not (old.get("status") == "done" and rec.get("status") != "done"):
            best[rec["key"]] = rec
    return best


# ---------------------------------------------------------------------------
# store -> tidy distributions
# ---------------------------------------------------------------------------

_GROUPS = ("model", "answer_method", "condition", "country", "language")
_NAN_EXTRA = ("agreement", "refusal_share")


class _Item:
    """The outcome of one item (all samples of one question under one set of group labels)."""

    __slots__ = ("probs", "status", "repairs", "reason")

    def __init__(self, probs, status="ok", repairs="", reason=""):
        self.probs, self.status, self.repairs, self.reason = probs, status, repairs, reason

    @classmethod
    def rejected(cls, n, reason):
        return cls([math.nan] * n, "rejected", "", reason)

    @classmethod
    def maybe_repaired(cls, probs, code, needed, repair):
        """``ok``, or ``repaired`` with `code` when `needed` and allowed, else rejected."""
        if not needed:
            return cls(probs)
        if not repair.allows(code):
            return cls.rejected(len(probs), repair.refusal(code))
        return cls(probs, "repaired", code)


def _mean(dists, n):
    return [sum(d[i] for d in dists) / len(dists) for i in range(n)]


def _combine_freetext(recs, keys, labels, repair, freetext, extra):
    exts = [extract_choice(r.get("text"), keys, labels) if r.get("status") == "done" else Extraction(None, "unparsable")
            for r in recs]
    vote = majority_vote(exts, keys)
    extra.update(n_valid_samples=vote.n_valid_samples, agreement=vote.agreement, refusal_share=vote.refusal_share)
    if vote.key is None:
        n_ref = sum(e.kind == "refusal" for e in exts)
        n_unp = sum(e.kind == "unparsable" for e in exts)
        return _Item.rejected(len(keys), f"no_valid_answer: {len(exts)} sample(s): {n_ref} refusal(s), "
                                         f"{n_unp} unparsable or failed")
    if freetext == "majority":
        return _Item([1.0 if k == vote.key else 0.0 for k in keys])
    return _Item([vote.shares[k] for k in keys])


def _combine_sequence(recs, keys, labels, repair, freetext, extra):
    total = dict.fromkeys(keys, 0)
    invalid = 0
    for r in recs:
        if r.get("status") != "done":
            continue
        counts, bad = parse_sequence(r.get("text"), keys)
        invalid += bad
        for k in keys:
            total[k] += counts[k]
    nv = sum(total.values())
    extra.update(n_valid_samples=nv)
    if nv == 0:
        return _Item.rejected(len(keys), "no_valid_answer: no option key in the sequence(s)")
    return _Item.maybe_repaired([total[k] / nv for k in keys], "invalid_tokens_dropped", invalid > 0, repair)


def _combine_logprobs(recs, keys, labels, repair, freetext, extra):
    dists, missing_any = [], False
    for r in recs:
        if r.get("status") != "done":
            continue
        p, miss = logprobs_to_distribution(r.get("option_logprobs") or {}, keys)
        if not all(math.isnan(x) for x in p):
            dists.append(p)
            missing_any |= miss > 0
    extra.update(n_valid_samples=len(dists))
    if not dists:
        return _Item.rejected(len(keys), "no_logprobs: no option token among the returned log-probabilities")
    return _Item.maybe_repaired(_mean(dists, len(keys)), "missing_zero", missing_any, repair)


def _combine_verbalized(recs, keys, labels, repair, freetext, extra):
    with_text = [r for r in recs if r.get("text") is not None]  # failures keep the raw text of unparsable answers
    parsed = [parse_distribution(r.get("text"), keys, repair=repair, question=r.get("question")) for r in with_text]
    good = [p for p in parsed if p.status != "rejected"]
    extra.update(n_valid_samples=len(good))
    if not good:
        if parsed:
            return _Item.rejected(len(keys), parsed[0].reason)
        failed = [r for r in recs if r.get("status") != "done"]
        err = (failed[0].get("error") or "request failed") if failed else "no answer"
        return _Item.rejected(len(keys), f"failed: {err}")
    reps = {code for p in good for code in p.repairs}
    probs = _mean([p.probs for p in good], len(keys))
    if reps:
        return _Item(probs, "repaired", ";".join(code for code in REPAIRS if code in reps))
    return _Item(probs)


_COMBINERS = {"freetext": _combine_freetext, "sequence": _combine_sequence, "logprobs": _combine_logprobs,
              "verbalized": _combine_verbalized}


def _combine_item(answer_method, recs, keys, labels, repair, freetext):
    """Return ``(item, extra)`` for the samples `recs` of one item.

    Free text is voted, sequences are counted together, verbalized and
    log-prob distributions are averaged over valid samples.
    """
    extra = {"n_samples": len(recs), "n_valid_samples": 0, "agreement": math.nan, "refusal_share": math.nan}
    combiner = _COMBINERS.get(answer_method)
    if combiner is None:
        raise ValueError(f"unknown answer method {answer_method!r} in the store; expected one of {sorted(_COMBINERS)}.")
    return combiner(recs, keys, labels, repair, freetext, extra), extra


def read_store(path, *, repair="lenient", freetext="majority") -> pd.DataFrame:
    """Tidy distributions from an answer store.

    Parameters
    ----------
    path : str or path-like
        The ``.jsonl`` store written by :func:`inference.collect`.
    repair : str or RepairRules, optional
        Repair rules for verbalized answers.
    freetext : {"majority", "distribution"}, optional
        For free-text answers: put probability 1 on the majority-vote option
        (the ESS paper's choice, default) or use the share of valid samples
        per option.

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`inference.read_results`, with group columns
        ``model``, ``answer_method``, ``condition``, ``country``, ``language`` and
        per-item ``n_samples``, ``n_valid_samples``, ``agreement``, ``refusal_share``.
        Samples of one item (same group labels and question) are combined:
        verbalized and log-prob distributions are averaged over valid
        samples, sequences are counted together, free text is voted.
        Items are sorted by their group labels and question (not by the
        order in which answers arrived), so the same store content always
        reads to the same frame.
    """
    if freetext not in ("majority", "distribution"):
        raise ValueError(f"`freetext` must be 'majority' or 'distribution'; got {freetext!r}.")
    repair = resolve_repair(repair)
    from .ingest import check_text_file

    store = AnswerStore(path)
    if not store.path.exists():
        raise FileNotFoundError(f"answer store {str(path)!r} does not exist.")
    check_text_file(store.path, "answer store")
    items = {}
    for rec in store.load().values():
        if "answer_method" not in rec and "method" in rec:  # store version 1
            rec = dict(rec, answer_method=rec["method"])
        for f in ("question", "keys", "answer_method"):
            if f not in rec:
                raise ValueError(f"{path}: record {rec.get('key', '?')[:12]} has no {f!r} field.")
        if not str(rec["question"]).strip():
            raise ValueError(f"{path}: record {rec.get('key', '?')[:12]} has an empty question id.")
        gk = tuple(str(rec.get(g) or "none") for g in _GROUPS) + (str(rec["question"]),)
        items.setdefault(gk, []).append(rec)
    cols = {c: [] for c in ("question", "option", "prob", "key", "label", "status", "reason", "repairs", "raw",
                            "n_samples", "n_valid_samples", "agreement", "refusal_share", *_GROUPS)}
    for gk, recs in sorted(items.items(), key=lambda kv: kv[0]):  # not completion order: stable output
        recs.sort(key=lambda r: r.get("sample", 0))
        keys = [str(k) for k in recs[0]["keys"]]
        labels = [str(x) for x in recs[0].get("labels") or keys]
        item, extra = _combine_item(recs[0]["answer_method"], recs, keys, labels, repair, freetext)
        probs, status, repairs, reason = item.probs, item.status, item.repairs, item.reason
        raw = recs[0].get("text") if len(recs) == 1 else json.dumps([r.get("text") for r in recs], ensure_ascii=False)
        for k, lab, p in zip(keys, labels, probs):
            cols["question"].append(gk[-1])
            cols["option"].append(key_position(k))
            cols["prob"].append(p)
            cols["key"].append(k)
            cols["label"].append(lab)
            cols["status"].append(status)
            cols["reason"].append(reason)
            cols["repairs"].append(repairs)
            cols["raw"].append(raw if raw is not None else "")
            for e in ("n_samples", "n_valid_samples", "agreement", "refusal_share"):
                cols[e].append(extra[e])
            for g, v in zip(_GROUPS, gk[:-1]):
                cols[g].append(v)
    out = pd.DataFrame(cols)
    out["option"] = out["option"].astype("float64")
    out["prob"] = out["prob"].astype("float64")
    out["agreement"] = out["agreement"].astype("float64")
    out["refusal_share"] = out["refusal_share"].astype("float64")
    out["source"] = str(path)
    return out
