"""Encoding of survey answers: every respondent's answer as an option index and a state.

A question variable is encoded once: its distinct values are found (one
counting pass over integer codes), classified as valid option, item
nonresponse or structural missing (:mod:`surveys._codes`), and mapped to
ordinal positions.  Numeric columns keep code lookup tables so that the
tabulator (:mod:`surveys.tabulation`) reads the column once more at most;
per-respondent arrays are materialised only when standard errors or the
respondent frame need them.

Values that look like missing codes in a variable without a profile or a
declaration -- negative codes, 7/8/9, 77/88/99, 777/888/999 above the other
values of a short scale, or unlabelled codes outside the labelled valid
range -- are left out of the answers with a :class:`alignstat.DataPolicyWarning`
naming the variable and the codes; declare them with ``missing=``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from alignstat import RESERVED_COLUMNS, DataPolicyWarning

from ._codes import NONRESPONSE, STRUCTURAL, VALID, classify_labels, classify_values, is_text
from ._kernels import WINDOW_LO, accumulate, code_presence, map_codes, scan_codes, tabulate_codes, window_presence
from ._meta import SurveyData, SurveyMeta
from .profiles import build_factor, get_profile

__all__ = ["resolve", "weights_of", "as_list", "groups", "derive_groups", "encode_all", "default_variables"]

_SYSTEM_MISSING = {"structural": STRUCTURAL, "nonresponse": NONRESPONSE}

# ---------------------------------------------------------------------------
# input resolution
# ---------------------------------------------------------------------------
def resolve(data, profile):
    """``(frame, meta, profile, source)`` of any respondent data the layer accepts."""
    from .designs import Design

    if isinstance(data, Design):
        df, meta, prof, src = data.data, data.meta, data.profile, data.source
    elif isinstance(data, SurveyData):
        df, meta, prof, src = data.data, data.meta, data.profile, data.source or "the survey data"
    elif hasattr(data, "data") and hasattr(data, "meta") and isinstance(getattr(data, "data"), pd.DataFrame):
        df, meta, prof = data.data, data.meta, getattr(data, "profile", None)
        src = f"synthetic {getattr(data, 'kind', 'survey')}"
    elif isinstance(data, pd.DataFrame):
        df, meta, prof, src = data, SurveyMeta(), None, "the data frame"
    else:
        raise TypeError(
            "`data` must be a pandas DataFrame, a surveys.SurveyData or a synthetic survey, "
            f"got {type(data).__name__}."
        )
    if profile is not None:
        prof = get_profile(profile)
    return df, meta, prof, src


def weights_of(df, weights, prof, src):
    """Weights as float64 ``(n,)`` and the name used (None: unweighted).

    ``None`` takes the profile's analysis weight when there is a profile (else
    unweighted); ``False`` is unweighted.
    """
    from .designs import Design

    if weights is None:
        weights = prof.column(df, "weight") if prof is not None else None
    return Design._weights(df, weights, src)


def as_list(x, name):
    """Column names as a list (a string is one column)."""
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    try:
        out = list(x)
    except TypeError:
        raise TypeError(f"`{name}` must be a column name or a list of column names.") from None
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"`{name}` must hold column names (str), got {v!r}.")
    return out


def groups(df, by, missing_group, src):
    """Group code per respondent (-1: excluded) and the frame of group keys."""
    n = len(df)
    if not by:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1))
    codes, uniques = [], []
    for col in by:
        if col in RESERVED_COLUMNS:
            raise ValueError(f"`by` column {col!r} is a reserved column name of tidy distributions.")
        if col not in df.columns:
            raise ValueError(f"grouping column {col!r} is not in {src}.")
        s = df[col]
        c, u = pd.factorize(s, sort=True, use_na_sentinel=True)
        c = np.asarray(c, dtype=np.int64)
        if missing_group is not None and (c < 0).any():
            # missing values form their own group, listed after the observed levels
            c = np.where(c < 0, len(u), c)
            u = pd.Index(list(u) + [missing_group], dtype=object)
        codes.append(c)
        uniques.append(u)
    sizes = [max(len(u), 1) for u in uniques]
    ok = np.ones(n, dtype=bool)
    for c in codes:
        ok &= c >= 0
    comb = np.zeros(n, dtype=np.int64)
    for c, s in zip(codes, sizes):
        comb = comb * s + np.where(c >= 0, c, 0)
    comb = np.where(ok, comb, -1)
    present, g = np.unique(comb[ok], return_inverse=True)
    out = np.full(n, -1, dtype=np.int64)
    out[ok] = g
    keys = {}
    rem = present.copy()
    for col, u, s in zip(reversed(by), reversed(uniques), reversed(sizes)):
        keys[col] = np.asarray(u, dtype=object)[rem % s] if len(u) else np.array([], dtype=object)
        rem = rem // s
    keyframe = pd.DataFrame({col: keys[col] for col in by})
    for col, u in zip(by, uniques):
        if pd.api.types.is_numeric_dtype(u.dtype):
            keyframe[col] = keyframe[col].astype(u.dtype)
    return out, keyframe


def derive_groups(df, by, meta, prof):
    """Add readable factor columns named in ``by`` that the data lacks (profile builders).

    ``"country"`` maps to the profile's country column; factor names
    (``"gender"``, ``"generation"``...) are built from their coded variables.
    """
    extra = {}
    for col in by:
        if col in df.columns or prof is None:
            continue
        if col == "country":
            c = prof.column(df, "country")
            if c is not None:
                extra[col] = df[c].astype(str).to_numpy(dtype=object)
        elif col in prof.factors and prof.factors[col].variable in df.columns:
            extra[col] = build_factor(df, meta, prof.factors[col], code_rule=prof.code_rule).to_numpy()
    return df.assign(**extra) if extra else df


class _Encoded:
    """One question variable: option index per respondent, state, option positions.

    Numeric columns keep their code lookup tables; the per-respondent arrays
    ``opt`` and ``state`` are materialised only when asked for.
    """

    def __init__(self, name, opt, state, positions, tables=None):
        self.name, self._opt, self._state, self.positions = name, opt, state, positions
        self._tables = tables

    def _materialise(self):
        if self._opt is None:
            self._opt, self._state = map_codes(*self._tables)

    @property
    def opt(self):
        self._materialise()
        return self._opt

    @property
    def state(self):
        self._materialise()
        return self._state

    def accumulate(self, g, w, G):
        K = len(self.positions)
        values = np.ascontiguousarray(self.positions, dtype=np.float64)
        if self._opt is None:
            return tabulate_codes(*self._tables, g, w, G, K, values)
        return accumulate(self._opt, self._state, g, w, G, K, values)


def _lookup(sorted_keys, values, fill):
    """Index of each value in ``sorted_keys`` (float), ``fill`` where absent or NaN."""
    idx = np.searchsorted(sorted_keys, values)
    idx = np.clip(idx, 0, max(len(sorted_keys) - 1, 0))
    hit = sorted_keys[idx] == values if len(sorted_keys) else np.zeros(values.shape, dtype=bool)
    return np.where(hit, idx, fill), hit


def _encode(df, var, meta, prof, *, positions, missing, system_missing, src):
    """Encode one question variable (text or numeric codes)."""
    if var not in df.columns:
        raise ValueError(f"variable {var!r} is not a column of {src}.")
    col = df[var]
    sys_kind = _SYSTEM_MISSING[system_missing]
    pos_map = positions.get(var) if positions else None
    miss_map = missing.get(var) if isinstance(missing, dict) and var in missing else None
    if is_text(col):
        return _encode_text(col, var, pos_map, miss_map, sys_kind, src)
    vals = np.ascontiguousarray(col.to_numpy(dtype=np.float64, na_value=np.nan))
    uniq, lo, hi, fast = _distinct_codes(vals)
    opt_pos, u_opt, u_state = numeric_options(var, uniq, meta, prof, pos_map, miss_map, src)
    if fast:
        size = max(int(hi - lo) + 1, 1) if hi >= lo else 1
        table_opt = np.full(size, -1, dtype=np.int64)
        table_state = np.full(size, STRUCTURAL, dtype=np.int8)
        t = (uniq - lo).astype(np.int64)
        table_opt[t] = u_opt
        table_state[t] = u_state
        return _Encoded(var, None, None, opt_pos,
                        tables=(vals, lo if hi >= lo else 0.0, table_opt, table_state, sys_kind))
    sidx, shit = _lookup(uniq, vals, 0)
    opt = np.where(shit, u_opt[sidx] if uniq.size else -1, -1).astype(np.int64)
    state = np.where(shit, u_state[sidx] if uniq.size else 0, sys_kind).astype(np.int8)
    return _Encoded(var, opt, state, opt_pos)


def numeric_options(var, uniq, meta, prof, pos_map, miss_map, src):
    """Options of a numeric variable from its distinct values and metadata.

    Returns the option positions, and the option index (-1: none) and state
    of each distinct value in ``uniq`` (sorted).
    """
    code_rule = prof.code_rule if prof is not None else None
    labels = meta.value_labels.get(var, {})
    label_codes = np.array([float(k) for k in labels if not isinstance(k, str)], dtype=np.float64)
    every = np.union1d(uniq, label_codes)
    states_all = classify_values(every, variable=var, meta=meta, code_rule=code_rule, missing=miss_map)
    if code_rule is None and pos_map is None:
        states_all = _flag_missing_like(var, every, states_all, uniq, labels, miss_map, src)
    sst = states_all[np.searchsorted(every, uniq)] if uniq.size else np.zeros(0, dtype=np.int8)
    codes, pos = _option_codes(var, every, states_all, uniq[sst == VALID], pos_map, src)
    return _code_options(codes, pos, uniq, sst)


def _encode_text(col, var, pos_map, miss_map, sys_kind, src):
    """Text answers: labels classified by their wording, positions from ``positions`` or the category order."""
    cat_order = None
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
        cat_order = [str(c) for c in col.cat.categories]
    vals = col.astype(object).to_numpy()
    notna = pd.notna(vals)
    uniq = pd.unique(vals[notna])
    states = classify_labels([str(u) for u in uniq], variable=var, missing=miss_map)
    valid = [str(u) for u, st in zip(uniq, states) if st == VALID]
    if pos_map is None:
        if cat_order is None:
            raise TypeError(
                f"variable {var!r} in {src} holds text answers; give their ordinal positions "
                f"with `positions={{{var!r}: {{label: position, ...}}}}`."
            )
        ordinal = [c for c in cat_order if classify_labels([c], variable=var, missing=miss_map)[0] == VALID]
        pos_map = {lab: float(i + 1) for i, lab in enumerate(ordinal)}
    items = pos_map.items() if isinstance(pos_map, dict) else ((k, i + 1) for i, k in enumerate(pos_map))
    pos_map = {str(k): float(v) for k, v in items}
    unknown = sorted(set(valid) - set(pos_map))
    if unknown:
        raise ValueError(
            f"variable {var!r} in {src}: answers {unknown[:5]} are neither declared missing nor "
            "given a position in `positions`."
        )
    fin = {k: p for k, p in pos_map.items() if np.isfinite(p)}
    opt_pos = np.unique(np.array(list(fin.values()), dtype=np.float64))
    c, u = pd.factorize(pd.Series(vals, dtype=object).map(str).where(notna, None), use_na_sentinel=True)
    state_of = dict(zip((str(x) for x in uniq), states))
    u_state = np.array([state_of[str(x)] for x in u], dtype=np.int8)
    u_opt = np.array([int(np.searchsorted(opt_pos, fin[str(x)])) if str(x) in fin else -1 for x in u],
                     dtype=np.int64)
    u_state = np.where((u_state == VALID) & (u_opt < 0), STRUCTURAL, u_state).astype(np.int8)
    u_opt = np.where(u_state == VALID, u_opt, -1)
    c = np.asarray(c, dtype=np.int64)
    has = c >= 0
    opt = np.full(len(vals), -1, dtype=np.int64)
    state = np.full(len(vals), sys_kind, dtype=np.int8)
    opt[has] = u_opt[c[has]]
    state[has] = u_state[c[has]]
    return _Encoded(var, opt, state, opt_pos)


def _distinct_codes(vals):
    """Sorted distinct values, their range and whether integer lookup tables apply."""
    pres, fast = window_presence(vals)
    if fast:  # integer codes in the usual window: distinct values from one counting pass
        uniq = WINDOW_LO + pres.astype(np.float64)
        lo, hi = (float(uniq[0]), float(uniq[-1])) if uniq.size else (0.0, -1.0)
        return uniq, lo, hi, True
    lo, hi, integer, _has_nan = scan_codes(vals)
    if integer and hi - lo < 1_000_000:
        size = int(hi - lo) + 1 if hi >= lo else 0
        pres = code_presence(vals, lo, size) if size else np.zeros(0, dtype=np.int64)
        return lo + np.flatnonzero(pres).astype(np.float64), lo, hi, True
    return np.sort(pd.unique(vals[~np.isnan(vals)])), lo, hi, False


_PATTERN_CODES = (7.0, 8.0, 9.0, 77.0, 88.0, 99.0, 777.0, 888.0, 999.0)
#: Distinct values up to which an unlabelled numeric variable is taken for a coded scale.
_SCALE_MAX_CODES = 20


def _flag_missing_like(var, every, states, present, labels, miss_map, src):
    """Leave out (with a warning) valid-looking values that look like missing codes.

    Applies to variables without a profile code rule: negative codes; 7/8/9,
    77/88/99, 777/888/999 above every other value of a short integer scale;
    unlabelled codes outside the range of the labelled valid codes.
    """
    declared = {float(k) for k in (miss_map or {})}
    valid = (states == VALID) & ~np.isin(every, list(declared))
    cand = every[valid & np.isin(every, present)]
    if cand.size == 0:
        return states
    labelled = {float(k) for k, lab in labels.items() if not isinstance(k, str)}
    labelled_valid = np.array(sorted(labelled & set(every[states == VALID].tolist())), dtype=np.float64)
    integer = bool(np.all(cand == np.floor(cand)))
    flagged = set()
    if labelled_valid.size >= 2:
        lo, hi = labelled_valid.min(), labelled_valid.max()
        flagged |= {float(v) for v in cand if v not in labelled and (v < lo or v > hi)}
    elif integer and cand.size <= _SCALE_MAX_CODES:
        flagged |= {float(v) for v in cand if v < 0}
        rest = [v for v in cand if v not in _PATTERN_CODES and v >= 0]
        top = max(rest) if rest else None
        if top is not None:
            flagged |= {float(v) for v in cand if v in _PATTERN_CODES and v > top
                        and len(str(int(v))) >= len(str(int(top)))}
    if not flagged:
        return states
    codes = sorted(flagged)
    warnings.warn(
        f"variable {var!r} in {src}: values {[f'{c:g}' for c in codes]} look like missing codes "
        "(negative, 7/8/9-type codes beyond the scale or outside the labelled range) and are left out "
        f"of the answers; declare them with missing={{{var!r}: {{code: 'nonresponse' | 'structural' | "
        "'valid'}} to silence this.",
        DataPolicyWarning, stacklevel=6,
    )
    out = states.copy()
    out[np.isin(every, codes)] = STRUCTURAL
    return out


def _option_codes(var, every, states_all, valid_codes, pos_map, src):
    """Codes that are options and their positions (``positions`` or the codes themselves)."""
    if pos_map is None:
        codes = every[states_all == VALID]
        return codes, codes.copy()
    if isinstance(pos_map, dict):
        codes = np.array([float(k) for k in pos_map], dtype=np.float64)
        pos = np.array([float(v) for v in pos_map.values()], dtype=np.float64)
    else:
        codes = np.asarray(pos_map, dtype=np.float64)
        pos = codes.copy()
    unknown = np.setdiff1d(valid_codes, codes)
    if unknown.size:
        raise ValueError(
            f"variable {var!r} in {src}: codes {unknown[:5].tolist()} are neither missing codes "
            "nor options listed in `positions`."
        )
    return codes, pos


def _code_options(codes, pos, uniq, sst):
    """Option positions, and the option index and state of each distinct value.

    Options are the distinct finite positions (codes sharing a position are
    merged); codes with a NaN position (non-ordinal) are structural.
    """
    keep = np.isfinite(pos)
    opt_codes = codes[keep]
    opt_pos, code_opt = np.unique(pos[keep], return_inverse=True)
    code_sort = np.argsort(opt_codes)
    sorted_codes = opt_codes[code_sort]
    if uniq.size:
        i_opt, hit = _lookup(sorted_codes, uniq, -1)
        u_opt = np.where(hit, code_opt[code_sort[np.clip(i_opt, 0, None)]], -1).astype(np.int64)
    else:
        u_opt = np.zeros(0, dtype=np.int64)
    u_state = np.where((sst == VALID) & (u_opt < 0), STRUCTURAL, sst).astype(np.int8)
    u_opt = np.where(u_state == VALID, u_opt, -1)
    return opt_pos, u_opt, u_state


def _combine_indicators(df, concept, spec, meta, prof, *, positions, missing, system_missing, src):
    """Encode a multi-indicator concept: weighted mean of the valid indicator positions per respondent."""
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"indicators[{concept!r}] must be a non-empty {{variable: weight}} mapping.")
    num = np.zeros(len(df))
    den = np.zeros(len(df))
    any_nr = np.zeros(len(df), dtype=bool)
    all_pos = []
    for var, wt in spec.items():
        if not (isinstance(wt, numbers.Real) and wt > 0):
            raise ValueError(f"indicators[{concept!r}][{var!r}] must be a positive weight, got {wt!r}.")
        e = _encode(df, var, meta, prof, positions=positions, missing=missing,
                    system_missing=system_missing, src=src)
        valid = e.opt >= 0
        num[valid] += wt * e.positions[e.opt[valid]]
        den[valid] += wt
        any_nr |= e.state == NONRESPONSE
        all_pos.append(e.positions)
    value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    # snap rounding noise (e.g. (w * 9) / w) back onto the indicators' positions
    base = np.unique(np.concatenate(all_pos))
    if base.size:
        near = np.clip(np.searchsorted(base, value), 1, base.size - 1) if base.size > 1 else np.zeros(value.shape, dtype=np.int64)
        cand = np.stack([base[near - 1], base[near]]) if base.size > 1 else base[near][None, :]
        best = cand[np.argmin(np.abs(cand - value[None, :]), axis=0), np.arange(value.size)]
        value = np.where(np.abs(best - value) <= 1e-9 * np.maximum(1.0, np.abs(value)), best, value)
    state = np.where(den > 0, VALID, np.where(any_nr, NONRESPONSE, STRUCTURAL)).astype(np.int8)
    opts = np.union1d(base, value[den > 0])
    idx, hit = _lookup(opts, value, -1)
    opt = np.where(hit & (den > 0), idx, -1).astype(np.int64)
    return _Encoded(concept, opt, state, opts)


def encode_all(df, variables, meta, prof, *, positions, missing, indicators, system_missing, src):
    """Encode every question variable or multi-indicator concept (per-question path)."""
    if system_missing not in _SYSTEM_MISSING:
        raise ValueError(f"`system_missing` must be one of {tuple(_SYSTEM_MISSING)}, got {system_missing!r}.")
    if positions is not None and not isinstance(positions, dict):
        raise TypeError("`positions` must be a dict {variable: {code: position}}.")
    indicators = indicators or {}
    out = []
    for var in variables:
        if var in indicators:
            out.append(_combine_indicators(df, var, indicators[var], meta, prof, positions=positions,
                                           missing=missing, system_missing=system_missing, src=src))
        else:
            out.append(_encode(df, var, meta, prof, positions=positions, missing=missing,
                               system_missing=system_missing, src=src))
    return out


def default_variables(data, variables):
    """Question variables named by the caller, or a synthetic survey's questions."""
    if variables is not None:
        vs = as_list(variables, "variables")
        if not vs:
            raise ValueError("`variables` is empty; name at least one question variable.")
        return vs
    qs = getattr(data, "questions", None)
    if qs:
        return list(qs)
    raise ValueError("`variables` is required: name the question variables to tabulate.")


