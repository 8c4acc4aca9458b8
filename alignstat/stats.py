"""Tests of significance used by the studies.

* :func:`paired_ttest` and :func:`wilcoxon_signed_rank` compare two sets of
  per-question values (e.g. a model's alignment with two groups) across
  questions, the tests behind the significance stars of comparison tables;
* :func:`pearson_r` with a Fisher-z confidence interval;
* :func:`adjust_pvalues` (Holm, Benjamini--Hochberg; ``adjust=``), NaN-aware;
* :func:`significance_stars` (``*`` p < 0.05, ``**`` p < 0.01, ``***`` p < 0.001);
* :func:`paired_comparison`, a tidy table of a paired test (``test="t"`` or
  ``"wilcoxon"``) per comparison, with ``pvalue`` and ``pvalue_adj`` columns.

Intervals are :class:`alignstat.ConfidenceInterval` (``low``, ``high``), the
one interval type of every result.

All tests work along the last axis and drop *pairs* with a NaN in either
member (a question one of the two does not have), row by row; ``n`` reports
the pairs used.  The numbers are checked in the test suite against
``scipy.stats.ttest_rel``, ``wilcoxon``, ``pearsonr`` and
``statsmodels.stats.multitest.multipletests``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from ._intervals import ConfidenceInterval

__all__ = [
    "PairedTTestResult",
    "PearsonRResult",
    "WilcoxonResult",
    "adjust_pvalues",
    "paired_comparison",
    "paired_ttest",
    "pearson_r",
    "significance_stars",
    "wilcoxon_signed_rank",
]

_ALTERNATIVES = ("two-sided", "less", "greater")
_ADJUST = ("holm", "bh")
_TESTS = ("t", "wilcoxon")


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}; got {value!r}.")
    return value


def _pairs(x, y, name_x="x", name_y="y"):
    try:
        x = np.array(x, dtype=np.float64)
        y = np.array(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name_x}` and `{name_y}` must be arrays of numbers.") from None
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"`{name_x}` and `{name_y}` must have at least one dimension.")
    if x.shape != y.shape:
        raise ValueError(
            f"`{name_x}` and `{name_y}` must have the same shape (paired values); got "
            f"{x.shape} and {y.shape}."
        )
    if np.isinf(x).any() or np.isinf(y).any():
        raise ValueError(f"`{name_x}` and `{name_y}` must not contain infinite values.")
    ok = ~(np.isnan(x) | np.isnan(y))
    return x, y, ok


def _level(confidence_level):
    try:
        cl = float(confidence_level)
    except (TypeError, ValueError):
        raise TypeError("`confidence_level` must be a number in (0, 1).") from None
    if not 0 < cl < 1:
        raise ValueError(f"`confidence_level` must lie strictly between 0 and 1; got {cl}.")
    return cl


def _scalar(a):
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else a


def _p_from_cdf(cdf_stat, sf_stat, alternative):
    if alternative == "less":
        return cdf_stat
    if alternative == "greater":
        return sf_stat
    return np.minimum(1.0, 2.0 * np.minimum(cdf_stat, sf_stat))


# ---------------------------------------------------------------------- t-test


@dataclass(frozen=True)
class PairedTTestResult:
    """Result of :func:`paired_ttest` (arrays of the batch shape, or scalars).

    Attributes
    ----------
    statistic : float or ndarray
        t statistic ``mean(d) / (sd(d) / sqrt(n))``, ``d = x - y``.
    pvalue : float or ndarray
    df : float or ndarray
        ``n - 1``.
    mean_difference : float or ndarray
        ``mean(x - y)``.
    standard_error : float or ndarray
        ``sd(d) / sqrt(n)`` (``ddof=1``).
    n : int or ndarray
        Pairs used (both values present).
    alternative : str
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    df: np.ndarray
    mean_difference: np.ndarray
    standard_error: np.ndarray
    n: np.ndarray
    alternative: str

    def confidence_interval(self, confidence_level=0.95) -> ConfidenceInterval:
        """Confidence interval of the mean difference (t distribution).

        One-sided for one-sided alternatives, as in :func:`scipy.stats.ttest_rel`.

        Parameters
        ----------
        confidence_level : float
            In (0, 1); default 0.95.

        Returns
        -------
        ConfidenceInterval
            ``low`` and ``high`` of the batch shape (scalars for one row).
        """
        cl = _level(confidence_level)
        if self.alternative == "two-sided":
            q = special.stdtrit(self.df, 0.5 + cl / 2)
            return ConfidenceInterval(_scalar(self.mean_difference - q * self.standard_error),
                                      _scalar(self.mean_difference + q * self.standard_error))
        q = special.stdtrit(self.df, cl)
        if self.alternative == "less":
            return ConfidenceInterval(_scalar(np.full(np.shape(self.df), -np.inf)),
                                      _scalar(self.mean_difference + q * self.standard_error))
        return ConfidenceInterval(_scalar(self.mean_difference - q * self.standard_error),
                                  _scalar(np.full(np.shape(self.df), np.inf)))


def paired_ttest(x, y, *, alternative="two-sided") -> PairedTTestResult:
    """Paired t-test of ``x - y`` along the last axis.

    Parameters
    ----------
    x, y : array_like, shape (..., n)
        Paired values (e.g. per-question alignment under two conditions).
        Pairs with a NaN in either are dropped, row by row.
    alternative : {"two-sided", "less", "greater"}
        ``less``: the mean of ``x - y`` is below 0.

    Returns
    -------
    PairedTTestResult
        NaN statistic and p-value for rows with fewer than 2 pairs; for rows
        whose differences are all equal, ``t = ±inf`` (p = 0) when their mean
        is not 0, NaN when it is (as SciPy).

    Notes
    -----
    ``t = mean(d) / (sd(d) / sqrt(n))`` with ``n - 1`` degrees of freedom;
    p-values from the Student t distribution (``scipy.special.stdtr``).
    """
    alternative = _choice("alternative", alternative, _ALTERNATIVES)
    x, y, ok = _pairs(x, y)
    d = np.where(ok, x - y, 0.0)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = d.sum(axis=-1) / n
        ss = np.sum(np.where(ok, (d - mean[..., None]) ** 2, 0.0), axis=-1)
        sd = np.sqrt(ss / (n - 1))
        se = sd / np.sqrt(n)
        t = mean / se
    df = (n - 1).astype(np.float64)
    df = np.where(n >= 2, df, np.nan)
    t = np.where(n >= 2, t, np.nan)
    cdf = special.stdtr(df, t)
    sf = special.stdtr(df, -t)
    p = _p_from_cdf(cdf, sf, alternative)
    return PairedTTestResult(
        statistic=_scalar(t), pvalue=_scalar(p), df=_scalar(df),
        mean_difference=_scalar(np.where(n >= 1, mean, np.nan)),
        standard_error=_scalar(np.where(n >= 2, se, np.nan)), n=_scalar(n),
        alternative=alternative,
    )


# -------------------------------------------------------------------- Wilcoxon


@dataclass(frozen=True)
class WilcoxonResult:
    """Result of :func:`wilcoxon_signed_rank`.

    Attributes
    ----------
    statistic : float or ndarray
        ``min(R+, R-)`` for two-sided tests, ``R+`` otherwise (SciPy's convention).
    pvalue : float or ndarray
    r_plus : float or ndarray
        Sum of the ranks of the positive differences.
    zstatistic : float or ndarray
        Normal-approximation z of ``R+`` (NaN where an exact p-value was used).
    n : int or ndarray
        Non-zero differences ranked (``zero_method="wilcox"``).
    method : str or ndarray of str
        ``"exact"``, ``"permutation"`` (exact enumeration of sign flips) or
        ``"asymptotic"``, per row.
    alternative : str
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    r_plus: np.ndarray
    zstatistic: np.ndarray
    n: np.ndarray
    method: np.ndarray
    alternative: str


def _signed_rank_counts(n):
    """Count the subsets of {1..n} with each sum 0..n(n+1)/2 (exact null of R+)."""
    top = n * (n + 1) // 2
    c = np.zeros(top + 1)
    c[0] = 1.0
    for k in range(1, n + 1):
        c[k:] = c[k:] + c[: top + 1 - k].copy()
    return c


def _rank_abs(d):
    """Average ranks of |d| and the tie group sizes."""
    a = np.abs(d)
    order = np.argsort(a, kind="stable")
    sa = a[order]
    ranks = np.empty(len(a))
    i = 0
    ties = []
    while i < len(sa):
        j = i
        while j + 1 < len(sa) and sa[j + 1] == sa[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        ties.append(j - i + 1)
        i = j + 1
    return ranks, np.asarray(ties, dtype=np.float64)


def _wilcoxon_row(d, alternative, correction, method):
    d = d[d != 0]  # zero_method="wilcox"
    n = len(d)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan, 0, "asymptotic"
    ranks, ties = _rank_abs(d)
    r_plus = ranks[d > 0].sum()
    r_minus = ranks[d < 0].sum()
    has_ties = bool(np.any(ties > 1))
    mn = n * (n + 1) / 4.0
    se = np.sqrt((n * (n + 1) * (2 * n + 1) - np.sum(ties**3 - ties) / 2.0) / 24.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (r_plus - mn) / se
    used = method
    if method == "auto":
        if n <= 50 and not has_ties:
            used = "exact"
        elif n <= 13:
            used = "permutation"
        else:
            used = "asymptotic"
    if used == "exact":
        counts = _signed_rank_counts(n)
        total = 2.0**n
        cdf = counts[: int(np.ceil(r_plus)) + 1].sum() / total
        sf = counts[int(np.floor(r_plus)) :].sum() / total
        p = _p_from_cdf(cdf, sf, alternative)
        z = np.nan
    elif used == "permutation":
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
        null = signs @ ranks
        gamma = abs(100 * np.finfo(float).eps * r_plus)
        cdf = np.mean(null <= r_plus + gamma)
        sf = np.mean(null >= r_plus - gamma)
        p = _p_from_cdf(cdf, sf, alternative)
        z = np.nan
    else:
        zc = z
        if correction:
            sign = {"greater": 1.0, "less": -1.0}.get(alternative, np.sign(z))
            zc = z - sign * 0.5 / se
        p = _p_from_cdf(special.ndtr(zc), special.ndtr(-zc), alternative)
        z = zc
    stat = min(r_plus, r_minus) if alternative == "two-sided" else r_plus
    return stat, float(np.clip(p, 0.0, 1.0)), r_plus, z, n, used


def wilcoxon_signed_rank(
    x, y, *, alternative="two-sided", method="auto", correction=False
) -> WilcoxonResult:
    """Wilcoxon signed-rank test of ``x - y`` along the last axis.

    Parameters
    ----------
    x, y : array_like, shape (..., n)
        Paired values; pairs with a NaN in either are dropped row by row, and
        zero differences are dropped before ranking (Wilcoxon's method, SciPy's
        default ``zero_method="wilcox"``).
    alternative : {"two-sided", "less", "greater"}
    method : {"auto", "exact", "asymptotic"}
        ``auto`` (as SciPy): the exact null distribution when there are at most
        50 pairs and neither ties nor zero differences; otherwise, for at most
        13 pairs, an exact enumeration of all ``2**n`` sign flips; otherwise the
        normal approximation with tie correction.  ``exact`` ignores ties
        (conservative rounding of ``R+``, as SciPy).
    correction : bool
        Continuity correction of the normal approximation.

    Returns
    -------
    WilcoxonResult

    Notes
    -----
    ``R+`` is the sum of the (average) ranks of ``|d|`` over positive ``d``.
    Under the null its mean is ``n(n+1)/4`` and its variance
    ``n(n+1)(2n+1)/24 - sum(t**3 - t)/48`` over tie groups of size ``t``.
    """
    alternative = _choice("alternative", alternative, _ALTERNATIVES)
    method = _choice("method", method, ("auto", "exact", "asymptotic"))
    if correction not in (True, False):
        raise TypeError(f"`correction` must be True or False; got {correction!r}.")
    x, y, ok = _pairs(x, y)
    shape = x.shape[:-1]
    d_all = (x - y).reshape(-1, x.shape[-1])
    ok_all = ok.reshape(-1, x.shape[-1])
    rows = []
    for d, m in zip(d_all, ok_all):
        dd = d[m]
        used = method
        if method == "auto" and np.any(dd == 0):
            # a zero difference rules out the exact distribution (as SciPy)
            used = "permutation" if len(dd) <= 13 else "asymptotic"
        rows.append(_wilcoxon_row(dd, alternative, correction, used))
    cols = list(zip(*rows)) if rows else [[]] * 6

    def arr(i, dtype=np.float64):
        return _scalar(np.asarray(cols[i], dtype=dtype).reshape(shape))

    return WilcoxonResult(
        statistic=arr(0), pvalue=arr(1), r_plus=arr(2), zstatistic=arr(3),
        n=arr(4, np.int64), method=arr(5, object), alternative=alternative,
    )


# --------------------------------------------------------------------- Pearson


@dataclass(frozen=True)
class PearsonRResult:
    """Result of :func:`pearson_r`.

    Attributes
    ----------
    statistic : float or ndarray
        Pearson's r.
    pvalue : float or ndarray
        From ``t = r sqrt((n-2) / (1-r**2))`` with ``n - 2`` degrees of freedom
        (exact for bivariate normal data; equal to SciPy's beta form).
    n : int or ndarray
        Pairs used.
    alternative : str

    Methods
    -------
    confidence_interval(confidence_level=0.95)
        Fisher-z interval of r, as :meth:`scipy.stats._result_classes.PearsonRResult.confidence_interval`.
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    n: np.ndarray
    alternative: str

    def confidence_interval(self, confidence_level=0.95) -> ConfidenceInterval:
        r"""Fisher-z confidence interval of r.

        Parameters
        ----------
        confidence_level : float
            In (0, 1); default 0.95.

        Returns
        -------
        ConfidenceInterval
            One-sided for one-sided alternatives (the open side at -1 or 1),
            as SciPy; NaN for ``n < 4`` or an undefined r.

        Notes
        -----
        .. math:: \tanh\left(\operatorname{artanh}(r) \pm z_{1-\alpha/2} / \sqrt{n - 3}\right)

        (Fisher 1921).
        """
        cl = _level(confidence_level)
        r = np.asarray(self.statistic, dtype=np.float64)
        n = np.asarray(self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.arctanh(r)
            se = 1.0 / np.sqrt(n - 3.0)
            if self.alternative == "two-sided":
                q = special.ndtri(0.5 + cl / 2)
                lo, hi = np.tanh(z - q * se), np.tanh(z + q * se)
            elif self.alternative == "less":
                q = special.ndtri(cl)
                lo, hi = np.full(r.shape, -1.0), np.tanh(z + q * se)
            else:
                q = special.ndtri(cl)
                lo, hi = np.tanh(z - q * se), np.full(r.shape, 1.0)
        small = (n < 4) | np.isnan(r)
        return ConfidenceInterval(_scalar(np.where(small, np.nan, lo)),
                                  _scalar(np.where(small, np.nan, hi)))


def pearson_r(x, y, *, alternative="two-sided") -> PearsonRResult:
    """Pearson correlation with p-value and Fisher-z confidence interval, along the last axis.

    Parameters
    ----------
    x, y : array_like, shape (..., n)
        Paired values; pairs with a NaN in either are dropped row by row.
    alternative : {"two-sided", "less", "greater"}

    Returns
    -------
    PearsonRResult
        r is NaN where fewer than 2 pairs remain or either variable is
        constant; ``.confidence_interval(confidence_level)`` gives the
        Fisher-z interval.

    Notes
    -----
    The interval is ``tanh(arctanh(r) ± z_{1-α/2} / sqrt(n - 3))`` (Fisher 1921).

    Examples
    --------
    >>> from alignstat.stats import pearson_r
    >>> res = pearson_r([1.0, 2, 3, 4], [1.0, 3, 2, 4])
    >>> round(float(res.statistic), 3), round(float(res.pvalue), 3)
    (0.8, 0.2)
    >>> ci = res.confidence_interval(0.9)
    >>> round(float(ci.low), 3), round(float(ci.high), 3)
    (-0.498, 0.992)
    """
    alternative = _choice("alternative", alternative, _ALTERNATIVES)
    x, y, ok = _pairs(x, y)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(ok, x, 0.0).sum(axis=-1) / n
        my = np.where(ok, y, 0.0).sum(axis=-1) / n
        dx = np.where(ok, x - mx[..., None], 0.0)
        dy = np.where(ok, y - my[..., None], 0.0)
        sxx = np.sum(dx * dx, axis=-1)
        syy = np.sum(dy * dy, axis=-1)
        r = np.sum(dx * dy, axis=-1) / np.sqrt(sxx * syy)
        r = np.clip(r, -1.0, 1.0)
        r = np.where((n >= 2) & (sxx > 0) & (syy > 0), r, np.nan)
        df = np.where(n > 2, n - 2.0, np.nan)
        t = r * np.sqrt(df / ((1.0 - r) * (1.0 + r)))
        cdf = special.stdtr(df, t)
        sf = special.stdtr(df, -t)
        p = _p_from_cdf(cdf, sf, alternative)
        p = np.where(n == 2, np.where(np.isnan(r), np.nan, 1.0), p)  # two points: r = ±1, p = 1
    return PearsonRResult(statistic=_scalar(r), pvalue=_scalar(p), n=_scalar(n),
                          alternative=alternative)


# ------------------------------------------------------------- multiplicity


def adjust_pvalues(p, *, adjust="holm"):
    r"""Adjust p-values for multiple testing; NaN entries are left out of the family.

    Parameters
    ----------
    p : array_like
        p-values in ``[0, 1]`` (any shape; all non-NaN entries form one family).
    adjust : {"holm", "bh", None}
        ``holm``: Holm's step-down family-wise error correction.  ``bh``:
        Benjamini--Hochberg step-up false discovery rate.  ``None``: no
        adjustment (a copy of `p`).  As R's ``p.adjust``.

    Returns
    -------
    ndarray
        Adjusted p-values, same shape, NaN where `p` is NaN.

    Notes
    -----
    With the ``m`` non-NaN p-values sorted ascending, :math:`p_{(1)} \le \dots \le p_{(m)}`,

    .. math::

        \text{Holm: } \max_{j \le i} \min\bigl(1, (m - j + 1) p_{(j)}\bigr), \qquad
        \text{BH: } \min_{j \ge i} \min\bigl(1, m p_{(j)} / j\bigr).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.

    Examples
    --------
    >>> from alignstat.stats import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03], adjust="holm")
    array([0.03, 0.06, 0.06])
    >>> adjust_pvalues([0.01, 0.04, float("nan"), 0.03], adjust="bh")
    array([0.03, 0.04,  nan, 0.04])
    """
    if adjust is not None:
        adjust = _choice("adjust", adjust, _ADJUST)
    if isinstance(p, (str, bytes)):
        raise TypeError("`p` must be an array of numbers, got a string.")
    try:
        arr = np.array(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("`p` must be an array of numbers.") from None
    ok = ~np.isnan(arr)
    if np.any((arr[ok] < 0) | (arr[ok] > 1)):
        raise ValueError("`p` must hold p-values in [0, 1] (or NaN).")
    if adjust is None:
        return arr
    vals = arr[ok]
    m = vals.size
    out = np.full(arr.shape, np.nan)
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    s = vals[order]
    i = np.arange(1, m + 1)
    if adjust == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - i + 1) * s))
    else:
        adj = np.minimum.accumulate(np.minimum(1.0, m * s / i)[::-1])[::-1]
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def significance_stars(p):
    """Stars of a p-value: ``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else ``""``.

    Parameters
    ----------
    p : float or array_like
        p-values; NaN gives ``""``.

    Returns
    -------
    str or ndarray of str (object dtype)

    Examples
    --------
    >>> from alignstat.stats import significance_stars
    >>> significance_stars([0.2, 0.03, 0.004, 0.0001])
    array(['', '*', '**', '***'], dtype=object)
    """
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("`p` must be a number or an array of numbers.") from None
    if np.any(arr[~np.isnan(arr)] < 0) or np.any(arr[~np.isnan(arr)] > 1):
        raise ValueError("`p` must hold p-values in [0, 1] (or NaN).")
    out = np.full(arr.shape, "", dtype=object)
    out[arr < 0.05] = "*"
    out[arr < 0.01] = "**"
    out[arr < 0.001] = "***"
    return out[()] if arr.ndim == 0 else out


def paired_comparison(x, y, *, test="t", labels=None, alternative="two-sided", adjust=None):
    """Run a paired test per row (comparison) and return a tidy table.

    Parameters
    ----------
    x, y : array_like, shape (P, n) or (n,)
        Paired values per comparison (row), e.g. per-question alignment of a
        model with two groups.
    test : {"t", "wilcoxon"}
        :func:`paired_ttest` or :func:`wilcoxon_signed_rank`.
    labels : sequence of str, optional
        One label per row (default ``0..P-1``).
    alternative : {"two-sided", "less", "greater"}
    adjust : {None, "holm", "bh"}
        Also report p-values adjusted over the P rows (column ``pvalue_adj``;
        the stars then use the adjusted values).

    Returns
    -------
    pandas.DataFrame
        Columns ``comparison``, ``test``, ``n``, ``mean_x``, ``mean_y``,
        ``mean_difference``, ``statistic`` (t, or Wilcoxon's statistic),
        ``df`` (t-test only, NaN for Wilcoxon), ``pvalue``, and with `adjust`
        ``pvalue_adj`` and ``adjust``; then ``stars``.  ``n`` is the pairs
        used (the t-test) or the non-zero differences ranked (Wilcoxon).

    Examples
    --------
    >>> from alignstat.stats import paired_comparison
    >>> df = paired_comparison([[1.0, 2, 3, 4], [1.0, 1, 1, 2]], [[0.0, 1, 2, 2], [1.0, 1, 2, 1]],
    ...                        labels=["a", "b"], adjust="holm")
    >>> list(df.columns)
    ['comparison', 'test', 'n', 'mean_x', 'mean_y', 'mean_difference', 'statistic', 'df', 'pvalue', 'pvalue_adj', 'adjust', 'stars']
    """
    import pandas as pd

    test = _choice("test", test, _TESTS)
    if adjust is not None:
        _choice("adjust", adjust, _ADJUST)
    x, y, ok = _pairs(x, y)
    if x.ndim == 1:
        x, y, ok = x[None], y[None], ok[None]
    if x.ndim != 2:
        raise ValueError(f"`x` and `y` must be 1-D or 2-D; got shape {x.shape}.")
    P = x.shape[0]
    if labels is None:
        labels = [str(i) for i in range(P)]
    labels = [str(v) for v in labels]
    if len(labels) != P:
        raise ValueError(f"`labels` must have one entry per row ({P}); got {len(labels)}.")
    if test == "t":
        res = paired_ttest(x, y, alternative=alternative)
        df_ = np.atleast_1d(res.df)
    else:
        res = wilcoxon_signed_rank(x, y, alternative=alternative)
        df_ = np.full(P, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.where(ok, x, 0.0).sum(axis=1) / ok.sum(axis=1)
        mean_y = np.where(ok, y, 0.0).sum(axis=1) / ok.sum(axis=1)
    p = np.atleast_1d(res.pvalue).astype(np.float64)
    out = pd.DataFrame({
        "comparison": labels, "test": test, "n": np.atleast_1d(res.n), "mean_x": mean_x,
        "mean_y": mean_y, "mean_difference": mean_x - mean_y,
        "statistic": np.atleast_1d(res.statistic), "df": df_, "pvalue": p,
    })
    if test == "t":
        out["mean_difference"] = np.atleast_1d(res.mean_difference)
    if adjust is not None:
        out["pvalue_adj"] = p = adjust_pvalues(p, adjust=adjust)
        out["adjust"] = adjust
    out["stars"] = significance_stars(p)
    return out
