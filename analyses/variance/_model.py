"""PyMC model of the collapsed crossed random-effects likelihood, and its samplers."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

from alignstat._optional import require

__all__ = ["blas_single_thread", "build_collapsed_model", "collapsed_logp", "has_nutpie", "sample_collapsed"]


def blas_single_thread():
    """Context manager limiting BLAS/LAPACK to one thread.

    The collapsed model works on small dense matrices (about 100 x 100) from
    several sampler threads at once; multi-threaded OpenBLAS on such sizes
    oversubscribes the cores and was measured 10-25 times slower on a loaded
    2-core machine.
    """
    from threadpoolctl import threadpool_limits  # a declared dependency: no silent slow path

    return threadpool_limits(limits=1, user_api="blas")


def has_nutpie() -> bool:
    """Whether nutpie can be imported."""
    return importlib.util.find_spec("nutpie") is not None


def build_collapsed_model(A, a0, z, rss0, n, *, prior_scale, mu0, tau0):
    """PyMC model of ``(z, rss0)`` with every group effect integrated out.

    Parameters
    ----------
    A : ndarray, shape (K, r, r)
        Marginal covariance block of each component (see
        :func:`analyses.variance._design.prior_blocks`).
    a0 : ndarray, shape (r,)
        Compressed intercept column.
    z : ndarray, shape (r,)
    rss0 : float
    n : float
        Sum of the row weights (the number of rows when unweighted).
    prior_scale : float
        Scale of the half-normal priors on every component SD and on the
        residual SD.
    mu0, tau0 : float
        Mean and SD of the normal prior on the intercept.

    Returns
    -------
    pymc.Model
        Free variables ``sd_super`` (shape K) and ``sigma``; every input is a
        ``pm.Data`` container, so the compiled model can be reused with new
        values of the same shapes.

    Notes
    -----
    ``z ~ MvNormal(mu0 a0, sigma^2 I + sum_k sd_k^2 A_k + tau0^2 a0 a0')`` and
    ``rss0 ~ Gamma((n - r)/2, rate = 1/(2 sigma^2))``.  Together they equal the
    one-row-per-respondent Gaussian likelihood with zero-sum normal effects
    ``b_k ~ ZeroSumNormal(sd_k)`` integrated out, up to a constant.
    """
    pm = require("pymc", purpose="the variance decomposition")
    pt = require("pytensor.tensor", purpose="the variance decomposition")

    A = np.asarray(A, dtype=float)
    K, r, _ = A.shape
    with pm.Model() as model:
        A_d = pm.Data("A", A)
        a0_d = pm.Data("a0", np.asarray(a0, dtype=float))
        z_d = pm.Data("z_obs", np.asarray(z, dtype=float))
        rss_d = pm.Data("rss0", np.asarray(float(rss0)))
        half_dof = pm.Data("half_dof", np.asarray((float(n) - r) / 2.0))
        scale = pm.Data("prior_scale", np.asarray(float(prior_scale)))
        mu0_d = pm.Data("mu0", np.asarray(float(mu0)))
        tau0_d = pm.Data("tau0", np.asarray(float(tau0)))

        sd = pm.HalfNormal("sd_super", sigma=scale, shape=K)
        sigma = pm.HalfNormal("sigma", sigma=scale)
        cov = (
            sigma**2 * pt.eye(z_d.shape[0])
            + pt.tensordot(sd**2, A_d, axes=[[0], [0]])
            + tau0_d**2 * pt.outer(a0_d, a0_d)
        )
        pm.MvNormal("z", mu=mu0_d * a0_d, cov=cov, observed=z_d)
        pm.Gamma("rss", alpha=half_dof, beta=1.0 / (2.0 * sigma**2), observed=rss_d)
    return model


def collapsed_logp(sd, sigma, A, a0, z, rss0, n, *, mu0, tau0):
    """NumPy/SciPy log-likelihood of the collapsed model (test oracle)."""
    from scipy import stats

    K, r, _ = A.shape
    cov = sigma**2 * np.eye(r) + np.tensordot(np.asarray(sd) ** 2, A, axes=1) + tau0**2 * np.outer(a0, a0)
    lz = stats.multivariate_normal(mean=mu0 * a0, cov=cov).logpdf(z)
    lr = stats.gamma(a=(n - r) / 2.0, scale=2.0 * sigma**2).logpdf(rss0)
    return float(lz + lr)


_COMPILED = {}


def _compiled_nutpie(A, a0, z, rss0, n, prior_scale, mu0, tau0):
    nutpie = require("nutpie", purpose="the variance decomposition")

    key = A.shape[0]  # the compiled graph is generic in r; only K fixes the parameter vector
    data = dict(A=A, a0=a0, z_obs=z, rss0=np.asarray(float(rss0)), half_dof=np.asarray((n - A.shape[1]) / 2.0),
                prior_scale=np.asarray(float(prior_scale)), mu0=np.asarray(float(mu0)), tau0=np.asarray(float(tau0)))
    if key not in _COMPILED:
        model = build_collapsed_model(A, a0, z, rss0, n, prior_scale=prior_scale, mu0=mu0, tau0=tau0)
        _COMPILED[key] = nutpie.compile_pymc_model(model, backend="numba")
    return _COMPILED[key].with_data(**data)


def sample_collapsed(A, a0, z, rss0, n, *, prior_scale, mu0, tau0, sampler, chains, draws, tune,
                     seed, target_accept, progressbar=False, cores=None):
    """Sample ``sd_super`` and ``sigma``.

    Returns
    -------
    sd : ndarray, shape (chains, draws, K)
    sigma : ndarray, shape (chains, draws)
    sample_stats : xarray.Dataset
        With at least ``diverging``, ``energy`` and a tree-depth field.
    timings : dict
        ``compile_s`` and ``sample_s``.
    """
    import os
    import time

    if cores is None:
        cores = min(chains, os.cpu_count() or 1)
    A = np.ascontiguousarray(A, dtype=float)
    t0 = time.perf_counter()
    if sampler == "nutpie":
        nutpie = require("nutpie", purpose="the variance decomposition")

        fresh = A.shape[0] not in _COMPILED
        compiled = _compiled_nutpie(A, a0, z, rss0, n, prior_scale, mu0, tau0)
        t1 = time.perf_counter()
        idata = nutpie.sample(compiled, chains=chains, draws=draws, tune=tune, seed=int(seed),
                              target_accept=target_accept, progress_bar=progressbar, cores=int(cores))
        t2 = time.perf_counter()
        compile_s = t1 - t0 if fresh else 0.0
    else:
        pm = require("pymc", purpose="the variance decomposition")

        model = build_collapsed_model(A, a0, z, rss0, n, prior_scale=prior_scale, mu0=mu0, tau0=tau0)
        t1 = time.perf_counter()
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=int(cores), random_seed=int(seed),
                              target_accept=target_accept, progressbar=progressbar, compute_convergence_checks=False,
                              nuts_sampler="pymc")
        t2 = time.perf_counter()
        compile_s = float("nan")  # PyMC compiles inside pm.sample
    post = idata.posterior
    sd = np.asarray(post["sd_super"].values, dtype=float)
    sigma = np.asarray(post["sigma"].values, dtype=float)
    ss = idata.sample_stats
    if "divergence_message" in ss:  # pymc issue 8321: breaks to_netcdf
        ss = ss.drop_vars("divergence_message")
    keep = [v for v in ss.data_vars if ss[v].dtype.kind in "biuf" and set(ss[v].dims) <= {"chain", "draw"}]
    ss = ss[keep]
    return sd, sigma, ss, {"compile_s": compile_s, "sample_s": t2 - t1, "sampler": sampler}
