"""Question banks: the questionnaire items a model is asked and a survey measures.

A bank is a list of :class:`Question` records read from JSON Lines files with
the fields ``id``, ``question``, ``choices``, ``choice_keys`` and optionally
``answer`` and ``type`` (the layout of the WVS question files published with
Liu, Kaneko & Chu 2025).  Each option carries an ordinal *position*: by default
the numeric value of its key, so that a bank whose options were shuffled for a
sensitivity study still maps every option to its place on the scale.  Options
whose key is not a number get position NaN and are excluded from ordinal
metrics.

This module is part of the core because both :mod:`surveys` (which maps
questions to survey variables) and :mod:`inference` (which turns questions into
prompts) build on it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

__all__ = ["Question", "QuestionBank", "key_position", "load_question_bank"]

_LANG_RE = re.compile(r"WV\d*_(?P<lang>[A-Za-z]+)\.jsonl$")


def key_position(key) -> float:
    """Ordinal position of an option key: its numeric value, NaN if it is not a finite number.

    Shared by every layer that turns option keys (``"1"``, ``"10"``, ``"DK"``)
    into positions, so that the question bank, survey mappings and model
    answers agree on them.
    """
    try:
        value = float(key)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class Question:
    """One questionnaire item.

    Attributes
    ----------
    id : str
        Question identifier (for WV567-style files, the wave-7 id).
    text : str
        Question wording.
    choices : tuple of str
        Option labels in the order they are shown.
    keys : tuple of str
        Option keys in the same order (what the model answers with).
    positions : tuple of float
        Ordinal position of each option (NaN: no ordinal position).
    type : str
        Item type from the file (e.g. ``"Opinion-Dependent"``).
    language : str or None
        Language of the wording.
    wave_ids : tuple of str
        All ids of the item when the file maps it across waves
        (``WV567.jsonl`` lists wave 7, 6 and 5 ids).
    """

    id: str
    text: str
    choices: tuple
    keys: tuple
    positions: tuple
    type: str = ""
    language: str | None = None
    wave_ids: tuple = field(default_factory=tuple)

    @property
    def n_options(self) -> int:
        """Number of options."""
        return len(self.keys)

    def position_of(self, key) -> float:
        """Ordinal position of option ``key`` (a key string or number)."""
        skey = str(key).strip()
        for k, p in zip(self.keys, self.positions):
            if k == skey:
                return p
        raise KeyError(f"question {self.id!r} has no option key {skey!r}; keys are {list(self.keys)}")

    def with_positions(self, positions) -> "Question":
        """Return a copy with other ordinal positions (e.g. a reversed scale)."""
        positions = tuple(float(p) for p in positions)
        if len(positions) != len(self.keys):
            raise ValueError(
                f"question {self.id!r}: {len(positions)} positions given for {len(self.keys)} options."
            )
        return replace(self, positions=positions)


class QuestionBank:
    """An ordered collection of :class:`Question` records, indexed by id."""

    def __init__(self, questions, *, source=None):
        self.questions = list(questions)
        self.source = source
        self._by_id = {}
        for q in self.questions:
            if q.id in self._by_id:
                raise ValueError(f"{source or 'question bank'}: duplicate question id {q.id!r}.")
            self._by_id[q.id] = q

    def __len__(self):
        return len(self.questions)

    def __iter__(self):
        return iter(self.questions)

    def __contains__(self, qid):
        return qid in self._by_id

    def __getitem__(self, qid) -> Question:
        try:
            return self._by_id[qid]
        except KeyError:
            raise KeyError(f"question {qid!r} is not in {self.source or 'the question bank'}") from None

    @property
    def ids(self):
        """Question ids, in bank order."""
        return [q.id for q in self.questions]

    def subset(self, ids) -> "QuestionBank":
        """Return a bank of the questions `ids`, in that order."""
        return QuestionBank([self[i] for i in ids], source=self.source)

    def options_frame(self) -> pd.DataFrame:
        """One row per option: ``question``, ``key``, ``label``, ``option`` (position)."""
        rows = [
            {"question": q.id, "key": k, "label": c, "option": p}
            for q in self.questions
            for k, c, p in zip(q.keys, q.choices, q.positions)
        ]
        return pd.DataFrame(rows, columns=["question", "key", "label", "option"])

    def __repr__(self):
        return f"QuestionBank({len(self)} questions, source={self.source!r})"


def _parse_record(rec, *, where, language):
    for name in ("id", "question", "choices", "choice_keys"):
        if name not in rec:
            raise ValueError(f"{where}: field {name!r} is missing.")
    ids = rec["id"]
    wave_ids = tuple(str(i) for i in ids) if isinstance(ids, list) else (str(ids),)
    if not wave_ids or not wave_ids[0]:
        raise ValueError(f"{where}: field 'id' is empty.")
    choices = tuple(str(c) for c in rec["choices"])
    keys = tuple(str(k).strip() for k in rec["choice_keys"])
    if len(choices) != len(keys):
        raise ValueError(
            f"{where} (question {wave_ids[0]!r}): {len(choices)} choices but {len(keys)} choice_keys."
        )
    if len(set(keys)) != len(keys):
        raise ValueError(f"{where} (question {wave_ids[0]!r}): duplicate choice_keys {list(keys)}.")
    if len(keys) < 2:
        raise ValueError(f"{where} (question {wave_ids[0]!r}): fewer than two options.")
    return Question(
        id=wave_ids[0],
        text=str(rec["question"]),
        choices=choices,
        keys=keys,
        positions=tuple(key_position(k) for k in keys),
        type=str(rec.get("type", "")),
        language=language,
        wave_ids=wave_ids,
    )


def load_question_bank(path, *, language=None) -> QuestionBank:
    """Read a question bank from a JSON Lines file.

    Parameters
    ----------
    path : str or path-like
        A ``.jsonl`` file with one question per line.
    language : str, optional
        Language of the wording; by default taken from a ``WV7_<Language>.jsonl``
        file name.

    Returns
    -------
    QuestionBank

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and line of a malformed record.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"question bank {str(path)!r} does not exist.")
    if language is None:
        m = _LANG_RE.search(path.name)
        language = m.group("lang") if m else None
    questions = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg}).") from None
            questions.append(_parse_record(rec, where=where, language=language))
    return QuestionBank(questions, source=str(path))
