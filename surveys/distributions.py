"""Weighted opinion distributions and means by country and socio-demographic group.

The entry points :func:`distributions` and :func:`means` take coded
microdata (a DataFrame, a :class:`surveys.SurveyData` from the readers, or a
synthetic survey), classify every answer (valid option / item nonresponse /
structural missing, see :mod:`surveys._codes`), and return tidy frames in the
format of :func:`alignstat.align`: the group columns, ``question``,
``option`` (ordinal position) and ``prob`` -- or ``mean`` -- plus

* ``n`` -- respondents of the group with a valid answer (unweighted);
* ``n_weighted`` -- their summed weight;
* ``n_eff`` -- Kish's effective sample size ``(sum w)^2 / sum w^2``;
* ``nonresponse`` -- weighted share of item nonresponse (don't know,
  refusal, no answer) among valid answers plus nonresponse, as OpinionQA
  reports refusals; structural missings are in neither;
* ``small_cell`` -- ``n < min_n`` (30 by default, after NCHS);
* ``se`` (on request) -- design-based bootstrap standard error.

Groups are encoded once as integer codes and all groups x options are
summed with ``numpy.bincount`` (no per-group Python loop).  Standard errors
re-weight *all* respondents with replicate factors and recompute each
group's estimate (domain estimation, as ``svyby`` does).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from alignstat._warnings import SmallCellWarning
from alignstat.resampling import MultinomialScheme, PoissonScheme, ReplicateScheme

from ._codes import NONRESPONSE, STRUCTURAL, VALID, classify_labels, classify_values, is_text
from ._meta import SurveyData, SurveyMeta
from ._kernels import (
    WINDOW_LO, accumulate, code_presence, map_codes, scan_codes, tabulate_codes, window_presence,
)
from .design import CantyDavisonScheme, RaoWuScheme
from .profiles import build_factor, get_profile

__all__ = ["distributions", "means", "responses", "replicate_scheme"]

_RESERVED = frozenset(
    {
        "question", "option", "prob", "count", "weight", "label", "key", "status", "reason",
        "repairs", "source", "n", "n_weighted", "n_eff", "nonresponse", "small_cell", "se",
        "mean", "raw", "text", "agreement", "refusal_rate", "n_samples", "n_valid",
    }
)
_SE_METHODS = ("rao-wu", "canty-davison", "multinomial", "poisson")
_SYSTEM_MISSING = {"structural": STRUCTURAL, "nonresponse": NONRESPONSE}


# ---------------------------------------------------------------------------
# input resolution
# ---------------------------------------------------------------------------
def _resolve(data, profile):
    if isinstance(data, SurveyData):
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


def _weights(df, weight, prof, src):
    """Weights as float64 (n,), and the name used."""
    n = len(df)
    if weight is False:
        return np.ones(n), None
    if weight is None:
        name = prof.column(df, "weight") if prof is not None else None
        if name is None:
            return np.ones(n), None
        weight = name
    if isinstance(weight, str):
        if weight not in df.columns:
            raise ValueError(
                f"weight column {weight!r} is not in {src} (it has {df.shape[1]} columns); "
                "pass `weight=` the name of a weight column, or `weight=False` for unweighted shares."
            )
        col = df[weight]
        if not pd.api.types.is_numeric_dtype(col):
            raise TypeError(f"weight column {weight!r} in {src} must be numeric, got {col.dtype}.")
        w = col.to_numpy(dtype=np.float64)
        name = weight
    else:
        w = np.asarray(weight, dtype=np.float64)
        name = "weight"
        if w.shape != (n,):
            raise ValueError(f"`weight` must have one value per respondent ({n}), got shape {w.shape}.")
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(
            f"weight column {name!r} in {src} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at row {int(np.flatnonzero(bad)[0])}); weights must be finite."
        )
    if (w < 0).any():
        raise ValueError(
            f"weight column {name!r} in {src} has {int((w < 0).sum())} negative value(s) "
            f"(smallest {w.min():g}); weights must be non-negative."
        )
    if not w.sum() > 0:
        raise ValueError(f"weight column {name!r} in {src} sums to zero; weights must have a positive sum.")
    return w, name


def _as_list(x, name):
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


def _groups(df, by, missing_group, src):
    """Group code per respondent (-1: excluded) and the frame of group keys."""
    n = len(df)
    if not by:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1))
    codes, uniques = [], []
    for col in by:
        if col in _RESERVED:
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


def _derive_groups(df, by, meta, prof):
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
    if var not in df.columns:
        raise ValueError(f"variable {var!r} is not a column of {src}.")
    col = df[var]
    sys_kind = _SYSTEM_MISSING[system_missing]
    pos_map = positions.get(var) if positions else None
    miss_map = missing.get(var) if isinstance(missing, dict) and var in missing else None
    n = len(col)
    if is_text(col):
        cat_order = None
        if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
            cat_order = [str(c) for c in col.cat.categories]
        vals = col.astype(object).to_numpy()
        notna = pd.notna(vals)
        uniq = pd.unique(vals[notna])
        states = classify_labels([str(u) for u in uniq], variable=var, missing=miss_map)
        valid = [str(u) for u, s in zip(uniq, states) if s == VALID]
        if pos_map is None:
            if cat_order is None:
                raise TypeError(
                    f"variable {var!r} in {src} holds text answers; give their ordinal positions "
                    f"with `positions={{{var!r}: {{label: position, ...}}}}`."
                )
            pos_map = {lab: float(i + 1) for i, lab in enumerate(
                c for c in cat_order if classify_labels([c], variable=var, missing=miss_map)[0] == VALID)}
        pos_map = {str(k): float(v) for k, v in (pos_map.items() if isinstance(pos_map, dict)
                                                  else ((k, i + 1) for i, k in enumerate(pos_map)))}
        unknown = sorted(set(valid) - set(pos_map))
        if unknown:
            raise ValueError(
                f"variable {var!r} in {src}: answers {unknown[:5]} are neither declared missing nor "
                "given a position in `positions`."
            )
        fin = {k: p for k, p in pos_map.items() if np.isfinite(p)}
        opt_pos = np.unique(np.array(list(fin.values()), dtype=np.float64))
        c, u = pd.factorize(pd.Series(vals, dtype=object).map(str).where(notna, None),
                            use_na_sentinel=True)
        state_of = dict(zip((str(x) for x in uniq), states))
        u_state = np.array([state_of[str(x)] for x in u], dtype=np.int8)
        u_opt = np.array([int(np.searchsorted(opt_pos, fin[str(x)])) if str(x) in fin else -1 for x in u],
                         dtype=np.int64)
        u_state = np.where((u_state == VALID) & (u_opt < 0), STRUCTURAL, u_state).astype(np.int8)
        u_opt = np.where(u_state == VALID, u_opt, -1)
        c = np.asarray(c, dtype=np.int64)
        has = c >= 0
        opt = np.full(n, -1, dtype=np.int64)
        state = np.full(n, sys_kind, dtype=np.int8)
        opt[has] = u_opt[c[has]]
        state[has] = u_state[c[has]]
        return _Encoded(var, opt, state, opt_pos)

    vals = np.ascontiguousarray(col.to_numpy(dtype=np.float64, na_value=np.nan))
    pres, fast = window_presence(vals)
    if fast:  # integer codes in the usual window: distinct values from one counting pass
        uniq = WINDOW_LO + pres.astype(np.float64)
        lo, hi = (float(uniq[0]), float(uniq[-1])) if uniq.size else (0.0, -1.0)
    else:
        lo, hi, integer, _has_nan = scan_codes(vals)
        fast = integer and hi - lo < 1_000_000
        if fast:
            size = int(hi - lo) + 1 if hi >= lo else 0
            pres = code_presence(vals, lo, size) if size else np.zeros(0, dtype=np.int64)
            uniq = lo + np.flatnonzero(pres).astype(np.float64)
        else:
            uniq = np.sort(pd.unique(vals[~np.isnan(vals)]))
    code_rule = prof.code_rule if prof is not None else None
    labels = meta.value_labels.get(var, {})
    label_codes = np.array([float(k) for k in labels if not isinstance(k, str)], dtype=np.float64)
    every = np.union1d(uniq, label_codes)
    states_all = classify_values(every, variable=var, meta=meta, code_rule=code_rule, missing=miss_map)
    su = np.asarray(uniq, dtype=np.float64)
    sst = states_all[np.searchsorted(every, su)] if su.size else np.zeros(0, dtype=np.int8)
    valid_codes = su[sst == VALID]
    if pos_map is not None:
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
    else:
        codes = every[states_all == VALID]
        pos = codes.copy()
    keep = np.isfinite(pos)
    opt_codes = codes[keep]
    # options are the distinct positions: codes sharing a position are merged into one option
    opt_pos, code_opt = np.unique(pos[keep], return_inverse=True)
    code_sort = np.argsort(opt_codes)
    sorted_codes = opt_codes[code_sort]
    # option index and state of each distinct value; NaN-position (non-ordinal) codes are excluded
    if su.size:
        i_opt, hit = _lookup(sorted_codes, su, -1)
        u_opt = np.where(hit, code_opt[code_sort[np.clip(i_opt, 0, None)]], -1).astype(np.int64)
    else:
        u_opt = np.zeros(0, dtype=np.int64)
    u_state = np.where((sst == VALID) & (u_opt < 0), STRUCTURAL, sst).astype(np.int8)
    u_opt = np.where(u_state == VALID, u_opt, -1)
    if fast:
        size = max(int(hi - lo) + 1, 1) if hi >= lo else 1
        table_opt = np.full(size, -1, dtype=np.int64)
        table_state = np.full(size, STRUCTURAL, dtype=np.int8)
        t = (su - lo).astype(np.int64)
        table_opt[t] = u_opt
        table_state[t] = u_state
        return _Encoded(var, None, None, opt_pos,
                        tables=(vals, lo if hi >= lo else 0.0, table_opt, table_state, sys_kind))
    else:
        sidx, shit = _lookup(su, vals, 0)
        opt = np.where(shit, u_opt[sidx] if su.size else -1, -1).astype(np.int64)
        state = np.where(shit, u_state[sidx] if su.size else 0, sys_kind).astype(np.int8)
    return _Encoded(var, opt, state, opt_pos)


def _combine_indicators(df, concept, spec, meta, prof, *, positions, missing, system_missing, src):
    """A multi-indicator concept: weighted mean of the valid indicator positions per respondent."""
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


def _encode_all(df, variables, meta, prof, *, positions, missing, indicators, system_missing, src):
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


def _default_variables(data, variables):
    if variables is not None:
        vs = _as_list(variables, "variables")
        if not vs:
            raise ValueError("`variables` is empty; name at least one question variable.")
        return vs
    qs = getattr(data, "questions", None)
    if qs:
        return list(qs)
    raise ValueError("`variables` is required: name the question variables to tabulate.")


# ---------------------------------------------------------------------------
# replicate schemes
# ---------------------------------------------------------------------------
def _column_or_array(df, x, name, src):
    if x is None:
        return None
    if isinstance(x, str):
        if x not in df.columns:
            raise ValueError(f"{name} column {x!r} is not in {src}.")
        return df[x].reset_index(drop=True)
    arr = pd.Series(np.asarray(x))
    if len(arr) != len(df):
        raise ValueError(f"`{name}` must have one value per respondent ({len(df)}), got {len(arr)}.")
    return arr


def _scheme(standard_errors, df, prof, *, strata, psu, singleton, src):
    n = len(df)
    if isinstance(standard_errors, ReplicateScheme):
        if standard_errors.n_units != n:
            raise ValueError(
                f"the replicate scheme covers {standard_errors.n_units} respondents but {src} has {n}."
            )
        return standard_errors
    if standard_errors not in _SE_METHODS:
        raise ValueError(
            f"`standard_errors` must be one of {_SE_METHODS}, a ReplicateScheme or None, "
            f"got {standard_errors!r}."
        )
    if standard_errors == "multinomial":
        return MultinomialScheme(n)
    if standard_errors == "poisson":
        return PoissonScheme(n)
    s = _column_or_array(df, strata if strata is not None else (prof.column(df, "strata") if prof else None),
                         "strata", src)
    p = _column_or_array(df, psu if psu is not None else (prof.column(df, "psu") if prof else None),
                         "psu", src)
    if p is None:
        raise ValueError(
            f"`standard_errors={standard_errors!r}` needs the primary sampling units: pass `psu=` "
            "(a column name; use a respondent id when the design has no clusters)."
        )
    country = prof.column(df, "country") if prof is not None else None
    if prof is not None and country is not None and strata is None:
        # pooled countries: strata are country x stratum; no stratum column: the country is the stratum
        c = df[country].astype(str).reset_index(drop=True)
        s = c if s is None else c + "\x1f" + s.astype(str)
    cls = RaoWuScheme if standard_errors == "rao-wu" else CantyDavisonScheme
    return cls(s, p, singleton=singleton)


def replicate_scheme(data, method="rao-wu", *, strata=None, psu=None, singleton="fail", profile=None):
    """Replicate scheme for a survey, ready for :func:`alignstat.bootstrap.bootstrap_alignment`.

    Parameters
    ----------
    data : DataFrame, SurveyData or SyntheticSurvey
    method : {"rao-wu", "canty-davison", "multinomial", "poisson"}
    strata, psu : str or array_like, optional
        Design columns; by default the profile's (ESS ``stratum``/``psu``
        within ``cntry``; WVS7: country as stratum, ``I_PSU`` as PSU).
    singleton : {"fail", "collapse", "certainty"}
    profile : str or Profile, optional

    Returns
    -------
    alignstat.ReplicateScheme
        Over the rows of ``data`` in their order (the rows of
        :func:`surveys.responses`).

    Examples
    --------
    >>> import surveys
    >>> s = surveys.make_ess(2_000, 3, 5, rng=0)
    >>> surveys.replicate_scheme(s).n_units
    2000
    """
    df, _meta, prof, src = _resolve(data, profile)
    return _scheme(method, df, prof, strata=strata, psu=psu, singleton=singleton, src=src)


def _replicate_se(scheme, rng, n_replicates, w, targets, *, chunk_bytes=64 << 20):
    """Bootstrap SEs of ratio estimates, all targets sharing the same replicates.

    ``targets`` is a list of ``(numer_fn, denom_fn, est)``: ``numer_fn(RW)``
    and ``denom_fn(RW)`` map replicate weights ``(r, n)`` to ``(r, m)`` and
    the estimate in a replicate is their ratio.  Replicate factors are drawn
    once per chunk and reused for every target, so all questions and groups
    are evaluated on the same replicate weights (as with shipped replicate
    weights).  Returns, per target, the SE around the mean of the replicates
    (R ``survey``'s default ``mse = FALSE``; deviations are accumulated from
    the full-sample estimate for numerical stability), NaN where fewer than
    two replicates are defined, and the number of
    replicates in which each estimate was defined.
    """
    R = int(n_replicates)
    if R < 2:
        raise ValueError(f"`n_replicates` must be at least 2, got {n_replicates!r}.")
    n = w.shape[0]
    step = max(1, min(R, chunk_bytes // max(8 * n, 1)))
    acc = [(np.zeros_like(est), np.zeros_like(est), np.zeros(est.shape, dtype=np.int64)) for _, _, est in targets]
    reset = getattr(scheme, "reset", None)
    if callable(reset):
        reset()
    done = 0
    while done < R:
        r = min(step, R - done)
        F = scheme.factors(rng, r)
        if F.shape != (r, n):
            raise ValueError(f"replicate scheme returned factors of shape {F.shape}, expected {(r, n)}.")
        RW = F * w[None, :]
        for (numer_fn, denom_fn, est), (s1, s2, m) in zip(targets, acc):
            num = numer_fn(RW)
            den = denom_fn(RW)
            with np.errstate(invalid="ignore", divide="ignore"):
                th = num / den
            ok = np.isfinite(th)
            d = np.where(ok, th - est[None, :], 0.0)
            s1 += d.sum(axis=0)
            s2 += (d * d).sum(axis=0)
            m += ok.sum(axis=0)
        done += r
    out = []
    for (_, _, est), (s1, s2, m) in zip(targets, acc):
        var = np.full(est.shape, np.nan)
        good = m >= 2
        ss = s2[good] - s1[good] ** 2 / m[good]
        scales = {int(k): scheme.variance_scale(int(k)) for k in np.unique(m[good])}
        var[good] = np.maximum(ss, 0.0) * np.array([scales[int(k)] for k in m[good]])
        out.append((np.sqrt(var), m))
    return out


# ---------------------------------------------------------------------------
# core tabulation
# ---------------------------------------------------------------------------
def _check_common(min_n, on_empty):
    if not (isinstance(min_n, numbers.Integral) and min_n >= 0):
        raise ValueError(f"`min_n` must be a non-negative integer, got {min_n!r}.")
    if on_empty not in ("raise", "drop"):
        raise ValueError(f"`on_empty` must be 'raise' or 'drop', got {on_empty!r}.")


def _group_stats(e, g, w, G):
    valid = (e.opt >= 0) & (g >= 0)
    gv, wv = g[valid], w[valid]
    n = np.bincount(gv, minlength=G)
    sw = np.bincount(gv, weights=wv, minlength=G)
    sw2 = np.bincount(gv, weights=wv * wv, minlength=G)
    nr = (e.state == NONRESPONSE) & (g >= 0)
    wnr = np.bincount(g[nr], weights=w[nr], minlength=G)
    nstruct = np.bincount(g[(e.state == STRUCTURAL) & (g >= 0)], minlength=G)
    nnr = np.bincount(g[nr], minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        neff = np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1), 0.0)
        nonresp = np.where(sw + wnr > 0, wnr / np.where(sw + wnr > 0, sw + wnr, 1), np.nan)
    return valid, n, sw, neff, nonresp, nnr, nstruct


def _empty_groups(e, keys, n, sw, nnr, nstruct, on_empty):
    empty = sw <= 0
    if empty.any() and on_empty == "raise":
        i = int(np.flatnonzero(empty)[0])
        key = keys.iloc[i].to_dict() if keys.shape[1] else "all respondents"
        raise ValueError(
            f"question {e.name!r}: group {key} has no valid answers "
            f"({int(n[i])} with zero weight, {int(nnr[i])} nonresponse, {int(nstruct[i])} structural "
            f"missing) -- {int(empty.sum())} such group(s); pass `on_empty='drop'` to leave them out."
        )
    return ~empty


def distributions(
    data,
    *,
    variables=None,
    by=None,
    weight=None,
    profile=None,
    positions=None,
    missing=None,
    indicators=None,
    missing_group=None,
    system_missing="structural",
    min_n=30,
    on_empty="raise",
    standard_errors=None,
    strata=None,
    psu=None,
    singleton="fail",
    n_replicates=500,
    rng=None,
):
    """Weighted option shares of survey questions per group, in tidy form.

    Parameters
    ----------
    data : DataFrame, SurveyData or SyntheticSurvey
        Coded microdata, one row per respondent.  Metadata (value labels,
        missing declarations) and the profile travel with a ``SurveyData``.
    variables : str or list of str
        Question variables (default: a synthetic survey's questions).
    by : str or list of str, optional
        Grouping columns; several columns give their intersections.  Only
        combinations that occur are returned.  With a profile, ``"country"``
        and the profile's readable factors (``"gender"``, ``"generation"``,
        ``"education"``, ``"income_decile"``, ``"religion"``...) may be named
        even when the data holds only the coded variables.
    weight : str, array_like, None or False
        Weight column.  ``None``: the profile's default analysis weight
        (ESS ``anweight``, WVS ``S018``) when there is a profile, else
        unweighted; ``False``: unweighted.
    profile : str or Profile, optional
        ``"wvs7"``, ``"wvs_ts"`` or ``"ess"`` (overrides the data's profile).
    positions : dict, optional
        ``{variable: {code: position}}`` (or a list of valid codes) fixing
        the options and their ordinal positions -- for reversed scales, text
        answers, or to exclude a non-ordinal option (position NaN).  By
        default the position is the numeric code.
    missing : dict, optional
        ``{variable: {code: "nonresponse" | "structural" | "valid"}}``
        explicit states (highest precedence).
    indicators : dict, optional
        ``{concept: {variable: weight}}`` multi-indicator concepts (e.g. the
        ESS split-ballot items); a concept named in ``variables`` is the
        weighted mean of its valid indicator positions per respondent.
    missing_group : str, optional
        Label for respondents with a missing group value; by default they
        are left out of every group.
    system_missing : {"structural", "nonresponse"}
        How to count NaN cells whose cause is unknown.
    min_n : int, default 30
        ``small_cell`` is ``n < min_n``.
    on_empty : {"raise", "drop"}
        A group with no valid answer to a question: raise (naming the
        question and group) or leave it out.
    standard_errors : {"rao-wu", "canty-davison", "multinomial", "poisson"}, ReplicateScheme or None
        Add a ``se`` column from ``n_replicates`` bootstrap replicates:
        design-based (strata/PSUs from ``strata=``/``psu=`` or the profile;
        pooled countries are strata x country), plain respondent resampling
        (the ESS seed paper's method) or any scheme.
    strata, psu : str or array_like, optional
        Design columns (names or arrays).
    singleton : {"fail", "collapse", "certainty"}
        Strata with one PSU (see :mod:`surveys.design`).
    n_replicates : int, default 500
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``question``, ``option`` (float position),
        ``prob``, ``n``, ``n_weighted``, ``n_eff``, ``nonresponse``,
        ``small_cell`` and, with standard errors, ``se``.  One row per group
        x question x option (options with no answer get ``prob`` 0).
        ``attrs`` record the weight used and the replicate scheme.

    Warns
    -----
    SmallCellWarning
        When some group's estimate is undefined in some bootstrap replicates
        (the replicate left the group without weight); its SE then uses the
        defined replicates only.

    Notes
    -----
    Share of option ``k`` in group ``g``:
    ``p_gk = sum_{i in g, y_i = k} w_i / sum_{i in g, y_i valid} w_i``;
    ``nonresponse = W_nr / (W_valid + W_nr)``.  The bootstrap SE is
    ``sqrt(c * sum_r (p_r - pbar)^2)`` around the mean ``pbar`` of the
    replicates (R ``survey``'s default, ``mse = FALSE``)
    with the scheme's variance scale ``c`` (``1/(R-1)`` for Rao--Wu).

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"q": [1, 2, 2, 8], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> d = surveys.distributions(df, variables="q", weight="w", missing={"q": {8: "nonresponse"}})
    >>> d[["option", "prob", "n", "nonresponse"]].round(3).to_numpy().tolist()
    [[1.0, 0.25, 3.0, 0.2], [2.0, 0.75, 3.0, 0.2]]
    """
    return _tabulate("distributions", **locals())


def means(
    data,
    *,
    variables=None,
    by=None,
    weight=None,
    profile=None,
    positions=None,
    missing=None,
    indicators=None,
    missing_group=None,
    system_missing="structural",
    min_n=30,
    on_empty="raise",
    standard_errors=None,
    strata=None,
    psu=None,
    singleton="fail",
    n_replicates=500,
    rng=None,
):
    """Weighted mean ordinal position of survey questions per group, in tidy form.

    Parameters are those of :func:`distributions`.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``question``, ``mean`` (weighted mean position of
        the valid answers), ``n``, ``n_weighted``, ``n_eff``,
        ``nonresponse``, ``small_cell`` and, with standard errors, ``se``.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"q": [1, 2, 2, 8], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> m = surveys.means(df, variables="q", weight="w", missing={"q": {8: "nonresponse"}})
    >>> float(m["mean"].iloc[0])
    1.75
    """
    return _tabulate("means", **locals())


def _tabulate(what, data, *, variables, by, weight, profile, positions, missing, indicators,
              missing_group, system_missing, min_n, on_empty, standard_errors, strata, psu,
              singleton, n_replicates, rng):
    df, meta, prof, src = _resolve(data, profile)
    _check_common(min_n, on_empty)
    if indicators is None:
        indicators = getattr(data, "indicators", None) or None
    variables = _default_variables(data, variables)
    by = _as_list(by, "by")
    dup = set(by) & set(variables)
    if dup:
        raise ValueError(f"columns {sorted(dup)} are both grouping columns and question variables.")
    w, wname = _weights(df, weight, prof, src)
    df = _derive_groups(df, by, meta, prof)
    g, keys = _groups(df, by, missing_group, src)
    G = len(keys)
    enc = _encode_all(df, variables, meta, prof, positions=positions, missing=missing,
                      indicators=indicators, system_missing=system_missing, src=src)
    scheme = None
    if standard_errors is not None:
        scheme = _scheme(standard_errors, df, prof, strata=strata, psu=psu, singleton=singleton, src=src)
        rng = np.random.default_rng(rng)

    cols = {k: [] for k in ("question", "option", "prob", "mean", "n", "n_weighted", "n_eff",
                            "nonresponse", "se")}
    rep_all = []
    qnames = []
    targets = []
    g = np.ascontiguousarray(g, dtype=np.int64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    for qi, e in enumerate(enc):
        K = len(e.positions)
        cell, sw, sw2, swv, n, wnr, nnr, nstruct = e.accumulate(g, w, G)
        keep = _empty_groups(e, keys, n, sw, nnr, nstruct, on_empty)
        gk = np.flatnonzero(keep)
        with np.errstate(invalid="ignore", divide="ignore"):
            neff = np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1.0), 0.0)
            nonresp = np.where(sw + wnr > 0, wnr / np.where(sw + wnr > 0, sw + wnr, 1.0), np.nan)
        if what == "distributions":
            prob = cell.reshape(G, K)[gk] / sw[gk, None]
            est = prob.ravel()
            rep_g = np.repeat(gk, K)
            cols["option"].append(np.tile(e.positions, gk.size))
            cols["prob"].append(est)
        else:
            est = swv[gk] / sw[gk]
            rep_g = gk
            cols["mean"].append(est)
        qnames.append(np.full(rep_g.size, qi, dtype=np.int64))
        rep_all.append(rep_g)
        cols["n"].append(n[rep_g])
        cols["n_weighted"].append(sw[rep_g])
        cols["n_eff"].append(neff[rep_g])
        cols["nonresponse"].append(nonresp[rep_g])
        if scheme is not None:
            valid = (e.opt >= 0) & (g >= 0)
            rows_valid = np.flatnonzero(valid)
            gv, ov = g[valid], e.opt[valid]
            gsel = np.full(G, -1, dtype=np.int64)
            gsel[gk] = np.arange(gk.size)
            gi = gsel[gv]
            inkeep = gi >= 0
            rows, gi2, ov2 = rows_valid[inkeep], gi[inkeep], ov[inkeep]
            nk = gk.size
            Sg = sp.csr_matrix((np.ones(rows.size), (rows, gi2)), shape=(len(w), nk))
            if what == "distributions":
                Sc = sp.csr_matrix((np.ones(rows.size), (rows, gi2 * K + ov2)), shape=(len(w), nk * K))

                def numer(RW, Sc=Sc):
                    return np.asarray((Sc.T @ RW.T).T)

                def denom(RW, Sg=Sg, K=K):
                    return np.repeat(np.asarray((Sg.T @ RW.T).T), K, axis=1)
            else:
                Sm = sp.csr_matrix((e.positions[ov2], (rows, gi2)), shape=(len(w), nk))

                def numer(RW, Sm=Sm):
                    return np.asarray((Sm.T @ RW.T).T)

                def denom(RW, Sg=Sg):
                    return np.asarray((Sg.T @ RW.T).T)

            targets.append((numer, denom, est))
    rep = np.concatenate(rep_all) if rep_all else np.zeros(0, dtype=np.int64)
    qidx = np.concatenate(qnames) if qnames else np.zeros(0, dtype=np.int64)
    data_cols = {}
    if by:
        for col in by:
            data_cols[col] = keys[col].to_numpy()[rep]
    names = np.array([e.name for e in enc], dtype=object)
    data_cols["question"] = names[qidx]
    value_cols = ("option", "prob") if what == "distributions" else ("mean",)
    for c in value_cols + ("n", "n_weighted", "n_eff", "nonresponse"):
        data_cols[c] = np.concatenate(cols[c]) if cols[c] else np.zeros(0)
    data_cols["n"] = data_cols["n"].astype(np.int64)
    data_cols["small_cell"] = data_cols["n"] < min_n
    if scheme is not None:
        res = _replicate_se(scheme, rng, n_replicates, w, targets) if targets else []
        data_cols["se"] = np.concatenate([se for se, _ in res]) if res else np.zeros(0)
        m_valid = np.concatenate([m for _, m in res]) if res else np.zeros(0, dtype=np.int64)
        short = m_valid < int(n_replicates)
        if short.any():
            warnings.warn(
                f"{int(short.sum())} estimate(s) were undefined in some bootstrap replicates "
                f"(a group lost all its weight; fewest defined: {int(m_valid.min())} of "
                f"{int(n_replicates)}); their standard errors use the defined replicates only.",
                SmallCellWarning, stacklevel=3,
            )
    out = pd.DataFrame(data_cols)
    if by:
        for col in by:
            if pd.api.types.is_numeric_dtype(keys[col].dtype):
                out[col] = out[col].astype(keys[col].dtype)
    out.attrs["weight"] = wname
    out.attrs["profile"] = getattr(prof, "name", None)
    if scheme is not None:
        out.attrs["scheme"] = getattr(scheme, "name", type(scheme).__name__)
        out.attrs["n_replicates"] = int(n_replicates)
    return out


# ---------------------------------------------------------------------------
# clean respondent frame
# ---------------------------------------------------------------------------
def responses(
    data,
    *,
    variables=None,
    factors=None,
    profile=None,
    weight=None,
    positions=None,
    missing=None,
    indicators=None,
    missing_group=None,
    system_missing="structural",
):
    """Clean respondent frame: one float position column per question, country, factors, weight.

    Parameters
    ----------
    data : DataFrame, SurveyData or SyntheticSurvey
    variables : list of str, optional
        Question variables or concepts (default: a synthetic survey's questions).
    factors : list of str, optional
        Readable factors to build with the profile's :class:`~surveys.profiles.FactorSpec`
        (default: every factor whose source variable is present).
    profile, weight, positions, missing, indicators, system_missing
        As in :func:`distributions`.
    missing_group : str, optional
        Label for respondents without a valid factor value (default NaN) --
        the ESS seed paper's "missing as its own group".

    Returns
    -------
    pandas.DataFrame
        Question columns (float ordinal position, NaN: no valid answer),
        ``country`` (when the profile names a country column), one column
        per factor (readable strings, NaN where missing) and ``weight``.
    """
    df, meta, prof, src = _resolve(data, profile)
    if indicators is None:
        indicators = getattr(data, "indicators", None) or None
    variables = _default_variables(data, variables)
    enc = _encode_all(df, variables, meta, prof, positions=positions, missing=missing,
                      indicators=indicators, system_missing=system_missing, src=src)
    cols = {}
    for e in enc:
        v = np.full(len(df), np.nan)
        ok = e.opt >= 0
        v[ok] = e.positions[e.opt[ok]]
        cols[e.name] = v
    out = pd.DataFrame(cols, index=df.index)
    if prof is not None:
        ccol = prof.column(df, "country")
        if ccol is not None:
            out["country"] = df[ccol].astype(str).to_numpy(dtype=object)
        specs = prof.factors
        if factors is None:
            names = [f for f, s in specs.items() if s.variable in df.columns]
        else:
            names = _as_list(factors, "factors")
            bad = [f for f in names if f not in specs]
            if bad:
                raise ValueError(
                    f"unknown factor(s) {bad} for profile {prof.name!r}; known: {sorted(specs)}."
                )
        for f in names:
            out[f] = build_factor(df, meta, specs[f], code_rule=prof.code_rule,
                                  missing_group=missing_group).to_numpy()
    elif factors:
        raise ValueError("`factors` needs a survey profile (pass `profile='ess'`, 'wvs7' or 'wvs_ts').")
    w, _ = _weights(df, weight, prof, src)
    out["weight"] = w
    return out.reset_index(drop=True)
