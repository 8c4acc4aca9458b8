"""Importance sampling of the hyper-parameters from a Laplace approximation, corrected by PSIS.

Used by the group-estimand decomposition when NUTS would need far more
log-density evaluations than the problem allows (``sampler="laplace-is"``;
``"auto"`` chooses it for large designs).  The hyper-parameters are ``x =
(log sd, log sigma)``; the exact log posterior of
:func:`analyses.variance._group.log_posterior` (effects integrated out) is:

1. maximised (L-BFGS with the analytic gradient);
2. approximated at the mode by a multivariate Student-t proposal whose scale
   is the inverse of the negative Hessian (central differences of the
   analytic gradient; the residual block is diagonal, because ``log
   sigma_q`` enters only outcome ``q``'s likelihood, so ``2 (K + 1)``
   gradients suffice);
3. corrected by importance weights ``p(x) / q(x)`` computed with the exact
   log posterior, Pareto-smoothed (PSIS, Vehtari et al. 2024), whose shape
   estimate ``k`` says whether the correction can be trusted (``k < 0.7``);
4. turned into equally weighted draws by systematic resampling.

The draws then enter the same exact Gaussian effect draws as NUTS draws do.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import optimize, special

from ._group import _init_point, log_posterior

__all__ = ["laplace_is"]


def _neg(x, st, prior_scale, tau0):
    lp, g = log_posterior(x, st, prior_scale=prior_scale, tau0=tau0)
    if not np.isfinite(lp):
        return 1e300, np.zeros_like(x)
    return -lp, -g


def _hessian(x, st, prior_scale, tau0, h=1e-4):
    """Negative Hessian of the log posterior at `x` from central differences of its gradient."""
    K = st.n_components
    n = x.size
    H = np.zeros((n, n))

    def grad(z):
        return log_posterior(z, st, prior_scale=prior_scale, tau0=tau0)[1]

    for k in range(K):
        e = np.zeros(n)
        e[k] = h
        H[:, k] = (grad(x + e) - grad(x - e)) / (2 * h)
    # residual block: d grad_sigma_q / d log sigma_q' = 0 for q != q', so one pair of gradients gives the diagonal
    e = np.zeros(n)
    e[K:] = h
    H[K:, K:] = np.diag((grad(x + e)[K:] - grad(x - e)[K:]) / (2 * h))
    H[:K, K:] = H[K:, :K].T
    H = -(H + H.T) / 2
    return H


def _mvt_logpdf(z, df):
    """Log density of standard multivariate t draws ``z`` (n × d), up to the log-det of the scale."""
    d = z.shape[1]
    q = (z**2).sum(axis=1)
    return (special.gammaln((df + d) / 2) - special.gammaln(df / 2) - d / 2 * np.log(df * np.pi)
            - (df + d) / 2 * np.log1p(q / df))


def _psis_weights(az, lw):
    """Normalised Pareto-smoothed importance weights and the Pareto shape estimate."""
    finite = np.isfinite(lw)
    slw = np.full(lw.shape, -np.inf)
    smoothed, k = az.psislw(lw[finite] - lw[finite].max())
    slw[finite] = smoothed
    return np.exp(slw - special.logsumexp(slw)), float(k)


def laplace_is(st, *, prior_scale, tau0, proposals, draws, seed, df=5.0, adapt=1, cores=None):
    """Equally weighted posterior draws of ``(log sd, log sigma)`` by PSIS-corrected Laplace importance sampling.

    Parameters
    ----------
    st : GroupStats
    prior_scale, tau0 : float
        As in :func:`analyses.variance._group.log_posterior`.
    proposals : int
        Importance draws (each costs one log-density evaluation).
    draws : int
        Equally weighted draws returned (systematic resampling).
    seed : int
    df : float
        Degrees of freedom of the Student-t proposal (heavier tails than the
        normal approximation, so that the weights stay bounded).
    adapt : int
        At most this many further rounds of `proposals` draws while the
        Pareto k exceeds 0.5, each from a proposal moved to the
        importance-weighted mean and covariance of the previous round (shrunk
        halfway to the Laplace scale); the round with the lowest k is kept.
    cores : int, optional
        Threads evaluating the proposals (default: every core).

    Returns
    -------
    x : ndarray, shape (draws, K + Q)
    info : dict
        ``pareto_k``, ``ess_is`` (effective sample size of the weights),
        ``evaluations``, ``optimizer_converged``, ``mode``, ``seconds``.
    """
    from alignstat._optional import require

    az = require("arviz", purpose="the variance decomposition's importance sampling")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    # the mode does not depend on the seed: start from the moment-based point without jitter
    x0 = _init_point(st, prior_scale, None)
    n_eval = [0]

    def f(x):
        n_eval[0] += 1
        return _neg(x, st, prior_scale, tau0)

    # the log posterior is of the order of the number of answers (10^6 at ESS scale): L-BFGS's default relative
    # tolerance on f would stop it up to a few units of log density short of the mode, sometimes with a
    # component SD stranded near zero, so f's tolerance is switched off and the gradient decides
    opt = optimize.minimize(f, x0, jac=True, method="L-BFGS-B",
                            options={"maxiter": 3000, "gtol": 1e-6, "ftol": 1e-15})
    # Newton steps with the finite-difference Hessian polish the mode
    mode, converged = opt.x, False
    lp, g = log_posterior(mode, st, prior_scale=prior_scale, tau0=tau0)
    n_eval[0] += 1
    for _ in range(8):
        H = _hessian(mode, st, prior_scale, tau0)
        n_eval[0] += 2 * (st.n_components + 1)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if np.max(np.abs(step)) < 1e-5:
            converged = True
            break
        for _half in range(20):
            lp_new, g_new = log_posterior(mode + step, st, prior_scale=prior_scale, tau0=tau0)
            n_eval[0] += 1
            if np.isfinite(lp_new) and lp_new >= lp - 1e-9:
                break
            step = step / 2
        else:
            break
        mode, lp, g = mode + step, lp_new, g_new
    else:
        H = _hessian(mode, st, prior_scale, tau0)
        n_eval[0] += 2 * (st.n_components + 1)
    try:
        L = np.linalg.cholesky(np.linalg.inv(H))
    except np.linalg.LinAlgError:
        # not a proper maximum along some direction: fall back to the diagonal curvature
        L = np.diag(1.0 / np.sqrt(np.maximum(np.diag(H), 1e-8)))
    d = mode.size
    cores = max(1, int(cores or os.cpu_count() or 1))

    def one_round(mean, L_prop):
        z = rng.standard_normal((proposals, d)) / np.sqrt(rng.chisquare(df, proposals) / df)[:, None]
        x = mean + z @ L_prop.T
        log_q = _mvt_logpdf(z, df) - np.log(np.diag(L_prop)).sum()
        # NumPy and LAPACK release the GIL: different proposals are evaluated in parallel threads
        with ThreadPoolExecutor(max_workers=cores) as pool:
            log_p = np.array(list(pool.map(lambda xi: log_posterior(xi, st, prior_scale=prior_scale, tau0=tau0)[0],
                                           x)))
        n_eval[0] += proposals
        lw = np.where(np.isfinite(log_p), log_p - log_q, -np.inf)
        w, k = _psis_weights(az, lw)
        return x, w, k

    rounds = [one_round(mode, L)]
    for _ in range(adapt):
        x, w, k = rounds[-1]
        if k <= 0.5:
            break
        # moment matching, shrunk towards the Laplace scale (a weighted covariance of a few hundred
        # draws in many dimensions is too noisy to be a proposal on its own)
        mean = w @ x
        cov = (x - mean).T @ ((x - mean) * w[:, None])
        cov = 0.5 * cov * (df - 2) / df + 0.5 * (L @ L.T)
        try:
            rounds.append(one_round(mean, np.linalg.cholesky(cov)))
        except np.linalg.LinAlgError:
            break
    ks = [r[2] for r in rounds]
    x, w, k = rounds[int(np.argmin(ks))]
    ess = 1.0 / np.sum(w**2)
    # systematic resampling: each proposal appears floor or ceil of draws * w_i times
    u = (rng.uniform() + np.arange(draws)) / draws
    idx = np.minimum(np.searchsorted(np.cumsum(w), u), len(w) - 1)
    out = x[rng.permutation(idx)]
    info = {"pareto_k": float(k), "pareto_k_rounds": ks, "ess_is": float(ess), "evaluations": int(n_eval[0]),
            "optimizer_converged": bool(converged), "mode": mode, "seconds": time.perf_counter() - t0}
    return out, info
