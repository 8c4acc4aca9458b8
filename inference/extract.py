"""Turn free-text, token-sequence and log-probability answers into distributions.

The free-text rules follow the approach of "People are not their countries"
(ESS round 11): the model answers without a forced format, the Likert option
is extracted by rules, each question is asked ``n`` times (20 in the paper),
and the answer is the majority vote; its *agreement* is the share of valid
samples that chose the majority option (the paper reports ``1 - agreement``
as "mean disagreement with majority vote") and the *refusal rate* the share
of samples that refused.

Extraction rules, applied in order to one free-text answer:

1. an option key at the very start (``"3"``, ``"3."``, ``"(3)"``, ``"**3**"``);
2. a key after a cue word: ``answer``, ``option``, ``choice``, ``choose``,
   ``select``, ``pick``, ``rating``, ``score``, ``would be``, ``I'd say``
   (``"My answer is 4"``, ``"Answer: **2**"``);
3. exactly one option *label* in the text (case-insensitive, whole words; a
   label that only occurs inside a longer matched label does not count, so
   "Agree" inside "Strongly agree" is not a second match);
4. exactly one distinct number in the text that is an option key.

If none applies and a refusal phrase is present (English: "as an AI",
"I don't have personal opinions", "I cannot/can't/won't answer", "I'm unable",
"I am not able", "I prefer not to", "I'd rather not", "not appropriate for me")
the sample is a refusal; otherwise it is unparsable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

__all__ = [
    "extract_choice",
    "is_refusal",
    "majority_vote",
    "parse_sequence",
    "logprobs_to_distribution",
    "Extraction",
    "Vote",
]

_REFUSAL_RE = re.compile(
    r"(?i)\b(as an ai|as a language model|i(?: do not|'m not| am not| don't| don’t) have (?:personal )?"
    r"(?:opinions|views|beliefs|preferences|feelings)|i (?:cannot|can't|can’t|won't|will not) "
    r"(?:answer|provide|share|express|give|choose|pick)|i(?:'m| am) (?:unable|not able)|i prefer not to|"
    r"i'd rather not|i would rather not|not appropriate for me)"
)
_CUE_RE = re.compile(
    r"(?i)(?:answer|option|choice|choose|chose|select|pick|rating|score|would be|i'd say|i would say)"
    r"\s*(?:is|:|=|would be|be)?\s*[:\-]?\s*[\(\[\"'*]*\s*([0-9]+)\b"
)
_LEAD_RE = re.compile(r"^\s*[\(\[\"'*]*\s*([0-9]+)\s*[\)\]\"'*]*\s*(?:$|[.:\-–—,)\s])")
_NUM_RE = re.compile(r"(?<![\d.])(\d+)(?![\d.]*\d)")


@dataclass(frozen=True)
class Extraction:
    """One free-text answer read by rules.

    Attributes
    ----------
    key : str or None
        The chosen option key, or None.
    kind : str
        ``"answer"``, ``"refusal"`` or ``"unparsable"``.
    rule : str
        Which rule matched (``lead``, ``cue``, ``label``, ``number``) or ``""``.
    """

    key: object
    kind: str
    rule: str = ""


def is_refusal(text) -> bool:
    """Whether ``text`` contains a refusal phrase (English rules)."""
    return bool(_REFUSAL_RE.search(str(text or "")))


def _canon(k):
    k = str(k).strip()
    try:
        f = float(k)
        if f == int(f):
            return str(int(f))
    except ValueError:
        pass
    return k


def extract_choice(text, keys, labels=()) -> Extraction:
    """Extract the Likert option chosen in a free-text answer.

    Parameters
    ----------
    text : str
        The model's answer.
    keys : sequence of str
        Option keys of the question.
    labels : sequence of str, optional
        Option labels, same order as ``keys``.

    Returns
    -------
    Extraction
    """
    text = "" if text is None else str(text)
    ckeys = {_canon(k): str(k) for k in keys}
    m = _LEAD_RE.match(text)
    if m and _canon(m.group(1)) in ckeys:
        return Extraction(ckeys[_canon(m.group(1))], "answer", "lead")
    for m in _CUE_RE.finditer(text):
        if _canon(m.group(1)) in ckeys:
            return Extraction(ckeys[_canon(m.group(1))], "answer", "cue")
    if labels:
        low = text.lower()
        spans = []
        for k, lab in zip(keys, labels):
            lab = str(lab).strip().lower()
            if not lab or lab.isdigit():
                continue
            for mm in re.finditer(r"(?<!\w)" + re.escape(lab) + r"(?!\w)", low):
                spans.append((mm.start(), mm.end(), str(k)))
        outer = [s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)]
        found = {s[2] for s in outer}
        if len(found) == 1:
            return Extraction(found.pop(), "answer", "label")
    nums = {_canon(x) for x in _NUM_RE.findall(text)}
    hits = nums & set(ckeys)
    if len(hits) == 1 and not is_refusal(text):
        return Extraction(ckeys[hits.pop()], "answer", "number")
    if is_refusal(text):
        return Extraction(None, "refusal")
    return Extraction(None, "unparsable")


@dataclass(frozen=True)
class Vote:
    """Majority vote over repeated free-text samples.

    Attributes
    ----------
    key : str or None
        Majority option (ties: the option listed first in the question);
        None when no sample gave a valid answer.
    shares : dict
        Share of valid samples per option key (all keys present).
    agreement : float
        Share of valid samples that chose ``key`` (NaN without valid samples).
    refusal_share : float
        Share of all samples that refused.
    n_samples, n_valid_samples : int
        Samples given, samples with an extracted option.
    """

    key: object
    shares: dict
    agreement: float
    refusal_share: float
    n_samples: int
    n_valid_samples: int


def majority_vote(extractions, keys) -> Vote:
    """Majority vote and agreement rate of a list of :class:`Extraction`."""
    keys = [str(k) for k in keys]
    n = len(extractions)
    valid = [e.key for e in extractions if e.kind == "answer"]
    refusals = sum(e.kind == "refusal" for e in extractions)
    counts = Counter(valid)
    nv = len(valid)
    shares = {k: (counts.get(k, 0) / nv if nv else math.nan) for k in keys}
    if nv:
        best = max(keys, key=lambda k: (counts.get(k, 0), -keys.index(k)))
        agreement = counts[best] / nv
    else:
        best, agreement = None, math.nan
    return Vote(best, shares, agreement, refusals / n if n else math.nan, n, nv)


def parse_sequence(text, keys, *, n_expected=None):
    """Count option keys in a "sequence of tokens" answer (``"1, 3, 2, 2"``).

    Parameters
    ----------
    text : str
        Model output: option keys separated by commas, spaces or newlines.
        A run of single digits without separators (``"1124"``) is read digit
        by digit when every key is a single character.
    keys : sequence of str
        Option keys.
    n_expected : int, optional
        Number of answers requested.

    Returns
    -------
    counts : dict
        Count per key (all keys present).
    n_invalid : int
        Tokens that are not option keys.
    """
    keys = [str(k) for k in keys]
    text = "" if text is None else str(text)
    ck = {_canon(k): k for k in keys}
    tokens = [t for t in re.split(r"[\s,;|/\[\]{}()'\"]+", text) if t]
    if len(tokens) == 1 and len(tokens[0]) > 1 and all(len(k) == 1 for k in keys) and tokens[0].isdigit():
        tokens = list(tokens[0])
    counts = {k: 0 for k in keys}
    invalid = 0
    for t in tokens:
        t = t.strip(".:")
        c = _canon(t)
        if c in ck:
            counts[ck[c]] += 1
        else:
            invalid += 1
    return counts, invalid


def logprobs_to_distribution(option_logprobs, keys):
    """Softmax of per-option log-probabilities, restricted to the options.

    Parameters
    ----------
    option_logprobs : dict
        Option key -> log-probability (missing keys: the option was not among
        the returned top tokens).
    keys : sequence of str

    Returns
    -------
    probs : list of float
        Renormalized over the options (missing options get 0).
    n_missing : int
        Options without a log-probability.
    """
    keys = [str(k) for k in keys]
    vals = [option_logprobs.get(k) for k in keys]
    present = [v for v in vals if v is not None and math.isfinite(v)]
    if not present:
        return [math.nan] * len(keys), len(keys)
    m = max(present)
    w = [math.exp(v - m) if v is not None and math.isfinite(v) else 0.0 for v in vals]
    s = sum(w)
    return [x / s for x in w], sum(v is None or not math.isfinite(v) for v in vals)
