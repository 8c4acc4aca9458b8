"""Simulate an outcome from the decomposition model on a real design."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._data import factor_codes, validate_factors
from ._design import build_design

__all__ = ["simulate_outcome"]


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
