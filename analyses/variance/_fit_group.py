"""Fit of the group-alignment decomposition (``estimand="group"``) from prepared arrays."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from alignstat import DiagnosticsWarning

from ._estimand import component_sds, group_alignment_draws, group_set
from ._group import draw_group_effects, group_stats, sample_group
from ._model import blas_single_thread, has_nutpie

__all__ = ["GroupProblem", "auto_sampler", "fit_group", "level_scaled_weights"]


class GroupProblem:
    """Everything the group model needs, as arrays.

    Parameters
    ----------
    Y : ndarray, shape (n, O)
        Outcomes on the rescaled answer scale (NaN = no answer): one column per
        question (Likert) or per cumulative threshold of a question (Wasserstein).
    codes, sizes, names, labels : lists
        Per main component (country first): level codes (0 … L-1), number of
        levels, name and level labels.
    target : ndarray, shape (M, O)
        Each model's value of each outcome.
    coef : ndarray, shape (O,)
    question_of : ndarray of int, shape (O,)
    n_questions : int
    models : list of str
    weights : ndarray, shape (n,), optional
        Weights of the likelihood (already level-scaled).
    composition_weights : ndarray, shape (n,), optional
        Weights defining each group's population composition.
    inter : (str, str, str, (int, int)), optional
        ``(name, a, b, (L_a, L_b))``.
    """

    def __init__(self, Y, codes, sizes, names, labels, target, coef, question_of, n_questions, models, *,
                 weights=None, composition_weights=None, inter=None):
        self.Y = np.asarray(Y, dtype=float)
        self.codes = [np.asarray(c, dtype=np.int64) for c in codes]
        self.sizes = [int(s) for s in sizes]
        self.names = list(names)
        self.labels = [list(x) for x in labels]
        self.target = np.atleast_2d(np.asarray(target, dtype=float))
        self.coef = np.asarray(coef, dtype=float)
        self.question_of = np.asarray(question_of, dtype=np.int64)
        self.n_questions = int(n_questions)
        self.models = list(models)
        self.weights = weights
        self.composition_weights = composition_weights
        self.inter = inter
        self.cell_codes = None
        if inter is not None:
            a, b = self.names.index(inter[1]), self.names.index(inter[2])
            self.cell_codes = self.codes[a] * self.sizes[b] + self.codes[b]


def level_scaled_weights(w, country_codes, answered):
    """Pfeffermann et al. (1998) level-1 scaling: weights sum to each country's answer count, per outcome.

    Parameters
    ----------
    w : ndarray, shape (n,)
    country_codes : ndarray of int or None
    answered : ndarray of bool, shape (n, O)

    Returns
    -------
    ndarray, shape (n, O)
        Scaled weights (0 where not answered).
    """
    n, n_out = answered.shape
    out = np.zeros((n, n_out))
    groups = np.zeros(n, dtype=np.int64) if country_codes is None else np.asarray(country_codes)
    G = int(groups.max()) + 1
    for o in range(n_out):
        ok = answered[:, o]
        sw = np.bincount(groups[ok], weights=w[ok], minlength=G)
        cnt = np.bincount(groups[ok], minlength=G)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(sw > 0, cnt / sw, 0.0)
        out[ok, o] = w[ok] * f[groups[ok]]
    return out


def _diagnose(sd, sigma, ss, thresholds):
    from alignstat._optional import require

    az = require("arviz", purpose="the variance decomposition's diagnostics")
    import xarray as xr

    C = sd.shape[0]
    ds = xr.Dataset({"sd_super": (("chain", "draw", "k"), sd), "sigma": (("chain", "draw", "o"), sigma)})
    out = {}
    if C > 1:
        rh = az.rhat(ds)
        out["r_hat_max"] = float(np.max(np.concatenate([np.ravel(rh[v].values) for v in ds.data_vars])))
    else:
        out["r_hat_max"] = float("nan")
    eb, et = az.ess(ds, method="bulk"), az.ess(ds, method="tail")
    out["ess_bulk_min"] = float(np.min(np.concatenate([np.ravel(eb[v].values) for v in ds.data_vars])))
    out["ess_tail_min"] = float(np.min(np.concatenate([np.ravel(et[v].values) for v in ds.data_vars])))
    out["divergences"] = int(np.asarray(ss["diverging"].values).sum()) if "diverging" in ss else 0
    depth = next((v for v in ("maxdepth_reached", "reached_max_treedepth") if v in ss), None)
    out["max_treedepth_hits"] = int(np.asarray(ss[depth].values).sum()) if depth else 0
    if "energy" in ss:
        e = np.asarray(ss["energy"].values, dtype=float)
        eb_ = (np.diff(e, axis=1) ** 2).sum(axis=1) / ((e - e.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        out["ebfmi_min"] = float(eb_.min())
    else:
        out["ebfmi_min"] = float("nan")
    t, fails = thresholds, []
    if C > 1 and not out["r_hat_max"] <= t["r_hat_max"]:
        fails.append(f"R-hat {out['r_hat_max']:.3f} > {t['r_hat_max']}")
    if not out["ess_bulk_min"] >= t["ess_bulk_min"]:
        fails.append(f"bulk ESS {out['ess_bulk_min']:.0f} < {t['ess_bulk_min']}")
    if not out["ess_tail_min"] >= t["ess_tail_min"]:
        fails.append(f"tail ESS {out['ess_tail_min']:.0f} < {t['ess_tail_min']}")
    if out["divergences"] > t["divergences"]:
        fails.append(f"{out['divergences']} divergent transition(s)")
    if np.isfinite(out["ebfmi_min"]) and out["ebfmi_min"] < t["ebfmi_min"]:
        fails.append(f"E-BFMI {out['ebfmi_min']:.2f} < {t['ebfmi_min']}")
    if out["max_treedepth_hits"] > t["max_treedepth_frac"] * sd.shape[0] * sd.shape[1]:
        fails.append(f"{out['max_treedepth_hits']} draw(s) hit the maximum tree depth")
    out["failures"] = fails
    out["passed"] = not fails
    return out


#: Above this cost of one log-density evaluation (``Q p^2 (p + c)``, multiply-adds) ``sampler="auto"`` uses
#: Laplace importance sampling.  At ESS scale with country x religiosity (cost 2.7e8) one evaluation took
#: ~65 ms; NUTS at the default 4 chains x 1,000 iterations with tens of leapfrog steps each would need an
#: estimated 10^5 of them, and a NUTS fit there (machine under load) had not finished after 40 minutes.
LAPLACE_ABOVE = 2e7


def auto_sampler(st):
    """Return the sampler ``"auto"`` picks: NUTS (nutpie, else PyMC) unless the design is large."""
    cost = st.n_outcomes * st.p**2 * (st.p + st.c)
    if cost > LAPLACE_ABOVE:
        return "laplace-is"
    return "nutpie" if has_nutpie() else "pymc"


def _diagnose_is(info, thresholds):
    nan = float("nan")
    out = {"r_hat_max": nan, "ess_bulk_min": info["ess_is"], "ess_tail_min": nan, "divergences": 0,
           "max_treedepth_hits": 0, "ebfmi_min": nan, "pareto_k": info["pareto_k"],
           "optimizer_converged": info["optimizer_converged"], "evaluations": info["evaluations"]}
    fails = []
    if not info["pareto_k"] <= thresholds["pareto_k_max"]:
        fails.append(f"Pareto k {info['pareto_k']:.2f} > {thresholds['pareto_k_max']} (the importance weights "
                     "cannot be trusted; use sampler='nutpie')")
    if not info["ess_is"] >= thresholds["ess_bulk_min"]:
        fails.append(f"importance-sampling ESS {info['ess_is']:.0f} < {thresholds['ess_bulk_min']} "
                     "(raise `draws` or `chains`)")
    if not info["optimizer_converged"]:
        fails.append("the posterior mode was not found (the optimizer did not converge)")
    out["failures"] = fails
    out["passed"] = not fails
    return out


def fit_group(prob, *, rng, sampler="auto", chains=4, draws=1000, tune=1000, target_accept=0.9, prior_scale=None,
              tau0=1.0, thresholds, on_failure="warn", hdi_prob=0.9, progressbar=False, cores=None,
              effect_draws=1000, extra_info=None):
    """Sample the hyper-parameters, draw the effects, and derive group alignments and their SDs.

    Returns
    -------
    GroupDecompositionResult
    """
    from ._result import GroupDecompositionResult

    t_start = time.perf_counter()
    rng = np.random.default_rng(rng)
    answered = np.isfinite(prob.Y)
    if prob.weights is None:
        w = None
        wmat = np.where(answered, 1.0, 0.0)
    else:
        country = prob.codes[0] if prob.names and prob.names[0] == (extra_info or {}).get("country") else None
        wmat = level_scaled_weights(np.asarray(prob.weights, float), country, answered)
        w = wmat
    timings = {"compile_s": 0.0, "sample_s": 0.0, "effects_s": 0.0}
    t0 = time.perf_counter()
    st = group_stats(prob.Y, prob.codes, prob.sizes, prob.names, weights=w, inter=prob.inter,
                     cell_codes=prob.cell_codes)
    groups = group_set(prob.codes, prob.sizes, prob.names, prob.labels, weights=prob.composition_weights,
                       inter=prob.inter, cell_codes=prob.cell_codes)
    timings["stats_s"] = time.perf_counter() - t0
    if sampler == "auto":
        sampler = auto_sampler(st)
    if prior_scale is None:
        ybar = st.h_m[:, 0] / st.n
        prior_scale = float(np.sqrt(np.mean(np.maximum(st.syy / st.n - ybar**2, 1e-12))))
    seed = int(rng.integers(2**31 - 1))
    with blas_single_thread():
        sd, sigma, ss, tm = sample_group(st, prior_scale=prior_scale, tau0=tau0, sampler=sampler, chains=chains,
                                         draws=draws, tune=tune, seed=seed, target_accept=target_accept,
                                         progressbar=progressbar, cores=cores)
    timings["compile_s"] = 0.0 if np.isnan(tm["compile_s"]) else tm["compile_s"]
    timings["compiled"] = tm["compiled"]
    timings["sample_s"] = tm["sample_s"]
    timings["sampler"] = sampler
    if sampler == "laplace-is":
        diag = _diagnose_is(tm["importance"], thresholds)
    else:
        diag = _diagnose(sd, sigma, ss, thresholds)
    t0 = time.perf_counter()
    C, D, K = sd.shape
    flat_sd, flat_sig = sd.reshape(C * D, K), sigma.reshape(C * D, -1)
    S = C * D
    take = np.unique(np.linspace(0, S - 1, min(S, int(effect_draws))).round().astype(int))
    with blas_single_thread():
        beta_m, beta_c = draw_group_effects(st, flat_sd[take], flat_sig[take], tau0=tau0, rng=rng)
        A = group_alignment_draws(beta_m, beta_c, groups, prob.target, prob.coef, prob.question_of, prob.n_questions)
    comp_names, sds = component_sds(A, groups)  # S' × M × K
    timings["effects_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    th = dict(thresholds)
    diag["thresholds"] = th
    info = {"estimand": "group", "sampler": sampler, "chains": chains, "draws": draws, "tune": tune,
            "target_accept": target_accept, "effect_draws": len(take), "prior_scale": prior_scale,
            "n_levels": {nm: int(sl.stop - sl.start) for nm, sl in groups.blocks.items()},
            "n_outcomes": st.n_outcomes, **(extra_info or {})}
    result = GroupDecompositionResult(
        models=prob.models, components=comp_names, sd_draws=sds, alignment_draws=A, groups=groups,
        sd_super=flat_sd, sigma=flat_sig, hyper_names=list(prob.names) + ([prob.inter[0]] if prob.inter else []),
        diagnostics=diag, timings=timings, hdi_prob=float(hdi_prob), info=info, sample_stats=ss)
    if not diag["passed"]:
        remedy = "more draws or chains" if sampler == "laplace-is" else "more draws, higher `target_accept`"
        msg = ("variance decomposition failed its sampler diagnostics; do not report these numbers before fixing "
               f"the fit ({remedy}): " + "; ".join(diag["failures"]))
        if on_failure == "raise":
            from ._decompose import ConvergenceError

            raise ConvergenceError(msg, result)
        if on_failure == "warn":
            warnings.warn(msg, DiagnosticsWarning, stacklevel=4)
    return result


def truth_sds(beta_m, beta_c, prob):
    """Component SDs of group alignment for known coefficients (simulation truth).

    Parameters
    ----------
    beta_m : ndarray, shape (O, p)
    beta_c : ndarray, shape (O, c)

    Returns
    -------
    pandas.DataFrame
        ``model``, ``component``, ``sd``.
    """
    groups = group_set(prob.codes, prob.sizes, prob.names, prob.labels, weights=prob.composition_weights,
                       inter=prob.inter, cell_codes=prob.cell_codes)
    A = group_alignment_draws(beta_m[None], beta_c[None], groups, prob.target, prob.coef, prob.question_of,
                              prob.n_questions)
    names, sds = component_sds(A, groups)
    rows = [{"model": m, "component": c, "sd": float(sds[0, i, k])} for i, m in enumerate(prob.models)
            for k, c in enumerate(names)]
    return pd.DataFrame(rows), A[0], groups
