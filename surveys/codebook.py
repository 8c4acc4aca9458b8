"""Question banks from codebooks: a survey file's variable and value labels as questions.

:func:`question_bank` turns the metadata that travels with a survey file
(:class:`surveys.SurveyData` from :func:`surveys.read_survey`) into an
:class:`alignstat.QuestionBank`: the question text is the variable label, the
options are the value labels of the *valid* codes -- every labelled code, not
only those observed, so each question carries its full scale -- with missing
codes (don't know, refusal, not applicable, declared user-missing, the
profile's code rule) left out.  Keys are the survey codes, so model answers
and survey distributions share positions.  :func:`write_question_bank`
writes a bank in the seed's JSON Lines format (``id``, ``question``,
``choices``, ``choice_keys``, ``answer``, ``type``), which
:func:`alignstat.load_question_bank` and ``alignstat collect`` read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from alignstat import Question, QuestionBank, key_position

from ._codes import VALID, classify_values
from .encoding import as_list, resolve

__all__ = ["question_bank", "write_question_bank", "reversed_scale"]

_HIGH = re.compile(r"\b(very|strongly agree|completely|a great deal|always|extremely|totally|fully|"
                   r"agree strongly|most)\b", re.IGNORECASE)
_LOW = re.compile(r"\b(not at all|never|none at all|strongly disagree|disagree strongly|no .* at all|"
                  r"not very|least)\b", re.IGNORECASE)


def reversed_scale(choices):
    """Whether option labels run from most to least of the concept (a reversed scale).

    The scale is taken as reversed when the first label reads as the high
    end ("Very ...", "Strongly agree", "A great deal", "Always") and the last
    as the low end ("Not at all ...", "Never", "Strongly disagree").  This is
    a flag for the user to check, not a recode.

    Parameters
    ----------
    choices : sequence of str
        Labels of the valid options in code order.

    Returns
    -------
    bool

    Examples
    --------
    >>> reversed_scale(["Very important", "Rather important", "Not very important", "Not at all important"])
    True
    >>> reversed_scale(["Not at all interested", "Hardly interested", "Quite interested", "Very interested"])
    False
    """
    if len(choices) < 2:
        return False
    first, last = str(choices[0]), str(choices[-1])
    return bool(_HIGH.search(first) and not _LOW.search(first) and _LOW.search(last))


def question_bank(survey, *, variables, texts=None, profile=None, missing=None, source=None):
    """Build an :class:`alignstat.QuestionBank` from a survey file's labels.

    Parameters
    ----------
    survey : SurveyData, Design or SyntheticSurvey
        Data with metadata (value labels, variable labels, missing
        declarations), e.g. from :func:`surveys.read_survey`.
    variables : str or list of str
        Question variables; a profile factor name (``"political_interest"``)
        stands for its coded variable and becomes the question id.
    texts : dict, optional
        ``{variable: wording}`` for variables without a variable label.
    profile : str or Profile, optional
        Survey profile (its code rule classifies unlabelled missing codes).
    missing : dict, optional
        ``{variable: {code: kind}}`` explicit states, as in
        :func:`surveys.distributions`.
    source : str, optional
        Recorded as the bank's source (default: the file).

    Returns
    -------
    alignstat.QuestionBank
        One question per variable: ``id`` (the variable or factor name),
        ``text`` (variable label), ``choices`` (value labels of the valid
        codes in code order), ``keys`` (the codes, as text) and ``positions``
        (the codes).  ``bank.reversed`` lists the ids whose labels run from
        the high to the low end (see :func:`reversed_scale`).

    Raises
    ------
    ValueError
        Naming a variable that is not in the data, has no value labels, has
        fewer than two valid labelled codes, or has no text.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> sv = surveys.as_survey(
    ...     pd.DataFrame({"trust": [1, 2, 8]}),
    ...     value_labels={"trust": {1: "Low", 2: "Medium", 3: "High", 8: "Don't know"}},
    ...     variable_labels={"trust": "How much do you trust parliament?"}, profile=None)
    >>> bank = surveys.question_bank(sv, variables="trust")
    >>> bank["trust"].choices, bank["trust"].keys
    (('Low', 'Medium', 'High'), ('1', '2', '3'))
    """
    df, meta, prof, src = resolve(survey, profile)
    texts = dict(texts or {})
    questions, flagged = [], []
    for name in as_list(variables, "variables"):
        var = name
        if name not in df.columns and prof is not None and name in prof.factors:
            var = prof.factors[name].variable
        if var not in df.columns:
            raise ValueError(f"variable {name!r} is not a column of {src}.")
        labels = {float(k): str(v) for k, v in meta.value_labels.get(var, {}).items() if not isinstance(k, str)}
        if not labels:
            raise ValueError(
                f"variable {var!r} in {src} has no value labels, so its options are unknown; "
                "read the file with its metadata (.sav/.dta) or build the question by hand."
            )
        codes = np.array(sorted(labels), dtype=np.float64)
        miss = (missing or {}).get(var)
        states = classify_values(codes, variable=var, meta=meta,
                                 code_rule=prof.code_rule if prof is not None else None, missing=miss)
        valid = codes[states == VALID]
        if valid.size < 2:
            raise ValueError(
                f"variable {var!r} in {src} has {valid.size} valid labelled code(s) "
                f"({[labels[c] for c in valid]}); a question needs at least two options."
            )
        text = texts.get(name) or texts.get(var) or meta.variable_labels.get(var)
        if not text:
            raise ValueError(f"variable {var!r} in {src} has no variable label; give its wording in `texts=`.")
        keys = tuple(f"{c:g}" for c in valid)
        choices = tuple(labels[c] for c in valid)
        if reversed_scale(choices):
            flagged.append(name)
        questions.append(Question(id=name, text=str(text), choices=choices, keys=keys,
                                  positions=tuple(key_position(k) for k in keys), type="",
                                  language=None, wave_ids=(name,)))
    bank = QuestionBank(questions, source=source or src)
    bank.reversed = tuple(flagged)
    return bank


def write_question_bank(bank, path):
    """Write a bank as JSON Lines in the seed's format.

    Parameters
    ----------
    bank : alignstat.QuestionBank
    path : str or path-like
        Output ``.jsonl`` file (overwritten).

    Returns
    -------
    pathlib.Path
        The file written; :func:`alignstat.load_question_bank` reads it back.

    Notes
    -----
    Each line holds ``id``, ``question``, ``choices``, ``choice_keys``,
    ``answer`` (the numbered options as the seed files show them), ``type``
    and, for flagged scales, ``"reversed": true``.
    """
    if not isinstance(bank, QuestionBank):
        raise TypeError(f"`bank` must be an alignstat.QuestionBank, got {type(bank).__name__}.")
    path = Path(path)
    rev = set(getattr(bank, "reversed", ()))
    with path.open("w", encoding="utf-8") as fh:
        for q in bank:
            rec = {
                "id": list(q.wave_ids) if len(q.wave_ids) > 1 else q.id,
                "question": q.text,
                "choices": list(q.choices),
                "choice_keys": list(q.keys),
                "answer": "\n".join(f"{k}. {c}" for k, c in zip(q.keys, q.choices)),
                "type": q.type,
            }
            if q.id in rev:
                rec["reversed"] = True
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path
