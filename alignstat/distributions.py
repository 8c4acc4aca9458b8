"""Opinion distributions: many ragged items, each a distribution over ordinal options.

An *item* is one (question, group...) cell -- e.g. ("Q1", model="gpt-4") or
("Q1", country="Chile", wave=7) -- holding K options at numeric ordinal
positions.  Distributions are built from, and returned as, tidy DataFrames with
columns ``question``, ``option`` (the position), one value column (``prob``,
``count`` or ``weight``) and any number of group columns.

Data problems are never fixed silently.  Values that cannot be right
(negative, NaN or infinite masses; duplicate options; non-numeric positions
without a label) always raise.  Problems with a defensible repair follow an
explicit :class:`Policy`, and every repair is listed in a report (records in
the ``report`` attribute, and in ``DataFrame.attrs["report"]`` of results;
:func:`report_frame` makes a frame of them) and announced with a
:class:`~alignstat.DataPolicyWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._warnings import DataPolicyWarning

__all__ = ["Policy", "OpinionDistributions", "RESERVED_COLUMNS", "as_distributions", "report_frame"]

#: Column names that are never taken as group columns: the columns of tidy distributions and of the
#: inference layer's answer frames (``type`` is the question type of the seed's question banks).
RESERVED_COLUMNS = frozenset(
    {
        "question", "option", "prob", "count", "weight", "label", "key", "status", "reason",
        "repairs", "source", "n", "n_weighted", "n_eff", "nonresponse", "small_cell", "se",
        "mean", "raw", "text", "agreement", "refusal_share", "n_samples", "n_valid_samples",
        "type", "tie", "n_tied",
    }
)
_VALUE_COLUMNS = ("prob", "count", "weight")
_SUM_TOL = 1e-6
#: frames with at least this many rows are scanned by a numba kernel (smaller ones: NumPy, no numba import)
_KERNEL_MIN_ROWS = 4096
REPORT_COLUMNS = ["side", "question", "group", "issue", "action", "detail"]


@dataclass(frozen=True)
class Policy:
    """How data problems with a defensible repair are handled.

    Parameters
    ----------
    sums : {"renormalize", "error"}
        A ``prob`` item whose probabilities do not sum to 1 (beyond 1e-6):
        rescale it to sum to 1 (reported), or raise.  Counts and weight sums
        are always normalised -- that is what they mean.
    missing_options : {"error", "zero", "drop"}
        The two compared sides list different options for a question:
        raise; treat options an item does not list as probability 0
        (reported); or drop the items that lack options (reported).
    zero_mass : {"error", "drop"}
        An item whose total mass is 0 (after excluding options without an
        ordinal position, for ordinal metrics): raise, or drop it (reported).
    """

    sums: str = "renormalize"
    missing_options: str = "error"
    zero_mass: str = "error"

    def __post_init__(self):
        for name, allowed in (
            ("sums", ("renormalize", "error")),
            ("missing_options", ("error", "zero", "drop")),
            ("zero_mass", ("error", "drop")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}.")

    @classmethod
    def coerce(cls, policy) -> "Policy":
        """Return a :class:`Policy` from ``None`` (the default), a Policy, a dict of its fields or a preset name."""
        if policy is None:
            return cls()
        if isinstance(policy, cls):
            return policy
        if isinstance(policy, dict):
            return cls(**policy)
        if policy == "strict":
            return cls(sums="error", missing_options="error", zero_mass="error")
        if policy == "lenient":
            return cls(sums="renormalize", missing_options="zero", zero_mass="drop")
        raise TypeError("`policy` must be a Policy, a dict of its fields, 'strict' or 'lenient'.")


def _py(v):
    """Plain Python value for messages and records (numpy scalars print as np.float64(...) otherwise)."""
    return v.item() if isinstance(v, np.generic) else v


def _describe(question, group_values, group_cols):
    if not group_cols:
        return f"question {_py(question)!r}"
    gv = ", ".join(f"{c}={_py(v)!r}" for c, v in zip(group_cols, group_values))
    return f"question {_py(question)!r} ({gv})"


def _group_label(values) -> str:
    return ", ".join(str(_py(v)) for v in values)


def _record(side, question, group, issue, action, detail=""):
    """One repair-report record (plain str values, so results stay JSON-serialisable)."""
    return {"side": str(side), "question": str(question), "group": str(group), "issue": str(issue),
            "action": str(action), "detail": str(detail)}


def report_frame(result) -> pd.DataFrame:
    """Return the repair report of a result as a DataFrame.

    Parameters
    ----------
    result : DataFrame, OpinionDistributions, Grid or sequence of dict
        A result of :func:`alignstat.align` (its ``attrs["report"]``), an
        :class:`OpinionDistributions` or a :class:`~alignstat.Grid`
        (their ``report``), or the records themselves.

    Returns
    -------
    pandas.DataFrame
        Columns ``side``, ``question``, ``group``, ``issue``, ``action``,
        ``detail``; one row per repair or exclusion (none: an empty frame).

    Examples
    --------
    >>> import pandas as pd, alignstat
    >>> a = pd.DataFrame({"question": "Q1", "option": [1, 2], "prob": [20.0, 80.0]})
    >>> d = alignstat.OpinionDistributions.from_frame(a)  # doctest: +SKIP
    >>> alignstat.report_frame([]).columns.tolist()
    ['side', 'question', 'group', 'issue', 'action', 'detail']
    """
    if isinstance(result, pd.DataFrame):
        records = result.attrs.get("report", [])
    elif hasattr(result, "report") and not isinstance(result, (list, tuple)):
        records = result.report
    else:
        records = result
    if records is None:
        records = []
    if isinstance(records, pd.DataFrame):
        return records.reindex(columns=REPORT_COLUMNS)
    return pd.DataFrame(list(records), columns=REPORT_COLUMNS)


def _as_columns(cols, what):
    """Return a list of column names (a string means one column)."""
    if cols is None:
        return None
    if isinstance(cols, str):
        return [cols]
    try:
        return list(cols)
    except TypeError:
        raise TypeError(f"`{what}` must be a column name or a list of column names, got {type(cols).__name__}.") from None


@dataclass(frozen=True)
class _Checked:
    """Validated columns of a tidy frame (output of :func:`_iv`)."""

    frame: pd.DataFrame  # rows kept (rejected rows removed), original columns
    value: str
    groups: list
    qcodes: np.ndarray  # int64 codes into `qids`
    qids: np.ndarray  # question ids (object array of str), in order of first appearance
    gcodes: list  # per group column: int64 codes into `guniques`
    guniques: list  # per group column: distinct values, an ExtensionArray (NaN kept)
    option: np.ndarray  # float, NaN = unpositioned
    label: np.ndarray | None  # object str, "" where none; None when every option has a position
    mass: np.ndarray
    report: list


def _factorize(values: pd.Series, use_na_sentinel=False):
    """Codes (int64) and distinct values (an array of the column's own type) of one key column.

    Three routes, all giving the codes of :meth:`ExtensionArray.factorize` up to the order of the
    distinct values: integers over a short range are coded by offset (no hashing); an Arrow
    string column whose values come in runs (the usual tidy layout) hashes one value per run;
    anything else is hash-factorized.
    """
    arr = values.array
    n = len(arr)
    dtype = values.dtype
    if n and isinstance(dtype, np.dtype) and (dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)):
        x = values.to_numpy()
        if n >= _KERNEL_MIN_ROWS:  # one numba kernel: min/max, marks and codes in three passes
            from ._kernels.packing import offset_codes

            ok, codes, at = offset_codes(x.astype(np.int64, copy=False), 2 * n + 1024)
            if ok:
                return codes, arr.take(at)
        lo, hi = int(x.min()), int(x.max())
        span = hi - lo + 1
        if span <= 2 * n + 1024:
            off = (x.astype(np.int64) - lo).astype(np.intp)
            present = np.zeros(span, dtype=bool)
            present[off] = True
            rank = np.cumsum(present) - 1
            at = np.empty(span, dtype=np.intp)
            at[off] = np.arange(n)  # a row holding each value (any one)
            return rank[off].astype(np.int64), arr.take(at[present])
    pa_arr = getattr(arr, "_pa_array", None)
    if pa_arr is not None and n > 256:
        import pyarrow.compute as pc

        ne = pc.fill_null(pc.not_equal(pa_arr.slice(1), pa_arr.slice(0, n - 1)), True)
        head = np.empty(n, dtype=bool)
        head[0] = True
        head[1:] = ne.to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(head)
        if 4 * len(starts) <= n:
            hc, u = arr.take(starts).factorize(use_na_sentinel=use_na_sentinel)
            return np.repeat(hc.astype(np.int64), np.diff(np.r_[starts, n])), u
    codes, u = arr.factorize(use_na_sentinel=use_na_sentinel)
    return codes.astype(np.int64), u


def _check_codes(col, values, name):
    """Factorize one key column; raise when two distinct values print alike (``1`` and ``"1"``)."""
    codes, u = _factorize(values)
    vals = [v for v in u.tolist() if not pd.isna(v)]
    as_str = [str(v) for v in vals]
    if len(set(as_str)) < len(as_str):
        seen = set()
        dup = next(x for x in as_str if x in seen or seen.add(x))
        kinds = sorted({type(v).__name__ for v, x in zip(vals, as_str) if x == dup})
        raise ValueError(
            f"{name}: column {col!r} holds values that differ only in type ({dup!r} as {', '.join(kinds)}); "
            f"convert the column to one type first, e.g. df[{col!r}].astype(str)."
        )
    return codes.astype(np.int64), u


def _iv(df, value, groups, name) -> _Checked:
    """Input validation of :meth:`OpinionDistributions.from_frame` (no arithmetic)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame or OpinionDistributions, got {type(df).__name__}.")
    columns = set(df.columns)
    for col in ("question", "option"):
        if col not in columns:
            raise ValueError(f"{name}: column {col!r} is missing (columns: {list(df.columns)}).")
    if value is None:
        present = [c for c in _VALUE_COLUMNS if c in df.columns]
        if not present:
            raise ValueError(f"{name}: no value column; expected one of {list(_VALUE_COLUMNS)}.")
        value = present[0]
    elif value not in columns:
        raise ValueError(f"{name}: value column {value!r} is missing.")
    groups = _as_columns(groups, "groups")
    if groups is None:
        groups = [c for c in df.columns if c not in RESERVED_COLUMNS]
    else:
        for g in groups:
            if g not in columns:
                raise ValueError(f"{name}: group column {g!r} is missing.")
            if g in ("question", "option", "label", "status", value):
                raise ValueError(f"{name}: {g!r} cannot be a group column.")
        if len(set(groups)) != len(groups):
            raise ValueError(f"{name}: `groups` lists a column twice: {groups}.")
    report = []
    if "status" in columns:
        rejected = (df["status"].astype("string") == "rejected").fillna(False).to_numpy(dtype=bool)
        if rejected.any():
            rej = df.loc[rejected, ["question", *groups]]
            codes = np.column_stack([pd.factorize(rej[c], use_na_sentinel=False)[0] for c in rej.columns])
            first = np.unique(codes, axis=0, return_index=True)[1]
            for i in np.sort(first):
                row = rej.iloc[i]
                report.append(_record(name, row.iloc[0], _group_label(row.iloc[1:]), "rejected upstream", "excluded"))
            df = df.loc[~rejected]
    if df.empty:
        raise ValueError(f"{name}: no rows to build distributions from.")
    qcol = df["question"]
    qcodes, quni = _factorize(qcol, use_na_sentinel=True)
    if (qcodes < 0).any():
        i = int(np.flatnonzero(qcodes < 0)[0])
        raise ValueError(f"{name}: row {df.index[i]!r}: the question id is missing (NaN); "
                         "every row needs a question id.")
    qlist = [str(q) for q in quni.tolist()]
    qs = np.empty(len(qlist), dtype=object)
    qs[:] = qlist
    if len(set(qlist)) < len(qlist):
        seen = set()
        dup = next(q for q in qlist if q in seen or seen.add(q))
        raise ValueError(f"{name}: column 'question' holds ids that differ only in type ({dup!r}); "
                         "convert it to str first.")
    blank = [i for i, q in enumerate(qs) if not q.strip()]
    if len(blank):
        i = int(np.flatnonzero(qcodes == blank[0])[0])
        raise ValueError(f"{name}: row {df.index[i]!r}: the question id is empty; every row needs a question id.")
    gcodes, guniques = [], []
    for g in groups:
        c, u = _check_codes(g, df[g], name)
        gcodes.append(c)
        guniques.append(u)

    def where(i):
        return _describe(qs[qcodes[i]], [u[c[i]] for u, c in zip(guniques, gcodes)], groups)

    raw_opt = df["option"]
    opt = _numeric(raw_opt)
    bad = np.isnan(opt)
    if raw_opt.dtype.kind not in "fiub" and bad.any():
        bad &= raw_opt.notna().to_numpy()
    else:
        bad = np.zeros(len(opt), dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: {where(i)}: option {_py(raw_opt.iloc[i])!r} is not a number; "
                         "`option` must hold the ordinal position.")
    if np.isinf(opt).any():
        raise ValueError(f"{name}: {where(int(np.flatnonzero(np.isinf(opt))[0]))}: option position is infinite.")
    unpos = np.isnan(opt)
    label = None  # labels matter only for options without a position
    if unpos.any() and "label" in columns:
        lab = df["label"].astype("string").fillna("").to_numpy(dtype=object)
        label = np.full(len(df), "", dtype=object)
        label[unpos] = lab[unpos]
        nolab = unpos & (label == "")
        if nolab.any():
            raise ValueError(f"{name}: {where(int(np.flatnonzero(nolab)[0]))}: an option has neither a position nor a label.")
    elif unpos.any():
        raise ValueError(f"{name}: {where(int(np.flatnonzero(unpos)[0]))}: an option has no position (NaN); give a "
                         "`label` column to keep options without an ordinal position.")
    vals = _numeric(df[value])
    badv = ~np.isfinite(vals) | (vals < 0)
    if badv.any():
        i = int(np.flatnonzero(badv)[0])
        what = "NaN or not a number" if np.isnan(vals[i]) else ("infinite" if np.isinf(vals[i]) else "negative")
        shown = _py(df[value].iloc[i])
        o = opt[i] if not np.isnan(opt[i]) else label[i]
        raise ValueError(f"{name}: {where(i)}: {value} {shown!r} for option {_py(o)!r} is {what}; "
                         "values must be finite and non-negative.")
    return _Checked(frame=df, value=value, groups=groups, qcodes=qcodes.astype(np.int64), qids=qs, gcodes=gcodes,
                    guniques=guniques, option=opt, label=label, mass=vals,
                    report=report)


def _numeric(col: pd.Series) -> np.ndarray:
    """Float64 values of a column (non-numbers as NaN)."""
    if col.dtype.kind in "fiub":
        return col.to_numpy(dtype=float)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def _sorted_uniques(u) -> np.ndarray:
    """Order of the distinct values `u` sorted (by value, or by str when types are mixed); NaN last."""
    vals = np.asarray(u, dtype=object) if u.dtype == object else u.to_numpy()
    na = np.asarray(u.isna(), dtype=bool)
    idx = np.flatnonzero(~na)
    try:
        order = idx[np.argsort(vals[idx], kind="stable")]
    except TypeError:
        order = idx[np.argsort(np.array([str(v) for v in vals[idx]]), kind="stable")]
    return np.r_[order, np.flatnonzero(na)].astype(np.int64)


@dataclass(frozen=True)
class _View:
    """Rows usable for one kind of metric (cached on the distributions)."""

    row_item: np.ndarray
    pos: np.ndarray
    lab: np.ndarray
    prob: np.ndarray
    report: tuple
    upos: np.ndarray  # distinct positions, ascending
    pcode: np.ndarray  # row -> index into upos (-1: no position)


def _make_view(row_item, pos, lab, prob, report) -> _View:
    # integral positions over a short range: coded by offset; else hash factorize, then rank the few
    # distinct positions (no sort of the rows)
    if len(pos):
        fin = pos[~np.isnan(pos)] if np.isnan(pos).any() else pos
        if len(fin):
            lo, hi = fin.min(), fin.max()
            if hi - lo <= 2 * len(pos) + 1024 and lo == np.floor(lo):
                off = np.where(np.isnan(pos), -1.0, pos - lo)
                offi = off.astype(np.int64)
                if (offi == off).all():
                    span = int(hi - lo) + 1
                    present = np.zeros(span + 1, dtype=bool)  # last cell: NaN
                    present[offi] = True
                    present[-1] = False
                    rank = np.cumsum(present) - 1
                    rank[-1] = -1
                    upos = lo + np.flatnonzero(present[:-1]).astype(float)
                    return _View(row_item, pos, lab, prob, tuple(report), upos, rank[offi])
    codes, uniq = pd.factorize(pos, use_na_sentinel=True)
    uniq = np.asarray(uniq, dtype=float)
    order = np.argsort(uniq)
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # code -1 (NaN) stays -1
    pcode = rank[codes]
    upos = uniq[order]
    return _View(row_item, pos, lab, prob, tuple(report), upos, pcode)


class OpinionDistributions:
    """Normalised opinion distributions of many (question, group...) items, packed once.

    Build with :meth:`from_frame`; get dense arrays with :meth:`grid`;
    convert back with :meth:`to_frame`.  The object is immutable and may be
    passed to :func:`alignstat.align` any number of times: what each metric
    needs is prepared once and cached on it.

    Attributes
    ----------
    groups : tuple of str
        Group columns.
    report : tuple of dict
        Repairs and exclusions made while building (records with keys
        ``side``, ``question``, ``group``, ``issue``, ``action``,
        ``detail``); :func:`alignstat.report_frame` makes a frame of them.
    name : str
        Name used in messages and reports.
    policy : Policy
        The policy the object was built with (also used by :meth:`grid`).

    Notes
    -----
    Storage: one row per listed option, sorted by (question, group,
    positioned first, position, label); integer codes of question
    (into :attr:`questions`), of group (into :attr:`group_labels`) and of
    label; positions (NaN = unpositioned); masses normalised per item.
    """

    def __init__(self, *, questions, group_values, groups, item_q, item_g, item_start, pos, lab, labels, prob,
                 report, name, policy, row_item=None):
        self._questions = questions
        self._group_values = group_values
        self.groups = tuple(groups)
        self._item_q = item_q
        self._item_g = item_g
        self._item_start = item_start
        if row_item is None:
            row_item = np.repeat(np.arange(len(item_q), dtype=np.int64), np.diff(item_start))
        self._row_item = row_item
        self._pos = pos
        self._lab = lab
        self._labels = labels
        self._prob = prob
        self.report = tuple(report)
        self.name = name
        self.policy = policy
        self._cache = {}

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frame(cls, df, *, value=None, groups=None, policy=None, name="data"):
        """Validate a tidy frame once and pack it.

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``question``, ``option`` (numeric position; NaN marks an
            option with no ordinal position, which then needs a ``label``),
            one value column and group columns.  If a ``status`` column is
            present, rows with ``status == "rejected"`` are excluded and
            reported.
        value : {"prob", "count", "weight"}, optional
            The value column; by default the first of these present.
        groups : str or sequence of str, optional
            Group columns (a string is one column); by default every column
            not in :data:`RESERVED_COLUMNS`.
        policy : Policy, dict, "strict" or "lenient", optional
            See :class:`Policy`.
        name : str
            Name used in messages and reports (e.g. ``"a"``/``"b"``).

        Returns
        -------
        OpinionDistributions

        Raises
        ------
        ValueError
            Naming the question and group of negative, NaN or infinite
            values, duplicate options (and a reserved column that varies
            within them), unlabelled options without position, a missing or
            empty question id, group values that differ only in type, and
            (under the strict policies) bad sums or zero-mass items.

        Examples
        --------
        >>> import pandas as pd, alignstat
        >>> df = pd.DataFrame({"question": "Q1", "option": [1, 2, 3], "count": [10, 30, 60],
        ...                    "country": "CL"})
        >>> d = alignstat.OpinionDistributions.from_frame(df, groups="country")
        >>> d
        OpinionDistributions(1 items, 1 questions, groups=['country'])
        >>> d.grid().prob
        array([[0.1, 0.3, 0.6]])
        """
        if isinstance(df, OpinionDistributions):
            return df
        policy = Policy.coerce(policy)
        chk = _iv(df, value, groups, name)
        return cls._pack(chk, policy, name)

    @classmethod
    def _pack(cls, chk: _Checked, policy: Policy, name: str):
        """Arithmetic of :meth:`from_frame`: integer codes, one lexsort, normalisation."""
        frame, groups, value = chk.frame, chk.groups, chk.value
        report = list(chk.report)
        # codes in order of first appearance (hash factorize): rows grouped by item in any order
        # need no sort; group codes are re-ranked by label on the (few) items afterwards
        qcode = chk.qcodes
        questions = chk.qids
        if not groups:
            gcode = np.zeros(len(frame), dtype=np.int64)
            n_groups = 1
            combo_cols = []
        elif len(groups) == 1:
            gcode = chk.gcodes[0]
            n_groups = len(chk.guniques[0])
            combo_cols = [np.arange(n_groups)]
        else:
            comb = np.zeros(len(frame), dtype=np.int64)
            for c, u in zip(chk.gcodes, chk.guniques):
                comb = comb * len(u) + c
            gc, cu = pd.factorize(comb)
            gcode = gc.astype(np.int64)
            n_groups = len(cu)
            rest = np.asarray(cu, dtype=np.int64)
            combo_cols = []
            for u in reversed(chk.guniques):
                rest, r = np.divmod(rest, len(u))
                combo_cols.append(r)
            combo_cols.reverse()
        # rank of each group by its labels (column by column; NaN last)
        grank = np.zeros(n_groups, dtype=np.int64)
        group_values = {}
        if groups:
            keys = []
            for g, u, cc in zip(groups, chk.guniques, combo_cols):
                uorder = _sorted_uniques(u)
                urank = np.empty_like(uorder)
                urank[uorder] = np.arange(len(uorder))
                keys.append(urank[cc])
            gorder = np.lexsort(keys[::-1])
            grank[gorder] = np.arange(n_groups)
            group_values = {}
            for g, u, cc in zip(groups, chk.guniques, combo_cols):
                sel = cc[gorder]
                # labels already in order (one column coded in sorted order, one group): no gather
                ident = len(sel) == len(u) and (sel == np.arange(len(sel))).all()
                group_values[g] = u if ident else u[sel]
        # labels of unpositioned options
        unpos = np.isnan(chk.option)
        lab = np.full(len(frame), -1, dtype=np.int64)
        labels = np.zeros(0, dtype=object)
        if unpos.any():
            lc, labels = pd.factorize(chk.label[unpos], sort=True)
            lab[unpos] = lc
            labels = np.asarray(labels, dtype=object)
            top = np.nanmax(chk.option) if (~unpos).any() else 0.0
            okey = np.where(unpos, top + 1.0 + lab, chk.option)
        else:
            okey = chk.option
        ikey = qcode * n_groups + gcode
        runs = None
        if len(ikey) >= _KERNEL_MIN_ROWS:  # one numba pass finds the items of rows already in order
            from ._kernels.packing import item_runs

            sorted_, bounds, row_item = item_runs(ikey, np.ascontiguousarray(okey, dtype=np.float64))
            runs = (bounds, row_item) if sorted_ else None
        order = None if runs is not None else _item_order(ikey, okey)
        if order is None:  # already in order: no gathers

            def take(x):
                return x
        else:

            def take(x):
                return x[order]

        ik, ok = take(ikey), take(okey)
        has_unpos = bool(unpos.any())
        if has_unpos:
            un, lb = take(unpos), take(lab)
        else:
            un, lb = np.zeros(len(ik), dtype=bool), lab
        if runs is not None:  # sorted, options strictly ascending within items: no duplicates
            bounds, row_item = runs
            starts = bounds[:-1]
        else:
            new_item = np.r_[True, ik[1:] != ik[:-1]]
            same = ~new_item[1:] & (ok[1:] == ok[:-1])
            if same.any():
                _raise_duplicate(frame, np.arange(len(ik)) if order is None else order, same, groups, chk, name)
            starts = np.flatnonzero(new_item)
            row_item = np.cumsum(new_item) - 1
        item_q, item_g = ik[starts] // n_groups, grank[ik[starts] % n_groups]
        mass = take(chk.mass)
        total = np.add.reduceat(mass, starts)

        def who(i):
            return questions[item_q[i]], _group_label([group_values[g][item_g[i]] for g in groups])

        def describe(i):
            return _describe(questions[item_q[i]], [group_values[g][item_g[i]] for g in groups], groups)

        zero = total <= 0
        if zero.any():
            idx = np.flatnonzero(zero)
            if policy.zero_mass == "error":
                raise ValueError(f"{name}: {describe(idx[0])} has zero total {value}; "
                                 "use policy zero_mass='drop' to drop such items.")
            report += [_record(name, *who(i), "zero mass", "dropped") for i in idx]
        if value == "prob":
            off = (np.abs(total - 1.0) > _SUM_TOL) & ~zero
            if off.any():
                idx = np.flatnonzero(off)
                if policy.sums == "error":
                    raise ValueError(f"{name}: {describe(idx[0])}: probabilities sum to {total[idx[0]]:.6g}, not 1; "
                                     "use policy sums='renormalize' to rescale.")
                report += [_record(name, *who(i), "sum != 1", "renormalized", f"sum={total[i]:.6g}") for i in idx]
        prob = mass / np.where(zero, 1.0, total)[row_item]
        if zero.any():
            keep_item = ~zero
            keep = keep_item[row_item]
            if not keep.any():
                raise ValueError(f"{name}: every item was dropped by the policy; nothing is left to compare.")
            item_q, item_g = item_q[keep_item], item_g[keep_item]
            counts = np.bincount(row_item, minlength=len(total))[keep_item]
            ok, lb, prob = ok[keep], lb[keep], prob[keep]
            un = un[keep]
            row_item = None
            item_start = np.r_[0, np.cumsum(counts)].astype(np.int64)
        elif runs is not None:
            item_start = runs[0]
        else:
            item_start = np.r_[starts, len(ik)].astype(np.int64)
        pos = np.where(un, np.nan, ok) if has_unpos else ok
        _warn_report(report, name)
        return cls(questions=questions, group_values=group_values, groups=groups, item_q=item_q, item_g=item_g,
                   item_start=item_start, pos=pos, lab=lb, labels=labels, prob=prob, report=report, name=name,
                   row_item=row_item,
                   policy=policy)

    # ------------------------------------------------------------------ views
    def _view(self, ordinal, policy=None) -> _View:
        """Rows for ordinal metrics (positioned options, renormalised) or nominal ones (all rows); cached."""
        zero_mass = (policy or self.policy).zero_mass
        key = (bool(ordinal), zero_mass)
        if key in self._cache:
            return self._cache[key]
        if not ordinal or not np.isnan(self._pos).any():
            v = _make_view(self._row_item, self._pos, self._lab, self._prob, ())
            self._cache[key] = v
            return v
        unpos = np.isnan(self._pos)
        n = len(self._item_q)
        lost = np.bincount(self._row_item, weights=np.where(unpos, self._prob, 0.0), minlength=n)
        kept = np.bincount(self._row_item, weights=np.where(unpos, 0.0, self._prob), minlength=n)
        report = []
        side = self.name

        def who(i):
            g = _group_label([self._group_values[c][self._item_g[i]] for c in self.groups])
            return self._questions[self._item_q[i]], g

        for i in np.flatnonzero((lost > 0) & (kept > 0)):
            report.append(_record(side, *who(i), "options without ordinal position",
                                  "excluded from ordinal metric", f"mass={lost[i]:.6g}"))
        empty = np.flatnonzero(kept <= 0)
        if len(empty):
            if zero_mass == "error":
                q, g = who(empty[0])
                raise ValueError(f"{side}: question {q!r}" + (f" ({g})" if g else "")
                                 + " has all its mass on options without an ordinal position; "
                                 "use policy zero_mass='drop'.")
            report += [_record(side, *who(i), "no mass on positioned options", "dropped") for i in empty]
        keep = ~unpos & (kept[self._row_item] > 0)
        if not keep.any():
            raise ValueError(f"{side}: no item has mass on options with an ordinal position.")
        ri = self._row_item[keep]
        v = _make_view(ri, self._pos[keep], self._lab[keep], self._prob[keep] / kept[ri], report)
        self._cache[key] = v
        return v

    def grid(self, questions=None, positions=None, *, ordinal=True):
        """Dense arrays of the items on each question's option grid: the one accessor for consumers.

        Parameters
        ----------
        questions : sequence of str, optional
            Rows of the grid, in this order (items of other questions are
            left out; a question without items has none).  Default: every
            question, sorted.
        positions : mapping or QuestionBank, optional
            The full scale of some questions, ``{question: positions}`` or
            an :class:`alignstat.QuestionBank` (its finite positions): their
            columns are this scale even where the items list fewer options
            (e.g. a majority-vote point answer on a 0--10 item); an answer
            off the scale is an error.  Other questions take the union of
            the options their items list.
        ordinal : bool
            ``True`` (default): options without a position are dropped and
            each item renormalised over the rest (reported in the grid's
            ``report``; an item with no positioned mass follows the
            policy's ``zero_mass``).  ``False``: they are kept as columns
            after the positioned ones (for JSD/TVD).

        Returns
        -------
        alignstat.Grid
            Frozen dataclass with ``questions`` (Index), ``positions``
            (Q, K; ascending, NaN-padded), ``n_options`` (Q,), ``labels``,
            ``prob`` (items, K), ``item_question``, ``item_offsets``,
            ``item_group``, ``group_values`` (and ``group_labels``), ``groups``, ``listed``,
            ``incomplete``
            (items that do not list every option: their missing options are
            0 in ``prob``) and ``report``.

        Examples
        --------
        >>> import pandas as pd, alignstat
        >>> votes = pd.DataFrame({"model": ["m1", "m2"], "question": "Q1", "option": [7, 9], "prob": 1.0})
        >>> g = alignstat.OpinionDistributions.from_frame(votes).grid(positions={"Q1": range(11)})
        >>> int(g.n_options[0]), g.prob[:, 7].tolist(), g.prob[:, 9].tolist()
        (11, [1.0, 0.0], [0.0, 1.0])
        """
        from ._packed import joint_grids

        g = joint_grids([self], questions=questions, positions=positions, ordinal=ordinal)[0]
        _warn_report(list(g.report), self.name)
        return g

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: ``question``, group columns, ``option``, ``prob`` (and ``label`` if any option has one).

        Rows are sorted by question id, group labels, then position (options
        without one last, by label).

        Examples
        --------
        >>> import pandas as pd, alignstat
        >>> df = pd.DataFrame({"question": "Q1", "option": [2, 1], "count": [3, 1]})
        >>> alignstat.OpinionDistributions.from_frame(df).to_frame()
          question  option  prob
        0       Q1     1.0  0.25
        1       Q1     2.0  0.75
        """
        qids = np.asarray(self._questions, dtype=object)
        qrank = np.empty(len(qids), dtype=np.int64)
        qrank[np.argsort(qids, kind="stable")] = np.arange(len(qids))
        perm = np.lexsort((self._item_g, qrank[self._item_q]))  # items by (question id, group)
        sizes = np.diff(self._item_start)[perm]
        rows = np.repeat(self._item_start[:-1][perm] - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
        ri = self._row_item[rows]
        out = {"question": qids[self._item_q[ri]]}
        if self.groups:
            for g in self.groups:
                out[g] = self._group_values[g][self._item_g[ri]]
        out["option"] = self._pos[rows]
        lab = self._lab[rows]
        if (lab >= 0).any():
            out["label"] = np.where(lab >= 0, self._labels[np.maximum(lab, 0)] if len(self._labels) else "", "")
        out["prob"] = self._prob[rows]
        frame = pd.DataFrame(out)
        if "label" in frame.columns:
            frame = frame[["question", *self.groups, "option", "label", "prob"]]
        return frame

    @property
    def questions(self) -> list:
        """Question ids (str), sorted."""
        return sorted(self._questions)

    @property
    def group_labels(self) -> pd.DataFrame:
        """One row per group (columns :attr:`groups`)."""
        return _labels_frame(self._group_values)

    @property
    def n_items(self) -> int:
        """Number of (question, group) items."""
        return len(self._item_q)

    def __repr__(self):
        return f"OpinionDistributions({self.n_items} items, {len(self._questions)} questions, groups={list(self.groups)})"


def _item_order(ikey, okey):
    """Order of rows by (item, option key), None when already in order.

    Usually a cheap stable sort of contiguous runs, else one lexsort.
    """
    n = len(ikey)
    if n < 2:
        return None
    d_i = np.diff(ikey)
    within = d_i == 0
    if not (np.diff(okey)[within] > 0).all():
        return np.lexsort((okey, ikey))
    if (d_i >= 0).all():
        return None  # already sorted
    # each item one contiguous run with ascending options: a stable sort of the item key keeps them
    top = int(ikey.max()) + 1
    n_runs = 1 + int(np.count_nonzero(~within))
    if top <= 4 * n + 1_000_000 and np.count_nonzero(np.bincount(ikey, minlength=top)) == n_runs:
        return np.argsort(ikey, kind="stable")
    return np.lexsort((okey, ikey))


def _labels_frame(group_values: dict) -> pd.DataFrame:
    """Frame of group labels (one row and no column without group columns)."""
    if not group_values:
        return pd.DataFrame(index=pd.RangeIndex(1))
    return pd.DataFrame(group_values)


def _raise_duplicate(frame, order, same, groups, chk, name):
    """Duplicate options: name the item, and any other column (reserved or not) that varies within them."""
    j = int(np.flatnonzero(same)[0])
    i0, i1 = order[j], order[j + 1]
    opt = chk.option[i1]
    shown = _py(opt) if not np.isnan(opt) else chk.label[i1]
    where = _describe(chk.qids[chk.qcodes[i1]], [u[c[i1]] for u, c in zip(chk.guniques, chk.gcodes)], groups)
    msg = f"{name}: {where}: option {shown!r} appears more than once."
    skip = {"question", "option", "label", chk.value, *groups}
    varying = []
    for c in frame.columns:
        if c in skip:
            continue
        x, y = frame[c].iloc[i0], frame[c].iloc[i1]
        if not (x == y or (pd.isna(x) and pd.isna(y))):
            varying.append(c)
    reserved = [c for c in varying if c in RESERVED_COLUMNS]
    other = [c for c in varying if c not in RESERVED_COLUMNS]
    if reserved:
        c = reserved[0]
        msg += (f" Column {c!r} differs between these rows, but {c!r} is reserved "
                f"(alignstat.RESERVED_COLUMNS) and is never a group column; to group by it, rename it and "
                f"name it: df.rename(columns={{{c!r}: {c + '_'!r}}}) with groups=[..., {c + '_'!r}].")
    elif other:
        msg += f" Column {other[0]!r} differs between these rows; add it to `groups`."
    raise ValueError(msg)


def _user_stacklevel() -> int:
    """Stack level of the first frame outside alignstat (so a warning points at the user's call)."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    f = sys._getframe(1)
    level = 1
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(here):
        f = f.f_back
        level += 1
    return level


def _warn_report(records, name: str, stacklevel=None):
    """One DataPolicyWarning summarising repair records (none: no warning)."""
    if not records:
        return
    if stacklevel is None:
        stacklevel = _user_stacklevel()
    counts = {}
    for r in records:
        k = (r["issue"], r["action"])
        counts[k] = counts.get(k, 0) + 1
    parts = "; ".join(f"{n} item(s) {issue} -> {action}" for (issue, action), n in counts.items())
    warnings.warn(f"{name}: {parts} (see the `report`).", DataPolicyWarning, stacklevel=stacklevel)


def as_distributions(x, *, name, value=None, groups=None, policy=None) -> OpinionDistributions:
    """Coerce a tidy frame or :class:`OpinionDistributions`."""
    groups = _as_columns(groups, "groups")
    if isinstance(x, OpinionDistributions):
        if groups is not None and tuple(groups) != x.groups:
            raise ValueError(f"{name}: `groups` {list(groups)} differ from the object's groups {list(x.groups)}.")
        return x
    return OpinionDistributions.from_frame(x, value=value, groups=groups, policy=policy, name=name)
