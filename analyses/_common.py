"""Small helpers shared by the studies."""

from __future__ import annotations

import numpy as np
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


class StudyDesign:
    """Respondent frame and its survey design, as resolved by :func:`resolve_design`.

    Attributes
    ----------
    frame : DataFrame
    weights : str or None
        Weight column (None: equal weights).
    strata, psu : str or None
        Design columns (None: none).
    lonely_psu : str
        Handling of strata with one PSU (``"fail"``, ``"collapse"``, ``"certainty"``).
    source : str
        Where the design came from, in words (``"surveys.Design"``, ``"profile 'ess'"``,
        ``"arguments"``, ``"paper defaults"``, ``"none"``).
    """

    def __init__(self, frame, weights=None, strata=None, psu=None, lonely_psu="fail", source="none"):
        self.frame, self.weights, self.strata, self.psu = frame, weights, strata, psu
        self.lonely_psu, self.source = lonely_psu, source

    def describe(self):
        """One line: weights and design columns."""
        w = f"weights={self.weights}" if self.weights else "unweighted"
        d = f"strata={self.strata}, psu={self.psu}" if self.psu else "no PSUs (respondents)"
        return f"{w}; {d}; from {self.source}"


def _column_name(x, frame, role):
    if x is None:
        return None
    if isinstance(x, str):
        if x not in frame.columns:
            raise ValueError(f"{role} column {x!r} is not a column of `data` (columns: {list(frame.columns)[:20]}).")
        return x
    raise TypeError(f"`{role}` must be a column name (str) or None, got {type(x).__name__}.")


def resolve_design(data, *, weights="auto", strata="auto", psu="auto", paper_defaults=False, lonely_psu=None):
    """Respondent frame and design of a study's `data`.

    Parameters
    ----------
    data : DataFrame, surveys.Design, or a survey object with ``responses()`` and ``weight``/``strata``/``psu``
        A ``surveys.Design`` (anything with a ``data`` frame and ``weights``,
        ``strata``, ``psu`` column names) carries its design; a frame whose
        columns a survey profile recognises (ESS: ``anweight``, ``stratum``,
        ``psu``) carries the profile's; a :class:`surveys.SyntheticSurvey`
        carries its own.
    weights, strata, psu : "auto", str or None
        ``"auto"``: from the design or profile.  A column name overrides it;
        None switches it off.
    paper_defaults : bool
        Unweighted, no design (a plain respondent bootstrap), whatever the
        data carry: the choices of the ESS paper.
    lonely_psu : str, optional
        Overrides the design's handling of strata with one PSU.

    Returns
    -------
    StudyDesign
    """
    source = "none"
    dw = ds = dp = None
    lp = "fail"
    if isinstance(data, pd.DataFrame):
        frame = data
        try:
            from surveys.profiles import get_profile
            from surveys.readers import guess_profile

            name = data.attrs.get("profile") if isinstance(data.attrs.get("profile"), str) else guess_profile(data)
            prof = get_profile(name) if name else None
        except Exception:  # noqa: BLE001 - a profile is a convenience, never required
            prof = None
        if prof is not None:
            dw, ds, dp = (prof.column(data, r) for r in ("weight", "strata", "psu"))
            if dp is not None and ds is None:
                ds = prof.column(data, "country")
            if dw or dp:
                source = f"profile {prof.name!r}"
                lp = "collapse"
    elif hasattr(data, "responses") and callable(data.responses):
        frame = data.responses()
        for a in ("weight", "strata", "psu"):
            v = getattr(data, a, None)
            if isinstance(v, str) and v not in frame.columns:
                col = getattr(data, "data", None)
                if isinstance(col, pd.DataFrame) and v in col.columns and len(col) == len(frame):
                    frame = frame.assign(**{v: col[v].to_numpy()})
        dw, ds, dp = (getattr(data, a, None) for a in ("weight", "strata", "psu"))
        dw, ds, dp = (v if isinstance(v, str) and v in frame.columns else None for v in (dw, ds, dp))
        if dp is not None and ds is None and "country" in frame.columns:
            ds = "country"
        source = type(data).__name__
    elif hasattr(data, "data") and isinstance(getattr(data, "data"), pd.DataFrame) and hasattr(data, "psu"):
        frame = data.data
        dw, ds, dp = (getattr(data, a, None) for a in ("weights", "strata", "psu"))
        lp = getattr(data, "lonely_psu", None) or "fail"
        source = type(data).__name__
    else:
        raise TypeError(f"`data` must be a pandas DataFrame or a survey design, got {type(data).__name__}.")
    if paper_defaults:
        for name, v in (("weights", weights), ("strata", strata), ("psu", psu)):
            if v not in ("auto", None):
                raise ValueError(f"`paper_defaults=True` is unweighted without a design; drop `{name}={v!r}`.")
        return StudyDesign(frame, None, None, None, lp, "paper defaults (unweighted, respondent bootstrap)")
    explicit = False
    if weights != "auto":
        dw, explicit = weights, True
    if strata != "auto":
        ds, explicit = strata, True
    if psu != "auto":
        dp, explicit = psu, True
    if explicit:
        source = "arguments" if source == "none" else f"{source} and arguments"
    dw = _column_name(dw, frame, "weights")
    ds = _column_name(ds, frame, "strata")
    dp = _column_name(dp, frame, "psu")
    if ds is not None and dp is None:
        raise ValueError(f"`strata={ds!r}` needs `psu=` (a respondent id column when the design has no clusters).")
    return StudyDesign(frame, dw, ds, dp, lonely_psu or lp, source if (dw or dp) else "none")


def adjust_family(p, adjust):
    """:func:`alignstat.adjust_pvalues` under whichever argument name the core uses (``adjust``)."""
    import inspect

    p = np.asarray(p, dtype=float)
    if adjust is None:
        return p.copy()
    params = inspect.signature(alignstat.adjust_pvalues).parameters
    key = "adjust" if "adjust" in params else "method"
    return alignstat.adjust_pvalues(p, **{key: adjust})
