"""`align`: every group of one side against every group of the other."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._kernels import metrics as _k
from .distributions import REPORT_COLUMNS, Policy, _py, _warn_report, as_distributions

__all__ = ["align", "alignment_matrix", "METRICS"]

METRICS = ("wasserstein", "likert", "jsd", "tvd")
_ORDINAL = {"wasserstein", "likert"}


def _group_codes(frame, groups):
    if not groups:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=[0])
    codes = frame.groupby(list(groups), sort=True, dropna=False).ngroup().to_numpy().astype(np.int64)
    first = np.unique(codes, return_index=True)[1]
    labels = frame.iloc[first][list(groups)].reset_index(drop=True)
    return codes, labels


def _prepare_side(frame, groups, metric, policy, side, report):
    """Restrict to usable options and renormalise (ordinal metrics drop unpositioned options)."""
    keycols = ["question", *groups]
    # an option is identified by its position; the label identifies only options without one
    if (frame["label"] != "").any():
        frame = frame.assign(label=frame["label"].where(frame["option"].isna(), ""))
    if metric not in _ORDINAL:
        return frame
    unpos = frame["option"].isna().to_numpy()
    if not unpos.any():
        return frame
    item = frame.groupby(keycols, sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(item, return_index=True)[1]
    keys = frame.iloc[first][keycols].to_numpy()  # keys[i]: question and groups of item i
    prob = frame["prob"].to_numpy()
    lost = np.bincount(item, weights=np.where(unpos, prob, 0.0))
    kept = np.bincount(item, weights=np.where(unpos, 0.0, prob), minlength=len(lost))

    def where(i):
        return keys[i][0], ", ".join(str(_py(v)) for v in keys[i][1:])

    for i in np.flatnonzero((lost > 0) & (kept > 0)):
        report.append((side, *where(i), "options without ordinal position",
                       "excluded from ordinal metric", f"mass={lost[i]:.6g}"))
    empty = np.flatnonzero(kept <= 0)
    if len(empty):
        if policy.zero_mass == "error":
            q, g = where(empty[0])
            raise ValueError(
                f"{side}: question {q!r}" + (f" ({g})" if g else "") + " has all its mass on options "
                "without an ordinal position; use policy zero_mass='drop'."
            )
        for i in empty:
            report.append((side, *where(i), "no mass on positioned options", "dropped", ""))
    keep = ~unpos & (kept[item] > 0)
    frame = frame.loc[keep].copy()
    frame["prob"] = prob[keep] / kept[item[keep]]
    return frame


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
    groups_a, groups_b : sequence of str, optional
        Group columns of each side (default: all non-reserved columns).
    policy : Policy, dict, "strict" or "lenient", optional
        Handling of repairable problems (see :class:`Policy`).  For
        ``"likert"`` an option missing on one side carries probability 0
        under every policy, since the mean does not depend on it.
    suffixes : (str, str)
        Added to group column names present on both sides.
    ddof : int
        Delta degrees of freedom of ``sd``.
    questions : sequence of str, optional
        Restrict to these questions.
    engine : {"numba", "numpy"}
        Kernel implementation (the NumPy twin is the test oracle).

    Returns
    -------
    pandas.DataFrame
        ``attrs["report"]`` lists every repair and exclusion.

    Examples
    --------
    >>> import pandas as pd, alignstat
    >>> model = pd.DataFrame({"question": ["Q1"] * 3, "option": [1, 2, 3], "prob": [0.2, 0.5, 0.3]})
    >>> people = pd.DataFrame({"question": ["Q1"] * 3, "option": [1, 2, 3], "prob": [0.5, 0.5, 0.0],
    ...                        "country": "Chile"})
    >>> alignstat.align(model, people)[["country", "alignment"]]
      country  alignment
    0   Chile        0.7
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
    report = [tuple(r) for r in da.report.itertuples(index=False)] + [tuple(r) for r in db.report.itertuples(index=False)]
    new_report = []
    fa, fb = da._frame, db._frame
    shared = pd.Index(pd.unique(fa["question"])).intersection(pd.Index(pd.unique(fb["question"])), sort=False)
    if questions is not None:
        want = pd.Index([str(q) for q in questions])
        missing = want.difference(shared)
        if len(missing):
            raise ValueError(f"questions {list(missing)[:10]} are not present on both sides.")
        shared = want
    if len(shared) == 0:
        raise ValueError("`a` and `b` share no question; nothing to compare.")
    fa = _prepare_side(fa[fa["question"].isin(shared)], da.groups, metric, policy, "a", new_report)
    fb = _prepare_side(fb[fb["question"].isin(shared)], db.groups, metric, policy, "b", new_report)

    # option grid per question: union of both sides (positions ascending, then labels)
    both = pd.concat([fa[["question", "option", "label"]], fb[["question", "option", "label"]]], ignore_index=True)
    grid = both.drop_duplicates().sort_values(["question", "option", "label"], na_position="last", kind="stable")
    qcat = pd.CategoricalDtype(list(shared))
    grid["q"] = grid["question"].astype(qcat).cat.codes.astype(np.int64)
    grid = grid.sort_values(["q", "option", "label"], na_position="last", kind="stable").reset_index(drop=True)
    grid["k"] = grid.groupby("q").cumcount().astype(np.int64)
    nq = len(shared)
    nk = np.bincount(grid["q"].to_numpy(), minlength=nq).astype(np.int64)
    kmax = int(nk.max())
    pos = np.full((nq, kmax), np.nan)
    pos[grid["q"].to_numpy(), grid["k"].to_numpy()] = grid["option"].to_numpy(dtype=float)
    if metric in _ORDINAL:
        span = pos[np.arange(nq), nk - 1] - pos[:, 0]
        flat = np.flatnonzero(~(span > 0))
        if len(flat):
            raise ValueError(
                f"question {shared[flat[0]]!r} has a single ordinal position across both sides; "
                "ordinal alignment needs at least two."
            )

    def pack(frame, groups, side):
        f = frame.merge(grid[["question", "option", "label", "q", "k"]], on=["question", "option", "label"], how="left")
        keycols = ["question", *groups]
        f["item"] = f.groupby(keycols, sort=False, dropna=False).ngroup()
        n_opt = f.groupby("item")["k"].transform("size").to_numpy()
        incomplete = n_opt < nk[f["q"].to_numpy()]
        if incomplete.any() and metric != "likert":
            bad_items = np.unique(f["item"].to_numpy()[incomplete])
            if policy.missing_options == "error":
                r = f.loc[f["item"] == bad_items[0]].iloc[0]
                qi = int(r["q"])
                have = sorted(f.loc[f["item"] == bad_items[0], "option"].tolist())
                full = pos[qi, : nk[qi]].tolist()
                gdesc = ", ".join(f"{g}={_py(r[g])!r}" for g in groups)
                raise ValueError(
                    f"{side}: question {r['question']!r}" + (f" ({gdesc})" if gdesc else "")
                    + f" lists options {have} but the two sides together list {full}; "
                    "use policy missing_options='zero' (missing = probability 0) or 'drop'."
                )
            first = f.drop_duplicates("item").set_index("item")
            for it in bad_items:
                r = first.loc[it]
                action = "set to 0" if policy.missing_options == "zero" else "item dropped"
                new_report.append((side, r["question"], ", ".join(str(r[g]) for g in groups),
                                   "missing options", action, ""))
            if policy.missing_options == "drop":
                f = f.loc[~np.isin(f["item"].to_numpy(), bad_items)]
                if f.empty:
                    raise ValueError(f"{side}: every item was dropped for missing options.")
                f = f.copy()
                f["item"] = f.groupby(keycols, sort=False, dropna=False).ngroup()
        items = f.drop_duplicates("item").sort_values("item")
        gcode, glabels = _group_codes(items, groups)
        order = np.argsort(items["q"].to_numpy(), kind="stable")  # items sorted by question
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        n_items = len(items)
        dense = np.zeros((n_items, kmax))
        item_of_row = rank[f["item"].to_numpy()]
        dense[item_of_row, f["k"].to_numpy()] = f["prob"].to_numpy()
        qs = items["q"].to_numpy()[order]
        off = np.searchsorted(qs, np.arange(nq + 1)).astype(np.int64)
        return dense, gcode[order].astype(np.int64), off, glabels

    pa, ga, offa, la = pack(fa, da.groups, "a")
    pb, gb, offb, lb = pack(fb, db.groups, "b")
    mid = _k.METRIC_IDS[metric]
    if engine == "numba":
        vals = _k.pairwise_question_alignment(mid, pos, nk, pa, ga, offa, pb, gb, offb, len(la), len(lb))
    else:
        vals = _k.pairwise_question_alignment_numpy(mid, pos, nk, pa, ga, offa, pb, gb, offb, len(la), len(lb))

    # output columns
    cols_a, cols_b = list(da.groups), list(db.groups)
    common = set(cols_a) & set(cols_b)
    ren_a = {c: c + suffixes[0] for c in cols_a if c in common}
    ren_b = {c: c + suffixes[1] for c in cols_b if c in common}
    la = la.rename(columns=ren_a)
    lb = lb.rename(columns=ren_b)
    if level == "group":
        if engine == "numba":
            mean, sd, cnt = _k.summarize_over_questions(vals, int(ddof))
        else:
            mean, sd, cnt = _k.summarize_over_questions_numpy(vals, int(ddof))
        ia, ib = np.nonzero(cnt > 0)
        out = pd.concat(
            [la.iloc[ia].reset_index(drop=True) if cols_a else pd.DataFrame(index=range(len(ia))),
             lb.iloc[ib].reset_index(drop=True) if cols_b else pd.DataFrame(index=range(len(ia)))],
            axis=1,
        )
        out["alignment"] = mean[ia, ib]
        out["sd"] = sd[ia, ib]
        out["n_questions"] = cnt[ia, ib]
    else:
        ia, ib, iq = np.nonzero(~np.isnan(vals))
        out = pd.concat(
            [la.iloc[ia].reset_index(drop=True) if cols_a else pd.DataFrame(index=range(len(ia))),
             lb.iloc[ib].reset_index(drop=True) if cols_b else pd.DataFrame(index=range(len(ia)))],
            axis=1,
        )
        out["question"] = np.asarray(shared, dtype=object)[iq]
        out["alignment"] = vals[ia, ib, iq]
    rep_new = pd.DataFrame(new_report, columns=REPORT_COLUMNS)
    _warn_report(rep_new, "align")
    out.attrs["report"] = pd.concat([pd.DataFrame(report, columns=REPORT_COLUMNS), rep_new], ignore_index=True)
    out.attrs["metric"] = metric
    out.attrs["groups_a"] = list(la.columns) if cols_a else []
    out.attrs["groups_b"] = list(lb.columns) if cols_b else []
    return out


def alignment_matrix(a, b, *, metric="wasserstein", policy=None, suffixes=("_a", "_b"), **kwargs):
    """Wide matrix of group alignments: rows are `a`'s groups, columns `b`'s groups.

    A thin pivot of :func:`align` (``level="group"``), e.g. model x country or
    country x country.  Extra keyword arguments go to :func:`align`.
    """
    long = align(a, b, metric=metric, level="group", policy=policy, suffixes=suffixes, **kwargs)
    rows, cols = long.attrs["groups_a"], long.attrs["groups_b"]
    if not rows or not cols:
        raise ValueError("alignment_matrix needs group columns on both sides.")
    mat = long.pivot_table(index=rows, columns=cols, values="alignment", aggfunc="first", sort=True)
    mat.attrs["report"] = long.attrs.get("report")
    return mat
