"""Simulate an outcome from the decomposition model on a real design."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._data import factor_codes, validate_factors
from ._design import build_design

__all__ = ["simulate_group_problem", "simulate_outcome"]


def simulate_outcome(data, *, factors, sd, sigma, intercept=0.6, country="country", interactions=(), rng=None):
    """Draw ``y = intercept + sum_k b_k[level] + e`` on the design of ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondent frame holding the grouping columns (its countries, factor
        levels and their joint distribution are kept).
    factors : sequence of str
    sd : dict of str -> float
        Superpopulation SD of each component (``country``, each factor, and
        ``"a:b"`` for an interaction); components left out get 0.
    sigma : float
        Residual SD.
    intercept : float
    country : str or None
    interactions : sequence of (str, str)
    rng : numpy.random.Generator or seed, optional

    Returns
    -------
    y : numpy.ndarray, shape (n,)
    truth : pandas.DataFrame
        ``component``, ``sd_super``, ``sd_finite`` (SD of the realised level
        effects, ``L - 1`` degrees of freedom) and ``share``
        (``s_k^2 / sum_j s_j^2``), plus a ``residual`` row; the realised effects
        are in ``truth.attrs["effects"]`` (dict of component -> array).

    Notes
    -----
    Effects are zero-sum normal: ``b_k = sd_k Q_k eta`` with ``Q_k`` an
    orthonormal basis of the centred subspace and ``eta ~ N(0, I)`` — the
    prior of :func:`decompose_variance`.  Missing factor values form their own
    level.
    """
    rng = np.random.default_rng(rng)
    factors = validate_factors(data, factors, country, None)
    names = ([country] if country else []) + factors
    codes, labels = factor_codes(data, names, missing="group")
    design = build_design(codes, labels, interactions=[tuple(p) for p in interactions])
    known = {c.name for c in design.components}
    bad = sorted(set(sd) - known)
    if bad:
        raise ValueError(f"`sd` names unknown component(s) {bad}; components are {sorted(known)}.")
    if sigma < 0 or any(v < 0 for v in sd.values()):
        raise ValueError("`sd` values and `sigma` must be non-negative.")
    y = np.full(design.n_rows, float(intercept))
    rows, effects = [], {}
    for k, comp in enumerate(design.components):
        Q = comp.zero_sum_basis()
        b = float(sd.get(comp.name, 0.0)) * (Q @ rng.standard_normal(Q.shape[1]))
        effects[comp.name] = b
        y += b[design.codes[:, k]]
        rows.append({"component": comp.name, "sd_super": float(sd.get(comp.name, 0.0)),
                     "sd_finite": float(np.sqrt((b**2).sum() / max(comp.dof, 1)))})
    y += float(sigma) * rng.standard_normal(design.n_rows)
    truth = pd.DataFrame(rows)
    s2 = truth["sd_finite"] ** 2
    truth["share"] = s2 / s2.sum() if s2.sum() > 0 else np.nan
    truth = pd.concat([truth, pd.DataFrame([{"component": "residual", "sd_super": float(sigma),
                                             "sd_finite": float(sigma), "share": np.nan}])], ignore_index=True)
    truth.attrs["effects"] = effects
    return y, truth


def simulate_group_problem(*, n=2000, levels=None, n_questions=4, sd=None, sigma=0.15, n_models=1,
                           interaction=None, weights=None, rng=None):
    """Simulate answers with known group means for the group-alignment decomposition.

    Respondents get independent uniform levels of every component (the first
    is called ``"country"``); answers to question ``q`` on the scale rescaled
    to [0, 1] are ``alpha_q + sum_k b_kq[level] (+ c_q[cell]) + e``, with
    ``b_kq ~ N(0, sd_k^2)``, ``e ~ N(0, sigma^2)`` -- the model of
    ``decompose_variance(estimand="group")``.

    Parameters
    ----------
    n : int
    levels : dict of str -> int, optional
        Levels per component (default ``{"country": 8, "gender": 2, "education": 5}``).
    n_questions : int
    sd : dict of str -> float, optional
        SD of each component's effects (default 0.08 for country, 0.04 otherwise;
        key ``"a:b"`` for the interaction).
    sigma : float
    n_models : int
        Models whose answers (mean answer on the rescaled scale) are drawn
        uniformly in [0.2, 0.8].
    interaction : (str, str), optional
    weights : ndarray, shape (n,), optional
        Survey weights attached to the respondents (they define the groups'
        population composition and enter the likelihood).
    rng : seed or numpy.random.Generator

    Returns
    -------
    problem : analyses.variance._fit_group.GroupProblem
    truth : pandas.DataFrame
        ``model``, ``component``, ``sd``: finite-population SD of the true
        group alignments (group means from the true coefficients and each
        group's composition).
    """
    from ._fit_group import GroupProblem, truth_sds

    rng = np.random.default_rng(rng)
    levels = dict(levels or {"country": 8, "gender": 2, "education": 5})
    names = list(levels)
    sizes = [int(levels[k]) for k in names]
    sd = dict(sd or {k: (0.08 if i == 0 else 0.04) for i, k in enumerate(names)})
    codes = [rng.integers(0, L, n) for L in sizes]
    for c, L in zip(codes, sizes):
        c[:L] = np.arange(L)
    inter = None
    cell = None
    if interaction is not None:
        a, b = interaction
        ia, ib = names.index(a), names.index(b)
        inter = (f"{a}:{b}", a, b, (sizes[ia], sizes[ib]))
        cell = codes[ia] * sizes[ib] + codes[ib]
    Q = int(n_questions)
    p = 1 + sum(sizes)
    c = int(np.prod(inter[3])) if inter else 0
    beta_m = np.empty((Q, p))
    beta_c = np.zeros((Q, c))
    Y = np.empty((n, Q))
    for q in range(Q):
        alpha = rng.uniform(0.3, 0.7)
        parts = [np.array([alpha])]
        y = np.full(n, alpha)
        for k, L in enumerate(sizes):
            b = rng.normal(0.0, sd.get(names[k], 0.0), L)
            parts.append(b)
            y += b[codes[k]]
        beta_m[q] = np.concatenate(parts)
        if c:
            beta_c[q] = rng.normal(0.0, sd.get(inter[0], 0.0), c)
            y += beta_c[q][cell]
        Y[:, q] = y + rng.normal(0.0, sigma, n)
    target = rng.uniform(0.2, 0.8, (n_models, Q))
    labels = [[f"{nm}{j}" for j in range(L)] for nm, L in zip(names, sizes)]
    prob = GroupProblem(Y, codes, sizes, names, labels, target, np.ones(Q), np.arange(Q), Q,
                        [f"model{i}" for i in range(n_models)], weights=weights, composition_weights=weights,
                        inter=inter)
    truth, _, _ = truth_sds(beta_m, beta_c, prob)
    truth.attrs["beta_m"], truth.attrs["beta_c"] = beta_m, beta_c
    return prob, truth
