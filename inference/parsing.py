"""Turn a model's raw answer text into a probability distribution over options.

Every parsed item gets a *status*:

``ok``
    The answer was in the requested format (a mapping from option key to a
    percentage or probability, e.g. ``{'1': '31.01%', '2': '3.21%'}``) and its
    probabilities sum to 1 within ``sum_tolerance`` (rounding).
``repaired``
    The answer needed one or more repairs that the :class:`RepairRules`
    allows; the repairs are listed in ``repairs``.
``rejected``
    The answer could not be turned into a distribution, or needed a repair
    the repair rules forbid; ``reason`` says why, starting with a short code.

Repair codes (in the order they are applied):

``extracted``
    The mapping was found inside other text (reasoning, an echoed question).
``value_strings``
    Values needed cleaning beyond a number with an optional ``%`` (words such
    as "about", "percent", or a mix of ``%`` and bare numbers).
``percent_scale``
    Bare numbers on a 0-100 scale (no ``%`` sign) were read as percentages.
``keys_rebased``
    The answer used 0-based keys (``0 .. n-1``) for a question keyed
    ``1 .. n``; each key was shifted by one.
``extra_zero_dropped``
    Keys that are not options of the question but carry probability 0 were
    dropped.
``missing_zero``
    Options absent from the answer were given probability 0.
``renormalized``
    The probabilities summed to more than ``sum_tolerance`` away from 1 and
    were rescaled to sum to 1.
``invalid_tokens_dropped``
    (sequence-of-tokens answers) tokens that are not option keys were
    ignored when counting.
``duplicates_dropped``
    (results files) the file answers the same question in more than one
    row (a re-run appended to the file); the last row was kept.

Rejection codes: ``empty``, ``truncated``, ``no_mapping``, ``bad_value``,
``duplicate_key``, ``unknown_keys``, ``negative``, ``zero_sum``,
``sum_out_of_range``, ``too_few_options``, ``not_allowed`` (a repair the
repair rules forbid; the message names it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

__all__ = ["RepairRules", "ParsedAnswer", "parse_distribution", "resolve_repair", "REPAIRS"]

REPAIRS = (
    "extracted",
    "value_strings",
    "percent_scale",
    "keys_rebased",
    "extra_zero_dropped",
    "missing_zero",
    "renormalized",
    "invalid_tokens_dropped",
    "duplicates_dropped",
)


@dataclass(frozen=True)
class RepairRules:
    """Which repairs of a messy verbalized distribution are allowed.

    Parameters
    ----------
    name : str
        Label of the rules (recorded nowhere but in reports and errors).
    extracted, value_strings, percent_scale, keys_rebased, extra_zero_dropped, missing_zero, renormalized, invalid_tokens_dropped, duplicates_dropped : bool
        Whether the repair of that name (see :mod:`inference.parsing`) is
        allowed.  An answer that needs a forbidden repair is rejected with
        reason ``not_allowed``.
    sum_tolerance : float
        Sums within ``1 ± sum_tolerance`` count as rounding: the answer stays
        ``ok`` and is rescaled silently.
    max_sum_error : float
        Sums outside ``1 ± max_sum_error`` are rejected (``sum_out_of_range``)
        even when renormalizing is allowed.
    min_options : int
        Fewest options that must carry an answered value (missing options
        filled with 0 do not count).

    Notes
    -----
    Two presets exist: ``"lenient"`` (the default; every repair allowed,
    sums between 0.5 and 1.5 renormalized) and ``"strict"`` (no repair
    allowed: only answers in the requested format whose sum rounds to 1).
    Use :func:`resolve_repair` to turn a preset name into rules, and
    :func:`dataclasses.replace` to derive a variant.
    """

    name: str = "lenient"
    extracted: bool = True
    value_strings: bool = True
    percent_scale: bool = True
    keys_rebased: bool = True
    extra_zero_dropped: bool = True
    missing_zero: bool = True
    renormalized: bool = True
    invalid_tokens_dropped: bool = True
    duplicates_dropped: bool = True
    sum_tolerance: float = 0.01
    max_sum_error: float = 0.5
    min_options: int = 1

    def __post_init__(self):
        if not (0 <= self.sum_tolerance < 1):
            raise ValueError(f"RepairRules: `sum_tolerance` must be in [0, 1); got {self.sum_tolerance!r}.")
        if not (self.max_sum_error >= self.sum_tolerance):
            raise ValueError(
                f"RepairRules: `max_sum_error` ({self.max_sum_error!r}) must be >= `sum_tolerance` "
                f"({self.sum_tolerance!r})."
            )
        if int(self.min_options) != self.min_options or self.min_options < 1:
            raise ValueError(f"RepairRules: `min_options` must be a positive integer; got {self.min_options!r}.")

    def allows(self, code: str) -> bool:
        """Whether the repair named `code` is allowed."""
        return bool(getattr(self, code))

    def refusal(self, code: str, detail: str = "") -> str:
        """Return the ``reason`` of an answer rejected because it needs repair `code`, which these rules forbid."""
        what = f"{code!r} ({detail})" if detail else repr(code)
        return f"not_allowed: needs repair {what}, which repair rules {self.name!r} do not allow"


LENIENT = RepairRules()
STRICT = replace(
    RepairRules(),
    name="strict",
    **{f.name: False for f in fields(RepairRules) if f.name in REPAIRS},
)
_PRESETS = {"lenient": LENIENT, "strict": STRICT}


def resolve_repair(repair) -> RepairRules:
    """Return a :class:`RepairRules` from a preset name or rules."""
    if isinstance(repair, RepairRules):
        return repair
    if repair is None:
        return LENIENT
    if isinstance(repair, str):
        try:
            return _PRESETS[repair]
        except KeyError:
            raise ValueError(f"`repair` must be one of {sorted(_PRESETS)} or a RepairRules; got {repair!r}.") from None
    raise TypeError(f"`repair` must be a preset name or a RepairRules; got {type(repair).__name__}.")


@dataclass(frozen=True)
class ParsedAnswer:
    """Result of parsing one answer.

    Attributes
    ----------
    probs : tuple of float
        Probability of each option, in the order of the question's keys
        (all NaN when rejected).
    status : str
        ``"ok"``, ``"repaired"`` or ``"rejected"``.
    repairs : tuple of str
        Repair codes applied (empty unless repaired).
    reason : str
        ``"<code>: <message>"`` when rejected, else ``""``.
    """

    probs: tuple
    status: str
    repairs: tuple = ()
    reason: str = ""


_QUOTES = "'\"‘’“”`"
_DICT_RE = re.compile(r"\{[^{}]*\}")
_NUM_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_PAIR_SPLIT = re.compile(r",(?=\s*[" + _QUOTES + r"]?\s*[^,:" + _QUOTES + r"]+?\s*[" + _QUOTES + r"]?\s*:)")
_FAST_FULL = re.compile(r"\{\s*'[^'{}:,]+'\s*:\s*'\d+(?:\.\d+)?%'\s*(?:,\s*'[^'{}:,]+'\s*:\s*'\d+(?:\.\d+)?%'\s*)*\}")
_FAST_PAIR = re.compile(r"'([^'{}:,]+)'\s*:\s*'(\d+(?:\.\d+)?)%'")
_WORDS_RE = re.compile(r"(?i)\b(?:about|approx(?:imately)?|around|roughly|ca\.?|percent|pct)\b|[~≈]")


def _canon(key: str) -> str:
    k = key.strip().strip(_QUOTES).strip()
    try:
        f = float(k)
    except ValueError:
        return k.lower()
    if math.isfinite(f) and f == int(f):
        return str(int(f))
    return k.lower()


def _reject(n, code, message):
    return ParsedAnswer(probs=(math.nan,) * n, status="rejected", reason=f"{code}: {message}")


def _parse_value(raw: str):
    """Return (value, had_percent, needed_cleaning) or None."""
    v = raw.strip().strip(_QUOTES).strip()
    pct = "%" in v or "％" in v
    core = v.replace("％", "%").rstrip("%").strip()
    if _NUM_RE.match(core) and v.count("%") + v.count("％") <= 1 and (not pct or v.endswith(("%", "％"))):
        return float(core), pct, False
    cleaned = _WORDS_RE.sub(" ", v).replace("％", "%")
    cleaned = cleaned.replace("%", " ").strip().rstrip(".").strip().strip(_QUOTES).strip()
    if "percent" in v.lower():
        pct = True
    if _NUM_RE.match(cleaned):
        return float(cleaned), pct, True
    return None


class _Rejected(Exception):
    """Raised by a parsing stage: the answer is rejected with ``code: message``."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def parse_distribution(text, keys, *, repair="lenient", question=None) -> ParsedAnswer:
    """Parse a verbalized distribution such as ``{'1': '70%', '2': '30%'}``.

    Parameters
    ----------
    text : str or None
        Raw model output.
    keys : sequence of str
        The question's option keys, in order.
    repair : str or RepairRules, optional
        ``"lenient"`` (default), ``"strict"`` or a :class:`RepairRules`.
    question : str, optional
        Question id, used in messages only.

    Returns
    -------
    ParsedAnswer
        ``probs`` aligned with ``keys``; see the module docstring for the
        status, repair and rejection codes.

    Notes
    -----
    Stages, each of which may reject the answer or note a repair: find the
    mapping (:func:`_find_mapping`), read its pairs (:func:`_read_pairs`),
    put values on the probability scale (:func:`_to_probabilities`), place
    them on the question's keys (:func:`_place_on_keys`), check the sum
    (:func:`_check_sum`); last, the repairs are checked against the rules.

    Examples
    --------
    >>> parse_distribution("{'1': '70%', '2': '30%'}", ["1", "2"]).probs
    (0.7, 0.3)
    >>> r = parse_distribution("Sure! {'1': '70%', '3': '0%', '2': '30%'}", ["1", "2"])
    >>> r.status, r.repairs
    ('repaired', ('extracted', 'extra_zero_dropped'))
    >>> parse_distribution("{'1': '70%'}", ["1", "2"], repair="strict").status
    'rejected'
    """
    repair = resolve_repair(repair)
    keys = [str(k).strip() for k in keys]
    qname = f"question {question!r}" if question is not None else "the question"
    repairs = []
    try:
        block = _find_mapping(text, repairs)
        pairs = _read_pairs(block)
        resp_keys, probs = _to_probabilities(pairs, repair, repairs)
        out = _place_on_keys(resp_keys, probs, keys, repair, qname, repairs)
        out = _check_sum(out, repair, repairs)
    except _Rejected as exc:
        return _reject(len(keys), exc.code, exc.message)
    for code in repairs:
        if not repair.allows(code):
            return ParsedAnswer(probs=(math.nan,) * len(keys), status="rejected", reason=repair.refusal(code))
    if repairs:
        return ParsedAnswer(probs=tuple(out), status="repaired", repairs=tuple(r for r in REPAIRS if r in repairs))
    return ParsedAnswer(probs=tuple(out), status="ok")


def _find_mapping(text, repairs):
    """Return the last ``{...}`` block of the answer (``extracted`` when other text surrounds it)."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        raise _Rejected("empty", "the response is empty")
    stripped = str(text).strip()
    blocks = _DICT_RE.findall(stripped)
    if not blocks:
        if "{" in stripped:
            raise _Rejected("truncated", "the mapping opens with '{' but never closes")
        raise _Rejected("no_mapping", "no '{key: probability}' mapping in the response")
    if blocks[-1] != stripped:
        repairs.append("extracted")
    if not blocks[-1][1:-1].strip():
        raise _Rejected("no_mapping", "the mapping is empty")
    return blocks[-1]


def _read_pairs(block):
    """``[(canonical key, (value, had_percent, needed_cleaning)), ...]`` of a mapping, keys unique."""
    if _FAST_FULL.fullmatch(block):  # the requested format: {'1': '31.01%', ...}
        pairs = [(_canon(k), (float(v), True, False)) for k, v in _FAST_PAIR.findall(block)]
    else:
        pairs = _slow_pairs(block[1:-1].strip())
        if isinstance(pairs, str):
            raise _Rejected(*pairs.split("|", 1))
    if not pairs:
        raise _Rejected("no_mapping", "the mapping has no entries")
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise _Rejected("duplicate_key", f"key {k!r} is given more than once")
        seen.add(k)
    return pairs


def _to_probabilities(pairs, repair, repairs):
    """Keys and values on the 0-1 scale (``value_strings``, ``percent_scale``)."""
    values = [v for _, (v, _, _) in pairs]
    has_pct = [pct for _, (_, pct, _) in pairs]
    if any(cleaned for _, (_, _, cleaned) in pairs) or (any(has_pct) and not all(has_pct)):
        repairs.append("value_strings")
    if any(v < 0 for v in values):
        raise _Rejected("negative", "a probability is negative")
    if any(has_pct):
        probs = [v / 100.0 for v in values]
    elif sum(values) > 1 + repair.max_sum_error:  # bare numbers on a 0-100 scale
        repairs.append("percent_scale")
        probs = [v / 100.0 for v in values]
    else:
        probs = list(values)
    return [k for k, _ in pairs], probs


def _place_on_keys(resp_keys, probs, keys, repair, qname, repairs):
    """Probabilities in the order of the question's keys (``keys_rebased``, ``extra_zero_dropped``, ``missing_zero``)."""
    canon_keys = [_canon(k) for k in keys]
    index = {k: i for i, k in enumerate(canon_keys)}
    unknown = [k for k in resp_keys if k not in index]
    if unknown:
        rebased = _try_rebase(resp_keys, canon_keys)
        if rebased is not None:
            repairs.append("keys_rebased")
            resp_keys, unknown = rebased, []
    if unknown:
        if any(p != 0 for k, p in zip(resp_keys, probs) if k not in index):
            raise _Rejected("unknown_keys", f"keys {unknown} are not options of {qname} (options {keys})")
        repairs.append("extra_zero_dropped")
        kept = [(k, p) for k, p in zip(resp_keys, probs) if k in index]
        resp_keys, probs = [k for k, _ in kept], [p for _, p in kept]
    if len(resp_keys) < repair.min_options:
        raise _Rejected("too_few_options",
                        f"{len(resp_keys)} option(s) answered, the repair rules need {repair.min_options}")
    out = [0.0] * len(keys)
    for k, p in zip(resp_keys, probs):
        out[index[k]] = p
    if len(resp_keys) < len(keys):
        repairs.append("missing_zero")
    return out


def _check_sum(out, repair, repairs):
    """Probabilities rescaled to sum to 1 (``renormalized`` beyond the rounding tolerance)."""
    total = sum(out)
    if total <= 0:
        raise _Rejected("zero_sum", "all probabilities are zero")
    err = abs(total - 1.0)
    if err > repair.max_sum_error:
        raise _Rejected("sum_out_of_range",
                        f"probabilities sum to {total:.4g}, outside 1 ± {repair.max_sum_error:g}")
    if err > repair.sum_tolerance:
        repairs.append("renormalized")
    return [p / total for p in out]


def _slow_pairs(body):
    """Key/value pairs of a mapping body, or ``"code|message"`` on failure."""
    pairs = []
    for part in _PAIR_SPLIT.split(body):
        part = part.strip().rstrip(",").strip()
        if not part:
            continue
        if ":" not in part:
            return f"bad_value|cannot read {part!r} as 'key: value'"
        k, v = part.split(":", 1)
        parsed = _parse_value(v)
        if parsed is None:
            return f"bad_value|value {v.strip()!r} of key {k.strip().strip(_QUOTES)!r} is not a number"
        pairs.append((_canon(k), parsed))
    return pairs


def _try_rebase(resp_keys, canon_keys):
    """Map 0-based keys 0..n-1 onto integer keys 1..n, or return None."""
    try:
        r = [int(k) for k in resp_keys]
        q = [int(k) for k in canon_keys]
    except ValueError:
        return None
    if 0 not in r or 0 in q:
        return None
    shifted = [str(k + 1) for k in r]
    if set(shifted) <= set(canon_keys):
        return shifted
    return None
