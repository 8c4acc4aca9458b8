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
    if len(answers) and not len(f):
        reasons = sorted(set(answers["reason"].astype(str))) if "reason" in answers.columns else []
        src = sorted(set(answers["source"].astype(str))) if "source" in answers.columns else []
        raise ValueError(
            f"`answers`: every item is rejected (status='rejected'{'; reasons: ' + str(reasons[:3]) if reasons else ''}"
            f"{'; files: ' + str(src[:3]) if src else ''}); nothing is left to analyse -- fix the answers "
            f"(see inference.status_report) or read them with a more lenient `repair`."
        )
    return f


def check_label_types(frame, cols, name):
    """Raise if a group column mixes values that differ only in type (``1`` and ``"1"``).

    Such values would become two groups with the same printed label.
    """
    for c in cols:
        if c not in frame.columns:
            continue
        col = frame[c]
        if col.dtype != object:
            continue
        vals = pd.unique(col.dropna())
        seen = {}
        for v in vals:
            k = str(v)
            if k in seen and type(seen[k]) is not type(v):
                raise ValueError(
                    f"`{name}`: column {c!r} holds values that differ only in type ({k!r} as "
                    f"{type(seen[k]).__name__} and {type(v).__name__}); convert the column to one type first, "
                    f"e.g. df[{c!r}] = df[{c!r}].astype(str)."
                )
            seen.setdefault(k, v)


def align_plain(reports, *args, **kwargs):
    """:func:`alignstat.align` with its repair report moved out of ``attrs``.

    The repair report (records in ``attrs``) is appended to `reports` as a
    frame (:func:`alignstat.report_frame`) when it is not empty, and the
    result returned without attrs; :func:`concat_reports` joins the frames.
    """
    out = alignstat.align(*args, **kwargs)
    rep = alignstat.report_frame(out)
    if len(rep):
        reports.append(rep)
    out = out.copy()
    out.attrs = {}
    return out


def concat_reports(reports):
    """Join the repair-report frames collected by :func:`align_plain` (an empty frame when there are none)."""
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


WEIGHT_COLUMN = "__design_weight__"


class StudyDesign:
    """Respondent frame and its survey design, as resolved by :func:`resolve_design`.

    Attributes
    ----------
    frame : DataFrame
        The respondents (with the weights in column :data:`WEIGHT_COLUMN` when weighted).
    weights : str or None
        Name of the weights (for reports); None: equal weights.
    strata, psu : str or None
        Names of the design's strata and PSUs (None: none).
    strata_codes, psu_codes : ndarray or None
        Stratum and PSU of each respondent.
    lonely_psu : str
        Handling of strata with one PSU.
    source : str
        Where the design came from, in words.
    """

    def __init__(self, frame, weights=None, weight_values=None, strata=None, psu=None, strata_codes=None,
                 psu_codes=None, lonely_psu="fail", source="none"):
        if weights is not None:
            frame = frame.assign(**{WEIGHT_COLUMN: np.asarray(weight_values, dtype=float)})
        self.frame, self.weights, self.strata, self.psu = frame, weights, strata, psu
        self.strata_codes, self.psu_codes = strata_codes, psu_codes
        self.lonely_psu, self.source = lonely_psu, source

    @property
    def weight_column(self):
        """Column of :attr:`frame` holding the weights, or None."""
        return WEIGHT_COLUMN if self.weights is not None else None

    def describe(self):
        """One line: weights and design."""
        w = f"weights={self.weights}" if self.weights else "unweighted"
        d = f"strata={self.strata}, psu={self.psu}" if self.psu_codes is not None else "no PSUs (respondents)"
        return f"{w}; {d}; from {self.source}"


def _column_name(x, frame, role):
    if x is None:
        return None
    if isinstance(x, str):
        if x not in frame.columns:
            raise ValueError(f"{role} column {x!r} is not a column of `data` (columns: {list(frame.columns)[:20]}).")
        return x
    raise TypeError(f"`{role}` must be a column name (str) or None, got {type(x).__name__}.")


def _from_surveys_design(d, frame, source):
    """Weights, strata and PSUs of a ``surveys.Design`` (arrays) over the rows of `frame`."""
    if len(d.data) != len(frame):
        raise ValueError(f"the design has {len(d.data)} respondents but the data have {len(frame)}.")
    wname = getattr(d, "weights_name", None)
    w = np.asarray(d.weights, dtype=float) if wname else None
    sc = np.asarray(d.strata_codes) if getattr(d, "has_strata", False) else None
    pc = np.asarray(d.psu_codes) if getattr(d, "has_psu", False) else None
    if sc is not None and pc is None:
        pc = np.arange(len(frame))
    return dict(weights=wname, weight_values=w, strata="design strata" if sc is not None else None,
                psu="design PSUs" if pc is not None else None, strata_codes=sc, psu_codes=pc,
                lonely_psu=getattr(d, "lonely_psu", "fail"), source=source)


def resolve_design(data, *, weights="auto", strata="auto", psu="auto", paper_defaults=False, lonely_psu=None):
    """Respondent frame and design of a study's `data`.

    Parameters
    ----------
    data : DataFrame, surveys.Design or survey object
        A ``surveys.Design`` carries its design; a frame or survey whose
        profile ``surveys.design`` recognises (ESS: ``anweight``, strata
        ``cntry`` x ``stratum``, ``psu``) carries the profile's; a plain frame
        none.
    weights, strata, psu : "auto", str or None
        ``"auto"``: from the design or profile.  A column name replaces the
        whole design by the one the arguments give (None: switched off).
    paper_defaults : bool
        Unweighted, no design (a plain respondent bootstrap), whatever the
        data carry: the choices of the ESS paper.
    lonely_psu : str, optional
        Overrides the design's handling of strata with one PSU.

    Returns
    -------
    StudyDesign
    """
    d = None
    if isinstance(data, pd.DataFrame):
        frame = data
    elif hasattr(data, "responses") and callable(data.responses):
        frame = data.responses()
    elif hasattr(data, "data") and isinstance(getattr(data, "data"), pd.DataFrame) and hasattr(data, "psu_codes"):
        frame, d = data.data, data
    else:
        raise TypeError(f"`data` must be a pandas DataFrame, a survey or a surveys.Design, got {type(data).__name__}.")
    explicit = any(v != "auto" for v in (weights, strata, psu))
    if paper_defaults:
        for name, v in (("weights", weights), ("strata", strata), ("psu", psu)):
            if v not in ("auto", None):
                raise ValueError(f"`paper_defaults=True` is unweighted without a design; drop `{name}={v!r}`.")
        return StudyDesign(frame, source="paper defaults (unweighted, respondent bootstrap)")
    if explicit:
        w = _column_name(None if weights == "auto" else weights, frame, "weights")
        sc = _column_name(None if strata == "auto" else strata, frame, "strata")
        pc = _column_name(None if psu == "auto" else psu, frame, "psu")
        if sc is not None and pc is None:
            raise ValueError(f"`strata={sc!r}` needs `psu=` (a respondent id column when the design has no clusters).")
        wv = None
        if w is not None:
            wv = pd.to_numeric(frame[w], errors="coerce").to_numpy(dtype=float)
            if not np.all(np.isfinite(wv)) or np.any(wv < 0) or wv.sum() <= 0:
                raise ValueError(f"weights column {w!r} must be finite, non-negative and not all zero.")
        return StudyDesign(frame, weights=w, weight_values=wv, strata=sc, psu=pc,
                           strata_codes=None if sc is None else pd.factorize(frame[sc].astype(str))[0],
                           psu_codes=None if pc is None else pd.factorize(frame[pc].astype(str))[0],
                           lonely_psu=lonely_psu or "fail", source="arguments")
    if d is None:
        try:
            import surveys

            try:
                d = surveys.design(data)
            except ValueError:
                from surveys.readers import guess_profile

                name = guess_profile(frame)
                if name is None:
                    raise
                d = surveys.design(data, profile=name)
            src = f"profile {getattr(d.profile, 'name', '?')!r} (surveys.design)"
        except Exception:  # noqa: BLE001 - no profile: a plain frame has no design
            d = None
    else:
        src = "surveys.Design"
    if d is None:
        return StudyDesign(frame)
    kw = _from_surveys_design(d, frame, src)
    if lonely_psu:
        kw["lonely_psu"] = lonely_psu
    if kw["weights"] is None and kw["psu_codes"] is None:
        return StudyDesign(frame)
    return StudyDesign(frame, **kw)


def adjust_family(p, adjust):
    """:func:`alignstat.adjust_pvalues` of `p` (a float array) over one family; None leaves `p` unadjusted."""
    p = np.asarray(p, dtype=float)
    if adjust is None:
        return p.copy()
    return alignstat.adjust_pvalues(p, adjust=adjust)


def as_scales(positions):
    """``{question: full scale}`` from a dict, an :class:`alignstat.QuestionBank` or an options frame.

    A question bank (e.g. ``surveys.question_bank`` of a labelled file) gives
    every question's full scale, so point answers sit on it even when some
    scale point is used by nobody; options without an ordinal position
    (NaN) are left out.
    """
    if positions is None or isinstance(positions, dict):
        return positions
    frame = positions.options_frame() if hasattr(positions, "options_frame") else positions
    if not isinstance(frame, pd.DataFrame) or not {"question", "option"} <= set(frame.columns):
        raise TypeError("`positions` must be a dict {question: positions}, a QuestionBank or a frame with "
                        f"'question' and 'option' columns; got {type(positions).__name__}.")
    opt = pd.to_numeric(frame["option"], errors="coerce")
    f = frame.assign(option=opt).dropna(subset=["option"])
    return {str(q): sorted(set(g["option"].tolist())) for q, g in f.groupby("question")}
