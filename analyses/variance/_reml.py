"""REML cross-check on the collapsed likelihood (scipy optimiser)."""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize

__all__ = ["reml_fit", "reml_loglik"]


def reml_loglik(log_sd, log_sigma, A, a0, z, rss0, n):
    """Restricted log-likelihood (intercept integrated with a flat prior), up to a constant."""
    sd2 = np.exp(2 * np.asarray(log_sd))
    s2 = np.exp(2 * log_sigma)
    r = z.shape[0]
    V = s2 * np.eye(r) + np.tensordot(sd2, A, axes=1)
    try:
        c = linalg.cho_factor(V, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return -np.inf
    logdet = 2 * np.log(np.diag(c[0])).sum()
    Vi_a = linalg.cho_solve(c, a0, check_finite=False)
    Vi_z = linalg.cho_solve(c, z, check_finite=False)
    aVa = a0 @ Vi_a
    quad = z @ Vi_z - (a0 @ Vi_z) ** 2 / aVa
    return -0.5 * (logdet + np.log(aVa) + quad) - 0.5 * (n - r) * np.log(s2) - rss0 / (2 * s2)


def reml_fit(A, a0, z, rss0, n, *, scale):
    """Maximise the restricted likelihood over the log SDs.

    Returns
    -------
    sd : ndarray, shape (K,)
        REML estimates of the component SDs (superpopulation).
    sigma : float
        REML residual SD.
    info : dict
        ``converged`` (bool), ``loglik`` and the optimiser message.
    """
    K = A.shape[0]
    # optimise u = log(sd / scale) on a per-row objective, which keeps L-BFGS-B's steps well scaled
    ls = np.log(scale)

    def f(u):
        v = reml_loglik(u[:K] + ls, u[K] + ls, A, a0, z, rss0, n)
        return -v / n if np.isfinite(v) else np.inf

    best = None
    for start in (np.r_[np.full(K, np.log(0.1)), 0.0], np.r_[np.full(K, np.log(0.5)), np.log(0.5)]):
        res = optimize.minimize(f, start, method="L-BFGS-B", bounds=[(np.log(1e-6), np.log(100.0))] * (K + 1))
        if best is None or res.fun < best.fun:
            best = res
    best.x = best.x + ls
    best.fun = best.fun * n
    return np.exp(best.x[:K]), float(np.exp(best.x[K])), {
        "converged": bool(best.success), "loglik": -float(best.fun), "message": str(best.message)
    }
