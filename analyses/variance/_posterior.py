"""Exact Gaussian conditional draws of the group effects, and derived summaries."""

from __future__ import annotations

import numpy as np

__all__ = ["draw_effects", "finite_population"]


def draw_effects(design, stats, sd, sigma, *, mu0, tau0, rng, chunk=256):
    """Draw intercept and effects from ``p(b | sd, sigma, z)`` for every posterior draw.

    Parameters
    ----------
    design : Design
    stats : SufficientStats
    sd : ndarray, shape (S, K)
    sigma : ndarray, shape (S,)
    mu0, tau0 : float
        Intercept prior.
    rng : numpy.random.Generator

    Returns
    -------
    intercept : ndarray, shape (S,)
    effects : list of ndarray
        One ``(S, size_k)`` array per component (zero-sum, double-centred for
        interactions).

    Notes
    -----
    Non-centred form: ``alpha = mu0 + tau0 xi_0``, ``b_k = sd_k Q_k xi_k`` with
    ``xi ~ N(0, I)``.  With ``G = [tau0 a0, sd_1 R_1 Q_1, ...]`` the conditional of
    ``xi`` is Gaussian with precision ``I + G'G / sigma^2`` and mean
    ``(I + G'G/sigma^2)^-1 G'(z - mu0 a0)/sigma^2``.
    """
    R, z = stats.R, stats.z
    Qs = [c.zero_sum_basis() for c in design.components]
    H = [R[:, c.columns] @ Q for c, Q in zip(design.components, Qs)]
    dofs = [h.shape[1] for h in H]
    Hfull = np.column_stack([R[:, 0]] + H)  # r × q
    q = Hfull.shape[1]
    zc = z - mu0 * R[:, 0]
    C = Hfull.T @ Hfull  # G'G = diag(scales) C diag(scales): no per-draw r x q products
    h = Hfull.T @ zc
    S = sd.shape[0]
    xi = np.empty((S, q))
    eye = np.eye(q)
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        scales = np.column_stack([np.full(hi - lo, tau0)] + [np.repeat(sd[lo:hi, k : k + 1], d, axis=1) for k, d in enumerate(dofs)])
        s2 = sigma[lo:hi] ** 2
        prec = scales[:, :, None] * C[None] * scales[:, None, :] / s2[:, None, None] + eye[None]
        L = np.linalg.cholesky(prec)
        rhs = scales * h[None, :] / s2[:, None]
        # mean = prec^-1 rhs ; draw = mean + L^-T eps
        w = np.linalg.solve(L, rhs[..., None])
        eps = rng.standard_normal((hi - lo, q, 1))
        xi[lo:hi] = np.linalg.solve(np.swapaxes(L, 1, 2), w + eps)[..., 0]
    intercept = mu0 + tau0 * xi[:, 0]
    effects, j = [], 1
    for k, (Q, d) in enumerate(zip(Qs, dofs)):
        effects.append((sd[:, k : k + 1] * xi[:, j : j + d]) @ Q.T)
        j += d
    return intercept, effects


def finite_population(design, stats, effects, sigma):
    """Finite-population SDs, variance shares and the covariance remainder.

    Returns
    -------
    dict of ndarray
        ``sd_finite`` (S, K): ``sqrt(sum b_k^2 / dof_k)`` with ``dof_k = L_k - 1``
        (``(I-1)(J-1)`` for interactions); ``share`` (S, K): ``s_k^2 / sum_j s_j^2``;
        ``share_total`` (S, K): ``s_k^2 / (sum_j s_j^2 + sigma^2)``;
        ``var_explained`` (S, K): weighted variance over rows of each component's
        contribution; ``cov_remainder`` (S,): variance of the summed contributions
        minus the sum of their variances (non-zero when factors are correlated).
    """
    comps = design.components
    s = np.column_stack([np.sqrt((e**2).sum(axis=1) / max(c.dof, 1)) for c, e in zip(comps, effects)])
    s2 = s**2
    share = s2 / s2.sum(axis=1, keepdims=True)
    share_total = s2 / (s2.sum(axis=1, keepdims=True) + sigma[:, None] ** 2)
    M = stats.XtX / stats.n
    m = M[:, 0]
    V = M - np.outer(m, m)
    var_k = np.column_stack([
        np.einsum("si,ij,sj->s", e, V[c.columns, c.columns], e) for c, e in zip(comps, effects)
    ])
    ball = np.concatenate(effects, axis=1)
    Vall = V[1:, 1:]
    total = np.einsum("si,ij,sj->s", ball, Vall, ball)
    return {
        "sd_finite": s,
        "share": share,
        "share_total": share_total,
        "var_explained": var_k,
        "cov_remainder": total - var_k.sum(axis=1),
    }
