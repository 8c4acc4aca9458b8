"""Differences with intervals: model vs model, group vs group, paired over questions.

:func:`compare` takes per-question alignment -- the ``per_question`` table of
:func:`analyses.global_alignment`, or :func:`alignstat.align` with
``level="question"`` -- and, for each pair of values of one column (models,
countries, groups) and each cell of the ``by`` columns, the mean over shared
questions of the paired difference, a percentile bootstrap interval that
resamples questions (keeping the pairs), a paired test and p-values adjusted
over the family of comparisons.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

import alignstat

__all__ = ["compare"]


def _paired_test(d, test):
    from scipy import stats

    if len(d) < 2 or np.allclose(d, d[0]):
        return np.nan
    if test == "t":
        return float(stats.ttest_1samp(d, 0.0).pvalue)
    return float(stats.wilcoxon(d).pvalue)


def compare(per_question, *, between="model", a=None, b=None, by=None, value="alignment", pair_on="question",
            n_resamples=2000, confidence_level=0.95, test="t", adjust="holm", rng=None):
    r"""Paired differences of mean alignment between values of `between`, with bootstrap intervals.

    Parameters
    ----------
    per_question : pandas.DataFrame or GlobalResult
        Per-question alignment: columns `between`, `pair_on`, `value` and the
        `by` columns (a :class:`~analyses.GlobalResult` gives its
        ``per_question`` table).  Rows that repeat a (`between`, `by`,
        `pair_on`) cell over other columns (e.g. countries when `by` is None)
        are averaged first.
    between : str
        The column whose values are compared (``"model"``, ``"country"``, a
        group column).
    a, b : optional
        Compare `a` with `b`; `a` alone: `a` with every other value; neither:
        every pair (in sorted order).
    by : str or list of str, optional
        One comparison per cell of these columns (e.g. ``"country"``).
    value : str
        The column compared.
    pair_on : str
        The unit of pairing and of resampling (questions).
    n_resamples : int
        Bootstrap replicates (0: no interval).
    confidence_level : float
    test : {"t", "wilcoxon"}
        Paired test of a zero mean difference across questions.
    adjust : {"holm", "bh", None}
        Adjustment over every comparison returned (the family).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        ``[by...], <between>_a, <between>_b, mean_a, mean_b, difference,
        ci_low, ci_high, se, pvalue, pvalue_adj, adjust, family, test,
        n_questions, interval``.

    Notes
    -----
    With :math:`d_q = x_{a,q} - x_{b,q}` over the :math:`n` questions both
    have, the difference is :math:`\bar d = \frac1n \sum_q d_q` (equal to
    ``mean_a - mean_b`` over those questions), ``se`` is :math:`s_d/\sqrt n`,
    and the interval holds the :math:`\alpha/2` and :math:`1-\alpha/2`
    quantiles of :math:`\bar d^{*}` over `n_resamples` resamples of the
    questions with replacement.  Respondents (or model samples) are held
    fixed: the interval covers the question sampling only, as the
    ``interval`` column says.  With fewer than two questions the interval
    and p-value are NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> pq = pd.DataFrame({"model": ["m1"] * 3 + ["m2"] * 3, "question": ["q1", "q2", "q3"] * 2,
    ...                    "alignment": [0.9, 0.8, 0.7, 0.8, 0.8, 0.6]})
    >>> r = compare(pq, n_resamples=200, rng=0)
    >>> r[["model_a", "model_b", "difference", "n_questions"]].round(3).to_dict("records")
    [{'model_a': 'm1', 'model_b': 'm2', 'difference': 0.067, 'n_questions': 3}]
    """
    if hasattr(per_question, "per_question") and not isinstance(per_question, pd.DataFrame):
        per_question = per_question.per_question
    if not isinstance(per_question, pd.DataFrame):
        raise TypeError(f"`per_question` must be a DataFrame or a GlobalResult, got {type(per_question).__name__}.")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for c in [between, pair_on, value, *by]:
        if c not in per_question.columns:
            raise ValueError(f"`per_question` lacks the column {c!r} (columns: {list(per_question.columns)}).")
    if between in by:
        raise ValueError(f"`between` ({between!r}) cannot also be a `by` column.")
    if test not in ("t", "wilcoxon"):
        raise ValueError(f"`test` must be 't' or 'wilcoxon', got {test!r}.")
    if adjust not in ("holm", "bh", None):
        raise ValueError(f"`adjust` must be 'holm', 'bh' or None, got {adjust!r}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ValueError(f"`n_resamples` must be a non-negative integer, got {n_resamples!r}.")
    if not 0 < confidence_level < 1:
        raise ValueError(f"`confidence_level` must be in (0, 1), got {confidence_level!r}.")
    rng = np.random.default_rng(rng)
    keys = [*by, between, pair_on]
    f = per_question[keys + [value]].dropna(subset=[value])
    f = f.groupby(keys, sort=True, dropna=False)[value].mean().reset_index()
    values = sorted(pd.unique(f[between]), key=str)
    for name, v in (("a", a), ("b", b)):
        if v is not None and v not in set(values):
            raise ValueError(f"`{name}`={v!r} is not a value of {between!r} (values: {values[:20]}).")
    if a is not None and b is not None:
        pairs = [(a, b)]
    elif a is not None:
        pairs = [(a, v) for v in values if v != a]
    elif b is not None:
        raise ValueError("`b` needs `a`.")
    else:
        pairs = list(itertools.combinations(values, 2))
    if not pairs:
        raise ValueError(f"nothing to compare: {between!r} has only the value(s) {values}.")
    alpha = 1 - confidence_level
    rows = []
    cells = f.groupby(by, sort=True, dropna=False) if by else [((), f)]
    for cell, g in cells:
        cell = cell if isinstance(cell, tuple) else (cell,)
        wide = g.pivot(index=pair_on, columns=between, values=value)
        for va, vb in pairs:
            if va not in wide.columns or vb not in wide.columns:
                continue
            both = wide[[va, vb]].dropna()
            xa, xb = both[va].to_numpy(float), both[vb].to_numpy(float)
            d = xa - xb
            n = len(d)
            lo = hi = se = np.nan
            if n >= 2:
                se = float(np.std(d, ddof=1) / np.sqrt(n))
                if n_resamples > 0:
                    idx = rng.integers(0, n, size=(n_resamples, n))
                    reps = d[idx].mean(axis=1)
                    lo, hi = (float(x) for x in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
            rows.append({**dict(zip(by, cell)), f"{between}_a": va, f"{between}_b": vb,
                         "mean_a": float(xa.mean()) if n else np.nan, "mean_b": float(xb.mean()) if n else np.nan,
                         "difference": float(d.mean()) if n else np.nan, "ci_low": lo, "ci_high": hi, "se": se,
                         "pvalue": _paired_test(d, test), "n_questions": n})
    out = pd.DataFrame(rows)
    if out.empty:
        raise ValueError(f"no pair of {between!r} values shares a {pair_on!r}: nothing to compare.")
    p = out["pvalue"].to_numpy(float)
    ok = np.isfinite(p)
    adj = np.full(len(p), np.nan)
    if adjust and ok.any():
        adj[ok] = alignstat.adjust_pvalues(p[ok], adjust=adjust)
    elif not adjust:
        adj = p.copy()
    out["pvalue_adj"] = adj
    out["adjust"] = adjust or "none"
    out["family"] = f"{int(ok.sum())} paired comparisons of {between}" + (f" within {', '.join(by)}" if by else "")
    out["test"] = "paired t" if test == "t" else "Wilcoxon signed-rank"
    out["interval"] = (f"{confidence_level:.0%} percentile bootstrap; resampled: {pair_on}s (paired); "
                       f"B={n_resamples}" if n_resamples else "none")
    cols = [*by, f"{between}_a", f"{between}_b", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "se",
            "pvalue", "pvalue_adj", "adjust", "family", "test", "n_questions", "interval"]
    return out[cols]
