"""Internal consistency of model answers (Liu, Kaneko & Chu 2025, section 7.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignstat import RESERVED_COLUMNS

from .topics import as_topics

__all__ = ["internal_consistency", "modal_answers"]


def _group_columns(answers, by):
    if by is not None:
        by = [by] if isinstance(by, str) else list(by)
        for c in by:
            if c not in answers.columns:
                raise ValueError(f"`by` column {c!r} is not a column of `answers`.")
        return by
    return [c for c in answers.columns if c not in RESERVED_COLUMNS and c != "question"]


def modal_answers(answers, *, by=None, ties="first"):
    """Find the modal option of each answered question.

    Parameters
    ----------
    answers : pandas.DataFrame
        Tidy model answers (``question``, ``option``, ``prob`` and group
        columns such as ``model``); rows with ``status == "rejected"`` or a
        missing ``prob`` are ignored.
    by : str or sequence of str, optional
        Group columns (default: every non-reserved column, e.g. ``model``,
        ``condition``).
    ties : {"first", "drop"}
        Several options sharing the highest probability: ``"first"`` takes the
        lowest option position, ``"drop"`` leaves the question unanswered.

    Returns
    -------
    pandas.DataFrame
        Group columns, ``question``, ``option`` (the modal option), ``prob``
        (its probability) and ``tie`` (whether it was tied).
    """
    if not isinstance(answers, pd.DataFrame):
        raise TypeError(f"`answers` must be a pandas DataFrame, got {type(answers).__name__}.")
    for c in ("question", "option", "prob"):
        if c not in answers.columns:
            raise ValueError(f"`answers` lacks the column {c!r}.")
    if ties not in ("first", "drop"):
        raise ValueError(f"`ties` must be 'first' or 'drop', got {ties!r}.")
    by = _group_columns(answers, by)
    f = answers
    keep = f["prob"].notna() & f["option"].notna()
    if "status" in f.columns:
        keep &= f["status"].astype(str) != "rejected"
    cols = [*by, "question", "option", "prob"]
    f = f.loc[keep.to_numpy(), cols].reset_index(drop=True)
    f["question"] = f["question"].astype(str)
    keys = [*by, "question"]
    f = f.sort_values([*keys, "prob", "option"], ascending=[True] * len(keys) + [False, True], kind="stable")
    top = f.groupby(keys, sort=False, dropna=False)["prob"].transform("max")
    n_top = (f["prob"] >= top - 1e-12).groupby([f[k] for k in keys], sort=False, dropna=False).transform("sum")
    first = f.drop_duplicates(keys).copy()
    first["tie"] = n_top.loc[first.index].to_numpy() > 1
    if ties == "drop":
        first = first.loc[~first["tie"]]
    return first.reset_index(drop=True)


def internal_consistency(answers, *, topics=None, by=None, ties="first"):
    """Compute the internal consistency rate of each model on each topic (paper 000, section 7.2).

    A model's answer to a question is its modal option (see
    :func:`modal_answers` for ties).  Each answer is mapped to its *opinion
    group* (e.g. "agree" = options 1-2, "disagree" = options 3-4; for 1-10
    scales options 1-5 vs 6-10).  The rate of a topic is the share of the
    topic's answered questions whose answer falls in the most common opinion
    group: answers in groups ``[a, a, b, a]`` give 0.75.

    Parameters
    ----------
    answers : pandas.DataFrame
        Tidy answers as returned by :func:`inference.read_results` (several
        models stacked, with a ``model`` column).
    topics : DataFrame, dict, path, optional
        Topic questions and option groupings (see
        :func:`analyses.topics.as_topics`); default paper 000's Table 11.
    by : str or sequence of str, optional
        Group columns (default: every non-reserved column, e.g. ``model``
        and ``condition``).
    ties : {"first", "drop"}
        Tie handling of the modal option, see :func:`modal_answers`.

    Returns
    -------
    pandas.DataFrame
        Group columns, ``topic``, ``reading`` (``""``, or the reading of a
        topic whose grouping is ambiguous: one row per reading, e.g. Q33's
        middle option, see :mod:`analyses.topics`), ``rate`` (NaN when no
        topic question was answered), ``n_questions`` (topic questions answered),
        ``n_expected`` (topic questions listed), ``majority`` (the most
        common opinion group; ties between groups: the first in the topic's
        order), ``answers`` (``question=option(group)`` for each answered
        question), ``n_ties`` (modal options chosen among tied ones) and
        ``source`` (where the topic's grouping comes from).

    Raises
    ------
    ValueError
        When a modal answer is an option that the topic's grouping does not
        cover (the grouping does not fit the question's scale).
    """
    spec = _expand_readings(as_topics(topics))
    by = _group_columns(answers, by)
    modal = modal_answers(answers, by=by, ties=ties)
    topic_qs = spec.drop_duplicates(["topic", "question"])[["topic", "question"]]
    m = modal.merge(topic_qs, on="question", how="inner")
    m = m.merge(spec, on=["topic", "question", "option"], how="left")
    if m["group"].isna().any():
        r = m.loc[m["group"].isna()].iloc[0]
        raise ValueError(
            f"topic {r['topic']!r}: the answer {r['option']:g} to question {r['question']!r} is in no "
            "opinion group of the topic specification."
        )
    group_order = {t: list(pd.unique(g["group"])) for t, g in spec.groupby("topic", sort=False)}
    q_order = {t: list(pd.unique(g["question"])) for t, g in spec.groupby("topic", sort=False)}
    groups_frame = modal[by].drop_duplicates().reset_index(drop=True) if by else pd.DataFrame(index=[0])
    rows = []
    m_groups = dict(list(m.groupby(by, sort=False, dropna=False))) if by else {(): m}
    for _, gkey in groups_frame.iterrows():
        key = tuple(gkey[c] for c in by)
        sub = m_groups.get(key if len(key) != 1 else key[0], m_groups.get(key))
        for topic in q_order:
            rec = {c: gkey[c] for c in by}
            rec["topic"] = topic
            t = sub.loc[sub["topic"] == topic] if sub is not None else m.iloc[:0]
            t = t.set_index("question").reindex([q for q in q_order[topic] if q in set(t["question"])])
            n = len(t)
            rec["n_questions"] = n
            rec["n_expected"] = len(q_order[topic])
            if n:
                counts = t["group"].value_counts()
                best = max(group_order[topic], key=lambda g: (counts.get(g, 0), -group_order[topic].index(g)))
                rec["rate"] = counts.get(best, 0) / n
                rec["majority"] = best
            else:
                rec["rate"] = np.nan
                rec["majority"] = None
            rec["answers"] = "; ".join(f"{q}={o:g}({g})" for q, o, g in zip(t.index, t["option"], t["group"]))
            rec["n_ties"] = int(t["tie"].sum()) if n else 0
            rows.append(rec)
    cols = [*by, "topic", "rate", "n_questions", "n_expected", "majority", "answers", "n_ties"]
    out = pd.DataFrame(rows, columns=cols)
    key = out["topic"].str.split("\x1f", n=1, expand=True)
    out["topic"] = key[0]
    out.insert(len(by) + 1, "reading", key[1].fillna("") if key.shape[1] > 1 else "")
    src = spec.groupby("topic")["source"].agg(lambda x: " | ".join(dict.fromkeys(x)))
    out["source"] = [src.get(f"{t}\x1f{r}" if r else t, "") for t, r in zip(out["topic"], out["reading"])]
    return out


def _expand_readings(spec):
    r"""One pseudo-topic ``topic\x1freading`` per reading of a topic with ambiguous rows."""
    parts = []
    for topic, t in spec.groupby("topic", sort=False):
        readings = [r for r in pd.unique(t["reading"]) if r]
        if not readings:
            parts.append(t)
            continue
        for r in readings:
            parts.append(t.loc[t["reading"].isin(["", r])].assign(topic=f"{topic}\x1f{r}"))
    return pd.concat(parts, ignore_index=True)
