"""The one packed form of opinion distributions: dense option grids for every consumer.

:class:`~alignstat.OpinionDistributions` stores its items as integer-coded
rows (question code, group code, option position or label code, normalised
mass), sorted once.  Every consumer -- :func:`~alignstat.align`,
:func:`~alignstat.prepare_respondents`, the bootstrap, the studies -- gets
dense arrays through :meth:`OpinionDistributions.grid
<alignstat.OpinionDistributions.grid>`, which returns a :class:`Grid`, or
(for two sides on one shared option grid) through :func:`joint_grids`.

A grid has one row of option *columns* per question: the positioned options
in ascending order, then (for the nominal metrics only) the options without
an ordinal position, by label.  Each item (one question x one group) is a row
of probabilities on its question's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["Grid", "joint_grids", "scale_positions"]

#: sides with at least this many rows are scattered onto the grid by a numba kernel
_KERNEL_MIN_ROWS = 4096


@dataclass(frozen=True)
class Grid:
    """Dense arrays of one side's items on a per-question option grid.

    Attributes
    ----------
    questions : pandas.Index
        Question ids (str), in the order of the grid's rows.
    positions : ndarray of float64, shape (Q, K)
        Option positions of question ``q`` in ``positions[q, :n_options[q]]``,
        ascending, NaN-padded beyond.  In a nominal grid (``ordinal=False``)
        the columns after the positioned ones hold the options without a
        position: NaN there, with their label in `labels`.
    n_options : ndarray of int64, shape (Q,)
        Columns of each question.
    labels : ndarray of object, shape (Q, K)
        Label of an unpositioned column, ``""`` elsewhere.
    prob : ndarray of float64, shape (items, K)
        Each item's probabilities on its question's columns (zero where the
        item does not list an option and beyond ``n_options``); each row
        sums to 1.
    item_question : ndarray of int64, shape (items,)
        Row of `questions` of each item; items are sorted by it.
    item_offsets : ndarray of int64, shape (Q + 1,)
        Items of question ``q`` are ``item_offsets[q]:item_offsets[q + 1]``.
    item_group : ndarray of int64, shape (items,)
        Row of `group_labels` (index into each of `group_values`) of each item.
    group_values : dict
        ``{group column: ndarray}``, the labels of each group code.
    groups : tuple of str
        The group columns.
    listed : ndarray of bool, shape (items, K)
        The item lists the option (a listed option may have probability 0).
    incomplete : ndarray of bool, shape (items,)
        The item does not list every option of its question's grid (its
        missing options carry probability 0 in `prob`).
    report : tuple of dict
        Repairs made while building the grid (records with keys ``side``,
        ``question``, ``group``, ``issue``, ``action``, ``detail``).
    """

    questions: pd.Index
    positions: np.ndarray
    n_options: np.ndarray
    labels: np.ndarray
    prob: np.ndarray
    item_question: np.ndarray
    item_offsets: np.ndarray
    item_group: np.ndarray
    group_values: dict
    groups: tuple
    listed: np.ndarray
    incomplete: np.ndarray
    report: tuple = ()

    @property
    def span(self) -> np.ndarray:
        """``max position - min position`` of each question (ordinal grids)."""
        q = np.arange(len(self.questions))
        return self.positions[q, np.maximum(self.n_options, 1) - 1] - self.positions[:, 0]

    @property
    def group_labels(self) -> pd.DataFrame:
        """One row per group code, one column per group column.

        A single row and no column when there are no group columns.
        """
        from .distributions import _labels_frame

        return _labels_frame(self.group_values)

    @property
    def n_groups(self) -> int:
        """Number of group codes."""
        return len(next(iter(self.group_values.values()))) if self.group_values else 1

    def take(self, keep) -> "Grid":
        """Return the grid restricted to the items where `keep` is true (same questions and columns)."""
        keep = np.asarray(keep, dtype=bool)
        iq = self.item_question[keep]
        return replace(
            self,
            prob=self.prob[keep],
            listed=self.listed[keep],
            item_question=iq,
            item_offsets=np.searchsorted(iq, np.arange(len(self.questions) + 1)).astype(np.int64),
            item_group=self.item_group[keep],
            incomplete=self.incomplete[keep],
        )


def scale_positions(positions, questions) -> dict:
    """``{question: ascending finite positions}`` from a mapping or an :class:`alignstat.QuestionBank`.

    Questions of `questions` absent from `positions` are left out.
    """
    if positions is None:
        return {}
    from .questions import QuestionBank

    out = {}
    if isinstance(positions, QuestionBank):
        for q in questions:
            if q in positions:
                x = np.asarray(positions[q].positions, dtype=float)
                out[q] = np.unique(x[np.isfinite(x)])
        return out
    if not hasattr(positions, "items"):
        raise TypeError(
            "`positions` must be a mapping {question: positions} or an alignstat.QuestionBank, "
            f"got {type(positions).__name__}."
        )
    want = set(questions)
    for q, x in positions.items():
        q = str(q)
        if q not in want:
            continue
        x = np.asarray(x, dtype=float).ravel()
        if not np.all(np.isfinite(x)):
            raise ValueError(f"`positions` of question {q!r} must be finite numbers, got {x.tolist()}.")
        out[q] = np.unique(x)
    return out


def joint_grids(sides, *, questions=None, positions=None, ordinal=True, policy=None):
    """Pack several :class:`~alignstat.OpinionDistributions` on one shared option grid.

    Parameters
    ----------
    sides : sequence of OpinionDistributions
    questions : sequence of str, optional
        Rows of the grid, in this order; default the union of the sides'
        questions (sorted).  Items of other questions are left out.
    positions : mapping or QuestionBank, optional
        Full scale of some questions: their columns are these positions
        (an answer at another position is an error) whatever the items list.
    ordinal : bool
        Drop options without a position (renormalising, reported); else keep
        them as columns after the positioned ones.
    policy : Policy, optional
        Only ``zero_mass`` is used here (an item with no mass on positioned
        options); default each side's own policy.

    Returns
    -------
    list of Grid
        One per side, sharing `questions`, `positions`, `n_options`, `labels`.
    """
    views = [s._view(ordinal, policy) for s in sides]
    if questions is None:
        target = pd.Index(sorted(set().union(*[s._questions for s in sides])), dtype=object)
    elif isinstance(questions, pd.Index) and questions.dtype == object:
        target = questions
    else:
        target = pd.Index([str(q) for q in questions], dtype=object)
    if target.has_duplicates:
        raise ValueError(f"`questions` lists a question twice: {target[target.duplicated()][0]!r}.")
    nq = len(target)
    scale = scale_positions(positions, target)
    row_of = {q: i for i, q in enumerate(target)}
    qmaps = [np.array([row_of.get(q, -1) for q in s._questions], dtype=np.int64) for s in sides]
    # per side: target row of each kept row
    tq_rows, keep_rows, all_kept = [], [], []
    for s, v, qmap in zip(sides, views, qmaps):
        tq = qmap[s._item_q[v.row_item]]
        k = tq >= 0
        all_kept.append(bool(k.all()))
        keep_rows.append(slice(None) if all_kept[-1] else k)
        tq_rows.append(tq)
    # value codes: positioned options by global position rank (from each side's cached distinct
    # positions), then labels
    ext_q = (np.concatenate([np.full(len(x), row_of[q], dtype=np.int64) for q, x in scale.items()])
             if scale else np.zeros(0, np.int64))
    ext_x = np.concatenate(list(scale.values())) if scale else np.zeros(0)
    upos = np.unique(np.concatenate([v.upos for v in views] + [ext_x]))
    npos = len(upos)
    if ordinal:
        ulab = np.zeros(0, dtype=object)
    else:
        lab_parts = [s._labels[v.lab[k][v.lab[k] >= 0]] for s, v, k in zip(sides, views, keep_rows)]
        ulab = np.unique(np.concatenate(lab_parts)) if lab_parts else np.zeros(0, dtype=object)
    nv = npos + len(ulab)
    keys = []
    for s, v, k, tq in zip(sides, views, keep_rows, tq_rows):
        remap = np.searchsorted(upos, v.upos)
        pc = v.pcode[k]
        vc = remap[np.maximum(pc, 0)] if len(remap) else np.zeros(len(pc), dtype=np.int64)
        if not ordinal and (pc < 0).any():
            un = pc < 0
            vc[un] = npos + np.searchsorted(ulab, s._labels[v.lab[k][un]])
        keys.append(tq[k] * nv + vc)
    ext_keys = ext_q * nv + np.searchsorted(upos, ext_x)
    if scale:
        # a question with a given scale takes its columns from the scale alone
        fixed = np.zeros(nq, dtype=bool)
        fixed[ext_q] = True
        for s, key in zip(sides, keys):
            rq = key // nv
            rv = key % nv
            off = fixed[rq] & (rv < npos) & ~np.isin(key, ext_keys)
            if off.any():
                i = int(np.flatnonzero(off)[0])
                q = target[rq[i]]
                raise ValueError(
                    f"{s.name}: question {q!r}: option {upos[rv[i]]:g} is not on the question's scale "
                    f"{scale[q].tolist()}; fix the answer or the scale given in `positions`."
                )
    n_cells = nq * nv
    if n_cells <= 50_000_000:
        present = np.zeros(n_cells, dtype=bool)
        for key in keys:
            present[key] = True
        present[ext_keys] = True
        ukeys = np.flatnonzero(present)
    else:
        ukeys = np.unique(np.concatenate(keys + [ext_keys]))
    gq = ukeys // nv
    gv = ukeys % nv
    nk = np.bincount(gq, minlength=nq).astype(np.int64)
    qstart = np.r_[0, np.cumsum(nk)].astype(np.int64)
    kmax = int(nk.max()) if len(nk) and nk.max() > 0 else 1
    col_of_key = np.arange(len(ukeys)) - qstart[gq]
    pos = np.full((nq, kmax), np.nan)
    labels = np.full((nq, kmax), "", dtype=object)
    isp = gv < npos
    pos[gq[isp], col_of_key[isp]] = upos[gv[isp]]
    if (~isp).any():
        labels[gq[~isp], col_of_key[~isp]] = ulab[gv[~isp] - npos]
    if n_cells <= 50_000_000:
        colmap = np.zeros(n_cells, dtype=np.int64)
        colmap[ukeys] = col_of_key

        def column(key):
            return colmap[key]
    else:

        def column(key):
            return np.searchsorted(ukeys, key) - qstart[key // nv]

    out = []
    target_set = set(target)
    for s, v, k, key, qmap, kept_all in zip(sides, views, keep_rows, keys, qmaps, all_kept):
        if kept_all and v.row_item is s._row_item:  # every item, every row
            item_ids = np.arange(len(s._item_q))
            row_local = v.row_item
        else:
            rows_item = v.row_item[k]
            # items kept: those of target questions (rows of one item are contiguous, items ascending)
            new = np.r_[True, rows_item[1:] != rows_item[:-1]] if len(rows_item) else np.zeros(0, bool)
            item_ids = rows_item[new]
            row_local = np.cumsum(new) - 1
        item_q = qmap[s._item_q[item_ids]]
        if len(item_q) < 2 or (np.diff(item_q) >= 0).all():
            order = np.arange(len(item_q))
            dest = row_local
        else:
            order = np.argsort(item_q, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            dest = rank[row_local]
        if n_cells <= 50_000_000 and len(key) >= _KERNEL_MIN_ROWS:  # one numba pass
            from ._kernels.packing import fill_items

            prob, listed, n_listed = fill_items(np.ascontiguousarray(dest, dtype=np.int64), key, colmap,
                                                np.ascontiguousarray(v.prob[k], dtype=np.float64),
                                                len(item_ids), kmax)
        else:
            col = column(key)
            prob = np.zeros((len(item_ids), kmax))
            prob[dest, col] = v.prob[k]
            listed = np.zeros(prob.shape, dtype=bool)
            listed[dest, col] = True
            n_listed = np.bincount(dest, minlength=len(item_ids))
        iq = item_q[order]
        out.append(
            Grid(
                questions=target,
                positions=pos,
                n_options=nk,
                labels=labels,
                prob=prob,
                item_question=iq.astype(np.int64),
                item_offsets=np.searchsorted(iq, np.arange(nq + 1)).astype(np.int64),
                item_group=s._item_g[item_ids][order].astype(np.int64),
                group_values=s._group_values,
                groups=s.groups,
                listed=listed,
                incomplete=n_listed < nk[iq],
                report=tuple(r for r in v.report if r["question"] in target_set),
            )
        )
    return out
