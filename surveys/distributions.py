"""Design-based estimates of survey questions: option shares, means, totals, ratios.

The entry points take coded microdata -- a :class:`surveys.Design`, a
DataFrame, a :class:`surveys.SurveyData` or a synthetic survey -- classify
every answer (valid option / item nonresponse / structural missing, see
:mod:`surveys._codes` and :mod:`surveys.encoding`) and return tidy frames
in the format of :func:`alignstat.align`: the ``by`` columns, ``question``,
the estimate (``prob`` with ``option``, ``mean``, ``total`` or ``ratio``) and

* ``n`` -- respondents of the domain with a valid answer (unweighted);
* ``n_weighted`` -- their summed weight;
* ``n_eff`` -- Kish's effective sample size ``(sum w)^2 / sum w^2``;
* ``nonresponse`` -- weighted share of item nonresponse among valid answers
  plus nonresponse (as OpinionQA reports refusals);
* ``small_cell`` -- ``n < min_n`` (:data:`alignstat.SMALL_CELL_N`);
* with standard errors: ``se``, ``ci_low``, ``ci_high`` (t interval with the
  design's degrees of freedom), ``interval`` (what the interval is) and,
  for replicate methods, ``n_resamples_valid``.

Domains (``by``) are subpopulations of the full design, as R ``svyby``:
linearisation zero-extends influence values and replicates re-weight every
respondent, so a domain's variance keeps the design's strata and PSUs.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from scipy import stats

from alignstat import SMALL_CELL_N, FixedReplicates, ReplicateScheme, SmallCellWarning

from .designs import Design, Targets, design, linearized_se
from .encoding import (
    as_list,
    default_variables,
    derive_groups,
    encode_all,
    groups,
    resolve,
    weights_of,
)
from .profiles import build_factor
from .replicates import _check_n_resamples, jackknife_se, replicate_scheme, replicate_se
from .tabulation import tabulate_table

__all__ = ["distributions", "means", "totals", "ratios", "responses"]

SE_METHODS = ("linearization", "rao-wu", "canty-davison", "jackknife", "replicate")


# ---------------------------------------------------------------------------
# set-up
# ---------------------------------------------------------------------------
class _Setup:
    """Resolved input of one call: frame, metadata, weights, design, SE method."""

    def __init__(self, what, data, weights, profile, se, confidence_level, n_resamples, min_n, on_empty):
        if not (isinstance(min_n, numbers.Integral) and min_n >= 0):
            raise ValueError(f"`min_n` must be a non-negative integer, got {min_n!r}.")
        if on_empty not in ("raise", "drop"):
            raise ValueError(f"`on_empty` must be 'raise' or 'drop', got {on_empty!r}.")
        if not (isinstance(confidence_level, numbers.Real) and 0 < confidence_level < 1):
            raise ValueError(f"`confidence_level` must lie strictly between 0 and 1, got {confidence_level!r}.")
        if isinstance(data, Design):
            if weights is not None:
                raise ValueError("the design carries the weights; build the Design with `weights=` instead.")
            self.design = data
            self.w, self.wname = data.weights, data.weights_name
        else:
            self.design = None
        self.df, self.meta, self.prof, self.src = resolve(data, profile)
        if self.design is None:
            self.w, self.wname = weights_of(self.df, weights, self.prof, self.src)
        if se is None and self.design is not None and what != "distributions":
            se = "linearization"
        if se is not None and not isinstance(se, ReplicateScheme) and se not in SE_METHODS:
            raise ValueError(f"`se` must be one of {SE_METHODS}, a ReplicateScheme or None, got {se!r}.")
        if se is not None and self.design is None and not isinstance(se, ReplicateScheme):
            # a design from the profile (ESS, WVS) or, without one, independent sampling
            if self.prof is not None:
                self.design = design(data, weights=self.w, profile=self.prof)
            else:
                self.design = Design(self.df, weights=self.w)
            self.design.weights_name = self.wname
        if se in ("rao-wu", "canty-davison"):
            n_resamples = _check_n_resamples(n_resamples)
        self.se, self.confidence_level, self.n_resamples = se, confidence_level, n_resamples
        self.min_n, self.on_empty = min_n, on_empty


def _standard_errors(setup, targets, rng):
    """``(se, n_valid or None, df, label)`` of every estimate column."""
    se, des = setup.se, setup.design
    if se == "linearization":
        return linearized_se(des, targets), None, des.df, "linearization"
    if se == "jackknife":
        s, m = jackknife_se(des, targets)
        label = "jackknife (JKn)" if des.has_strata else "jackknife (JK1)"
        return s, m, des.df, label
    if se == "replicate":
        if des.replicate_weights is None:
            raise ValueError("se='replicate' needs a Design built with `replicate_weights=` (replicate weight columns).")
        rw, w = des.replicate_weights, des.weights
        if np.any((w == 0)[:, None] & (rw > 0)):
            raise ValueError("a respondent with zero base weight has a positive replicate weight.")
        mult = np.divide(rw, w[:, None], out=np.zeros_like(rw), where=w[:, None] > 0).T
        scheme = FixedReplicates(mult, scale=des.replicate_scale, name="replicate weights")
        R = scheme.n_replicates
        s, m = replicate_se(scheme, np.random.default_rng(0), R, setup.w, targets)
        return s, m, des.df, f"replicate weights (R={R})"
    rng = np.random.default_rng(rng)
    if isinstance(se, ReplicateScheme):
        if se.n_units != len(setup.w):
            raise ValueError(f"the replicate scheme covers {se.n_units} respondents but {setup.src} has {len(setup.w)}.")
        scheme = se
        df = setup.design.df if setup.design is not None else len(setup.w) - 1
    else:
        scheme = replicate_scheme(des, se)
        df = des.df
    R = _check_n_resamples(getattr(scheme, "n_replicates", None) or setup.n_resamples)
    s, m = replicate_se(scheme, rng, R, setup.w, targets)
    return s, m, df, f"{getattr(scheme, 'name', 'replicate')} bootstrap (R={R})"


def _add_intervals(cols, est, setup, targets, rng):
    s, m, df, label = _standard_errors(setup, targets, rng)
    cl = setup.confidence_level
    q = stats.t.ppf(0.5 + cl / 2, df) if df >= 1 else np.nan
    cols["se"] = s
    cols["ci_low"] = est - q * s
    cols["ci_high"] = est + q * s
    cols["interval"] = np.full(est.size, f"{cl:.0%} t interval (df={df}); se: {label}", dtype=object)
    if m is not None:
        cols["n_resamples_valid"] = m
        R = int(m.max()) if m.size else 0
        short = m < R
        if short.any():
            warnings.warn(
                f"{int(short.sum())} estimate(s) were undefined in some replicates (a domain lost all "
                f"its weight; fewest defined: {int(m.min())} of {R}); their standard errors use the "
                "defined replicates only (column n_resamples_valid).",
                SmallCellWarning, stacklevel=4,
            )
    return df, label


# ---------------------------------------------------------------------------
# tabulation
# ---------------------------------------------------------------------------
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


class _TargetBuilder:
    """Collects numerator / denominator entries of every question and domain."""

    def __init__(self, n):
        self.n = n
        self.nr, self.nc, self.nv = [], [], []
        self.dr, self.dc, self.dv = [], [], []
        self.den_col = []
        self.ncol = 0
        self.nden = 0

    def add(self, rows, num_col, num_val, den_col_of_row, den_val, den_col_of_col, ncols, nden):
        self.nr.append(rows)
        self.nc.append(num_col + self.ncol)
        self.nv.append(num_val)
        if den_col_of_row is not None:
            self.dr.append(rows)
            self.dc.append(den_col_of_row + self.nden)
            self.dv.append(den_val)
            self.den_col.append(den_col_of_col + self.nden)
        self.ncol += ncols
        self.nden += nden

    def build(self, w, totals):
        cat = np.concatenate
        N = sparse.csr_matrix((cat(self.nv), (cat(self.nr), cat(self.nc))), shape=(self.n, self.ncol))
        if totals:
            return Targets(N, None, None, w)
        D = sparse.csr_matrix((cat(self.dv), (cat(self.dr), cat(self.dc))), shape=(self.n, self.nden))
        return Targets(N, D, cat(self.den_col), w)


def _tabulate(what, data, *, variables, by, weights, profile, positions, missing, indicators,
              missing_group, system_missing, min_n, on_empty, se, confidence_level, n_resamples, rng):
    st = _Setup(what, data, weights, profile, se, confidence_level, n_resamples, min_n, on_empty)
    df, meta, prof, src, w = st.df, st.meta, st.prof, st.src, st.w
    if indicators is None:
        indicators = getattr(data, "indicators", None) or None
    variables = default_variables(data, variables)
    by = as_list(by, "by")
    dup = set(by) & set(variables)
    if dup:
        raise ValueError(f"columns {sorted(dup)} are both grouping columns and question variables.")
    df = derive_groups(df, by, meta, prof)
    g, keys = groups(df, by, missing_group, src)
    G = len(keys)
    if system_missing not in ("structural", "nonresponse"):
        raise ValueError(f"`system_missing` must be 'structural' or 'nonresponse', got {system_missing!r}.")
    if positions is not None and not isinstance(positions, dict):
        raise TypeError("`positions` must be a dict {variable: {code: position}}.")
    g = np.ascontiguousarray(g, dtype=np.int64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    t = tabulate_table(df, variables, meta, prof, g, w, G, positions=positions, missing=missing,
                       indicators=indicators, system_missing=system_missing, src=src,
                       keep_encoded=st.se is not None)
    value = {"distributions": "prob", "means": "mean", "totals": "total"}[what]
    sw, n = t.sw, t.n
    empty = sw <= 0
    if on_empty == "raise" and empty.any():
        q = int(np.flatnonzero(empty.any(axis=1))[0])
        _empty_groups(t.question(q), keys, n[q], sw[q], t.nnr[q], t.nstruct[q], on_empty)
    keep = ~empty
    with np.errstate(invalid="ignore", divide="ignore"):
        neff = np.where(t.sw2 > 0, sw * sw / np.where(t.sw2 > 0, t.sw2, 1.0), 0.0)
        tot = sw + t.wnr
        nonresp = np.where(tot > 0, t.wnr / np.where(tot > 0, tot, 1.0), np.nan)
    out = {}
    if what == "distributions":
        K = t.cell.shape[2]
        mask = keep[:, :, None] & (np.arange(K)[None, :] < t.n_options[:, None])[:, None, :]
        qi, gi, ki = np.nonzero(mask)
        option = t.positions[qi, ki]
        est = t.cell[qi, gi, ki] / sw[qi, gi]
    else:
        qi, gi = np.nonzero(keep)
        est = t.swv[qi, gi] / sw[qi, gi] if what == "means" else t.swv[qi, gi]
    for col in by:
        out[col] = _take(keys[col], gi)
    out["question"] = _take(pd.Series(np.array(t.names, dtype=object)), qi)
    if what == "distributions":
        out["option"] = option
    out[value] = est
    out["n"] = n[qi, gi]
    out["n_weighted"] = sw[qi, gi]
    out["n_eff"] = neff[qi, gi]
    out["nonresponse"] = nonresp[qi, gi]
    out["small_cell"] = out["n"] < min_n
    interval = None
    if st.se is not None and len(t.names):
        builder = _TargetBuilder(len(w))
        for q, e in enumerate(t.encoded):
            _add_question(builder, what, e, g, np.flatnonzero(keep[q]), G, int(t.n_options[q]))
        if builder.ncol:
            targets = builder.build(w, what == "totals")
            interval = _add_intervals(out, out[value], st, targets, rng)
    return _frame(out, by, keys, st, interval)


def _take(s, idx):
    """``s.to_numpy()[idx]`` as the column a DataFrame would make of it (strings stay one typed array)."""
    s = pd.Series(s.to_numpy()) if s.dtype == object else s
    arr = s.array
    return arr.take(idx) if not isinstance(arr, np.ndarray) and hasattr(arr, "take") else s.to_numpy()[idx]


def _add_question(builder, what, e, g, gk, G, K):
    """Numerator/denominator entries of one question's kept domains."""
    gsel = np.full(G, -1, dtype=np.int64)
    gsel[gk] = np.arange(gk.size)
    opt = e.opt
    rows = np.flatnonzero((opt >= 0) & (g >= 0))
    gi = gsel[g[rows]]
    keep = gi >= 0
    rows, gi, ov = rows[keep], gi[keep], opt[rows[keep]]
    ones = np.ones(rows.size)
    nk = gk.size
    if what == "distributions":
        builder.add(rows, gi * K + ov, ones, gi, ones, np.repeat(np.arange(nk), K), nk * K, nk)
    elif what == "means":
        builder.add(rows, gi, e.positions[ov], gi, ones, np.arange(nk), nk, nk)
    else:
        builder.add(rows, gi, e.positions[ov], None, None, None, nk, 0)


def _frame(cols, by, keys, st, interval):
    out = pd.DataFrame(cols)
    for col in by:
        if pd.api.types.is_numeric_dtype(keys[col].dtype):
            out[col] = out[col].astype(keys[col].dtype)
    out.attrs["weights"] = st.wname
    out.attrs["profile"] = getattr(st.prof, "name", None)
    if interval is not None:
        out.attrs["se"] = st.se if isinstance(st.se, str) else getattr(st.se, "name", "custom")
        out.attrs["df"] = int(interval[0])
    return out


_PARAMS_DOC = """
    Parameters
    ----------
    data : Design, DataFrame, SurveyData or SyntheticSurvey
        A :class:`surveys.Design`, or coded microdata, one row per respondent
        (metadata and profile travel with a ``SurveyData``).
    variables : str or list of str
        Question variables (default: a synthetic survey's questions).
    by : str or list of str, optional
        Domains: grouping columns; several give their intersections (only
        combinations that occur are returned).  With a profile,
        ``"country"`` and the profile's readable factors (``"gender"``,
        ``"generation"``...) may be named even when the data holds only the
        coded variables.
    weights : str, array_like, None or False
        Weight column when ``data`` is not a Design.  ``None``: the
        profile's analysis weight (ESS ``anweight``, WVS ``S018``) when there
        is a profile, else unweighted; ``False``: unweighted.
    profile : str or Profile, optional
        ``"wvs7"``, ``"wvs_ts"`` or ``"ess"`` (overrides the data's profile).
    positions : dict, optional
        ``{variable: {code: position}}`` (or a list of valid codes): the
        options and their ordinal positions (reversed scales, text answers,
        a non-ordinal option with position NaN).  Default: the code.
    missing : dict, optional
        ``{variable: {code: "nonresponse" | "structural" | "valid"}}``
        explicit states (highest precedence).
    indicators : dict, optional
        ``{concept: {variable: weight}}`` multi-indicator concepts.
    missing_group : str, optional
        Label for respondents with a missing ``by`` value (default: left out).
    system_missing : {"structural", "nonresponse"}
        How NaN cells of unknown cause count.
    min_n : int, default alignstat.SMALL_CELL_N
        ``small_cell`` is ``n < min_n``.
    on_empty : {"raise", "drop"}
        A domain with no valid answer: raise naming it, or leave it out.
    se : {None, "linearization", "rao-wu", "canty-davison", "jackknife", "replicate"} or ReplicateScheme
        Design-based standard errors.  Default: linearisation when ``data``
        is a Design (``distributions``: none unless asked), none otherwise.  Without a Design the profile's design is used (ESS, WVS),
        else independent sampling.  ``"replicate"`` uses the design's
        replicate-weight columns.
    confidence_level : float, default 0.95
    n_resamples : int, default 500
        Bootstrap replicates (``"rao-wu"``, ``"canty-davison"``).
    rng : int or numpy.random.Generator, optional
"""


def distributions(data, *, variables=None, by=None, weights=None, profile=None, positions=None,
                  missing=None, indicators=None, missing_group=None, system_missing="structural",
                  min_n=SMALL_CELL_N, on_empty="raise", se=None, confidence_level=0.95, n_resamples=500,
                  rng=None):
    r"""Weighted option shares of survey questions per domain, in tidy form.

    {params}

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``question``, ``option`` (float position),
        ``prob``, ``n``, ``n_weighted``, ``n_eff``, ``nonresponse``,
        ``small_cell`` and, with standard errors, ``se``, ``ci_low``,
        ``ci_high``, ``interval`` (and ``n_resamples_valid``).  One row per
        domain x question x option (options nobody chose get ``prob`` 0).

    Notes
    -----
    The share of option :math:`k` in domain :math:`d` is the ratio

    .. math::

        \hat p_{dk} = \frac{\sum_{i \in d,\, y_i = k} w_i}{\sum_{i \in d,\, y_i\ \mathrm{valid}} w_i},

    with linearised influence values :math:`z_i = w_i (1[y_i = k] - \hat
    p_{dk}) / \hat W_d` for valid answers in :math:`d` and 0 elsewhere
    (see :func:`surveys.designs.linearized_se`).

    References
    ----------
    Lumley, T. R package ``survey``: ``svymean``, ``svyby``.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"q": [1, 2, 2, 8], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> d = surveys.distributions(df, variables="q", weights="w", missing={"q": {8: "nonresponse"}})
    >>> d[["option", "prob", "n", "nonresponse"]].round(3).to_numpy().tolist()
    [[1.0, 0.25, 3.0, 0.2], [2.0, 0.75, 3.0, 0.2]]
    """
    return _tabulate("distributions", **locals())


def means(data, *, variables=None, by=None, weights=None, profile=None, positions=None, missing=None,
          indicators=None, missing_group=None, system_missing="structural", min_n=SMALL_CELL_N,
          on_empty="raise", se=None, confidence_level=0.95, n_resamples=500, rng=None):
    r"""Weighted mean position of survey questions per domain (R ``svymean``/``svyby``).

    {params}

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``question``, ``mean``, ``n``, ``n_weighted``,
        ``n_eff``, ``nonresponse``, ``small_cell`` and, with standard
        errors, ``se``, ``ci_low``, ``ci_high``, ``interval``.

    Notes
    -----
    :math:`\hat\mu_d = \sum_{i\in d} w_i y_i / \sum_{i \in d} w_i` over
    valid answers, influence values :math:`z_i = w_i (y_i - \hat\mu_d) /
    \hat W_d` in the domain and 0 outside; the interval is
    :math:`\hat\mu_d \pm t_{df} \, \mathrm{se}` with ``df`` the
    design's degrees of freedom (PSUs minus strata).

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"q": [1, 2, 2, 8], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> m = surveys.means(df, variables="q", weights="w", missing={"q": {8: "nonresponse"}})
    >>> float(m["mean"].iloc[0])
    1.75
    """
    return _tabulate("means", **locals())


def totals(data, *, variables=None, by=None, weights=None, profile=None, positions=None, missing=None,
           indicators=None, missing_group=None, system_missing="structural", min_n=SMALL_CELL_N,
           on_empty="raise", se=None, confidence_level=0.95, n_resamples=500, rng=None):
    r"""Weighted totals of survey variables per domain (R ``svytotal``/``svyby``).

    {params}

    Returns
    -------
    pandas.DataFrame
        As :func:`means` with ``total`` instead of ``mean``.

    Notes
    -----
    :math:`\hat T_d = \sum_{i \in d} w_i y_i` over valid answers, influence
    values :math:`z_i = w_i y_i` in the domain and 0 outside.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"y": [1, 2, 3], "w": [1.0, 2.0, 3.0]})
    >>> float(surveys.totals(df, variables="y", weights="w")["total"].iloc[0])
    14.0
    """
    return _tabulate("totals", **locals())


for _f in (distributions, means, totals):
    _f.__doc__ = _f.__doc__.replace("    {params}\n", _PARAMS_DOC.lstrip("\n"))
del _f


def ratios(data, *, variables, denominator, by=None, weights=None, profile=None, positions=None,
           missing=None, missing_group=None, system_missing="structural", min_n=SMALL_CELL_N,
           on_empty="raise", se=None, confidence_level=0.95, n_resamples=500, rng=None):
    r"""Ratios of weighted totals per domain (R ``svyratio``).

    Parameters
    ----------
    data : Design, DataFrame, SurveyData or SyntheticSurvey
    variables : str or list of str
        Numerator variables.
    denominator : str
        Denominator variable.
    by, weights, profile, positions, missing, missing_group, system_missing, min_n, on_empty
        As in :func:`means`.
    se, confidence_level, n_resamples, rng
        As in :func:`means`.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``question`` (the numerator), ``ratio``, ``n``
        (respondents with both values valid), ``n_weighted``, ``n_eff``,
        ``small_cell`` and, with standard errors, ``se``, ``ci_low``,
        ``ci_high``, ``interval``.

    Notes
    -----
    :math:`\hat R_d = \sum_{i\in d} w_i y_i / \sum_{i \in d} w_i x_i` over
    respondents with both values valid; influence values
    :math:`z_i = w_i (y_i - \hat R_d x_i) / \hat X_d`.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"y": [1, 2, 3], "x": [2, 2, 2]})
    >>> float(surveys.ratios(df, variables="y", denominator="x")["ratio"].iloc[0])
    1.0
    """
    st = _Setup("ratios", data, weights, profile, se, confidence_level, n_resamples, min_n, on_empty)
    df, meta, prof, src, w = st.df, st.meta, st.prof, st.src, st.w
    variables = default_variables(data, variables)
    if not isinstance(denominator, str):
        raise TypeError(f"`denominator` must be one column name, got {denominator!r}.")
    by = as_list(by, "by")
    df = derive_groups(df, by, meta, prof)
    g, keys = groups(df, by, missing_group, src)
    G = len(keys)
    enc = encode_all(df, [*variables, denominator], meta, prof, positions=positions, missing=missing,
                     indicators=None, system_missing=system_missing, src=src)
    x_enc = enc[-1]
    x = np.where(x_enc.opt >= 0, x_enc.positions[np.maximum(x_enc.opt, 0)], np.nan)
    cols = {k: [] for k in ("ratio", "n", "n_weighted", "n_eff")}
    rep_all, qn = [], []
    builder = _TargetBuilder(len(w)) if st.se is not None else None
    for qi, e in enumerate(enc[:-1]):
        y = np.where(e.opt >= 0, e.positions[np.maximum(e.opt, 0)], np.nan)
        ok = np.isfinite(y) & np.isfinite(x) & (g >= 0)
        gv = g[ok]
        sy = np.bincount(gv, weights=w[ok] * y[ok], minlength=G)
        sx = np.bincount(gv, weights=w[ok] * x[ok], minlength=G)
        sw = np.bincount(gv, weights=w[ok], minlength=G)
        sw2 = np.bincount(gv, weights=w[ok] ** 2, minlength=G)
        n = np.bincount(gv, minlength=G)
        empty = sx == 0
        if empty.any() and on_empty == "raise":
            i = int(np.flatnonzero(empty)[0])
            key = keys.iloc[i].to_dict() if keys.shape[1] else "all respondents"
            raise ValueError(f"ratio {e.name!r}/{denominator!r}: the denominator total of group {key} is 0; "
                             "pass `on_empty='drop'` to leave such groups out.")
        gk = np.flatnonzero(~empty)
        cols["ratio"].append(sy[gk] / sx[gk])
        cols["n"].append(n[gk])
        cols["n_weighted"].append(sw[gk])
        with np.errstate(invalid="ignore", divide="ignore"):
            cols["n_eff"].append(np.where(sw2[gk] > 0, sw[gk] ** 2 / sw2[gk], 0.0))
        rep_all.append(gk)
        qn.append(np.full(gk.size, qi))
        if builder is not None:
            gsel = np.full(G, -1, dtype=np.int64)
            gsel[gk] = np.arange(gk.size)
            rows = np.flatnonzero(ok)
            gi = gsel[g[rows]]
            rows, gi = rows[gi >= 0], gi[gi >= 0]
            builder.add(rows, gi, y[rows], gi, x[rows], np.arange(gk.size), gk.size, gk.size)
    rep = np.concatenate(rep_all)
    out = {col: keys[col].to_numpy()[rep] for col in by}
    out["question"] = np.array([e.name for e in enc[:-1]], dtype=object)[np.concatenate(qn)]
    for c, parts in cols.items():
        out[c] = np.concatenate(parts)
    out["n"] = out["n"].astype(np.int64)
    out["small_cell"] = out["n"] < min_n
    interval = None
    if builder is not None and builder.ncol:
        interval = _add_intervals(out, out["ratio"], st, builder.build(w, False), rng)
    res = _frame(out, by, keys, st, interval)
    res.attrs["denominator"] = denominator
    return res


# ---------------------------------------------------------------------------
# clean respondent frame
# ---------------------------------------------------------------------------
def responses(
    data,
    *,
    variables=None,
    factors=None,
    profile=None,
    weights=None,
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
    profile, weights, positions, missing, indicators, system_missing
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
    df, meta, prof, src = resolve(data, profile)
    if indicators is None:
        indicators = getattr(data, "indicators", None) or None
    variables = default_variables(data, variables)
    enc = encode_all(df, variables, meta, prof, positions=positions, missing=missing,
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
            names = as_list(factors, "factors")
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
    w, _ = weights_of(df, weights, prof, src)
    out["weight"] = w
    return out.reset_index(drop=True)
