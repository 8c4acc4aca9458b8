r"""Survey designs (the analogue of R ``survey::svydesign``) and Taylor linearisation.

A :class:`Design` carries the respondent data with its weights, strata,
first-stage clusters (PSUs), finite-population correction and the rule for
strata with a single PSU.  Every estimator of :mod:`surveys` accepts one,
and :func:`surveys.replicate_scheme` builds its replicates from the design's
strata and PSUs.  :func:`design` builds the design a survey profile
documents (ESS: ``anweight``, ``stratum`` within ``cntry``, ``psu``; WVS-7:
the country as stratum, ``I_PSU`` as PSU).

Estimators are ratios :math:`\hat\theta_c = \sum_i w_i y_{ic} / \sum_i w_i
x_{ic}` (means, option shares, ratios; totals have :math:`x \equiv 1` and
no denominator), held by :class:`Targets` for all questions and domains at
once.  Domains are subpopulations of the full design (R ``svyby``): a
respondent outside a domain has influence value 0, and every PSU of the
design keeps its place in its stratum.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sparse

__all__ = ["Design", "design", "Targets", "linearized_se", "LONELY_PSU"]

#: Rules for strata with a single PSU (R ``options(survey.lonely.psu=)``), plus
#: ``"collapse"`` for the bootstrap schemes.
LONELY_PSU = ("fail", "certainty", "adjust", "average", "collapse")


def _column(df, x, name, src):
    """Return a per-respondent array from a column name, a list of names (combined) or an array."""
    if x is None:
        return None
    if isinstance(x, str):
        if x not in df.columns:
            raise ValueError(f"{name} column {x!r} is not in {src}; its columns include {list(df.columns[:8])}.")
        return df[x].to_numpy()
    if isinstance(x, (list, tuple)) and x and all(isinstance(c, str) for c in x):
        parts = [_column(df, c, name, src) for c in x]
        if any(pd.isna(p).any() for p in parts):
            bad = [c for c, p in zip(x, parts) if pd.isna(p).any()]
            raise ValueError(f"{name} column(s) {bad} in {src} have missing values; every respondent needs one.")
        return pd.MultiIndex.from_arrays(parts).to_numpy()
    arr = np.asarray(x)
    if arr.shape != (len(df),):
        raise ValueError(f"`{name}` must have one value per respondent ({len(df)}), got shape {arr.shape}.")
    return arr


class Design:
    r"""A survey design: respondent data, weights, strata, PSUs, fpc (R ``svydesign``).

    Parameters
    ----------
    data : DataFrame, SurveyData or SyntheticSurvey
        One row per respondent; metadata and profile travel with a
        ``SurveyData``.
    weights : str or array_like, optional
        Sampling (analysis) weights; none: every respondent weighs 1.
    strata : str, list of str or array_like, optional
        Stratum of each respondent (several columns: their combinations).
    psu : str or array_like, optional
        First-stage cluster of each respondent, nested in strata (R
        ``nest=TRUE``); none: each respondent is its own PSU.
    fpc : str or array_like, optional
        Finite-population correction, constant within a stratum: the number
        of PSUs in the stratum's population, or the sampling fraction when
        every value is at most 1 (R ``fpc=~fpc``).  None: sampling with
        replacement.
    lonely_psu : {"fail", "certainty", "adjust", "average", "collapse"}
        Strata with a single PSU (R ``survey.lonely.psu``): raise; contribute
        no variance; centre the PSU at the mean of all PSU totals; replace the
        stratum's contribution by the average of the other strata; merge it
        into the next stratum (bootstrap schemes only).
    replicate_weights : list of str, optional
        Columns of user-supplied replicate weights (``se="replicate"``).
    replicate_scale : float, optional
        Variance multiplier ``c`` of the replicate weights (default
        ``1/(R-1)``, bootstrap weights; ``(R-1)/R`` for JK1).

    Attributes
    ----------
    weights : numpy.ndarray
    n_strata, n_psu : int
    psu_per_stratum : numpy.ndarray
    sampling_fraction : numpy.ndarray
        ``f_h`` per stratum (0 without fpc).
    df : int
        Design degrees of freedom, PSUs minus strata (R ``degf``).

    Notes
    -----
    The linearised variance of an estimator with influence values
    :math:`z_i` summed to PSU totals :math:`z_{hi}` is

    .. math::

        \widehat{V} = \sum_h (1 - f_h) \frac{n_h}{n_h - 1}
                      \sum_{i=1}^{n_h} (z_{hi} - \bar z_h)^2 .

    References
    ----------
    Lumley, T. (2004). Analysis of complex survey samples. *Journal of
    Statistical Software* 9(8).  R package ``survey``: ``svydesign``,
    ``svyrecvar``.

    Examples
    --------
    >>> import pandas as pd, surveys
    >>> df = pd.DataFrame({"y": [1, 2, 3, 4], "h": ["a", "a", "b", "b"], "w": [1.0, 2.0, 1.0, 2.0]})
    >>> d = surveys.Design(df, weights="w", strata="h")
    >>> d.n_strata, d.n_psu, d.df
    (2, 4, 2)
    """

    def __init__(self, data, *, weights=None, strata=None, psu=None, fpc=None, lonely_psu="fail",
                 replicate_weights=None, replicate_scale=None):
        from .encoding import resolve

        df, meta, prof, src = resolve(data, None)
        if lonely_psu not in LONELY_PSU:
            raise ValueError(f"`lonely_psu` must be one of {LONELY_PSU}, got {lonely_psu!r}.")
        self.data, self.meta, self.profile, self.source = df, meta, prof, src
        self.lonely_psu = lonely_psu
        n = len(df)
        if n == 0:
            raise ValueError(f"{src} has no rows; a design needs respondents.")
        self.weights, self.weights_name = self._weights(df, weights, src)
        s = _column(df, strata, "strata", src)
        p = _column(df, psu, "psu", src)
        self.has_strata, self.has_psu, self.has_fpc = s is not None, p is not None, fpc is not None
        for arr, name in ((s, "strata"), (p, "psu")):
            if arr is not None and pd.isna(arr).any():
                raise ValueError(
                    f"{name} of {src} has {int(pd.isna(arr).sum())} missing value(s); every respondent "
                    "needs one (give respondents without a cluster their own id)."
                )
        s_code, s_labels = pd.factorize(s if s is not None else np.zeros(n, dtype=np.int64), sort=True)
        if p is None:
            p_code = np.arange(n, dtype=np.int64)
            p_code = pd.factorize(pd.MultiIndex.from_arrays([s_code, p_code]), sort=True)[0]
        else:
            p_code = pd.factorize(pd.MultiIndex.from_arrays([s_code, p]), sort=True)[0]
        self.strata_codes = np.asarray(s_code, dtype=np.int64)
        self.strata_labels = np.asarray(s_labels)
        self.psu_codes = np.asarray(p_code, dtype=np.int64)
        self.n_strata = len(s_labels)
        self.n_psu = int(self.psu_codes.max()) + 1
        self.psu_stratum = np.zeros(self.n_psu, dtype=np.int64)
        self.psu_stratum[self.psu_codes] = self.strata_codes
        self.psu_per_stratum = np.bincount(self.psu_stratum, minlength=self.n_strata)
        self.sampling_fraction = self._fpc(df, fpc, src)
        self.df = int(self.n_psu - self.n_strata)
        self._psu_matrix = None
        self.replicate_weights, self.replicate_scale = self._replicates(df, replicate_weights, replicate_scale, src)

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _weights(df, weights, src):
        n = len(df)
        if weights is None or weights is False:
            return np.ones(n), None
        if isinstance(weights, str):
            if weights not in df.columns:
                raise ValueError(
                    f"weights column {weights!r} is not in {src}; pass the name of a weight column, "
                    "or no weights for an unweighted design."
                )
            col = df[weights]
            if not pd.api.types.is_numeric_dtype(col):
                raise TypeError(f"weights column {weights!r} in {src} must be numeric, got {col.dtype}.")
            w, name = col.to_numpy(dtype=np.float64, na_value=np.nan), weights
        else:
            w, name = np.asarray(weights, dtype=np.float64), "weights"
            if w.shape != (n,):
                raise ValueError(f"`weights` must have one value per respondent ({n}), got shape {w.shape}.")
        bad = ~np.isfinite(w)
        if bad.any():
            raise ValueError(
                f"weights {name!r} in {src} have {int(bad.sum())} missing or infinite value(s) "
                f"(first at row {int(np.flatnonzero(bad)[0])}); weights must be finite."
            )
        if (w < 0).any():
            raise ValueError(
                f"weights {name!r} in {src} have {int((w < 0).sum())} negative value(s) "
                f"(smallest {w.min():g}); weights must be non-negative."
            )
        if not w.sum() > 0:
            raise ValueError(f"weights {name!r} in {src} sum to zero; weights must have a positive sum.")
        return w, name

    def _fpc(self, df, fpc, src):
        f = np.zeros(self.n_strata)
        if fpc is None:
            return f
        v = _column(df, fpc, "fpc", src)
        try:
            v = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"fpc of {src} must be numeric (population sizes or sampling fractions).") from None
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(f"fpc of {src} must be positive and finite for every respondent.")
        lo = np.full(self.n_strata, np.inf)
        hi = np.full(self.n_strata, -np.inf)
        np.minimum.at(lo, self.strata_codes, v)
        np.maximum.at(hi, self.strata_codes, v)
        varying = np.flatnonzero(lo != hi)
        if varying.size:
            raise ValueError(
                f"fpc of {src} varies within stratum {self.strata_labels[varying[0]]!r}; "
                "give one population size (or sampling fraction) per stratum."
            )
        fraction = bool(np.all(v <= 1.0))
        if fraction:
            f = lo
        else:
            if np.any(v < 1.0):
                raise ValueError(
                    f"fpc of {src} mixes sampling fractions (<= 1) and population sizes (> 1); use one."
                )
            small = np.flatnonzero(lo < self.psu_per_stratum)
            if small.size:
                h = small[0]
                raise ValueError(
                    f"fpc of {src}: stratum {self.strata_labels[h]!r} has {self.psu_per_stratum[h]} "
                    f"sampled PSUs but a population of {lo[h]:g}; the population size must be at least "
                    "the sample size."
                )
            f = self.psu_per_stratum / lo
        self._fpc_is_fraction = fraction
        return np.asarray(f, dtype=np.float64)

    def _replicates(self, df, cols, scale, src):
        if cols is None:
            return None, None
        if isinstance(cols, str):
            cols = [cols]
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"replicate weight column(s) {missing} are not in {src}.")
        if len(cols) < 2:
            raise ValueError("`replicate_weights` needs at least two replicate weight columns.")
        rw = df[list(cols)].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(rw)) or np.any(rw < 0):
            raise ValueError(f"replicate weights {list(cols)[:3]}... in {src} must be finite and non-negative.")
        if scale is not None and not (isinstance(scale, numbers.Real) and scale > 0):
            raise ValueError(f"`replicate_scale` must be a positive number, got {scale!r}.")
        return rw, scale

    # ------------------------------------------------------------------ queries
    @property
    def n(self):
        """Number of respondents."""
        return len(self.weights)

    @property
    def kind(self):
        """Design type in words (as R prints it)."""
        if self.replicate_weights is not None:
            base = f"replicate-weight design ({self.replicate_weights.shape[1]} replicates)"
            return base
        clus = "1-stage cluster sample" if self.has_psu else "independent sampling (each respondent a PSU)"
        kind = ("stratified " if self.has_strata else "") + clus
        return kind + (" with fpc" if self.has_fpc else "")

    @property
    def psu_matrix(self):
        """Sparse ``(n_psu, n)`` indicator of each respondent's PSU."""
        if self._psu_matrix is None:
            n = self.n
            self._psu_matrix = sparse.csr_matrix(
                (np.ones(n), (self.psu_codes, np.arange(n))), shape=(self.n_psu, n)
            )
        return self._psu_matrix

    def lonely_strata(self):
        """Labels of the strata with a single PSU."""
        return self.strata_labels[self.psu_per_stratum == 1]

    def _check_lonely(self, jackknife=False):
        lonely = self.lonely_strata()
        if lonely.size == 0:
            return
        rule = self.lonely_psu
        shown = ", ".join(repr(x) for x in lonely[:5].tolist()) + (", ..." if lonely.size > 5 else "")
        if rule == "fail":
            raise ValueError(
                f"{lonely.size} stratum/strata of the design have a single PSU ({shown}); their variance "
                "is not estimable. Build the design with lonely_psu='certainty', 'adjust' or 'average' "
                "(R survey.lonely.psu), or collapse strata."
            )
        if jackknife and rule in ("adjust", "average", "collapse"):
            raise ValueError(
                f"the jackknife cannot use lonely_psu={rule!r} (strata {shown} have one PSU); use "
                "lonely_psu='certainty' or se='linearization'."
            )
        if rule == "collapse" and not jackknife:
            raise ValueError(
                f"lonely_psu='collapse' applies to bootstrap schemes; strata {shown} have one PSU -- "
                "use 'certainty', 'adjust' or 'average' for linearisation."
            )

    def __repr__(self):
        w = self.weights
        lines = [
            f"surveys.Design: {self.kind}",
            f"  respondents: {self.n}   strata: {self.n_strata}   PSUs: {self.n_psu}",
            f"  weights: {self.weights_name or 'none (all 1)'}, range {w.min():.6g} to {w.max():.6g}",
            f"  design degrees of freedom: {self.df} (PSUs - strata)",
            f"  lonely PSU rule: {self.lonely_psu} ({self.lonely_strata().size} stratum/strata with one PSU)",
        ]
        if self.has_fpc:
            f = self.sampling_fraction
            lines.append(f"  sampling fraction: {f.min():.4g} to {f.max():.4g}")
        lines.append(f"  data: {self.source}")
        return "\n".join(lines)


def design(survey, *, weights=None, lonely_psu="fail", profile=None):
    """Build the design a survey profile documents.

    Parameters
    ----------
    survey : SurveyData, SyntheticSurvey or DataFrame
        Data with a profile (``read_survey`` guesses it) or ``profile=``.
    weights : str, optional
        Weight column (default: the profile's analysis weight -- ESS
        ``anweight``, WVS-7 ``S018`` / ``W_WEIGHT``).
    lonely_psu : str
        As in :class:`Design`.
    profile : str or Profile, optional

    Returns
    -------
    Design
        ESS: strata ``cntry`` x ``stratum``, PSUs ``psu`` (R:
        ``svydesign(ids=~psu, strata=~stratum, weights=~anweight, nest=TRUE)``).
        WVS-7: the country as stratum, ``I_PSU`` as PSU where valid (a
        respondent with a missing or negative ``I_PSU`` is its own PSU).
        Without PSU or stratum columns the design has none.

    Examples
    --------
    >>> import surveys
    >>> d = surveys.design(surveys.make_ess(1_000, 2, 4, rng=0))
    >>> d.n, d.has_strata, d.has_psu
    (1000, True, True)
    """
    from .encoding import resolve

    df, _meta, prof, src = resolve(survey, profile)
    if prof is None:
        raise ValueError(
            f"{src} has no survey profile; pass profile='ess', 'wvs7' or 'wvs_ts', or build "
            "surveys.Design(data, weights=..., strata=..., psu=...) yourself."
        )
    if weights is None:
        weights = prof.column(df, "weight")
    country = prof.column(df, "country")
    scol = prof.column(df, "strata")
    pcol = prof.column(df, "psu")
    parts = [c for c in (country, scol) if c is not None]
    strata = None
    if parts:
        strata = parts[0] if len(parts) == 1 else parts
    psu = None
    if pcol is not None:
        raw = pd.to_numeric(df[pcol], errors="coerce").to_numpy(dtype=np.float64)
        own = ~np.isfinite(raw) | (raw < 0)
        if own.any():  # respondents without a valid PSU form their own clusters
            lab = df[pcol].astype(object).to_numpy().copy()
            lab[own] = [f"respondent {i}" for i in np.flatnonzero(own)]
            psu = lab.astype(str)
        else:
            psu = pcol
    data = survey if not isinstance(survey, pd.DataFrame) else survey
    out = Design(data, weights=weights, strata=strata, psu=psu, lonely_psu=lonely_psu)
    if profile is not None:
        out.profile = prof
    return out


class Targets:
    """Ratio estimators of many columns: numerator and denominator matrices.

    Parameters
    ----------
    numerator : scipy.sparse matrix, shape (n, n_columns)
        ``y_{ic}`` (zero outside the column's domain).
    denominator : scipy.sparse matrix, shape (n, n_denominators), or None
        ``x_{id}``; None for totals.
    den_col : numpy.ndarray of int, shape (n_columns,)
        Denominator column of each estimate.
    w : numpy.ndarray
        Base weights.
    """

    def __init__(self, numerator, denominator, den_col, w):
        self.numerator = sparse.csr_matrix(numerator)
        self.denominator = None if denominator is None else sparse.csr_matrix(denominator)
        self.den_col = None if denominator is None else np.asarray(den_col, dtype=np.int64)
        self.n_columns = self.numerator.shape[1]
        self.A = np.asarray(self.numerator.T @ w).ravel()
        if self.denominator is None:
            self.B = np.ones(self.n_columns)
        else:
            self.B = np.asarray(self.denominator.T @ w).ravel()[self.den_col]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.estimate = self.A / self.B
        self._w = w

    def evaluate(self, RW):
        """Estimates under replicate weights ``RW`` of shape ``(r, n)``."""
        num = np.asarray((self.numerator.T @ RW.T).T)
        if self.denominator is None:
            return num
        den = np.asarray((self.denominator.T @ RW.T).T)[:, self.den_col]
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den

    def psu_numerator(self, design):
        """PSU totals of ``w y`` (sparse ``(n_psu, n_columns)``)."""
        return (design.psu_matrix @ sparse.diags(self._w) @ self.numerator).tocsr()

    def psu_denominator(self, design):
        """PSU totals of ``w x`` per estimate column, or None for totals."""
        if self.denominator is None:
            return None
        return (design.psu_matrix @ sparse.diags(self._w) @ self.denominator).tocsc()[:, self.den_col].tocsr()


def linearized_se(design, targets):
    r"""Taylor-linearisation standard errors of ratio estimators under a design.

    Parameters
    ----------
    design : Design
    targets : Targets

    Returns
    -------
    numpy.ndarray
        One standard error per estimate column.

    Notes
    -----
    Influence values of :math:`\hat\theta = \hat A / \hat B` are
    :math:`z_i = w_i (y_i - \hat\theta x_i) / \hat B` (for a total
    :math:`z_i = w_i y_i`), zero outside the domain.  With PSU totals
    :math:`z_{hi}`, stratum totals :math:`Z_h` and ``n_h`` PSUs,

    .. math::

        \widehat{V} = \sum_{h: n_h > 1} (1 - f_h) \frac{n_h}{n_h - 1}
            \Big(\sum_i z_{hi}^2 - Z_h^2 / n_h\Big) .

    Strata with one PSU follow ``design.lonely_psu``: ``"certainty"`` adds
    nothing; ``"adjust"`` adds :math:`(1 - f_h)(z_{h1} - \bar z)^2` with
    :math:`\bar z` the mean of all PSU totals; ``"average"`` multiplies the
    sum by :math:`H / H_{>1}` (R ``survey.lonely.psu``).
    """
    design._check_lonely()
    H, nc = design.n_strata, targets.n_columns
    a = targets.psu_numerator(design)
    b = targets.psu_denominator(design)
    if b is None:
        z = a
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            inv_b = np.where(targets.B != 0, 1.0 / targets.B, np.nan)
        z = (a - b @ sparse.diags(targets.estimate)) @ sparse.diags(inv_b)
    z = sparse.coo_matrix(z)
    h = design.psu_stratum[z.row]
    key = h * nc + z.col
    S = np.bincount(key, weights=z.data, minlength=H * nc).reshape(H, nc)
    n_h = design.psu_per_stratum.astype(np.float64)
    mean_h = S / n_h[:, None]
    # squared deviations from the stratum mean, PSUs without entries included (centred sums: no cancellation)
    dev = z.data - mean_h[h, z.col]
    nnz = np.bincount(key, minlength=H * nc).reshape(H, nc)
    SS = np.bincount(key, weights=dev**2, minlength=H * nc).reshape(H, nc) + (n_h[:, None] - nnz) * mean_h**2
    ok = n_h > 1
    fpc = 1.0 - design.sampling_fraction
    scale = np.where(ok, fpc * n_h / np.where(ok, n_h - 1, 1.0), 0.0)
    var = (scale[:, None] * SS).sum(axis=0)
    if (~ok).any():
        if design.lonely_psu == "adjust":
            zbar = S.sum(axis=0) / design.n_psu
            var = var + ((fpc[~ok])[:, None] * (S[~ok] - zbar[None, :]) ** 2).sum(axis=0)
        elif design.lonely_psu == "average":
            var = var * H / max(int(ok.sum()), 1)
    return np.sqrt(var)
