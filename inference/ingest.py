"""Read precomputed model outputs into tidy opinion distributions.

Three inputs are understood:

* the ``results.csv`` layout published with Liu, Kaneko & Chu (2025)
  (columns ``id, question, choices, choice_keys, answer, type, response``);
  the ``model`` and ``condition`` (and, for RQ2, ``country``) come from the
  path -- ``results/RQ1/<model>/results.csv`` (condition ``none``),
  ``results/RQ2/<method>/<country>/<model>/results.csv`` (condition = the
  method, with ``_`` written ``-`` so that it matches the steering names of
  :func:`inference.collect`) and
  ``results/Discussion/sensitivity/<kind>/<model>/results.csv`` (condition
  ``sensitivity-<kind>``); model names may contain a slash;
* tidy distribution files (CSV or Parquet with ``question``, ``option``,
  ``prob`` and group columns);
* this package's own answer store (see :mod:`inference.store`).

Every item (one question answered under one model/condition) gets a status
(``ok``, ``repaired`` or ``rejected``; see :mod:`inference.parsing`).  A
rejected item keeps one row per option with ``prob`` NaN.
"""

from __future__ import annotations

import ast
import json
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from alignstat import RESERVED_COLUMNS
from alignstat._warnings import DataPolicyWarning
from alignstat.questions import key_position

from .parsing import REPAIRS, ParsedAnswer, parse_distribution, resolve_repair

__all__ = ["read_results", "read_results_csv", "read_tidy", "status_report", "StatusReport", "RESERVED", "condition_from_path"]

#: Never group columns: alignstat's reserved names plus ``type`` (the seed's
#: question type, constant per question: an attribute, not a group).
RESERVED = frozenset(RESERVED_COLUMNS) | {"type"}
RESULT_COLUMNS = ("id", "question", "choices", "choice_keys", "response")
_RESULT_ONLY = ("id", "choices", "choice_keys", "response", "answer")
_TIDY_ORDER = ["question", "option", "prob", "key", "label", "type", "status", "reason", "repairs", "source", "raw"]


def check_text_file(path, what="file"):
    """Raise a clear ValueError for a file that cannot be UTF-8 text: empty, UTF-16 or binary.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file should be (for the message), e.g. ``"results file"``.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head:
        raise ValueError(f"{path}: the {what} is empty (0 bytes); nothing to read.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 3 and head[1:4:2] == b"\x00\x00"):
        raise ValueError(f"{path}: the {what} is UTF-16 encoded; save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`).")
    if b"\x00" in head:
        raise ValueError(f"{path}: the {what} is not text (binary content); expected UTF-8 text.")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < 65536 or exc.start < len(head) - 4:  # not just a character cut at the end of the block
            raise ValueError(
                f"{path}: the {what} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8."
            ) from None


def condition_from_path(path) -> dict:
    """Group labels implied by a seed ``results.csv`` path.

    Returns
    -------
    dict
        ``model`` and ``condition`` (and ``country`` for RQ2); empty when the
        path does not follow the seed layout.
    """
    parts = Path(path).parts
    if not parts or parts[-1] != "results.csv":
        return {}
    for i, p in enumerate(parts):
        if p == "RQ1" and len(parts) - i >= 3:
            return {"model": "/".join(parts[i + 1 : -1]), "condition": "none"}
        if p == "RQ2" and len(parts) - i >= 5:
            return {
                "model": "/".join(parts[i + 3 : -1]),
                "condition": parts[i + 1].replace("_", "-"),
                "country": parts[i + 2],
            }
        if p == "Discussion" and len(parts) - i >= 5 and parts[i + 1] == "sensitivity":
            return {"model": "/".join(parts[i + 3 : -1]), "condition": f"sensitivity-{parts[i + 2]}"}
    return {}


def _literal_list(value, *, where, column):
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value]
    out = _literal_cached(str(value))
    if out is None:
        raise ValueError(f"{where}: column {column!r} is not a list literal: {str(value)[:80]!r}.")
    return list(out)


@lru_cache(maxsize=4096)
def _literal_cached(value):
    try:
        out = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        try:
            out = json.loads(value)
        except ValueError:
            return None
    if not isinstance(out, (list, tuple)):
        return None
    return tuple(str(v).strip() for v in out)



def read_results_csv(path, *, repair="lenient", model=None, condition=None, groups=None, source=None) -> pd.DataFrame:
    """Read one ``results.csv`` file of verbalized distributions.

    Parameters
    ----------
    path : str or path-like
        The file.
    repair : str or RepairRules, optional
        Repair rules (default ``"lenient"``).
    model, condition : str, optional
        Override the labels taken from the path.
    groups : dict, optional
        Further constant group columns (e.g. ``{"country": "Japan"}``).
    source : str, optional
        Value of the ``source`` column (default: the path as given).

    Returns
    -------
    pandas.DataFrame
        Tidy rows; see :func:`read_results`.
    """
    return _columns_to_frame(_results_columns(path, repair=repair, model=model, condition=condition,
                                              groups=groups, source=source))


def _columns_to_frame(rows):
    out = pd.DataFrame(rows)
    out["option"] = out["option"].astype("float64")
    out["prob"] = out["prob"].astype("float64")
    return out


def _results_columns(path, *, repair="lenient", model=None, condition=None, groups=None, source=None, rows=None):
    path = Path(path)
    repair = resolve_repair(repair)
    labels = condition_from_path(path)
    if model is not None:
        labels["model"] = model
    if condition is not None:
        labels["condition"] = condition
    labels.update(groups or {})
    for col in ("model", "condition"):
        if col not in labels:
            raise ValueError(
                f"{path}: cannot tell the {col!r} from the path (expected results/RQ1/<model>/results.csv, "
                f"results/RQ2/<method>/<country>/<model>/results.csv or "
                f"results/Discussion/sensitivity/<kind>/<model>/results.csv); pass `{col}=` (command line: --{col})."
            )
    bad = sorted(set(labels) & RESERVED)
    if bad:
        raise ValueError(f"group columns {bad} use reserved names; reserved: {sorted(RESERVED)}.")
    check_text_file(path, "results file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc}).") from None
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} are missing; a results file needs {list(RESULT_COLUMNS)}.")
    empty_ids = [i + 2 for i, q in enumerate(df["id"]) if not str(q).strip()]
    if empty_ids:
        raise ValueError(f"{path}:{empty_ids[0]}: empty question id in column 'id' ({len(empty_ids)} row(s)); "
                         "every row needs the question's id.")
    types = df["type"].tolist() if "type" in df.columns else None
    src = str(path) if source is None else source
    rows = {} if rows is None else rows
    for c in ("question", "option", "prob", "key", "label", "type", "status", "reason", "repairs", "raw", "source",
              *labels):
        if c not in rows:
            if c in labels and rows.get("question"):
                rows[c] = [None] * len(rows["question"])  # label absent from earlier files
            else:
                rows[c] = []
    n_before = len(rows["question"])
    last_row = {}
    n_rows = {}
    for i, qid in enumerate(df["id"]):
        last_row[qid] = i
        n_rows[qid] = n_rows.get(qid, 0) + 1
    for lineno, (qid, choices, ckeys, response) in enumerate(
        zip(df["id"], df["choices"], df["choice_keys"], df["response"]), start=2
    ):
        if last_row[qid] != lineno - 2:
            continue  # an earlier answer to a question the file answers again later
        where = f"{path}:{lineno} (question {qid!r})"
        keys = _literal_list(ckeys, where=where, column="choice_keys")
        labels_ = _literal_list(choices, where=where, column="choices")
        if len(keys) != len(labels_):
            raise ValueError(f"{where}: {len(labels_)} choices but {len(keys)} choice_keys.")
        parsed = parse_distribution(response, keys, repair=repair, question=qid)
        if n_rows[qid] > 1 and parsed.status != "rejected":
            parsed = _with_repair(parsed, "duplicates_dropped", repair, len(keys),
                                  f"question {qid!r} is answered in {n_rows[qid]} rows")
        reps = ";".join(parsed.repairs)
        for k, lab, p in zip(keys, labels_, parsed.probs):
            rows["question"].append(qid)
            rows["option"].append(key_position(k))
            rows["prob"].append(p)
            rows["key"].append(k)
            rows["label"].append(lab)
            rows["type"].append(types[lineno - 2] if types is not None else None)
            rows["status"].append(parsed.status)
            rows["reason"].append(parsed.reason)
            rows["repairs"].append(reps)
            rows["raw"].append(response)
    added = len(rows["question"]) - n_before
    rows["source"].extend([src] * added)
    for col in rows:
        if col in labels:
            rows[col].extend([labels[col]] * added)
        elif len(rows[col]) < len(rows["question"]):
            rows[col].extend([None] * (len(rows["question"]) - len(rows[col])))
    return rows


def _with_repair(parsed, code, repair, n, detail):
    if not repair.allows(code):
        return ParsedAnswer(
            probs=(math.nan,) * n, status="rejected",
            reason=repair.refusal(code, detail),
        )
    reps = set(parsed.repairs) | {code}
    return ParsedAnswer(probs=parsed.probs, status="repaired", repairs=tuple(r for r in REPAIRS if r in reps))


def read_tidy(path, *, repair="lenient", model=None, condition=None) -> pd.DataFrame:
    """Read a tidy distribution file (``.csv`` or ``.parquet``).

    Items without a ``status`` column are checked: probabilities must be
    non-negative, and per item (group columns + question) sum to 1 within
    the rules' ``sum_tolerance``, or are renormalized (``repaired``) or
    rejected under the repair rules.
    """
    path = Path(path)
    repair = resolve_repair(repair)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a tidy CSV/Parquet file; pass the file, or use "
                         f"inference.read_results for a folder of results.csv files or answer stores.")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    if path.suffix.lower() in (".parquet", ".pq"):
        if path.stat().st_size == 0:
            raise ValueError(f"{path}: the Parquet file is empty (0 bytes); nothing to read.")
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
            raise ValueError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from None
    else:
        check_text_file(path, "tidy CSV file")
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable CSV file ({exc}).") from None
    missing = [c for c in ("question", "option", "prob") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: columns {missing} are missing; a tidy distribution needs question, option, prob "
            f"(a results.csv needs {list(RESULT_COLUMNS)})."
        )
    df = df.copy()
    bad_q = df["question"].isna() | (df["question"].astype(str).str.strip() == "")
    if bad_q.any():
        raise ValueError(f"{path}: {int(bad_q.sum())} row(s) with an empty question id in column 'question' "
                         f"(first at row {int(np.flatnonzero(bad_q.to_numpy())[0]) + 2}); every row needs one.")
    df["question"] = df["question"].astype(str)
    if model is not None:
        df["model"] = model
    if condition is not None:
        df["condition"] = condition
    for col in ("model", "condition"):
        if col not in df.columns:
            raise ValueError(f"{path}: no {col!r} column; add one or pass `{col}=` (command line: --{col}).")
    for col in ("option", "prob"):
        try:
            df[col] = pd.to_numeric(df[col]).astype("float64")
        except (ValueError, TypeError):
            raise ValueError(f"{path}: column {col!r} must be numeric.") from None
    keys = [c for c in df.columns if c not in RESERVED] + ["question", "option"]
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        first = df.loc[dup].iloc[0]
        where = ", ".join(f"{c}={first[c]!r}" for c in keys if c != "option")
        varying = [c for c in df.columns if c in RESERVED and c not in ("prob", "option", "question")
                   and df.loc[dup].groupby(keys, dropna=False)[c].nunique(dropna=False).max() > 1]
        hint = (f"; the reserved column(s) {varying} differ between them but are never group columns -- rename "
                f"such a column to group by it" if varying else "; drop the duplicates")
        raise ValueError(f"{path}: option {float(first['option'])!r} appears more than once for {where} "
                         f"({int(dup.sum())} rows involved){hint}.")
    if "status" not in df.columns:
        gcols = [c for c in df.columns if c not in RESERVED] + ["question"]
        df["status"] = "ok"
        df["reason"] = ""
        df["repairs"] = ""
        for _, idx in df.groupby(gcols, sort=False, dropna=False).groups.items():
            p = df.loc[idx, "prob"].to_numpy()
            total = np.nansum(p)
            if np.isnan(p).any() or (p < 0).any() or total <= 0:
                df.loc[idx, ["status", "reason"]] = ["rejected", "bad_value: probabilities must be non-negative numbers with a positive sum"]
                df.loc[idx, "prob"] = np.nan
            elif abs(total - 1) > repair.max_sum_error:
                df.loc[idx, ["status", "reason"]] = ["rejected", f"sum_out_of_range: probabilities sum to {total:.4g}"]
                df.loc[idx, "prob"] = np.nan
            elif abs(total - 1) > repair.sum_tolerance:
                if repair.renormalized:
                    df.loc[idx, ["status", "repairs"]] = ["repaired", "renormalized"]
                    df.loc[idx, "prob"] = p / total
                else:
                    df.loc[idx, ["status", "reason"]] = ["rejected", repair.refusal("renormalized")]
                    df.loc[idx, "prob"] = np.nan
            else:
                df.loc[idx, "prob"] = p / total
    for col in ("reason", "repairs"):
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].fillna("").astype(str)
    if "source" not in df.columns:
        df["source"] = str(path)
    return df


def _expand(paths):
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.rglob("results.csv"))
            found += sorted(x for x in p.rglob("*.jsonl") if not x.name.startswith("WV"))
            if not found:
                raise ValueError(f"{p}: folder holds no results.csv or answer-store .jsonl file.")
            out.extend(found)
        elif not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder.")
        else:
            out.append(p)
    return out


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "store"
    if suffix in (".parquet", ".pq"):
        return "tidy"
    if suffix == ".csv":
        check_text_file(path, "CSV file")
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = {c.strip().strip('"') for c in fh.readline().strip().split(",")}
        if {"option", "prob"} <= header:
            return "tidy"
        if header & set(_RESULT_ONLY):  # a results.csv, perhaps missing columns: its reader names them
            return "results"
        return "tidy"
    raise ValueError(f"{path}: unknown file type {suffix!r}; expected results.csv, a tidy .csv/.parquet or a .jsonl answer store.")


def read_results(path_or_paths, *, repair="lenient", model=None, condition=None, groups=None, warn=True) -> pd.DataFrame:
    """Read model outputs into one tidy distribution frame.

    Parameters
    ----------
    path_or_paths : str, path-like or sequence of them
        Files or folders.  Folders are searched for ``results.csv`` files
        and answer stores (``*.jsonl``).  Seed ``results.csv`` files, tidy
        ``.csv``/``.parquet`` files and answer stores may be mixed.
    repair : {"lenient", "strict"} or RepairRules, optional
        How messy answers are repaired (see :class:`inference.RepairRules`).
    model, condition : str, optional
        Labels for files whose path does not carry them (override otherwise).
    groups : dict, optional
        Extra constant group columns for every file.
    warn : bool, optional
        Emit one :class:`alignstat.DataPolicyWarning` summarising repaired
        and rejected items (default True).

    Returns
    -------
    pandas.DataFrame
        One row per option of every item, with columns ``question`` (str),
        ``option`` (float ordinal position: the numeric key), ``prob``
        (NaN for rejected items), ``key``, ``label``, ``status``
        (``ok``/``repaired``/``rejected``), ``reason``, ``repairs``
        (``;``-separated codes), ``source``, ``raw`` (the model's text),
        ``type`` (seed files: the question type, e.g.
        ``"Opinion-Dependent"``; select the opinion questions with
        ``frame[frame["type"] == "Opinion-Dependent"]``), and
        the group columns ``model``, ``condition`` and, when any input has
        them, ``country`` (seed RQ2 files, answer stores), ``answer_method`` and
        ``language`` (answer stores), filled with ``"none"`` where an input
        has no such label (never NaN, which group-bys would drop) -- plus,
        for answer stores, ``n_samples``, ``n_valid_samples``, ``agreement`` and
        ``refusal_share``.  Seed files yield only ``model``, ``condition``
        and ``country`` beside the reserved columns and ``type``.

    Warns
    -----
    DataPolicyWarning
        When any item was repaired or rejected (once per call).

    See Also
    --------
    status_report : counts of items by status, repair and reason.
    """
    from .store import read_store

    repair = resolve_repair(repair)
    bad = sorted(set(groups or {}) & RESERVED)
    if bad:
        raise ValueError(f"`groups`: {bad} are reserved column names (alignstat.RESERVED_COLUMNS and 'type'), "
                         "never group columns; choose other names.")
    frames = []
    seed_rows = None
    for p in _expand(path_or_paths):
        kind = _kind(p)
        if kind == "results":
            seed_rows = _results_columns(p, repair=repair, model=model, condition=condition, groups=groups,
                                         rows=seed_rows)
        elif kind == "store":
            f = read_store(p, repair=repair)
            if model is not None:
                f["model"] = model
            if condition is not None:
                f["condition"] = condition
            for k, v in (groups or {}).items():
                f[k] = v
            frames.append(f)
        else:
            f = read_tidy(p, repair=repair, model=model, condition=condition)
            for k, v in (groups or {}).items():
                f[k] = v
            frames.append(f)
    if seed_rows is not None:
        frames.insert(0, _columns_to_frame(seed_rows))
    if not frames:
        raise ValueError("read_results: no input files given.")
    out = pd.concat(frames, ignore_index=True, sort=False)
    group_cols = [c for c in out.columns if c not in RESERVED]
    for c in group_cols:
        if out[c].isna().any():
            out[c] = out[c].astype(object).where(out[c].notna(), "none")
        if out[c].dtype == object and all(isinstance(v, str) for v in out[c]):
            out[c] = out[c].astype("str")
    lead = [c for c in _TIDY_ORDER if c in out.columns]
    rest = [c for c in out.columns if c not in lead and c not in group_cols]
    out = out[lead + group_cols + rest]
    if warn:
        st = out.drop_duplicates(_item_columns(out))["status"].value_counts()
        if st.get("repaired", 0) or st.get("rejected", 0):
            warnings.warn(
                f"read_results: {st.get('repaired', 0)} item(s) repaired and {st.get('rejected', 0)} rejected "
                f"under repair {repair.name!r}; see inference.status_report(frame).",
                DataPolicyWarning,
                stacklevel=2,
            )
    return out


def _item_columns(frame):
    cols = [c for c in frame.columns if c not in RESERVED] + ["question"]
    if "source" in frame.columns:
        cols.append("source")
    return cols


@dataclass(frozen=True)
class StatusReport:
    """Counts of items by status, repair and rejection reason.

    Attributes
    ----------
    n_items : int
        Number of items (question x group labels x source).
    by_status : pandas.Series
        Items per status; sums to ``n_items``.
    by_repair : pandas.Series
        Repaired items per repair code (an item may need several repairs).
    by_reason : pandas.Series
        Rejected items per reason code; sums to the rejected count.
    """

    n_items: int
    by_status: pd.Series
    by_repair: pd.Series
    by_reason: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """Tidy table with columns ``kind``, ``name``, ``items``."""
        parts = []
        for kind, s in (("status", self.by_status), ("repair", self.by_repair), ("reason", self.by_reason)):
            parts.append(pd.DataFrame({"kind": kind, "name": s.index.astype(str), "items": s.to_numpy(dtype=int)}))
        return pd.concat(parts, ignore_index=True)

    def __str__(self):
        lines = [f"{self.n_items} items"]
        for st in ("ok", "repaired", "rejected"):
            n = int(self.by_status.get(st, 0))
            lines.append(f"  {st:<9}{n:>8}  ({100 * n / max(self.n_items, 1):.2f}%)")
        if len(self.by_repair):
            lines.append("repairs (items):")
            lines += [f"  {k:<22}{int(v):>8}" for k, v in self.by_repair.items()]
        if len(self.by_reason):
            lines.append("rejections (items):")
            lines += [f"  {k:<22}{int(v):>8}" for k, v in self.by_reason.items()]
        return "\n".join(lines)

    def summary(self) -> str:
        """Return the counts as text."""
        return str(self)


def status_report(frame) -> StatusReport:
    """Count the items of a tidy frame by status, repair and reason.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`read_results` (needs ``question`` and ``status``).

    Returns
    -------
    StatusReport
        Every item is counted exactly once in ``by_status``.
    """
    for col in ("question", "status"):
        if col not in frame.columns:
            raise ValueError(f"status_report: column {col!r} is missing from the frame.")
    items = frame.drop_duplicates(_item_columns(frame))
    bad = sorted(set(items["status"].astype(str)) - {"ok", "repaired", "rejected"})
    if bad:
        raise ValueError(f"status_report: column 'status' has values {bad}; allowed: ok, repaired, rejected.")
    by_status = items["status"].astype(str).value_counts().reindex(["ok", "repaired", "rejected"], fill_value=0)
    reps = items.loc[items["status"] == "repaired", "repairs"].astype(str) if "repairs" in items else pd.Series([], dtype=str)
    rep_counts = {}
    for r in reps:
        for code in filter(None, r.split(";")):
            rep_counts[code] = rep_counts.get(code, 0) + 1
    order = [r for r in REPAIRS if r in rep_counts] + sorted(set(rep_counts) - set(REPAIRS))
    by_repair = pd.Series({k: rep_counts[k] for k in order}, dtype="int64")
    reasons = items.loc[items["status"] == "rejected", "reason"].astype(str) if "reason" in items else pd.Series([], dtype=str)
    by_reason = reasons.str.split(":", n=1).str[0].value_counts().astype("int64")
    by_reason.index.name = None
    by_status.index.name = None
    return StatusReport(n_items=len(items), by_status=by_status, by_repair=by_repair, by_reason=by_reason)
