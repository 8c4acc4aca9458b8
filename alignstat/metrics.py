"""Array-level alignment metrics and the baselines of the global study.

These functions take probability vectors directly (last axis = options) and
broadcast over leading axes; :func:`alignstat.align` is the frame-level entry
point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .distributions import as_distributions

__all__ = [
    "wasserstein_alignment",
    "likert_alignment",
    "js_similarity",
    "tvd_similarity",
    "average_distribution",
    "classify_alignment",
    "tau_filter",
]


def _prob(p, name):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError(f"`{name}` must have at least one axis (the options).")
    if p.size == 0 or p.shape[-1] == 0:
        raise ValueError(f"`{name}` is empty (shape {p.shape}); give at least one distribution over the options.")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"`{name}` must be finite and non-negative.")
    s = p.sum(-1, keepdims=True)
    if np.any(s <= 0):
        raise ValueError(f"`{name}` has a distribution with zero total mass.")
    return p / s


def _positions(positions, k):
    """Return validated ordinal positions (ascending) and the order that sorts them."""
    if k < 2:
        raise ValueError(f"ordinal alignment needs at least two options, got {k}.")
    if positions is None:
        return np.arange(1.0, k + 1.0), None
    x = np.asarray(positions, dtype=np.float64)
    if x.shape != (k,):
        raise ValueError(f"`positions` must have shape ({k},), got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("`positions` must be finite; drop options without an ordinal position first.")
    if len(np.unique(x)) != k:
        raise ValueError("`positions` must be distinct (a zero span or a repeated position has no ordinal scale).")
    order = np.argsort(x, kind="stable")
    if np.all(order == np.arange(k)):
        return x, None
    return x[order], order


def _same_k(p, q):
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"`p` and `q` must have the same number of options, got {p.shape[-1]} and {q.shape[-1]}.")


def wasserstein_alignment(p, q, positions=None):
    r"""Ordinal Wasserstein alignment :math:`1 - W_1(p, q) / (x_{max} - x_{min})`.

    Parameters
    ----------
    p, q : array_like, shape (..., K)
        Distributions over the same K >= 2 options (normalised here);
        leading axes broadcast.
    positions : array_like, shape (K,), optional
        Ordinal positions of the options, in the order of the last axis; any
        order is allowed (e.g. ``[1, 2, 1.5]`` when the middle option is
        listed last).  Default ``1..K``.

    Returns
    -------
    ndarray or float
        In [0, 1]; 1 for identical distributions.

    Raises
    ------
    ValueError
        Empty input, fewer than two options, repeated or non-finite
        positions, negative or non-finite masses, a zero-mass distribution.

    Notes
    -----
    .. math::

        W_1(p, q) = \sum_{k=1}^{K-1} |F_p(x_k) - F_q(x_k)| (x_{k+1} - x_k)

    over the sorted positions, the quantity computed by
    ``scipy.stats.wasserstein_distance(x, x, p, q)``; the alignment of
    Santurkar et al. (2023) divides it by the span of the scale.

    References
    ----------
    Santurkar, S. et al. (2023). Whose opinions do language models reflect? ICML.

    Examples
    --------
    >>> from alignstat import wasserstein_alignment
    >>> float(wasserstein_alignment([0.2, 0.5, 0.3], [0.5, 0.5, 0.0]))
    0.7
    """
    p = _prob(p, "p")
    q = _prob(q, "q")
    _same_k(p, q)
    x, order = _positions(positions, p.shape[-1])
    if order is not None:
        p, q = p[..., order], q[..., order]
    from ._kernels.metrics import wasserstein_numpy

    return wasserstein_numpy(p, q, x)


def likert_alignment(p, a, positions=None):
    r"""Likert-mean alignment :math:`1 - |\mu_p - a| / (x_{max} - x_{min})`.

    Parameters
    ----------
    p : array_like, shape (..., K)
        A group's answer distribution over K >= 2 options.
    a : array_like, shape (...) or (..., K)
        The model's point answer (a position), or a distribution whose mean
        is used.  A point answer is the one-hot distribution at it.
    positions : array_like, shape (K,), optional
        Default ``1..K``.

    Returns
    -------
    ndarray or float

    Notes
    -----
    .. math::

        \mu_p = \sum_k p_k x_k, \qquad 1 - \frac{|\mu_p - \mu_a|}{x_{max} - x_{min}}

    Examples
    --------
    >>> from alignstat import likert_alignment
    >>> float(likert_alignment([0.5, 0.0, 0.5], 3.0))
    0.5
    """
    p = _prob(p, "p")
    x, order = _positions(positions, p.shape[-1])
    if order is not None:
        p = p[..., order]
    a = np.asarray(a, dtype=np.float64)
    from ._kernels.metrics import likert_numpy

    if a.ndim >= 1 and a.shape[-1] == p.shape[-1] and a.shape != p.shape[:-1]:
        a = _prob(a, "a")
        if order is not None:
            a = a[..., order]
        return likert_numpy(p, a, x)
    if not np.all(np.isfinite(a)):
        raise ValueError("`a` must be finite.")
    if np.any((a < x[0]) | (a > x[-1])):
        bad = float(np.ravel(a)[np.flatnonzero(np.ravel((a < x[0]) | (a > x[-1])))[0]])
        raise ValueError(f"the point answer {bad:g} lies outside the scale [{x[0]:g}, {x[-1]:g}]; pass the "
                         "question's positions (a point answer is a position on the scale, not an option index).")
    # a point answer: the mean of its one-hot distribution is the position itself
    return 1.0 - np.abs((p * x).sum(-1) - a) / (x[-1] - x[0])


def js_similarity(p, q):
    r"""``1 -`` the Jensen--Shannon distance in base 2 (as in GlobalOpinionQA).

    Parameters
    ----------
    p, q : array_like, shape (..., K)
        Distributions over the same options (normalised here).

    Returns
    -------
    ndarray or float

    Notes
    -----
    .. math::

        1 - \sqrt{\tfrac12 \mathrm{KL}_2(p \| m) + \tfrac12 \mathrm{KL}_2(q \| m)}, \quad m = (p + q)/2

    as ``1 - scipy.spatial.distance.jensenshannon(p, q, base=2)``.

    References
    ----------
    Durmus, E. et al. (2023). Towards measuring the representation of
    subjective global opinions in language models. arXiv:2306.16388.

    Examples
    --------
    >>> from alignstat import js_similarity
    >>> float(js_similarity([1.0, 0.0], [0.0, 1.0]))
    0.0
    """
    p = _prob(p, "p")
    q = _prob(q, "q")
    _same_k(p, q)
    from ._kernels.metrics import jsd_numpy

    return jsd_numpy(p, q)


def tvd_similarity(p, q):
    r"""``1 -`` the total variation distance ``0.5 * sum|p - q|``.

    Parameters
    ----------
    p, q : array_like, shape (..., K)
        Distributions over the same options (normalised here).

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> from alignstat import tvd_similarity
    >>> float(tvd_similarity([0.25, 0.75], [0.5, 0.5]))
    0.75
    """
    p = _prob(p, "p")
    q = _prob(q, "q")
    _same_k(p, q)
    from ._kernels.metrics import tvd_numpy

    return tvd_numpy(p, q)


def average_distribution(dist, *, over, policy=None) -> pd.DataFrame:
    """Return the average-human baseline: the unweighted mean of group distributions.

    Liu, Kaneko & Chu (2025, section 4.3) compare a model with the *average
    human opinion distribution*: for each question, the mean over countries
    of the countries' distributions.  Each group in `over` counts once,
    whatever its sample size; options a group does not list count as 0.

    Parameters
    ----------
    dist : DataFrame or OpinionDistributions
        Tidy distributions with the `over` column(s) among their groups.
    over : str or sequence of str
        Group column(s) averaged over (e.g. ``"country"``); remaining group
        columns (e.g. ``"wave"``) are kept.

    Returns
    -------
    pandas.DataFrame
        Tidy frame (``question``, kept groups, ``option``, ``prob``) plus
        ``n_groups``: how many groups entered each question's average.
    """
    over = [over] if isinstance(over, str) else list(over)
    d = as_distributions(dist, name="dist", policy=policy)
    for c in over:
        if c not in d.groups:
            raise ValueError(f"`over` column {c!r} is not a group column of `dist` (groups: {list(d.groups)}).")
    keep = [g for g in d.groups if g not in over]
    f = d.to_frame()
    if "label" not in f.columns:
        f["label"] = ""
    n_groups = f.drop_duplicates(["question", *d.groups]).groupby(["question", *keep], dropna=False).size()
    tot = f.groupby(["question", *keep, "option", "label"], dropna=False)["prob"].sum()
    out = tot.reset_index()
    idx = pd.MultiIndex.from_frame(out[["question", *keep]])
    out["n_groups"] = n_groups.reindex(idx).to_numpy()
    out["prob"] = out["prob"] / out["n_groups"]
    if (out["label"] == "").all():
        out = out.drop(columns="label")
    return out


def classify_alignment(model_score, baseline_score, *, tolerance=0.02):
    """Over-, under- or appropriate alignment relative to the average-human baseline.

    Liu, Kaneko & Chu (2025, section 4.3) plot a model's alignment with each
    country against the baseline's alignment with it: on the line
    ``y = x`` is *appropriate*, above is *over*, below is *under*.  A band of
    half-width `tolerance` around the line counts as on it; the default
    0.02 is the margin tau of their Eq. 3.

    Returns
    -------
    ndarray of str
        ``"over"``, ``"under"`` or ``"appropriate"`` (NaN input gives ``"undefined"``).
    """
    m = np.asarray(model_score, dtype=float)
    b = np.asarray(baseline_score, dtype=float)
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"`tolerance` must be a finite non-negative number, got {tolerance!r}.")
    d = m - b
    out = np.where(d > tolerance, "over", np.where(d < -tolerance, "under", "appropriate")).astype(object)
    out[np.isnan(d)] = "undefined"
    return out


def tau_filter(model_scores, baseline_scores, tau=0.02):
    """Eq. 3 of Liu, Kaneko & Chu (2025): keep countries with ``|A_M - A_avg| < tau``.

    Returns a boolean array (or Series, when given Series with a shared index).
    """
    if tau <= 0:
        raise ValueError("`tau` must be positive.")
    if isinstance(model_scores, pd.Series) and isinstance(baseline_scores, pd.Series):
        m, b = model_scores.align(baseline_scores, join="inner")
        return (m - b).abs() < tau
    m = np.asarray(model_scores, dtype=float)
    b = np.asarray(baseline_scores, dtype=float)
    return np.abs(m - b) < tau
