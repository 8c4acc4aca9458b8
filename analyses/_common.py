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
    """Drop rejected items and rows without a probability."""
    f = answers
    if "status" in f.columns:
        f = f.loc[f["status"].astype(str) != "rejected"]
    return f.loc[f["prob"].notna()]


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
