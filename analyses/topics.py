"""Topic groups and option groupings for the internal-consistency analysis.

The default is Table 11 of Liu, Kaneko & Chu (2025, appendix G.2): four WVS-7
questions on gender fairness, four on atheism and two on democracy.  Each
question's options are split into *opinion groups* that carry the same label
across the topic's questions, so that answers can be compared: for gender
fairness "agree" means agreeing that men are superior on every question, for
atheism "yes" is belief, and for democracy options 6-10 ("important") and
1-5 ("not important") form the two groups (section 7.2).

Q33 has five options and the paper is ambiguous about its middle option
("Neither agree nor disagree"): Table 11 names only the agreement options.
Both readings are data here and :func:`analyses.internal_consistency`
reports both (column ``reading``):

* ``"neither-as-disagree"`` -- the middle option goes with the options that
  do not agree.  This reading reproduces the paper's report of 100%
  consistency on gender fairness for every model (Qwen2.5's modal answer to
  Q33 is the middle option), which is why it was first chosen; it is not
  stated in the paper.
* ``"neither-separate"`` -- the middle option is its own opinion group
  ("neither"), so a neutral answer counts as inconsistent with an agreeing
  or disagreeing majority.

The table is data: :func:`table11_topics` returns it as a tidy frame with a
``source`` for every row and a ``reading`` for the ambiguous ones, and
:func:`as_topics` accepts a user-supplied frame, a mapping or a JSON/CSV file
of the same shape (``reading`` and ``source`` optional).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["TABLE11", "TABLE11_READINGS", "table11_topics", "as_topics", "TOPIC_COLUMNS", "TABLE11_SOURCE"]

TOPIC_COLUMNS = ("topic", "question", "group", "option")
#: Optional columns of a topic specification: ``reading`` ("" = every reading) and ``source``.
OPTIONAL_COLUMNS = ("reading", "source")

#: Where the default groupings come from.
TABLE11_SOURCE = "Liu, Kaneko & Chu (2025), appendix G.2, Table 11"

_AGREE4 = {"agree": [1, 2], "disagree": [3, 4]}
_AGREE5 = {"agree": [1, 2], "disagree": [3, 4, 5]}
_YESNO = {"yes": [1], "no": [2]}
_TEN = {"not important": [1, 2, 3, 4, 5], "important": [6, 7, 8, 9, 10]}

#: Paper 000, Table 11: ``{topic: {question: {opinion group: [option positions]}}}``.
TABLE11 = {
    "gender fairness": {"Q29": _AGREE4, "Q30": _AGREE4, "Q31": _AGREE4, "Q33": _AGREE5},
    "atheism": {"Q165": _YESNO, "Q166": _YESNO, "Q167": _YESNO, "Q168": _YESNO},
    "democracy": {"Q243": _TEN, "Q250": _TEN},
}

#: The two readings of Q33's middle option: ``{topic: {question: {reading: (groups, source)}}}``.
TABLE11_READINGS = {
    "gender fairness": {"Q33": {
        "neither-as-disagree": (_AGREE5, TABLE11_SOURCE + "; middle option placed with the non-agreeing options "
                                "(not stated in the paper; reproduces its 100% on gender fairness)"),
        "neither-separate": ({"agree": [1, 2], "neither": [3], "disagree": [4, 5]},
                             TABLE11_SOURCE + "; middle option as its own opinion group (alternative reading)"),
    }},
}


def _from_mapping(mapping) -> pd.DataFrame:
    rows = []
    for topic, questions in mapping.items():
        if not isinstance(questions, dict):
            raise TypeError(f"topic {topic!r}: expected a mapping {{question: {{group: [options]}}}}.")
        for q, groups in questions.items():
            if not isinstance(groups, dict):
                raise TypeError(f"topic {topic!r}, question {q!r}: expected a mapping {{group: [options]}}.")
            for g, options in groups.items():
                for o in options:
                    rows.append((str(topic), str(q), str(g), float(o)))
    return pd.DataFrame(rows, columns=list(TOPIC_COLUMNS))


def table11_topics() -> pd.DataFrame:
    """Paper 000's Table 11 as a tidy frame ``topic, question, group, option, reading, source``.

    Q33 appears under both readings of its middle option (see the module
    docstring); every other row has ``reading == ""`` (all readings).
    """
    plain = {t: {q: g for q, g in qs.items() if q not in TABLE11_READINGS.get(t, {})} for t, qs in TABLE11.items()}
    frame = _from_mapping(plain).assign(reading="", source=TABLE11_SOURCE)
    parts = [frame]
    for t, qs in TABLE11_READINGS.items():
        for q, readings in qs.items():
            for r, (groups, src) in readings.items():
                parts.append(_from_mapping({t: {q: groups}}).assign(reading=r, source=src))
    out = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(TABLE11)}
    qorder = {q: i for t in TABLE11.values() for i, q in enumerate(t)}
    out = out.assign(_t=out["topic"].map(order), _q=out["question"].map(qorder))
    return out.sort_values(["_t", "_q", "reading"], kind="stable").drop(columns=["_t", "_q"]).reset_index(drop=True)


def as_topics(topics=None) -> pd.DataFrame:
    """Validate a topic specification and return it as a tidy frame.

    Parameters
    ----------
    topics : None, DataFrame, dict, str or Path
        ``None``: :data:`TABLE11` with both readings of Q33.  A frame with
        columns ``topic``, ``question``, ``group``, ``option`` (one row per
        option) and optionally ``reading`` (rows of one reading of an
        ambiguous question; ``""`` = every reading) and ``source``; a mapping
        ``{topic: {question: {group: [options]}}}``; or the path of a JSON file
        holding that mapping or of a CSV file holding that frame.

    Raises
    ------
    ValueError
        If a column is missing, an option is not a number, or an option is in
        two groups of the same question (within one reading).

    Returns
    -------
    DataFrame
        ``topic, question, group, option, reading, source``.
    """
    if topics is None:
        return table11_topics()
    source = "user-supplied"
    if isinstance(topics, (str, Path)):
        path = Path(topics)
        source = f"file {path.name}"
        if not path.is_file():
            raise ValueError(f"topics file {str(path)!r} does not exist.")
        if path.suffix.lower() == ".json":
            with open(path, encoding="utf-8") as fh:
                topics = json.load(fh)
        else:
            topics = pd.read_csv(path)
    if isinstance(topics, dict):
        frame = _from_mapping(topics)
    elif isinstance(topics, pd.DataFrame):
        missing = [c for c in TOPIC_COLUMNS if c not in topics.columns]
        if missing:
            raise ValueError(f"`topics` lacks column(s) {missing}; needs {list(TOPIC_COLUMNS)}.")
        frame = topics[[c for c in (*TOPIC_COLUMNS, *OPTIONAL_COLUMNS) if c in topics.columns]].copy()
        opt = pd.to_numeric(frame["option"], errors="coerce")
        if opt.isna().any():
            bad = frame.loc[opt.isna(), "option"].iloc[0]
            raise ValueError(f"`topics` column 'option': {bad!r} is not an option position (a number).")
        frame["option"] = opt.astype(float)
        for c in ("topic", "question", "group"):
            frame[c] = frame[c].astype(str)
    else:
        raise TypeError(f"`topics` must be None, a DataFrame, a dict or a path; got {type(topics).__name__}.")
    if frame.empty:
        raise ValueError("`topics` is empty.")
    if "reading" not in frame.columns:
        frame["reading"] = ""
    frame["reading"] = frame["reading"].fillna("").astype(str)
    if "source" not in frame.columns:
        frame["source"] = source
    frame["source"] = frame["source"].fillna(source).astype(str)
    dup = frame.duplicated(["topic", "question", "option", "reading"])
    if dup.any():
        r = frame.loc[dup].iloc[0]
        raise ValueError(
            f"`topics`: option {r['option']:g} of question {r['question']!r} (topic {r['topic']!r}) "
            "is listed in more than one opinion group."
        )
    return frame.reset_index(drop=True)
