"""The one confidence-interval type of alignstat and the bootstrap interval arithmetic.

:class:`ConfidenceInterval` is returned by every result that has an interval
(:func:`~alignstat.bootstrap_alignment`, :func:`~alignstat.bootstrap_questions`,
:meth:`~alignstat.PairedTTestResult.confidence_interval`,
:meth:`~alignstat.PearsonRResult.confidence_interval`), as scipy's results share
one ``ConfidenceInterval(low, high)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ._warnings import DiagnosticsWarning

__all__ = ["ConfidenceInterval", "DegenerateIntervalWarning", "describe_interval"]


class DegenerateIntervalWarning(DiagnosticsWarning):
    """A bootstrap interval is undefined because resampling cannot vary the estimate.

    Example: a question bootstrap over a single question draws the same
    question in every replicate, so its percentile interval would have zero
    width; alignstat reports NaN limits instead.
    """


@dataclass(frozen=True)
class ConfidenceInterval:
    """Lower and upper confidence limits.

    Attributes
    ----------
    low, high : float or ndarray
        Limits, of the estimate's shape (``-inf``/``inf`` on the open side of a
        one-sided interval, NaN where undefined).

    Examples
    --------
    >>> from alignstat import ConfidenceInterval
    >>> ci = ConfidenceInterval(0.25, 0.75)
    >>> ci.low, ci.high
    (0.25, 0.75)
    >>> low, high = ci  # unpacks like a (low, high) tuple
    """

    low: Any
    high: Any

    def __iter__(self):
        return iter((self.low, self.high))


def describe_interval(confidence_level, ci_method, resampled, n_resamples):
    """Describe an interval for the ``interval`` column, e.g. ``"95% percentile bootstrap; resampled: respondents; B=2000"``.

    Parameters
    ----------
    confidence_level : float
    ci_method : str
    resampled : str
        What a replicate resamples, in words.
    n_resamples : int

    Returns
    -------
    str

    Examples
    --------
    >>> describe_interval(0.95, "bca", "questions", 1000)
    '95% bca bootstrap; resampled: questions; B=1000'
    """
    level = f"{100 * confidence_level:.10g}%"
    return f"{level} {ci_method} bootstrap; resampled: {resampled}; B={int(n_resamples)}"


def sorted_quantile(sorted_x, n_valid, prob):
    """Linear-interpolation quantile (NumPy's default) of the first `n_valid` rows.

    ``sorted_x`` is sorted along axis 0 (NaN last); ``prob`` holds per-column
    probabilities.  NaN where ``n_valid == 0`` or ``prob`` is NaN.
    """
    shape = sorted_x.shape[1:]
    xs = sorted_x.reshape(sorted_x.shape[0], -1)
    nv = np.broadcast_to(n_valid, shape).ravel()
    p = np.broadcast_to(prob, shape).ravel()
    out = np.full(nv.shape, np.nan)
    ok = (nv > 0) & np.isfinite(p)
    h = np.where(ok, p * (nv - 1), 0.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(nv - 1, 0))
    cols = np.arange(xs.shape[1])
    a = xs[lo, cols]
    b = xs[hi, cols]
    t = h - lo
    val = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
    out[ok] = val[ok]
    return out.reshape(shape)


def acceleration(deviation_sets):
    """BCa acceleration from jackknife values.

    ``deviation_sets`` is a list of ``(theta_jack, n)`` with ``theta_jack``
    shape ``(K, ...)`` (NaN entries ignored); the empirical influence of unit
    ``k`` of a set of ``n`` units is ``u = (n - 1) / n * (mean - theta_k)``
    and ``a = sum u**3 / (6 * (sum u**2) ** 1.5)`` over all sets (Efron &
    Tibshirani 1993, eq. 14.15; the multi-sample form of SciPy's
    ``bootstrap``).  Returns 0 where every deviation is 0.
    """
    num = 0.0
    den = 0.0
    for theta, n in deviation_sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            u = (n - 1.0) / n * (np.nanmean(theta, axis=0) - theta)
        num = num + np.nansum(u**3, axis=0)
        den = den + np.nansum(u**2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = num / (6.0 * den**1.5)
    return np.where(den > 0, a, 0.0)


def intervals(dist, estimate, *, confidence_level, ci_method, acceleration, rescale):
    """Percentile or BCa limits from replicates ``dist`` (B, ...)."""
    x = dist if rescale == 1.0 else estimate + rescale * (dist - estimate)
    n_valid = np.sum(~np.isnan(x), axis=0)
    xs = np.sort(x, axis=0)
    alpha = (1.0 - confidence_level) / 2.0
    if ci_method == "percentile":
        p_lo = np.full(estimate.shape, alpha)
        p_hi = np.full(estimate.shape, 1.0 - alpha)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (np.sum(x < estimate, axis=0) + np.sum(x <= estimate, axis=0)) / (
                2.0 * n_valid
            )
            z0 = ndtri(frac)
            za = ndtri(alpha)
            n1 = z0 + za
            n2 = z0 - za
            p_lo = ndtr(z0 + n1 / (1.0 - acceleration * n1))
            p_hi = ndtr(z0 + n2 / (1.0 - acceleration * n2))
    low = sorted_quantile(xs, n_valid, p_lo)
    high = sorted_quantile(xs, n_valid, p_hi)
    if ci_method == "bca":
        # Degenerate distributions: every defined replicate equals the estimate.
        same = (n_valid > 0) & (xs[0] == estimate) & (
            np.take_along_axis(xs, np.maximum(n_valid - 1, 0)[None], axis=0)[0] == estimate
        )
        low = np.where(same, estimate, low)
        high = np.where(same, estimate, high)
        failed = (n_valid > 0) & ~np.isfinite(low) & np.isfinite(estimate)
        if failed.any():
            warnings.warn(
                f"BCa interval undefined for {int(failed.sum())} estimate(s): every "
                "bootstrap replicate falls on one side of the estimate; their limits "
                "are NaN (use ci_method='percentile' or more replicates).",
                DiagnosticsWarning,
                stacklevel=3,
            )
    return low, high


def standard_error(dist, scale_fn):
    """``sqrt(c(R) * sum_r (theta_r - mean)**2)`` over the ``R`` defined replicates."""
    n_valid = np.sum(~np.isnan(dist), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(dist, axis=0)
        ss = np.nansum((dist - mean) ** 2, axis=0)
    scale = np.full(n_valid.shape, np.nan)
    for r in np.unique(n_valid):
        if r >= 2:
            scale[n_valid == r] = scale_fn(int(r))
    return np.sqrt(scale * ss)
