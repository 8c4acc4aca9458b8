"""Opinion distributions: many ragged items, each a distribution over ordinal options.

An *item* is one (question, group...) cell -- e.g. ("Q1", model="gpt-4") or
("Q1", country="Chile", wave=7) -- holding K options at numeric ordinal
positions.  Distributions are built from, and returned as, tidy DataFrames with
columns ``question``, ``option`` (the position), one value column (``prob``,
``count`` or ``weight``) and any number of group columns.

Data problems are never fixed silently.  Values that cannot be right
(negative, NaN or infinite masses; duplicate options; non-numeric positions
without a label) always raise.  Problems with a defensible repair follow an
explicit :class:`Policy`, and every repair is listed in a report (the
``report`` attribute, and ``DataFrame.attrs["report"]`` of results) and
announced with a :class:`~alignstat.DataPolicyWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._warnings import DataPolicyWarning

__all__ = ["Policy", "OpinionDistributions", "RESERVED_COLUMNS", "as_distributions"]

#: Column names that are never taken as group columns.
RESERVED_COLUMNS = frozenset(
    {
        "question", "option", "prob", "count", "weight", "label", "key", "status", "reason",
        "repairs", "source", "n", "n_weighted", "n_eff", "nonresponse", "small_cell", "se",
        "mean", "raw", "text", "agreement", "refusal_rate", "n_samples", "n_valid",
    }
)
_VALUE_COLUMNS = ("prob", "count", "weight")
_SUM_TOL = 1e-6
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
    """Plain Python value for messages (numpy scalars print as np.float64(...) otherwise)."""
    return v.item() if isinstance(v, np.generic) else v


def _describe(question, group_values, group_cols):
    if not group_cols:
        return f"question {_py(question)!r}"
    gv = ", ".join(f"{c}={_py(v)!r}" for c, v in zip(group_cols, group_values))
    return f"question {question!r} ({gv})"


def _group_label(values) -> str:
    return ", ".join(str(v) for v in values)


class OpinionDistributions:
    """Normalised opinion distributions of many (question, group...) items.

    Build with :meth:`from_frame`; convert back with :meth:`to_frame`.

    Attributes
    ----------
    groups : tuple of str
        Group columns.
    report : pandas.DataFrame
        Repairs and exclusions made while building (columns ``side``,
        ``question``, ``group``, ``issue``, ``action``, ``detail``).
    """

    def __init__(self, frame: pd.DataFrame, groups, report: pd.DataFrame, *, name="data"):
        self._frame = frame  # question, *groups, option, label, prob  (sorted, normalised)
        self.groups = tuple(groups)
        self.report = report
        self.name = name

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frame(cls, df, *, value=None, groups=None, policy=None, name="data"):
        """Validate a tidy frame and normalise each item.

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
        groups : sequence of str, optional
            Group columns; by default every column not in
            :data:`RESERVED_COLUMNS`.
        policy : Policy, dict, "strict" or "lenient", optional
            See :class:`Policy`.
        name : str
            Name used in messages and reports (e.g. ``"a"``/``"b"``).

        Raises
        ------
        ValueError
            Naming the question and group of negative, NaN or infinite
            values, duplicate options, unlabelled options without position,
            and (under the strict policies) bad sums or zero-mass items.
        """
        if isinstance(df, OpinionDistributions):
            return df
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{name}: expected a pandas DataFrame or OpinionDistributions, got {type(df).__name__}.")
        policy = Policy.coerce(policy)
        for col in ("question", "option"):
            if col not in df.columns:
                raise ValueError(f"{name}: column {col!r} is missing (columns: {list(df.columns)}).")
        if value is None:
            present = [c for c in _VALUE_COLUMNS if c in df.columns]
            if not present:
                raise ValueError(f"{name}: no value column; expected one of {list(_VALUE_COLUMNS)}.")
            value = present[0]
        elif value not in df.columns:
            raise ValueError(f"{name}: value column {value!r} is missing.")
        if groups is None:
            groups = [c for c in df.columns if c not in RESERVED_COLUMNS]
        else:
            groups = list(groups)
            for g in groups:
                if g not in df.columns:
                    raise ValueError(f"{name}: group column {g!r} is missing.")
                if g in ("question", "option", value):
                    raise ValueError(f"{name}: {g!r} cannot be a group column.")
        report = []
        work = df
        if "status" in df.columns:
            rejected = df["status"].astype("string") == "rejected"
            if rejected.any():
                rej = df.loc[rejected, ["question", *groups]].drop_duplicates()
                for row in rej.itertuples(index=False):
                    report.append((name, row[0], _group_label(row[1:]), "rejected upstream", "excluded", ""))
                work = df.loc[~rejected.to_numpy()]
        has_label = "label" in work.columns
        cols = ["question", *groups, "option", value] + (["label"] if has_label else [])
        work = work[cols].copy()
        work["question"] = work["question"].astype(str)
        if work.empty:
            raise ValueError(f"{name}: no rows to build distributions from.")
        opt = pd.to_numeric(work["option"], errors="coerce").astype(float)
        bad_opt = work["option"].notna() & opt.isna()
        if bad_opt.any():
            r = work.loc[bad_opt].iloc[0]
            raise ValueError(
                f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: option "
                f"{_py(r['option'])!r} is not a number; `option` must hold the ordinal position."
            )
        if np.isinf(opt).any():
            r = work.loc[np.isinf(opt)].iloc[0]
            raise ValueError(f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: option position is infinite.")
        work["option"] = opt
        if not has_label:
            if opt.isna().any():
                r = work.loc[opt.isna()].iloc[0]
                raise ValueError(
                    f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: an option has no "
                    "position (NaN); give a `label` column to keep options without an ordinal position."
                )
            work["label"] = ""
        else:
            work["label"] = work["label"].astype("string").fillna("").astype(object)
            nolab = work["option"].isna() & (work["label"] == "")
            if nolab.any():
                r = work.loc[nolab].iloc[0]
                raise ValueError(
                    f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: an option has "
                    "neither a position nor a label."
                )
        vals = pd.to_numeric(work[value], errors="coerce").astype(float).to_numpy()
        badv = ~np.isfinite(vals) | (vals < 0)
        if badv.any():
            i = int(np.flatnonzero(badv)[0])
            r = work.iloc[i]
            what = "NaN or not a number" if np.isnan(vals[i]) else ("infinite" if np.isinf(vals[i]) else "negative")
            raise ValueError(
                f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: {value} "
                f"{_py(r[value])!r} for option {_py(r['option'])!r} is {what}; values must be finite and non-negative."
            )
        work["mass"] = vals
        keycols = ["question", *groups]
        # integer codes: the item (question x groups) and the option's identity inside it
        # (its position, or its label when it has none); sorting and duplicate checks run on these.
        codes = np.column_stack([pd.factorize(work[c], sort=True, use_na_sentinel=False)[0] for c in keycols])
        if codes.shape[1] == 1:
            item_code = codes[:, 0]
        else:
            item_code = pd.DataFrame(codes).groupby(list(range(codes.shape[1])), sort=True).ngroup().to_numpy()
        optv = work["option"].to_numpy(dtype=float)
        unpos = np.isnan(optv)
        lab_code = np.zeros(len(work))
        if unpos.any():
            lab_code[unpos] = pd.factorize(work["label"].to_numpy()[unpos], sort=True)[0]
        okey = np.where(unpos, 0.0, optv)
        order = np.lexsort((lab_code, okey, unpos, item_code))
        work = work.iloc[order].reset_index(drop=True)
        item_code, okey, lab_code, unpos = item_code[order], okey[order], lab_code[order], unpos[order]
        same = (
            (item_code[1:] == item_code[:-1]) & (unpos[1:] == unpos[:-1])
            & (okey[1:] == okey[:-1]) & (lab_code[1:] == lab_code[:-1])
        )
        if same.any():
            r = work.iloc[int(np.flatnonzero(same)[0]) + 1]
            raise ValueError(
                f"{name}: {_describe(r['question'], [r[g] for g in groups], groups)}: option "
                f"{_py(r['option']) if not pd.isna(r['option']) else r['label']!r} appears more than once."
            )
        item = np.unique(item_code, return_inverse=True)[1]
        total = np.bincount(item, weights=work["mass"].to_numpy())
        first = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
        keys = work.iloc[first][keycols].to_numpy()
        zero = total <= 0
        keep = ~zero[item]
        if zero.any():
            idx = np.flatnonzero(zero)
            if policy.zero_mass == "error":
                k = keys[idx[0]]
                raise ValueError(
                    f"{name}: {_describe(k[0], k[1:], groups)} has zero total {value}; "
                    "use policy zero_mass='drop' to drop such items."
                )
            for i in idx:
                k = keys[i]
                report.append((name, k[0], _group_label(k[1:]), "zero mass", "dropped", ""))
        if value == "prob":
            off = np.abs(total - 1.0) > _SUM_TOL
            off &= ~zero
            if off.any():
                idx = np.flatnonzero(off)
                if policy.sums == "error":
                    k = keys[idx[0]]
                    raise ValueError(
                        f"{name}: {_describe(k[0], k[1:], groups)}: probabilities sum to "
                        f"{total[idx[0]]:.6g}, not 1; use policy sums='renormalize' to rescale."
                    )
                for i in idx:
                    k = keys[i]
                    report.append((name, k[0], _group_label(k[1:]), "sum != 1", "renormalized", f"sum={total[i]:.6g}"))
        with np.errstate(invalid="ignore", divide="ignore"):
            work["prob"] = work["mass"].to_numpy() / total[item]
        work = work.loc[keep, [*keycols, "option", "label", "prob"]].reset_index(drop=True)
        if work.empty:
            raise ValueError(f"{name}: every item was dropped by the policy; nothing is left to compare.")
        rep = pd.DataFrame(report, columns=REPORT_COLUMNS)
        _warn_report(rep, name)
        return cls(work, groups, rep, name=name)

    # ------------------------------------------------------------------ views
    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: ``question``, group columns, ``option``, ``prob`` (and ``label`` if any option has one)."""
        out = self._frame.copy()
        if (out["label"] == "").all():
            out = out.drop(columns="label")
        return out

    @property
    def questions(self):
        return list(pd.unique(self._frame["question"]))

    @property
    def n_items(self) -> int:
        return int(self._frame.groupby(["question", *self.groups], sort=False, dropna=False).ngroups)

    def __repr__(self):
        return (
            f"OpinionDistributions({self.n_items} items, {len(self.questions)} questions, "
            f"groups={list(self.groups)})"
        )


def _warn_report(rep: pd.DataFrame, name: str):
    if rep.empty:
        return
    counts = rep.groupby(["issue", "action"]).size()
    parts = "; ".join(f"{n} item(s) {issue} -> {action}" for (issue, action), n in counts.items())
    warnings.warn(f"{name}: {parts} (see the `report`).", DataPolicyWarning, stacklevel=4)


def as_distributions(x, *, name, value=None, groups=None, policy=None) -> OpinionDistributions:
    """Coerce a tidy frame or :class:`OpinionDistributions`."""
    if isinstance(x, OpinionDistributions):
        if groups is not None and tuple(groups) != x.groups:
            raise ValueError(f"{name}: `groups` {list(groups)} differ from the object's groups {list(x.groups)}.")
        return x
    return OpinionDistributions.from_frame(x, value=value, groups=groups, policy=policy, name=name)
