"""Crossed per-question model of respondents' answers, with the group effects integrated out.

For each question (or, for the Wasserstein estimand, each cumulative threshold
of a question) ``q`` the answer of respondent ``i``, rescaled to ``[0, 1]`` by
the question's full scale, is

    y_iq = alpha_q + sum_k b_kq[level_k(i)] (+ c_q[cell(i)]) + e_iq,
    b_kq ~ N(0, sd_k^2 I),  c_q ~ N(0, sd_c^2 I),  e_iq ~ N(0, sigma_q^2 / w_i),
    alpha_q ~ N(m_q, tau0^2),

with the component SDs ``sd_k`` shared by all questions.  The data enter only
through per-question weighted cross-products of the one-hot design (``C_q =
X_q' W X_q``, ``h_q = X_q' W y_q``, ``y_q' W y_q`` and ``sum w``): the
"sufficient-statistics trick".  The effects are integrated out in coefficient
space (Woodbury), and an interaction block -- diagonal in ``C_q`` because cells
are disjoint -- is eliminated by a Schur complement, so the cost per likelihood
evaluation is ``O(Q p^2 (p + c))`` with ``p`` the main-effect columns and ``c``
the interaction cells, independent of the number of respondents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from alignstat._optional import require

__all__ = ["GroupStats", "draw_group_effects", "group_loglik", "group_stats", "log_posterior", "loglik_grad", "sample_group"]


@dataclass(frozen=True)
class GroupStats:
    """Per-question sufficient statistics of the crossed design.

    Attributes
    ----------
    names : list of str
        Main components (country first, then the factors).
    sizes : list of int
        Levels of each main component.
    col_comp : ndarray of int, shape (p,)
        Component index of each main column (-1 for the intercept, column 0).
    inter : tuple or None
        ``(name, a, b, shape)`` of the interaction block, or None.
    C_mm : ndarray, shape (Q, p, p)
    C_mc : ndarray, shape (Q, p, c)
        Cross-products of main columns with interaction cells (``c = 0`` without one).
    n_c : ndarray, shape (Q, c)
        Weighted count per interaction cell (the diagonal of the cell block).
    h_m : ndarray, shape (Q, p)
    h_c : ndarray, shape (Q, c)
    syy : ndarray, shape (Q,)
    n : ndarray, shape (Q,)
        Sum of weights (the number of answers when unweighted).
    m0 : ndarray, shape (Q,)
        Prior mean of the intercepts (the weighted mean of ``y_q``).
    """

    names: list
    sizes: list
    col_comp: np.ndarray
    inter: tuple | None
    C_mm: np.ndarray
    C_mc: np.ndarray
    n_c: np.ndarray
    h_m: np.ndarray
    h_c: np.ndarray
    syy: np.ndarray
    n: np.ndarray
    m0: np.ndarray

    @property
    def n_outcomes(self) -> int:
        return int(self.C_mm.shape[0])

    @property
    def p(self) -> int:
        return int(self.C_mm.shape[1])

    @property
    def c(self) -> int:
        return int(self.C_mc.shape[2])

    @property
    def n_components(self) -> int:
        return len(self.names) + (self.inter is not None)

    def shape_key(self) -> tuple:
        """Return what fixes a sampler's parameter vector: the number of SDs and whether a cell block exists."""
        return (len(self.names), self.inter is not None)


def main_matrix(codes, sizes):
    """Sparse one-hot design ``[1, country, factor_1, ...]`` (n × p)."""
    n = len(codes[0])
    K = len(codes)
    starts = np.cumsum([1] + list(sizes))[:-1]
    cols = np.empty((n, K + 1), dtype=np.int64)
    cols[:, 0] = 0
    for k in range(K):
        cols[:, k + 1] = starts[k] + codes[k]
    rows = np.repeat(np.arange(n), K + 1)
    return sp.csr_matrix((np.ones(n * (K + 1)), (rows, cols.ravel())), shape=(n, 1 + int(sum(sizes))))


def group_stats(Y, codes, sizes, names, *, weights=None, inter=None, cell_codes=None):
    """Per-outcome cross-products of the design.

    Parameters
    ----------
    Y : ndarray, shape (n, Q)
        Rescaled answers (NaN = no answer).
    codes : list of ndarray of int
        Level of each respondent for each main component.
    sizes : list of int
    names : list of str
    weights : ndarray, shape (n,) or (n, Q), optional
        Respondent weights (per outcome when 2-D); normalised to mean 1 among
        each outcome's answers.
    inter : tuple, optional
        ``(name, a, b, shape)``.
    cell_codes : ndarray of int, shape (n,), optional
        Interaction cell of each respondent (``0 … c-1``).
    """
    Y = np.asarray(Y, dtype=float)
    n, Q = Y.shape
    X = main_matrix(codes, sizes)
    p = X.shape[1]
    c = int(np.prod(inter[3])) if inter is not None else 0
    w_all = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    C_mm = np.empty((Q, p, p))
    C_mc = np.zeros((Q, p, c))
    n_c = np.zeros((Q, c))
    h_m = np.empty((Q, p))
    h_c = np.zeros((Q, c))
    syy, nn, m0 = np.empty(Q), np.empty(Q), np.empty(Q)
    col_comp = np.concatenate([[-1]] + [np.full(s, k) for k, s in enumerate(sizes)])
    for q in range(Q):
        ok = np.isfinite(Y[:, q])
        if not ok.any():
            raise ValueError(f"outcome {q} has no answers.")
        w = w_all[ok, q] if w_all.ndim == 2 else w_all[ok]
        w = w / w.mean()
        y = Y[ok, q]
        Xq = X[ok]
        Xw = Xq.multiply(w[:, None]).tocsr()
        C_mm[q] = (Xw.T @ Xq).toarray()
        h_m[q] = Xw.T @ y
        syy[q] = float((w * y * y).sum())
        nn[q] = float(w.sum())
        m0[q] = float((w * y).sum() / w.sum())
        if c:
            cc = cell_codes[ok]
            n_c[q] = np.bincount(cc, weights=w, minlength=c)
            h_c[q] = np.bincount(cc, weights=w * y, minlength=c)
            Z = sp.csr_matrix((w, (np.arange(len(cc)), cc)), shape=(len(cc), c))
            C_mc[q] = (Xq.T @ Z).toarray()
    return GroupStats(list(names), list(sizes), col_comp, inter, C_mm, C_mc, n_c, h_m, h_c, syy, nn, m0)


def _prior_precision(st, sd, tau0):
    """Diagonal prior precision of the main columns, shape (p,)."""
    sd_main = np.asarray(sd, dtype=float)[: len(st.names)]
    return np.concatenate([[1.0 / tau0**2], 1.0 / sd_main[st.col_comp[1:]] ** 2])


def group_loglik(sd, sigma, st, *, tau0):
    """Exact marginal log-likelihood (NumPy oracle), summed over outcomes, up to a constant.

    Parameters
    ----------
    sd : array, shape (K,)
        Component SDs (the interaction SD last when there is one).
    sigma : array, shape (Q,)
        Residual SD per outcome.
    """
    sd = np.asarray(sd, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (st.n_outcomes,))
    pinv = _prior_precision(st, sd, tau0)
    total = 0.0
    for q in range(st.n_outcomes):
        s2 = sigma[q] ** 2
        m0 = st.m0[q]
        P = st.C_mm[q] / s2 + np.diag(pinv)
        g = (st.h_m[q] - st.C_mm[q][:, 0] * m0) / s2
        rwr = st.syy[q] - 2 * m0 * st.h_m[q][0] + m0**2 * st.C_mm[q][0, 0]
        logdet_S = -np.log(pinv).sum()
        extra = 0.0
        if st.c:
            sdc2 = sd[-1] ** 2
            d = 1.0 / sdc2 + st.n_c[q] / s2
            Pmc = st.C_mc[q] / s2
            gc = (st.h_c[q] - st.C_mc[q][0] * m0) / s2
            P = P - (Pmc / d) @ Pmc.T
            g = g - Pmc @ (gc / d)
            extra = -np.log(d).sum() - st.c * np.log(sdc2) + (gc**2 / d).sum()
        L = np.linalg.cholesky(P)
        v = np.linalg.solve(L, g)
        total += -0.5 * (st.n[q] * np.log(s2) + rwr / s2 - v @ v + logdet_S + 2 * np.log(np.diag(L)).sum()) + 0.5 * extra
    return float(total)


def _chol_inverse(P):
    """Inverse and log-determinant of a stack of SPD matrices (LAPACK ``potrf``/``potri``)."""
    from scipy.linalg import lapack

    V = np.empty_like(P)
    logdet = np.empty(P.shape[0])
    iu = np.triu_indices(P.shape[1], 1)
    for q in range(P.shape[0]):
        c, info = lapack.dpotrf(P[q], lower=False, clean=False)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        logdet[q] = 2 * np.log(np.diagonal(c)).sum()
        inv, info = lapack.dpotri(c, lower=False)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        inv[(iu[1], iu[0])] = inv[iu]
        V[q] = inv
    return V, logdet


def loglik_grad(log_sd, log_sigma, st, *, tau0):
    """Exact marginal log-likelihood and its gradient in ``(log sd, log sigma)``, batched over outcomes.

    Returns
    -------
    ll : float
        Up to a constant (the same as :func:`group_loglik`).
    grad_sd : ndarray, shape (K,)
    grad_sigma : ndarray, shape (Q,)

    Notes
    -----
    With ``P = S^-1 + C / s^2``, ``u = P^-1 g`` (posterior mean of the
    effects) and ``V = P^-1``: ``d ll / d log sd_k = sum_{j in k} (V_jj + u_j^2)
    / sd_k^2 - L_k`` per outcome, and ``d ll / d log sigma_q = -n_q + (RSS(u) +
    tr(V C)) / s^2`` -- the EM identities for variance components.
    """
    sd = np.exp(np.asarray(log_sd, dtype=float))
    sig = np.exp(np.asarray(log_sigma, dtype=float))
    s2 = sig**2
    tau = 1.0 / s2
    Km = len(st.names)
    cc = st.col_comp[1:]
    pinv = np.concatenate([[1.0 / tau0**2], 1.0 / sd[cc] ** 2])
    C = st.C_mm
    P = C * tau[:, None, None]
    idx = np.arange(st.p)
    P[:, idx, idx] += pinv
    g0 = st.h_m - C[:, :, 0] * st.m0[:, None]
    rwr = st.syy - 2 * st.m0 * st.h_m[:, 0] + st.m0**2 * C[:, 0, 0]
    g = g0 * tau[:, None]
    logdet_S = 2 * np.log(tau0) + 2 * np.log(sd[cc]).sum()
    if st.c:
        sdc2 = sd[Km] ** 2
        d = 1.0 / sdc2 + st.n_c * tau[:, None]
        B = st.C_mc * tau[:, None, None]
        Bd = B / d[:, None, :]
        g0c = st.h_c - st.C_mc[:, 0, :] * st.m0[:, None]
        gc = g0c * tau[:, None]
        P = P - Bd @ np.swapaxes(B, 1, 2)
        g = g - (Bd @ gc[:, :, None])[:, :, 0]
        logdet_S = logdet_S + st.c * np.log(sdc2)
    V, logdet_P = _chol_inverse(P)
    u = (V @ g[:, :, None])[:, :, 0]
    quad = (g * u).sum(axis=1)
    rss = rwr - 2 * (g0 * u).sum(axis=1) + np.einsum("qi,qij,qj->q", u, C, u)
    trVC = np.einsum("qij,qji->q", V, C)
    Vdiag = np.diagonal(V, axis1=1, axis2=2)
    if st.c:
        u_c = (gc - (np.swapaxes(B, 1, 2) @ u[:, :, None])[:, :, 0]) / d
        quad = quad + (gc**2 / d).sum(axis=1)
        logdet_P = logdet_P + np.log(d).sum(axis=1)
        VBd = V @ Bd  # = -V_mc
        Vcc = 1.0 / d + (VBd * Bd).sum(axis=1)
        rss = rss - 2 * (g0c * u_c).sum(axis=1) + 2 * np.einsum("qi,qij,qj->q", u, st.C_mc, u_c) \
            + (st.n_c * u_c**2).sum(axis=1)
        trVC = trVC - 2 * (VBd * st.C_mc).sum(axis=(1, 2)) + (Vcc * st.n_c).sum(axis=1)
    ll = -0.5 * (st.n * np.log(s2) + rwr * tau - quad + logdet_S + logdet_P)
    Q = st.n_outcomes
    grad_sd = np.zeros(st.n_components)
    m = (Vdiag[:, 1:] + u[:, 1:] ** 2).sum(axis=0)  # per main column, summed over outcomes
    np.add.at(grad_sd, cc, m)
    sizes = np.bincount(cc, minlength=Km)
    grad_sd[:Km] = grad_sd[:Km] / sd[:Km] ** 2 - Q * sizes
    if st.c:
        grad_sd[Km] = (Vcc + u_c**2).sum() / sdc2 - Q * st.c
    grad_sigma = -st.n + (rss + trVC) * tau
    return float(ll.sum()), grad_sd, grad_sigma


def log_posterior(x, st, *, prior_scale, tau0):
    """Log posterior density and gradient on ``x = (log sd, log sigma)`` (half-normal priors, Jacobian included)."""
    K = st.n_components
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            ll, gs, gq = loglik_grad(x[:K], x[K:], st, tau0=tau0)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros_like(x)
        e2 = np.exp(2 * x)
        lp = ll + float((-e2 / (2 * prior_scale**2) + x).sum())
        grad = np.concatenate([gs, gq]) - e2 / prior_scale**2 + 1.0
    if not np.isfinite(lp) or not np.all(np.isfinite(grad)):
        return -np.inf, np.zeros_like(x)
    return lp, grad


def _logp_op(st, prior_scale, tau0):
    """Wrap :func:`log_posterior` in a PyTensor Op (for PyMC's own NUTS)."""
    pytensor = require("pytensor", purpose="the variance decomposition")
    pt = require("pytensor.tensor", purpose="the variance decomposition")
    from pytensor.graph.op import Op

    class _Grad(Op):
        itypes = [pt.dvector]
        otypes = [pt.dvector]

        def perform(self, node, inputs, outputs):
            outputs[0][0] = np.asarray(log_posterior(inputs[0], st, prior_scale=prior_scale, tau0=tau0)[1])

    class _LogP(Op):
        itypes = [pt.dvector]
        otypes = [pt.dscalar]

        def perform(self, node, inputs, outputs):
            outputs[0][0] = np.asarray(log_posterior(inputs[0], st, prior_scale=prior_scale, tau0=tau0)[0])

        def grad(self, inputs, g):
            return [g[0] * _Grad()(inputs[0])]

    del pytensor
    return _LogP()


def draw_group_effects(st, sd, sigma, *, tau0, rng, chunk=None, cores=None):
    """Draw intercepts and effects from their exact Gaussian conditional, per draw and outcome.

    Parameters
    ----------
    sd : ndarray, shape (S, K)
    sigma : ndarray, shape (S, Q)
    chunk : int, optional
        Draws handled at once (default: as many as keep the interaction block's
        temporaries near 128 MiB).
    cores : int, optional
        Threads working on different chunks (default: every core; the batched
        products and solves release the GIL).  Each chunk draws its normal
        deviates from its own child generator (``rng.spawn``), so the result
        does not depend on `cores`.

    Returns
    -------
    beta_m : ndarray, shape (S, Q, p)
        Intercept and main effects.
    beta_c : ndarray, shape (S, Q, c)
        Interaction cell effects (``c = 0`` without an interaction).
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    S = sd.shape[0]
    Q, p, c = st.n_outcomes, st.p, st.c
    if chunk is None:
        chunk = int(np.clip((128 << 20) // (8 * Q * p * max(c, p)), 1, 64))
    beta_m = np.empty((S, Q, p))
    beta_c = np.empty((S, Q, c))
    mu = np.zeros((Q, p))
    mu[:, 0] = st.m0
    eye = np.eye(p)
    bounds = [(lo, min(S, lo + chunk)) for lo in range(0, S, chunk)]
    gens = rng.spawn(len(bounds))

    def one(i):
        lo, hi = bounds[i]
        g_rng = gens[i]
        s2 = sigma[lo:hi] ** 2  # B × Q
        pinv = np.concatenate([np.full((hi - lo, 1), 1.0 / tau0**2), 1.0 / sd[lo:hi][:, st.col_comp[1:]] ** 2], axis=1)
        P = st.C_mm[None] / s2[:, :, None, None] + pinv[:, None, :, None] * eye
        g = (st.h_m - st.C_mm[:, :, 0] * st.m0[:, None])[None] / s2[:, :, None]
        if c:
            d = 1.0 / sd[lo:hi, -1:, None] ** 2 + st.n_c[None] / s2[:, :, None]  # B × Q × c
            Pmc = st.C_mc[None] / s2[:, :, None, None]
            gc = (st.h_c - st.C_mc[:, 0, :] * st.m0[:, None])[None] / s2[:, :, None]
            P = P - (Pmc / d[:, :, None, :]) @ np.swapaxes(Pmc, -1, -2)
            g = g - (Pmc @ (gc / d)[..., None])[..., 0]
        L = np.linalg.cholesky(P)
        w = np.linalg.solve(L, g[..., None])
        delta = np.linalg.solve(np.swapaxes(L, -1, -2), w + g_rng.standard_normal(w.shape))[..., 0]  # B × Q × p
        beta_m[lo:hi] = delta + mu[None]
        if c:
            mean_c = (gc - (np.swapaxes(Pmc, -1, -2) @ delta[..., None])[..., 0]) / d
            beta_c[lo:hi] = mean_c + g_rng.standard_normal(mean_c.shape) / np.sqrt(d)

    cores = max(1, min(len(bounds), int(cores or os.cpu_count() or 1)))
    if cores == 1:
        for i in range(len(bounds)):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=cores) as pool:
            list(pool.map(one, range(len(bounds))))
    return beta_m, beta_c


#: Number of times a sampler model was built and compiled in this process.  The log density is
#: NumPy code handed to nutpie as a Python function, so nothing is compiled per data set or shape.
COMPILATIONS = {"nutpie": 0, "pymc": 0}


def _init_point(st, prior_scale, rng):
    ybar = st.h_m[:, 0] / st.n
    resid = np.sqrt(np.maximum(st.syy / st.n - ybar**2, 1e-8))
    x = np.concatenate([np.full(st.n_components, np.log(0.2 * prior_scale)), np.log(resid)])
    if rng is None:
        return x
    return x + rng.uniform(-0.5, 0.5, x.shape) * np.r_[np.ones(st.n_components), np.full(st.n_outcomes, 0.1)]


def sample_group(st, *, prior_scale, tau0, sampler, chains, draws, tune, seed, target_accept, progressbar=False,
                 cores=None):
    """Sample the component SDs and the residual SDs with NUTS (or Laplace importance sampling).

    ``sampler="laplace-is"`` draws ``chains * draws`` importance proposals
    and returns as many equally weighted draws, as a single chain (see
    :mod:`analyses.variance._laplace`); its sample statistics are None and
    ``timings["importance"]`` holds the Pareto k and the weights' ESS.
    nutpie samples the NumPy log density of :func:`log_posterior` directly
    (no compilation at all, so a second fit never recompiles); PyMC's NUTS
    wraps the same function in a PyTensor Op.

    Returns
    -------
    sd : ndarray, shape (chains, draws, K)
    sigma : ndarray, shape (chains, draws, Q)
    sample_stats : xarray.Dataset
    timings : dict
        ``compile_s``, ``sample_s`` and ``compiled`` (whether this call compiled anything).
    """
    import os
    import time
    import warnings


    if cores is None:
        cores = min(chains, os.cpu_count() or 1)
    K, Q = st.n_components, st.n_outcomes
    t0 = time.perf_counter()
    if sampler == "laplace-is":
        from ._laplace import laplace_is

        x, info = laplace_is(st, prior_scale=prior_scale, tau0=tau0, proposals=chains * draws, draws=chains * draws,
                             seed=seed, cores=cores)
        sd = np.exp(x[None, :, :K])
        sigma = np.exp(x[None, :, K:])
        return sd, sigma, None, {"compile_s": 0.0, "sample_s": info["seconds"], "sampler": sampler,
                                 "compiled": False, "importance": info}
    if sampler == "nutpie":
        require("nutpie", purpose="the variance decomposition's sampler")
        from nutpie.compiled_pyfunc import from_pyfunc

        def make_logp_fn():
            def logp(x, **shared):
                return log_posterior(np.asarray(x, dtype=float), st, prior_scale=prior_scale, tau0=tau0)
            return logp

        def make_expand_fn(seed1, seed2, chain):
            def expand(x, **shared):
                return {"sd_super": np.exp(x[:K]), "sigma": np.exp(x[K:])}
            return expand

        def make_init(s):
            return _init_point(st, prior_scale, np.random.default_rng(s))

        model = from_pyfunc(ndim=K + Q, make_logp_fn=make_logp_fn, make_expand_fn=make_expand_fn,
                            expanded_dtypes=[np.dtype("float64")] * 2, expanded_shapes=[(K,), (Q,)],
                            expanded_names=["sd_super", "sigma"], make_initial_point_fn=make_init)
        nutpie = require("nutpie", purpose="the variance decomposition")

        t1 = time.perf_counter()
        idata = nutpie.sample(model, chains=chains, draws=draws, tune=tune, seed=int(seed),
                              target_accept=target_accept, progress_bar=progressbar, cores=int(cores))
        t2 = time.perf_counter()
        compile_s = t1 - t0
    else:
        pm = require("pymc", purpose="the variance decomposition")
        op = _logp_op(st, prior_scale, tau0)
        with pm.Model() as model:
            x = pm.Flat("x", shape=K + Q, initval=_init_point(st, prior_scale, np.random.default_rng(seed)))
            pm.Potential("logp", op(x))
        COMPILATIONS["pymc"] += 1
        t1 = time.perf_counter()
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, random_seed=int(seed),
                              target_accept=target_accept, progressbar=progressbar, compute_convergence_checks=False,
                              nuts_sampler="pymc")
        t2 = time.perf_counter()
        compile_s = float("nan")
        xs = np.asarray(idata.posterior["x"].values, dtype=float)
        idata.posterior["sd_super"] = (("chain", "draw", "sd_dim"), np.exp(xs[..., :K]))
        idata.posterior["sigma"] = (("chain", "draw", "sigma_dim"), np.exp(xs[..., K:]))
    post = idata.posterior
    sd = np.asarray(post["sd_super"].values, dtype=float)
    sigma = np.asarray(post["sigma"].values, dtype=float)
    ss = idata.sample_stats
    if "divergence_message" in ss:  # pymc issue 8321: breaks to_netcdf
        ss = ss.drop_vars("divergence_message")
    keep = [v for v in ss.data_vars if ss[v].dtype.kind in "biuf" and set(ss[v].dims) <= {"chain", "draw"}]
    return sd, sigma, ss[keep], {"compile_s": compile_s, "sample_s": t2 - t1, "sampler": sampler, "compiled": False}
