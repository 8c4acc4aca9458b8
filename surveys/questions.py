"""Map a question bank onto survey variables: options, positions, waves, concepts.

Builds on :func:`alignstat.load_question_bank` (the seed's ``WV7_<Language>.jsonl``
and ``WV567.jsonl`` files).  Everything the mapping decides is kept *as data*
in tidy tables that can be inspected, saved and edited:

* :func:`option_table` -- one row per question x option: the option ``key``
  the model answers with, its ``label``, the survey ``code`` it corresponds
  to and its ordinal ``option`` position.  Reversed scales and non-ordinal
  options are declared here (``reverse=``, ``non_ordinal=``, or an
  ``overrides`` table), never hard-coded.
* :func:`wave_table` -- one row per question x wave with the survey variable
  (``WV567.jsonl`` lists the wave 7, 6 and 5 names of each item).
* :func:`bank_positions` -- the ``positions=`` argument of
  :func:`surveys.distributions` for one wave.
* :func:`bank_distributions` / :func:`bank_means` -- distributions or means
  of the bank's questions in a survey wave, with ``question`` set to the
  bank's id (so they line up with model answers for :func:`alignstat.align`).
  Multi-indicator concepts (several variables combined with weights into one
  question, as the ESS seed paper does for its split-ballot items) are
  passed as ``concepts={question: {variable: weight}}``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alignstat.questions import QuestionBank, key_position, load_question_bank

from .distributions import distributions, means

__all__ = [
    "load_question_bank",
    "option_table",
    "key_discrepancies",
    "wave_table",
    "bank_positions",
    "bank_distributions",
    "bank_means",
]

_OPTION_COLUMNS = ["question", "key", "label", "code", "option"]


def _check_bank(bank):
    if not isinstance(bank, QuestionBank):
        raise TypeError(f"`bank` must be an alignstat.QuestionBank, got {type(bank).__name__}.")



def option_table(bank, *, reverse=(), non_ordinal=None, overrides=None, reference=None):
    """One row per question x option with its survey code and ordinal position.

    Parameters
    ----------
    bank : alignstat.QuestionBank
    reverse : iterable of str
        Questions whose scale is mirrored: position ``p`` becomes
        ``min + max - p`` (over the question's ordinal options).
    non_ordinal : dict, optional
        ``{question: [key, ...]}`` options that have no place on the scale
        (position NaN: excluded from shares and means).
    overrides : pandas.DataFrame, optional
        Columns ``question``, ``key`` and ``option`` (and optionally
        ``code``): explicit positions (and survey codes) that replace the
        defaults, applied last.

    reference : alignstat.QuestionBank, optional
        A bank (e.g. the English one) whose codes and positions are used,
        matched by question id and option *order*.  The seed's language files
        do not always share option keys (e.g. WV7_Korean codes Q122-Q129 as
        1/2/3 for Agree/Hard to say/Disagree where WV7_English uses 2/1/0);
        mapping through a reference keeps every language on the same survey
        codes.  ``reverse``/``non_ordinal``/``overrides`` then refer to the
        reference's keys.  See :func:`key_discrepancies`.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``key``, ``label``, ``code`` (survey code; by default
        the numeric key), ``option`` (position; by default the bank's).

    Raises
    ------
    ValueError
        Naming questions or keys that are not in the bank.
    """
    _check_bank(bank)
    if reference is not None:
        _check_bank(reference)
        ref = option_table(reference, reverse=reverse, non_ordinal=non_ordinal, overrides=overrides)
        rows = []
        for q in bank:
            if q.id not in reference:
                raise ValueError(f"question {q.id!r} of {bank.source or 'the bank'} is not in the reference bank.")
            r = ref[ref["question"] == q.id]
            if len(r) != q.n_options:
                raise ValueError(
                    f"question {q.id!r}: {q.n_options} options in {bank.source or 'the bank'} but "
                    f"{len(r)} in the reference bank."
                )
            for k, lab, code, pos in zip(q.keys, q.choices, r["code"], r["option"]):
                rows.append((q.id, k, lab, float(code), float(pos)))
        return pd.DataFrame(rows, columns=_OPTION_COLUMNS)
    reverse = set(reverse or ())
    non_ordinal = dict(non_ordinal or {})
    unknown = sorted((reverse | set(non_ordinal)) - set(bank.ids))
    if unknown:
        raise ValueError(f"questions {unknown[:5]} named in `reverse`/`non_ordinal` are not in {bank.source or 'the bank'}.")
    rows = []
    for q in bank:
        drop = {str(k) for k in non_ordinal.get(q.id, ())}
        bad = drop - set(q.keys)
        if bad:
            raise ValueError(f"question {q.id!r} has no option key(s) {sorted(bad)}; keys are {list(q.keys)}.")
        pos = np.array([math.nan if k in drop else p for k, p in zip(q.keys, q.positions)], dtype=float)
        if q.id in reverse:
            fin = np.isfinite(pos)
            if fin.any():
                pos[fin] = pos[fin].min() + pos[fin].max() - pos[fin]
        for k, lab, p in zip(q.keys, q.choices, pos):
            rows.append((q.id, k, lab, key_position(k), float(p)))
    out = pd.DataFrame(rows, columns=_OPTION_COLUMNS)
    if overrides is not None:
        if not isinstance(overrides, pd.DataFrame):
            raise TypeError("`overrides` must be a DataFrame with columns question, key, option.")
        need = {"question", "key", "option"} - set(overrides.columns)
        if need:
            raise ValueError(f"`overrides` lacks column(s) {sorted(need)}.")
        ov = overrides.assign(key=overrides["key"].astype(str).str.strip())
        idx = out.set_index(["question", "key"]).index
        for _, r in ov.iterrows():
            loc = idx.get_indexer([(r["question"], r["key"])])[0]
            if loc < 0:
                raise ValueError(f"`overrides`: question {r['question']!r} has no option key {r['key']!r}.")
            out.loc[loc, "option"] = float(r["option"])
            if "code" in ov.columns and pd.notna(r["code"]):
                out.loc[loc, "code"] = float(r["code"])
    return out


def key_discrepancies(bank, reference):
    """Options whose key differs from the reference bank's key at the same position in the list.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``index`` (0-based option order), ``key``,
        ``reference_key``, ``label``, ``reference_label``; empty when every
        shared question uses the same keys.
    """
    _check_bank(bank)
    _check_bank(reference)
    rows = []
    for q in bank:
        if q.id not in reference:
            continue
        r = reference[q.id]
        for i, (k, lab) in enumerate(zip(q.keys, q.choices)):
            rk = r.keys[i] if i < r.n_options else None
            rl = r.choices[i] if i < r.n_options else None
            if k != rk:
                rows.append((q.id, i, k, rk, lab, rl))
        for i in range(q.n_options, r.n_options):
            rows.append((q.id, i, None, r.keys[i], None, r.choices[i]))
    return pd.DataFrame(rows, columns=["question", "index", "key", "reference_key", "label", "reference_label"])


def wave_table(bank, *, waves=(7, 6, 5)):
    """One row per question x wave: the survey variable of the item in that wave.

    Parameters
    ----------
    bank : alignstat.QuestionBank
        Each question's ``wave_ids`` lists its variable names, one per wave
        in the order of ``waves`` (``WV567.jsonl``: wave 7, 6, 5).  A
        single-id bank (``WV7_English.jsonl``) maps only the first wave.
    waves : sequence of int

    Returns
    -------
    pandas.DataFrame
        ``question``, ``wave``, ``variable``.
    """
    _check_bank(bank)
    waves = list(waves)
    rows = []
    for q in bank:
        ids = list(q.wave_ids) or [q.id]
        if len(ids) > len(waves):
            raise ValueError(
                f"question {q.id!r} lists {len(ids)} wave ids {ids} but only waves {waves} are named."
            )
        for wave, var in zip(waves, ids):
            rows.append((q.id, wave, var))
    return pd.DataFrame(rows, columns=["question", "wave", "variable"])


def _resolve_columns(columns, names):
    """Map variable names onto data columns (exact first, then case-insensitive)."""
    cols = list(columns)
    lower = {}
    for c in cols:
        lower.setdefault(str(c).lower(), c)
    out = {}
    for v in names:
        if v in cols:
            out[v] = v
        elif str(v).lower() in lower:
            out[v] = lower[str(v).lower()]
    return out


def bank_positions(bank, *, wave=7, waves=(7, 6, 5), reverse=(), non_ordinal=None, overrides=None):
    """``{variable: {code: position}}`` for one wave (the ``positions=`` of :func:`surveys.distributions`)."""
    opts = option_table(bank, reverse=reverse, non_ordinal=non_ordinal, overrides=overrides)
    wt = wave_table(bank, waves=waves)
    wt = wt[wt["wave"] == wave]
    if wt.empty:
        raise ValueError(f"no question of the bank has a variable for wave {wave!r}.")
    out = {}
    for q, var in zip(wt["question"], wt["variable"]):
        sub = opts[opts["question"] == q]
        if sub["code"].isna().any():
            raise ValueError(f"question {q!r}: option keys {sub['key'].tolist()} are not numeric survey codes; "
                             "give the codes in `overrides`.")
        out[var] = dict(zip(sub["code"].astype(float), sub["option"].astype(float)))
    return out


def _bank_call(fn, data, bank, *, wave, waves, reverse, non_ordinal, overrides, concepts, questions,
               on_missing_variable, kwargs):
    _check_bank(bank)
    if on_missing_variable not in ("raise", "drop"):
        raise ValueError(f"`on_missing_variable` must be 'raise' or 'drop', got {on_missing_variable!r}.")
    if "variables" in kwargs or "positions" in kwargs or "indicators" in kwargs:
        raise TypeError("`variables`, `positions` and `indicators` are set from the bank; "
                        "use `questions=`, `overrides=` and `concepts=`.")
    frame = data if isinstance(data, pd.DataFrame) else getattr(data, "data", None)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("`data` must be a DataFrame, a SurveyData or a synthetic survey.")
    pos = bank_positions(bank, wave=wave, waves=waves, reverse=reverse, non_ordinal=non_ordinal,
                         overrides=overrides)
    wt = wave_table(bank, waves=waves)
    wt = wt[wt["wave"] == wave]
    if questions is not None:
        questions = [questions] if isinstance(questions, str) else list(questions)
        bad = sorted(set(questions) - set(bank.ids))
        if bad:
            raise ValueError(f"questions {bad[:5]} are not in {bank.source or 'the bank'}.")
        wt = wt[wt["question"].isin(questions)]
    concepts = dict(concepts or {})
    var_of = dict(zip(wt["question"], wt["variable"]))
    col_of = _resolve_columns(frame.columns, [v for q, v in var_of.items() if q not in concepts])
    missing = [v for q, v in var_of.items() if q not in concepts and v not in col_of]
    if missing and on_missing_variable == "raise":
        raise ValueError(
            f"{len(missing)} wave-{wave} variable(s) of the bank are not in the data, e.g. {missing[:5]}; "
            "pass `on_missing_variable='drop'` to use the ones present."
        )
    variables, positions, indicators, rename = [], {}, {}, {}
    for q, v in var_of.items():
        if q in concepts:
            spec = concepts[q]
            cmap = _resolve_columns(frame.columns, list(spec))
            absent = [x for x in spec if x not in cmap]
            if absent:
                raise ValueError(f"concept {q!r}: indicator variable(s) {absent} are not in the data.")
            indicators[q] = {cmap[x]: wgt for x, wgt in spec.items()}
            qpos = pos.get(v)
            for x in spec:
                if qpos is not None:
                    positions[cmap[x]] = qpos
            variables.append(q)
            rename[q] = q
        elif v in col_of:
            c = col_of[v]
            variables.append(c)
            positions[c] = pos[v]
            rename[c] = q
    if not variables:
        raise ValueError(f"none of the bank's wave-{wave} variables is in the data.")
    out = fn(data, variables=variables, positions=positions, indicators=indicators or None, **kwargs)
    out["question"] = out["question"].map(rename)
    out.attrs["wave"] = wave
    out.attrs["variables"] = {rename[c]: c for c in variables}
    return out


def bank_distributions(data, bank, *, wave=7, waves=(7, 6, 5), reverse=(), non_ordinal=None,
                       overrides=None, concepts=None, questions=None, on_missing_variable="raise",
                       **kwargs):
    """Weighted distributions of a bank's questions in one survey wave.

    Parameters
    ----------
    data : DataFrame, SurveyData or SyntheticSurvey
    bank : alignstat.QuestionBank
    wave : int, default 7
        Wave whose variable names are used (see :func:`wave_table`).
    waves : sequence of int
        Order of the ids in the bank's ``wave_ids``.
    reverse, non_ordinal, overrides
        As in :func:`option_table`.
    concepts : dict, optional
        ``{question: {variable: weight}}``: a question measured by several
        variables combined with weights (multi-indicator concept).  The
        indicators share the question's option codes and positions.
    questions : list of str, optional
        Subset of the bank's ids.
    on_missing_variable : {"raise", "drop"}
        A bank variable absent from the data: raise (naming it) or skip it.
    **kwargs
        Passed to :func:`surveys.distributions` (``by``, ``weight``,
        ``standard_errors``...).

    Returns
    -------
    pandas.DataFrame
        As :func:`surveys.distributions`, with ``question`` the bank's id;
        ``attrs["variables"]`` maps ids to the variables used.
    """
    return _bank_call(distributions, data, bank, wave=wave, waves=waves, reverse=reverse,
                      non_ordinal=non_ordinal, overrides=overrides, concepts=concepts,
                      questions=questions, on_missing_variable=on_missing_variable, kwargs=kwargs)


def bank_means(data, bank, *, wave=7, waves=(7, 6, 5), reverse=(), non_ordinal=None, overrides=None,
               concepts=None, questions=None, on_missing_variable="raise", **kwargs):
    """Weighted mean positions of a bank's questions in one survey wave (see :func:`bank_distributions`)."""
    return _bank_call(means, data, bank, wave=wave, waves=waves, reverse=reverse,
                      non_ordinal=non_ordinal, overrides=overrides, concepts=concepts,
                      questions=questions, on_missing_variable=on_missing_variable, kwargs=kwargs)
