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

Secrets: the store never receives API keys (backends read them from the
environment).  As a second line of defence, every string given in
``secrets`` is replaced by ``[REDACTED]`` before a record is written.
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
from .parsing import REPAIRS, parse_distribution, resolve_policy

__all__ = ["AnswerStore", "request_key", "read_store", "STORE_VERSION"]

STORE_VERSION = 1


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
    secrets : sequence of str, optional
        Strings that must never be written (replaced by ``[REDACTED]``).
    fsync : bool, optional
        Flush every record to disk (default True).
    """

    def __init__(self, path, *, secrets=(), fsync=True):
        self.path = Path(path)
        self._secrets = [s for s in secrets if s]
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
        """Latest record per key (a ``done`` record wins over ``failed``)."""
        best = {}
        for rec in self.records():
            old = best.get(rec["key"])
            if old is None or not (old.get("status") == "done" and rec.get("status") != "done"):
                best[rec["key"]] = rec
        return best

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

    def _redact(self, line: str) -> str:
        for s in self._secrets:
            if s in line:
                line = line.replace(s, "[REDACTED]")
        return line

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
            lines.append(self._redact(line.replace("\n", "\\n")) + "\n")
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


# ---------------------------------------------------------------------------
# store -> tidy distributions
# ---------------------------------------------------------------------------

_GROUPS = ("model", "method", "condition", "country", "language")



def _combine_item(method, recs, keys, labels, policy, freetext):
    """Return (probs, status, repairs, reason, extra) for one item."""
    n = len(keys)
    nan = [math.nan] * n
    extra = {"n_samples": len(recs), "n_valid": 0, "agreement": math.nan, "refusal_rate": math.nan}
    done = [r for r in recs if r.get("status") == "done"]
    failed = [r for r in recs if r.get("status") != "done"]
    if method == "freetext":
        exts = [extract_choice(r.get("text"), keys, labels) for r in done]
        exts += [Extraction(None, "unparsable") for _ in failed]
        vote = majority_vote(exts, keys)
        extra.update(n_valid=vote.n_valid, agreement=vote.agreement, refusal_rate=vote.refusal_rate)
        if vote.key is None:
            kinds = {k: sum(e.kind == k for e in exts) for k in ("refusal", "unparsable")}
            return nan, "rejected", "", (
                f"no_valid_answer: {len(exts)} sample(s): {kinds['refusal']} refusal(s), "
                f"{kinds['unparsable']} unparsable or failed"
            ), extra
        if freetext == "majority":
            probs = [1.0 if k == vote.key else 0.0 for k in keys]
        else:
            probs = [vote.shares[k] for k in keys]
        return probs, "ok", "", "", extra
    if method == "sequence":
        total = {k: 0 for k in keys}
        invalid = 0
        for r in done:
            c, bad = parse_sequence(r.get("text"), keys)
            invalid += bad
            for k in keys:
                total[k] += c[k]
        nv = sum(total.values())
        extra.update(n_valid=nv)
        if nv == 0:
            return nan, "rejected", "", "no_valid_answer: no option key in the sequence(s)", extra
        probs = [total[k] / nv for k in keys]
        if invalid:
            if not policy.invalid_tokens_dropped:
                return nan, "rejected", "", policy.refusal("invalid_tokens_dropped"), extra
            return probs, "repaired", "invalid_tokens_dropped", "", extra
        return probs, "ok", "", "", extra
    if method == "logprobs":
        dists = []
        missing_any = False
        for r in done:
            lp = r.get("option_logprobs") or {}
            p, miss = logprobs_to_distribution(lp, keys)
            if not all(math.isnan(x) for x in p):
                dists.append(p)
                missing_any |= miss > 0
        extra.update(n_valid=len(dists))
        if not dists:
            return nan, "rejected", "", "no_logprobs: no option token among the returned log-probabilities", extra
        probs = [sum(d[i] for d in dists) / len(dists) for i in range(n)]
        if missing_any:
            if not policy.missing_zero:
                return nan, "rejected", "", policy.refusal("missing_zero"), extra
            return probs, "repaired", "missing_zero", "", extra
        return probs, "ok", "", "", extra
    # verbalized
    with_text = [r for r in recs if r.get("text") is not None]  # failures keep the raw text of unparsable answers
    failed = [r for r in recs if r.get("text") is None and r.get("status") != "done"]
    parsed = [parse_distribution(r.get("text"), keys, policy=policy, question=r.get("question")) for r in with_text]
    good = [p for p in parsed if p.status != "rejected"]
    extra.update(n_valid=len(good))
    if not good:
        if parsed:
            return nan, "rejected", "", parsed[0].reason, extra
        err = (failed[0].get("error") or "request failed") if failed else "no answer"
        return nan, "rejected", "", f"failed: {err}", extra
    probs = [sum(p.probs[i] for p in good) / len(good) for i in range(n)]
    reps = {r for p in good for r in p.repairs}
    if reps:
        return probs, "repaired", ";".join(r for r in REPAIRS if r in reps), "", extra
    return probs, "ok", "", "", extra


def read_store(path, *, policy="lenient", freetext="majority") -> pd.DataFrame:
    """Tidy distributions from an answer store.

    Parameters
    ----------
    path : str or path-like
        The ``.jsonl`` store written by :func:`inference.collect`.
    policy : str or RepairPolicy, optional
        Repair policy for verbalized answers.
    freetext : {"majority", "distribution"}, optional
        For free-text answers: put probability 1 on the majority-vote option
        (the ESS paper's choice, default) or use the share of valid samples
        per option.

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`inference.read_results`, with group columns
        ``model``, ``method``, ``condition``, ``country``, ``language`` and
        per-item ``n_samples``, ``n_valid``, ``agreement``, ``refusal_rate``.
        Samples of one item (same group labels and question) are combined:
        verbalized and log-prob distributions are averaged over valid
        samples, sequences are counted together, free text is voted.
    """
    if freetext not in ("majority", "distribution"):
        raise ValueError(f"`freetext` must be 'majority' or 'distribution'; got {freetext!r}.")
    policy = resolve_policy(policy)
    store = AnswerStore(path)
    if not store.path.exists():
        raise FileNotFoundError(f"answer store {str(path)!r} does not exist.")
    items = {}
    for rec in store.load().values():
        for f in ("question", "keys", "method"):
            if f not in rec:
                raise ValueError(f"{path}: record {rec.get('key', '?')[:12]} has no {f!r} field.")
        gk = tuple(str(rec.get(g) or "none") for g in _GROUPS) + (str(rec["question"]),)
        items.setdefault(gk, []).append(rec)
    cols = {c: [] for c in ("question", "option", "prob", "key", "label", "status", "reason", "repairs", "raw",
                            "n_samples", "n_valid", "agreement", "refusal_rate", *_GROUPS)}
    for gk, recs in items.items():
        recs.sort(key=lambda r: r.get("sample", 0))
        keys = [str(k) for k in recs[0]["keys"]]
        labels = [str(x) for x in recs[0].get("labels") or keys]
        method = recs[0]["method"]
        probs, status, repairs, reason, extra = _combine_item(method, recs, keys, labels, policy, freetext)
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
            for e in ("n_samples", "n_valid", "agreement", "refusal_rate"):
                cols[e].append(extra[e])
            for g, v in zip(_GROUPS, gk[:-1]):
                cols[g].append(v)
    out = pd.DataFrame(cols)
    out["option"] = out["option"].astype("float64")
    out["prob"] = out["prob"].astype("float64")
    out["agreement"] = out["agreement"].astype("float64")
    out["refusal_rate"] = out["refusal_rate"].astype("float64")
    out["source"] = str(path)
    return out
