"""`align`: every group of one side against every group of the other."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from ._packed import joint_grids
from .distributions import Policy, _as_columns, _py, _record, _warn_report, as_distributions

__all__ = ["align", "alignment_matrix", "METRICS"]

METRICS = ("wasserstein", "likert", "jsd", "tvd")
_ORDINAL = {"wasserstein", "likert"}


def align(
    a,
    b,
    *,
    metric="wasserstein",
    level="group",
    groups_a=None,
    groups_b=None,
    policy=None,
    suffixes=("_a", "_b"),
    ddof=1,
    questions=None,
    positions=None,
    engine="numba",
):
    r"""Alignment of every group of `a` with every group of `b`.

    Parameters
    ----------
    a, b : pandas.DataFrame or OpinionDistributions
        Tidy opinion distributions: ``question``, ``option`` (ordinal
        position), ``prob``/``count``/``weight`` and group columns (e.g. a
        model's answers and countries' survey distributions).
    metric : {"wasserstein", "likert", "jsd", "tvd"}
        Per-question similarity, each in [0, 1] with 1 for identical answers:

        * ``"wasserstein"``: :math:`1 - W_1(p, q)/(x_{max} - x_{min})`, the
          ordinal alignment of Santurkar et al. (2023) used by Liu, Kaneko &
          Chu (2025, Eq. 2); with positions 1..K the denominator is K - 1.
        * ``"likert"``: :math:`1 - |\mu_p - \mu_q|/(x_{max} - x_{min})`, the
          Likert-mean alignment of the ESS study; a point answer is a
          distribution with all mass on one option.
        * ``"jsd"``: :math:`1 -` Jensen--Shannon distance (base 2).
        * ``"tvd"``: :math:`1 -` total variation distance.

        The ordinal metrics ignore options without a position (reported) and
        take :math:`x_{min}, x_{max}` from the union of both sides' options.
    level : {"group", "question"}
        ``"group"``: one row per pair of groups with ``alignment`` (mean over
        shared questions), ``sd`` (over questions, `ddof`) and
        ``n_questions``.  ``"question"``: one row per pair and shared question.
    groups_a, groups_b : str or sequence of str, optional
        Group columns of each side (default: all columns not in
        :data:`alignstat.RESERVED_COLUMNS`); a string is one column.
    policy : Policy, dict, "strict" or "lenient", optional
        Handling of repairable problems (see :class:`Policy`).  For
        ``"likert"`` an option missing on one side carries probability 0
        under every policy, since the mean does not depend on it.
    suffixes : (str, str)
        Added to group column names present on both sides.
    ddof : int
        Delta degrees of freedom of ``sd``.
    questions : str or sequence of str, optional
        Restrict to these questions.
    positions : mapping or QuestionBank, optional
        The full scale of some questions (see
        :meth:`OpinionDistributions.grid`): the ordinal span is taken from
        it, so a point answer is placed on the question's whole scale.
    engine : {"numba", "numpy"}
        Kernel implementation (the NumPy twin is the test oracle).

    Returns
    -------
    pandas.DataFrame
        Group columns of `a` then of `b`; for ``level="question"``
        ``question``; ``alignment``; for ``level="group"`` ``sd`` and
        ``n_questions``; and ``metric``, so results of several metrics
        concatenate.  ``attrs`` holds only JSON-serialisable values:
        ``metric``, ``level``, ``groups_a``, ``groups_b`` and ``report``
        (records of every repair and exclusion;
        :func:`alignstat.report_frame` makes a frame of them).

    Notes
    -----
    Both sides are packed once (:class:`OpinionDistributions`; pass
    prepared objects to skip that on repeated calls) and placed on one
    option grid per question; the per-item numba kernels of
    :mod:`alignstat._kernels.metrics` then compare every pair of items.

    Examples
    --------
    >>> import pandas as pd, alignstat
    >>> model = pd.DataFrame({"question": ["Q1"] * 3, "option": [1, 2, 3], "prob": [0.2, 0.5, 0.3]})
    >>> people = pd.DataFrame({"question": ["Q1"] * 3, "option": [1, 2, 3], "prob": [0.5, 0.5, 0.0],
    ...                        "country": "Chile"})
    >>> alignstat.align(model, people)[["country", "alignment", "metric"]]
      country  alignment       metric
    0   Chile        0.7  wasserstein
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {METRICS}, got {metric!r}.")
    if level not in ("group", "question"):
        raise ValueError(f"`level` must be 'group' or 'question', got {level!r}.")
    if engine not in ("numba", "numpy"):
        raise ValueError(f"`engine` must be 'numba' or 'numpy', got {engine!r}.")
    if len(suffixes) != 2 or suffixes[0] == suffixes[1]:
        raise ValueError("`suffixes` must be two different strings.")
    policy = Policy.coerce(policy)
    da = as_distributions(a, name="a", groups=groups_a, policy=policy)
    db = as_distributions(b, name="b", groups=groups_b, policy=policy)
    shared = set(da._questions).intersection(db._questions)
    if questions is not None:
        want = [str(q) for q in _as_columns(questions, "questions")]
        missing = [q for q in want if q not in shared]
        if missing:
            raise ValueError(f"questions {missing[:10]} are not present on both sides.")
        shared = pd.Index(want, dtype=object)
    else:
        shared = pd.Index(sorted(shared), dtype=object)
    if len(shared) == 0:
        raise ValueError("`a` and `b` share no question; nothing to compare.")
    ga_, gb_ = _cached_grids(da, db, shared, positions, metric in _ORDINAL, policy)
    new_report = list(ga_.report) + list(gb_.report)
    pos, nk = ga_.positions, ga_.n_options
    if metric in _ORDINAL:
        flat = np.flatnonzero(~(ga_.span > 0))
        if len(flat):
            raise ValueError(
                f"question {shared[flat[0]]!r} has a single ordinal position across both sides; "
                "ordinal alignment needs at least two."
            )
    if metric != "likert":
        ga_ = _missing_options(ga_, policy, "a", new_report)
        gb_ = _missing_options(gb_, policy, "b", new_report)
    from ._kernels import metrics as _k

    mid = _k.METRIC_IDS[metric]
    n_ga, n_gb = ga_.n_groups, gb_.n_groups
    args = (mid, pos, nk, ga_.prob, ga_.item_group, ga_.item_offsets, gb_.prob, gb_.item_group,
            gb_.item_offsets, n_ga, n_gb)
    if level == "group" and engine == "numba":
        vals = None  # the fused kernel below
    elif engine == "numba":
        vals = _k.pairwise_question_alignment(*args)
    else:
        vals = _k.pairwise_question_alignment_numpy(*args)

    # output columns
    cols_a, cols_b = list(da.groups), list(db.groups)
    common = set(cols_a) & set(cols_b)
    ren_a = {c: c + suffixes[0] for c in cols_a if c in common}
    ren_b = {c: c + suffixes[1] for c in cols_b if c in common}
    la, lb = ga_.group_values, gb_.group_values
    if level == "group":
        if engine == "numba":
            mean, sd, cnt = _k.pairwise_group_summary(*args, int(ddof))
        else:
            mean, sd, cnt = _k.summarize_over_questions_numpy(vals, int(ddof))
        ia, ib = np.nonzero(cnt > 0)
        data = {**_take(la, ia, ren_a), **_take(lb, ib, ren_b), "alignment": mean[ia, ib], "sd": sd[ia, ib],
                "n_questions": cnt[ia, ib]}
    else:
        ia, ib, iq = np.nonzero(~np.isnan(vals))
        data = {**_take(la, ia, ren_a), **_take(lb, ib, ren_b), "question": np.asarray(shared, dtype=object)[iq],
                "alignment": vals[ia, ib, iq]}
    data["metric"] = np.full(len(ia), metric, dtype=object)
    out = pd.DataFrame(data, copy=False)  # every column is a fresh array
    _warn_report(new_report, "align")
    out.attrs["report"] = [*da.report, *db.report, *new_report]
    out.attrs["metric"] = metric
    out.attrs["level"] = level
    out.attrs["groups_a"] = [ren_a.get(c, c) for c in cols_a]
    out.attrs["groups_b"] = [ren_b.get(c, c) for c in cols_b]
    return out


def _cached_grids(da, db, shared, positions, ordinal, policy):
    """:func:`joint_grids` of two prepared sides, cached on `da` (a repeated call skips packing)."""
    if positions is not None:
        return joint_grids([da, db], questions=shared, positions=positions, ordinal=ordinal, policy=policy)
    key = ("joint", id(db), tuple(shared), ordinal, policy.zero_mass)
    hit = da._cache.get(key)
    if hit is not None and hit[0]() is db:
        return hit[1]
    grids = joint_grids([da, db], questions=shared, ordinal=ordinal, policy=policy)
    joint = [k for k in da._cache if k[0] == "joint"]
    for k in joint[: max(0, len(joint) - 7)]:  # keep the last few pairings
        del da._cache[k]
    da._cache[key] = (weakref.ref(db), grids)
    return grids


def _take(values: dict, idx, rename) -> dict:
    """Group label columns at rows `idx`, renamed."""
    return {rename.get(c, c): v[idx] for c, v in values.items()}


def _missing_options(grid, policy, side, report):
    """Apply the policy to items that do not list every option of their question's grid."""
    bad = np.flatnonzero(grid.incomplete)
    if not len(bad):
        return grid
    values = grid.group_values
    cols = list(grid.groups)

    def who(i):
        return grid.questions[grid.item_question[i]], [values[c][grid.item_group[i]] for c in cols]

    if policy.missing_options == "error":
        i = bad[0]
        q, gv = who(i)
        qi = grid.item_question[i]
        k = grid.n_options[qi]
        listed = grid.listed[i, :k]
        full = [(_py(x) if not np.isnan(x) else lab) for x, lab in zip(grid.positions[qi, :k], grid.labels[qi, :k])]
        have = [v for v, ok in zip(full, listed) if ok]
        gdesc = ", ".join(f"{c}={_py(v)!r}" for c, v in zip(cols, gv))
        raise ValueError(
            f"{side}: question {q!r}" + (f" ({gdesc})" if gdesc else "")
            + f" lists options {have} but the two sides together list {full}; "
            "use policy missing_options='zero' (missing = probability 0) or 'drop'."
        )
    action = "set to 0" if policy.missing_options == "zero" else "item dropped"
    for i in bad:
        q, gv = who(i)
        report.append(_record(side, q, ", ".join(str(_py(v)) for v in gv), "missing options", action))
    if policy.missing_options == "drop":
        grid = grid.take(~grid.incomplete)
        if len(grid.prob) == 0:
            raise ValueError(f"{side}: every item was dropped for missing options.")
    return grid


def alignment_matrix(a, b=None, *, metric="wasserstein", policy=None, suffixes=("_a", "_b"), index=None,
                     columns=None, **kwargs):
    """Wide matrix of group alignments: rows are `a`'s groups, columns `b`'s groups.

    Parameters
    ----------
    a : DataFrame or OpinionDistributions, or the result of :func:`align`
        With `b`: the two sides passed to :func:`align` (``level="group"``).
        Alone: a group-level result of :func:`align` (its ``attrs`` name the
        group columns of each side), e.g. one metric's rows of a longer frame.
    b : DataFrame or OpinionDistributions, optional
    metric, policy, suffixes, **kwargs
        Passed to :func:`align` when `b` is given.
    index, columns : str or sequence of str, optional
        Group columns of the rows and of the columns, for a result whose
        ``attrs`` were lost (e.g. after ``pd.concat`` of results with
        different reports); default from ``attrs``, or the two group
        columns when there are exactly two.

    Returns
    -------
    pandas.DataFrame
        Rows: `a`'s groups; columns: `b`'s groups (sorted; a group whose
        label is NaN is kept, as :func:`align` keeps it); values:
        ``alignment``.  ``attrs`` keeps the report and the metric.

    Examples
    --------
    >>> import pandas as pd, alignstat
    >>> people = pd.DataFrame({"question": "Q1", "option": [1, 2] * 2, "prob": [0.5, 0.5, 1.0, 0.0],
    ...                        "country": ["AR", "AR", "CL", "CL"]})
    >>> alignstat.alignment_matrix(people, people)  # doctest: +NORMALIZE_WHITESPACE
    country_b   AR   CL
    country_a
    AR         1.0  0.5
    CL         0.5  1.0
    """
    if b is None:
        long = a
        if not isinstance(long, pd.DataFrame) or "alignment" not in long.columns:
            raise TypeError("alignment_matrix(a) without `b` needs a result of alignstat.align; "
                            "pass both sides to compute one.")
        if long.attrs.get("level", "group") != "group" or "question" in long.columns:
            raise ValueError("alignment_matrix needs a group-level result of align (level='group').")
        if "metric" in long.columns and long["metric"].nunique() > 1:
            raise ValueError(f"the result holds several metrics {sorted(long['metric'].unique())}; "
                             "select one, e.g. res[res.metric == 'wasserstein'].")
    else:
        long = align(a, b, metric=metric, level="group", policy=policy, suffixes=suffixes, **kwargs)
    rows, cols = _as_columns(index, "index"), _as_columns(columns, "columns")
    if rows is None or cols is None:
        if "groups_a" in long.attrs:
            rows, cols = list(long.attrs["groups_a"]), list(long.attrs["groups_b"])
        else:
            found = [c for c in long.columns if c not in ("alignment", "sd", "n_questions", "metric")]
            if len(found) != 2:
                raise ValueError(f"cannot tell the group columns of each side among {found} (the result's attrs "
                                 "are gone); name them with `index=` and `columns=`.")
            rows, cols = [found[0]], [found[1]]
    if not rows or not cols:
        raise ValueError("alignment_matrix needs group columns on both sides.")
    rc, ru = _codes(long, rows)
    cc, cu = _codes(long, cols)
    if len(pd.MultiIndex.from_arrays([rc, cc]).unique()) != len(long):
        raise ValueError("the result has several rows for one pair of groups; select one metric and level.")
    mat = np.full((len(ru), len(cu)), np.nan)
    mat[rc, cc] = long["alignment"].to_numpy(dtype=float)
    out = pd.DataFrame(mat, index=ru, columns=cu)
    out.attrs["report"] = list(long.attrs.get("report", []))
    out.attrs["metric"] = long.attrs.get("metric")
    return out


def _codes(frame, cols):
    """Codes of the rows of `frame[cols]` into a sorted index of the distinct rows (NaN kept, last)."""
    sub = frame[cols]
    idx = pd.MultiIndex.from_frame(sub) if len(cols) > 1 else pd.Index(sub[cols[0]], name=cols[0])
    uniq = idx.unique()
    try:
        uniq = uniq.sort_values(na_position="last")
    except TypeError:
        pass
    return uniq.get_indexer(idx), uniq
