"""Small helpers shared by the studies."""

from __future__ import annotations

import pandas as pd

import alignstat


def check_frame(frame, name, cols):
    """Raise unless `frame` is a DataFrame holding `cols` (naming the missing column)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(frame).__name__}.")
    for c in cols:
        if c not in frame.columns:
            raise ValueError(f"`{name}` lacks the column {c!r} (columns: {list(frame.columns)}).")


def usable(answers):
    """Drop items marked ``status == "rejected"``; any other missing probability is an error.

    A NaN probability outside a rejected item means the input is broken, so it
    is reported (naming the question) rather than dropped.
    """
    f = answers
    if "status" in f.columns:
        f = f.loc[f["status"].astype(str) != "rejected"]
    bad = f["prob"].isna()
    if bad.any():
        r = f.loc[bad].iloc[0]
        where = ", ".join(f"{c}={r[c]!r}" for c in ("model", "condition", "country") if c in f.columns)
        raise ValueError(
            f"`answers`: question {r['question']!r} ({where}) has a missing `prob` but is not marked "
            f"rejected ({int(bad.sum())} such row(s)); mark such items `status='rejected'` or fix them."
        )
    return f


def align_plain(reports, *args, **kwargs):
    """:func:`alignstat.align` with its repair report moved out of ``attrs``.

    Frames held in ``attrs`` make pandas merges fail, so the report is appended
    to `reports` and the result returned without attrs.
    """
    out = alignstat.align(*args, **kwargs)
    rep = out.attrs.get("report")
    if rep is not None and len(rep):
        reports.append(rep)
    out = out.copy()
    out.attrs = {}
    return out


def concat_reports(reports):
    return pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()


def check_one_item(frame, keys, name):
    """Raise if `keys` + question + option do not identify one row, naming the columns that vary.

    E.g. answers of several conditions passed to a study that compares one
    distribution per model.
    """
    from alignstat import RESERVED_COLUMNS

    cols = [*keys, "question", "option"]
    dup = frame.duplicated(cols, keep=False)
    if not dup.any():
        return
    sub = frame.loc[dup]
    first = sub.iloc[0]
    others = [c for c in frame.columns if c not in RESERVED_COLUMNS and c not in cols
              and sub.groupby(cols, dropna=False)[c].nunique(dropna=False).max() > 1]
    where = ", ".join(f"{k}={first[k]!r}" for k in [*keys, "question"])
    hint = (f"; the column(s) {others} vary within it -- filter to one value (e.g. one condition) first"
            if others else "")
    raise ValueError(f"`{name}` holds more than one answer for {where}{hint}.")
