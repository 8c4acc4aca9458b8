"""Bayesian crossed variance decomposition of alignment (public entry points)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from alignstat import DiagnosticsWarning
from alignstat._optional import require

from ._data import _responses, alignment_array, drop_rows_warning, factor_codes, tidy_answers, validate_factors
from ._design import build_design, prior_blocks, sufficient_stats
from ._fit_group import fit_group
from ._model import blas_single_thread, has_nutpie, sample_collapsed
from ._posterior import draw_effects, finite_population
from ._reml import reml_fit
from ._result import DecompositionResult

__all__ = ["ConvergenceError", "DEFAULT_THRESHOLDS", "decompose_outcome", "decompose_variance"]

DEFAULT_THRESHOLDS = {
    "r_hat_max": 1.01,
    "ess_bulk_min": 400.0,
    "ess_tail_min": 400.0,
    "divergences": 0,
    "ebfmi_min": 0.3,
    "max_treedepth_frac": 0.01,
    "pareto_k_max": 0.7,
}


class ConvergenceError(RuntimeError):
    """Raised with ``on_failure="raise"`` when the sampler fails its diagnostics.

    The (untrustworthy) result is kept in the ``result`` attribute.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def _check_options(*, chains, draws, tune, target_accept, hdi_prob, sampler, on_failure, interactions, factors,
                   country, missing, unit=None, cores=None):
    if cores is not None and (not isinstance(cores, (int, np.integer)) or isinstance(cores, bool) or cores < 1):
        raise ValueError(f"`cores` must be None or an integer >= 1, got {cores!r}.")
    for name, v, lo in (("chains", chains, 1), ("draws", draws, 10), ("tune", tune, 0)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
            raise ValueError(f"`{name}` must be an integer >= {lo}, got {v!r}.")
    if not 0 < float(target_accept) < 1:
        raise ValueError(f"`target_accept` must be in (0, 1), got {target_accept!r}.")
    if not 0 < float(hdi_prob) < 1:
        raise ValueError(f"`hdi_prob` must be in (0, 1), got {hdi_prob!r}.")
    if sampler not in ("auto", "nutpie", "pymc", "laplace-is"):
        raise ValueError(f"`sampler` must be one of ['auto', 'nutpie', 'pymc', 'laplace-is'], got {sampler!r}.")
    if sampler == "nutpie" and not has_nutpie():
        raise ValueError("`sampler='nutpie'` was requested but nutpie is not installed (pip install nutpie).")
    if on_failure not in ("warn", "raise", "ignore"):
        raise ValueError(f"`on_failure` must be one of ['warn', 'raise', 'ignore'], got {on_failure!r}.")
    if missing not in ("group", "drop"):
        raise ValueError(f"`missing` must be one of ['group', 'drop'], got {missing!r}.")
    if unit is not None and unit not in ("respondent", "response"):
        raise ValueError(f"`unit` must be one of ['respondent', 'response'], got {unit!r}.")
    names = ([country] if country else []) + list(factors)
    out = []
    for pair in interactions or ():
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"each entry of `interactions` must be a pair of grouping columns, got {pair!r}.")
        a, b = str(pair[0]), str(pair[1])
        if a not in names or b not in names or a == b:
            raise ValueError(f"`interactions` entry {pair!r} must name two different grouping columns among {names}.")
        out.append((a, b))
    return out


def _groupings(data, factors, country, weight, missing):
    names = ([country] if country else []) + list(factors)
    codes, labels = factor_codes(data, names, missing=missing)
    keep = np.ones(len(data), dtype=bool)
    for f in names:
        keep &= codes[f] >= 0
    drop_rows_warning(int((~keep).sum()), "a grouping column is missing (missing='drop')", stacklevel=4)
    if weight is not None:
        w = pd.to_numeric(data[weight]).to_numpy(float)
        drop_rows_warning(int((keep & (w == 0)).sum()), f"zero weight in column {weight!r}", stacklevel=4)
        keep &= w > 0
    return names, codes, labels, keep


def _recode(codes, labels, keep):
    """Restrict to kept rows and drop levels left empty."""
    new_codes, new_labels = {}, {}
    for f, c in codes.items():
        c = c[keep]
        used = np.unique(c)
        remap = np.full(len(labels[f]) + 1, -1)
        remap[used] = np.arange(len(used))
        new_codes[f] = remap[c]
        new_labels[f] = [labels[f][u] for u in used]
    return new_codes, new_labels


def _ebfmi(energy):
    e = np.asarray(energy, dtype=float)
    num = (np.diff(e, axis=1) ** 2).sum(axis=1)
    den = ((e - e.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return num / den


def _diagnose(posterior, sample_stats, thresholds):
    az = require("arviz", purpose="the variance decomposition")

    names = ["sd_super", "sigma", "sd_finite"]
    ds = posterior[names]
    out = {}
    if posterior.sizes["chain"] > 1:
        rh = az.rhat(ds)
        # NaN (e.g. a chain that never moved) must fail the gate, so no nan-aware reductions here
        out["r_hat_max"] = float(np.max(np.concatenate([np.ravel(rh[v].values) for v in names])))
    else:
        out["r_hat_max"] = float("nan")
    eb, et = az.ess(ds, method="bulk"), az.ess(ds, method="tail")
    out["ess_bulk_min"] = float(np.min(np.concatenate([np.ravel(eb[v].values) for v in names])))
    out["ess_tail_min"] = float(np.min(np.concatenate([np.ravel(et[v].values) for v in names])))
    out["divergences"] = int(np.asarray(sample_stats["diverging"].values).sum()) if "diverging" in sample_stats else 0
    depth_name = next((v for v in ("maxdepth_reached", "reached_max_treedepth") if v in sample_stats), None)
    hits = int(np.asarray(sample_stats[depth_name].values).sum()) if depth_name else 0
    out["max_treedepth_hits"] = hits
    n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    out["ebfmi_min"] = float(_ebfmi(sample_stats["energy"].values).min()) if "energy" in sample_stats else float("nan")
    fails = []
    t = thresholds
    if not out["r_hat_max"] <= t["r_hat_max"] and posterior.sizes["chain"] > 1:
        fails.append(f"R-hat {out['r_hat_max']:.3f} > {t['r_hat_max']}")
    if not out["ess_bulk_min"] >= t["ess_bulk_min"]:
        fails.append(f"bulk ESS {out['ess_bulk_min']:.0f} < {t['ess_bulk_min']}")
    if not out["ess_tail_min"] >= t["ess_tail_min"]:
        fails.append(f"tail ESS {out['ess_tail_min']:.0f} < {t['ess_tail_min']}")
    if out["divergences"] > t["divergences"]:
        fails.append(f"{out['divergences']} divergent transition(s)")
    if np.isfinite(out["ebfmi_min"]) and out["ebfmi_min"] < t["ebfmi_min"]:
        fails.append(f"E-BFMI {out['ebfmi_min']:.2f} < {t['ebfmi_min']}")
    if hits > t["max_treedepth_frac"] * n_draws:
        fails.append(f"{hits} draw(s) hit the maximum tree depth")
    out["failures"] = fails
    out["passed"] = not fails
    return out


def _fit(design, outcomes, *, rng, sampler, chains, draws, tune, target_accept, prior_scale, intercept_prior,
         reml, thresholds, on_failure, hdi_prob, progressbar, extra_info, cores=None):
    t_start = time.perf_counter()
    if sampler == "auto":
        sampler = "nutpie" if has_nutpie() else "pymc"
    th = dict(DEFAULT_THRESHOLDS)
    if thresholds:
        unknown = set(thresholds) - set(th)
        if unknown:
            raise ValueError(f"`thresholds` has unknown key(s) {sorted(unknown)}; allowed: {sorted(th)}.")
        th.update(thresholds)
    for c in design.components:
        if len(c.parents) == 1 and c.size < 2:
            raise ValueError(f"grouping column {c.name!r} has {c.size} level among the rows used; a random effect "
                             "needs at least 2 levels (drop it from `factors`, or pass `country=None`).")
    X = design.matrix(scaled=True)
    comps = design.components
    names = [c.name for c in comps]
    posts, stats_list, per_model, reml_rows = [], [], {}, []
    timings = {"compile_s": 0.0, "sample_s": 0.0, "effects_s": 0.0, "sampler": sampler}
    with blas_single_thread():
        for model_name, y in outcomes.items():
            _fit_one(model_name, y, design, X, comps, names, rng, sampler, chains, draws, tune, target_accept,
                     prior_scale, intercept_prior, reml, th, progressbar, timings, posts, stats_list, per_model,
                     reml_rows, cores)
    return _assemble(outcomes, posts, stats_list, per_model, reml_rows, timings, t_start, design, comps, sampler,
                     chains, draws, tune, target_accept, extra_info, th, reml, hdi_prob, on_failure)


def _fit_one(model_name, y, design, X, comps, names, rng, sampler, chains, draws, tune, target_accept, prior_scale,
             intercept_prior, reml, th, progressbar, timings, posts, stats_list, per_model, reml_rows, cores):
    import xarray as xr

    st = sufficient_stats(design, y, X=X)
    if st.n - st.rank < 2:
        raise ValueError(f"too few rows ({design.n_rows}) for {st.rank} identifiable group effects.")
    scale = float(prior_scale) if prior_scale is not None else (st.y_sd if st.y_sd > 0 else 1.0)
    mu0, tau0 = intercept_prior if intercept_prior is not None else (st.y_mean, 10.0 * scale)
    A, a0 = prior_blocks(design, st)
    seed = int(rng.integers(2**31 - 1))
    sd, sigma, ss, tm = sample_collapsed(A, a0, st.z, st.rss0, st.n, prior_scale=scale, mu0=mu0, tau0=tau0,
                                         sampler=sampler, chains=chains, draws=draws, tune=tune, seed=seed,
                                         target_accept=target_accept, progressbar=progressbar, cores=cores)
    timings["compile_s"] += 0.0 if np.isnan(tm["compile_s"]) else tm["compile_s"]
    timings["sample_s"] += tm["sample_s"]
    t0 = time.perf_counter()
    C, D, K = sd.shape
    intercept, effects = draw_effects(design, st, sd.reshape(C * D, K), sigma.reshape(C * D), mu0=mu0,
                                      tau0=tau0, rng=rng)
    fp = finite_population(design, st, effects, sigma.reshape(C * D))
    timings["effects_s"] += time.perf_counter() - t0
    cd = ("chain", "draw")
    dv = {
        "sd_super": (cd + ("component",), sd),
        "sigma": (cd, sigma),
        "intercept": (cd, intercept.reshape(C, D)),
        "cov_remainder": (cd, fp["cov_remainder"].reshape(C, D)),
    }
    for v in ("sd_finite", "share", "share_total", "var_explained"):
        dv[v] = (cd + ("component",), fp[v].reshape(C, D, K))
    coords = {"chain": np.arange(C), "draw": np.arange(D), "component": names}
    for c, e in zip(comps, effects):
        dim = f"{_var(c.name)}_level"
        dv[f"effect_{_var(c.name)}"] = (cd + (dim,), e.reshape(C, D, -1))
        coords[dim] = list(c.labels)
    post = xr.Dataset(dv, coords=coords)
    ss = ss.assign_coords(chain=np.arange(C), draw=np.arange(D))
    per_model[model_name] = _diagnose(post, ss, th)
    posts.append(post)
    stats_list.append(ss)
    if reml:
        sd_r, sig_r, info_r = reml_fit(A, a0, st.z, st.rss0, st.n, scale=scale)
        for c, v in zip(names, sd_r):
            reml_rows.append({"model": model_name, "component": c, "sd_reml": float(v), "converged": info_r["converged"]})
        reml_rows.append({"model": model_name, "component": "residual", "sd_reml": sig_r, "converged": info_r["converged"]})


def _assemble(outcomes, posts, stats_list, per_model, reml_rows, timings, t_start, design, comps, sampler, chains,
              draws, tune, target_accept, extra_info, th, reml, hdi_prob, on_failure):
    az = require("arviz", purpose="the variance decomposition")
    import xarray as xr

    models = list(outcomes)
    posterior = xr.concat(posts, dim=pd.Index(models, name="model")).transpose("chain", "draw", "model", ...)
    sample_stats = xr.concat(stats_list, dim=pd.Index(models, name="model")).transpose("chain", "draw", "model", ...)
    idata = az.InferenceData(posterior=posterior, sample_stats=sample_stats)
    idata.posterior.attrs.update({"sampler": sampler, "model": "crossed zero-sum random effects, effects integrated out"})
    diag = {
        "r_hat_max": float(np.max([d["r_hat_max"] for d in per_model.values()])),
        "ess_bulk_min": float(np.min([d["ess_bulk_min"] for d in per_model.values()])),
        "ess_tail_min": float(np.min([d["ess_tail_min"] for d in per_model.values()])),
        "divergences": sum(d["divergences"] for d in per_model.values()),
        "max_treedepth_hits": sum(d["max_treedepth_hits"] for d in per_model.values()),
        "ebfmi_min": float(np.min([d["ebfmi_min"] for d in per_model.values()])),
        "failures": [f"{m}: {f}" for m, d in per_model.items() for f in d["failures"]],
        "thresholds": th,
        "per_model": per_model,
    }
    diag["passed"] = not diag["failures"]
    timings["total_s"] = time.perf_counter() - t_start
    info = {"n_rows": design.n_rows, "n_levels": {c.name: c.size for c in comps}, "sampler": sampler,
            "chains": chains, "draws": draws, "tune": tune, "target_accept": target_accept, **extra_info}
    result = DecompositionResult(idata=idata, diagnostics=diag, timings=timings,
                                 reml=pd.DataFrame(reml_rows) if reml else None, hdi_prob=float(hdi_prob), info=info)
    if not diag["passed"]:
        msg = ("variance decomposition failed its sampler diagnostics; do not report these numbers before fixing "
               "the fit (more draws, higher `target_accept`): " + "; ".join(diag["failures"]))
        if on_failure == "raise":
            raise ConvergenceError(msg, result)
        if on_failure == "warn":
            warnings.warn(msg, DiagnosticsWarning, stacklevel=4)  # _assemble < _fit < public function < caller
    return result


def _var(name):
    return name.replace(":", "_x_")


_DOC_OPTIONS = """
    country : str or None, default "country"
        Column of country codes (a crossed random effect); None for none.
    interactions : sequence of (str, str), optional
        Pairs of grouping columns (e.g. ``[("country", "religion")]``) whose
        crossed, double-centred effects are added as extra components.
    weight : str, optional
        Column of survey weights.  They define each group's population
        composition (``estimand="group"``) and enter the likelihood as a
        pseudo-likelihood: each answer's log-density is multiplied by its
        weight after level-1 scaling (Pfeffermann et al. 1998, "method 2":
        the weights of each country's answers to a question sum to their
        number; mean 1 overall when there is no country column; the
        respondent estimand normalises to mean 1).  Caveat: the posterior
        intervals are then model-based, not design-based (strata and PSUs are
        not modelled).
    missing : {"group", "drop"}, default "group"
        A missing factor value becomes its own level ``"(missing)"`` (so each
        factor partitions the respondents, as in the ESS study) or the
        respondent is dropped (with a :class:`alignstat.DataPolicyWarning`).
    sampler : {"auto", "nutpie", "pymc", "laplace-is"}, default "auto"
        How the hyper-parameters are drawn.  ``"nutpie"`` and ``"pymc"``:
        NUTS.  ``"laplace-is"`` (``estimand="group"`` only): importance
        sampling from a Student-t (5 degrees of freedom) approximation at the
        posterior mode, corrected with the exact log posterior and
        Pareto-smoothed (PSIS); ``chains * draws`` proposals, the Pareto
        ``k`` and the weights' ESS are checked like NUTS diagnostics
        (``diagnostics["pareto_k"]``, threshold ``pareto_k_max = 0.7``).
        ``"auto"``: NUTS (nutpie when installed, else PyMC), except for the
        group estimand when one log-density evaluation costs more than
        ``2e7`` multiply-adds (``Q p^2 (p + c)`` with ``p`` main-effect
        levels and ``c`` interaction cells: ESS scale with an interaction),
        where NUTS would take tens of minutes and ``"laplace-is"`` is used.
        The result's ``info["sampler"]`` and ``interval`` say which ran.
    chains, draws, tune : int
        NUTS settings (defaults: 4 × 500 draws after 500 tuning steps in
        :func:`decompose_variance`, 4 × 1000 after 1000 in
        :func:`decompose_outcome`); with
        ``"laplace-is"`` ``chains * draws`` is the number of proposals and of
        equally weighted draws, and `tune` is unused.
    target_accept : float, default 0.9
    prior_scale : float, optional
        Scale of the half-normal priors on every SD (default: the weighted SD
        of the outcome).
    intercept_prior : (float, float), optional
        Mean and SD of the normal intercept prior (default: the weighted mean
        of the outcome and ``10 * prior_scale``).
    reml : bool, default False
        Also estimate the SDs by restricted maximum likelihood (cross-check).
    hdi_prob : float, default 0.9
    thresholds : dict, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (``r_hat_max``, ``ess_bulk_min``,
        ``ess_tail_min``, ``divergences``, ``ebfmi_min``, ``max_treedepth_frac``).
    on_failure : {"warn", "raise", "ignore"}, default "warn"
        What a failed diagnostic does: a :class:`alignstat.DiagnosticsWarning`,
        a :class:`ConvergenceError`, or nothing (``result.passed`` is False in
        every case).
    rng : numpy.random.Generator or seed, optional
        Source of every random number (sampler seeds and effect draws).
    progressbar : bool, default False
    cores : int, optional
        Chains run in parallel (default: ``min(chains, os.cpu_count())``).
"""


def decompose_outcome(data, *, outcome, factors, country="country", interactions=(), weight=None,
                      missing="group", sampler="auto", chains=4, draws=1000, tune=1000, target_accept=0.9,
                      prior_scale=None, intercept_prior=None, reml=False, hdi_prob=0.9, thresholds=None,
                      on_failure="warn", rng=None, progressbar=False, cores=None):
    rng = np.random.default_rng(rng)
    if sampler == "laplace-is":
        raise ValueError("`sampler='laplace-is'` is available for decompose_variance(estimand='group') only.")
    factors = validate_factors(data, factors, country, weight)
    inter = _check_options(chains=chains, draws=draws, tune=tune, target_accept=target_accept, hdi_prob=hdi_prob,
                           sampler=sampler, on_failure=on_failure, interactions=interactions, factors=factors,
                           country=country, missing=missing, cores=cores)
    outcomes = {outcome: data[outcome]} if isinstance(outcome, str) else dict(outcome)
    ys = {}
    for name, col in outcomes.items():
        if isinstance(col, str):
            if col not in data.columns:
                raise ValueError(f"`outcome` column {col!r} is not a column of `data`.")
            col = data[col]
        y = pd.to_numeric(pd.Series(np.asarray(col)), errors="coerce").to_numpy(float)
        if y.shape != (len(data),):
            raise ValueError(f"`outcome` {name!r} must have one value per row of `data` ({len(data)}), got {y.shape}.")
        ys[str(name)] = y
    names, codes, labels, keep = _groupings(data, factors, country, weight, missing)
    finite = np.logical_and.reduce([np.isfinite(y) for y in ys.values()])
    drop_rows_warning(int((keep & ~finite).sum()), "outcome is missing or not finite")
    keep &= finite
    codes, labels = _recode(codes, labels, keep)
    w = None if weight is None else pd.to_numeric(data[weight]).to_numpy(float)[keep]
    design = build_design(codes, labels, interactions=inter, weights=w)
    return _fit(design, {k: v[keep] for k, v in ys.items()}, rng=rng, sampler=sampler, chains=chains, draws=draws,
                tune=tune, target_accept=target_accept, prior_scale=prior_scale, intercept_prior=intercept_prior,
                reml=reml, thresholds=thresholds, on_failure=on_failure, hdi_prob=hdi_prob, progressbar=progressbar,
                extra_info={"unit": "row", "weighted": weight is not None}, cores=cores)


decompose_outcome.__doc__ = """Crossed variance decomposition of any per-respondent outcome.

    Same model and result as :func:`decompose_variance`, for an outcome that is
    already computed (e.g. a per-respondent alignment score, or simulated data).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    outcome : str or dict
        Column name of the outcome, or ``{label: column name or array}`` for
        several outcomes fitted on the same design (one "model" each).
    factors : sequence of str
        Socio-demographic factor columns (crossed random effects).
""" + _DOC_OPTIONS + """
    Returns
    -------
    DecompositionResult
"""


def _group_problem(data, models, qs, positions, probs, responses, codes, labels, names, keep, metric, weight, inter):
    from ._fit_group import GroupProblem

    x = responses[keep]
    lo = positions[:, 0]
    span = np.nanmax(positions, axis=1) - lo
    cols, target, coef, qof = [], [], [], []
    for j in range(len(qs)):
        pos = positions[j][np.isfinite(positions[j])]
        p = probs[:, j, : len(pos)]
        if metric == "likert":
            cols.append((x[:, j] - lo[j]) / span[j])
            target.append((p @ pos - lo[j]) / span[j])
            coef.append(1.0)
            qof.append(j)
        else:
            cdf = np.cumsum(p, axis=1)
            for k in range(len(pos) - 1):
                cols.append(np.where(np.isnan(x[:, j]), np.nan, (x[:, j] <= pos[k]).astype(float)))
                target.append(cdf[:, k])
                coef.append((pos[k + 1] - pos[k]) / span[j])
                qof.append(j)
    w = None if weight is None else pd.to_numeric(data[weight]).to_numpy(float)[keep]
    inter_t = None
    if inter:
        a, b = inter[0]
        inter_t = (f"{a}:{b}", a, b, (len(labels[a]), len(labels[b])))
    return GroupProblem(np.column_stack(cols), [codes[f] for f in names], [len(labels[f]) for f in names], names,
                        [labels[f] for f in names], np.column_stack(target), np.asarray(coef), np.asarray(qof),
                        len(qs), models, weights=w, composition_weights=w, inter=inter_t)


def decompose_variance(data, answers, *, factors, metric="likert", estimand="group", positions=None, unit=None,
                       questions=None, country="country", interactions=(), weight=None, missing="group",
                       sampler="auto", chains=4, draws=500, tune=500, target_accept=0.9, prior_scale=None,
                       intercept_prior=None, reml=False, hdi_prob=0.9, thresholds=None, on_failure="warn", rng=None,
                       progressbar=False, cores=None, effect_draws=1000):
    rng = np.random.default_rng(rng)
    if estimand not in ("group", "respondent"):
        raise ValueError(f"`estimand` must be one of ['group', 'respondent'], got {estimand!r}.")
    if estimand == "group" and unit is not None:
        raise ValueError("`unit` belongs to estimand='respondent'; the group estimand models every answer.")
    if estimand == "group" and reml:
        raise ValueError("`reml=True` is available for estimand='respondent' only.")
    if estimand == "respondent" and sampler == "laplace-is":
        raise ValueError("`sampler='laplace-is'` is available for estimand='group' only.")
    if estimand == "group" and intercept_prior is not None:
        raise ValueError("`intercept_prior` is available for estimand='respondent' only.")
    unit = "respondent" if unit is None else unit
    factors = validate_factors(data, factors, country, weight)
    inter = _check_options(chains=chains, draws=draws, tune=tune, target_accept=target_accept, hdi_prob=hdi_prob,
                           sampler=sampler, on_failure=on_failure, interactions=interactions, factors=factors,
                           country=country, missing=missing, unit=unit, cores=cores)
    if metric not in ("likert", "wasserstein"):
        raise ValueError(f"`metric` must be one of ['likert', 'wasserstein'], got {metric!r}.")
    data = data.reset_index(drop=True)
    if estimand == "group":
        if len(inter) > 1:
            raise ValueError("estimand='group' takes at most one interaction, e.g. [('country', 'religion')].")
        if not isinstance(effect_draws, (int, np.integer)) or isinstance(effect_draws, bool) or effect_draws < 10:
            raise ValueError(f"`effect_draws` must be an integer >= 10, got {effect_draws!r}.")
        th = dict(DEFAULT_THRESHOLDS)
        if thresholds:
            unknown = set(thresholds) - set(th)
            if unknown:
                raise ValueError(f"`thresholds` has unknown key(s) {sorted(unknown)}; allowed: {sorted(th)}.")
            th.update(thresholds)
        models, qs, pos, probs = tidy_answers(answers, data, questions=questions, positions=positions)
        responses = _responses(data, qs, pos)
        names, codes, labels, keep = _groupings(data, factors, country, weight, missing)
        any_answer = np.isfinite(responses).any(axis=1)
        drop_rows_warning(int((keep & ~any_answer).sum()), "no valid answer to any of the questions")
        keep &= any_answer
        codes, labels = _recode(codes, labels, keep)
        for f in names:
            if len(labels[f]) < 2:
                raise ValueError(f"grouping column {f!r} has {len(labels[f])} level among the respondents kept; "
                                 "a component needs at least two.")
        n_eff_cols = 1 + sum(len(labels[f]) - 1 for f in names)
        if int(keep.sum()) <= n_eff_cols + 1:
            raise ValueError(f"too few respondents ({int(keep.sum())}) for {n_eff_cols} identifiable group effects.")
        prob = _group_problem(data, models, qs, pos, probs, responses, codes, labels, names, keep, metric, weight,
                              inter)
        return fit_group(prob, rng=rng, sampler=sampler, chains=chains, draws=draws, tune=tune,
                         target_accept=target_accept, prior_scale=prior_scale, thresholds=th, on_failure=on_failure,
                         hdi_prob=hdi_prob, progressbar=progressbar, cores=cores, effect_draws=effect_draws,
                         extra_info={"metric": metric, "questions": qs, "weighted": weight is not None,
                                     "country": country, "n_respondents": int(keep.sum())})
    a, models, qs = alignment_array(data, answers, questions=questions, metric=metric, positions=positions)
    names, codes, labels, keep = _groupings(data, factors, country, weight, missing)
    answered = ~np.isnan(a[0])
    none = keep & ~answered.any(axis=1)
    drop_rows_warning(int(none.sum()), "no valid answer to any of the questions")
    keep &= answered.any(axis=1)
    w_all = None if weight is None else pd.to_numeric(data[weight]).to_numpy(float)
    if unit == "respondent":
        codes, labels = _recode(codes, labels, keep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ys = {m: np.nanmean(a[i][keep], axis=1) for i, m in enumerate(models)}
        w = None if w_all is None else w_all[keep]
    else:
        rows, cols = np.nonzero(answered & keep[:, None])
        codes = {f: c[rows] for f, c in codes.items()}
        codes["question"] = cols
        labels = dict(labels, question=list(qs))
        codes, labels = _recode(codes, labels, np.ones(len(rows), dtype=bool))
        ys = {m: a[i][rows, cols] for i, m in enumerate(models)}
        w = None if w_all is None else w_all[rows]
        if "question" in names:
            raise ValueError("a grouping column named 'question' clashes with the question component of unit='response'.")
    design = build_design(codes, labels, interactions=inter, weights=w)
    return _fit(design, ys, rng=rng, sampler=sampler, chains=chains, draws=draws, tune=tune,
                target_accept=target_accept, prior_scale=prior_scale, intercept_prior=intercept_prior, reml=reml,
                thresholds=thresholds, on_failure=on_failure, hdi_prob=hdi_prob, progressbar=progressbar,
                extra_info={"estimand": "respondent", "unit": unit, "metric": metric, "questions": qs, "weighted": weight is not None,
                            "n_respondents": int(keep.sum())}, cores=cores)


decompose_variance.__doc__ = """How much of the spread of alignment between groups is country, and how much is who people are.

    **Default estimand (``estimand="group"``): the ESS paper's group
    alignment.**  For a group ``G`` (a country, a level of a factor, or a
    cell of the optional country × factor interaction)

    .. math::

        A_G = \\frac{1}{Q} \\sum_q \\left(1 - \\frac{|\\bar x_{G,q} - a_q|}{R_q - 1}\\right)

    with ``a_q`` the model's (mean) answer and ``R_q - 1`` the span of the
    question's full scale (``positions``); with ``metric="wasserstein"`` the
    term ``|x̄ - a| / (R - 1)`` becomes the ordinal Wasserstein distance
    between the group's answer distribution and the model's over the span.
    Each question's answers (rescaled to [0, 1]; for Wasserstein, each
    cumulative indicator ``1[x <= k]``) are modelled as

    .. math::

        y_{iq} = \\alpha_q + \\sum_k b_{kq}[g_k(i)] + e_{iq}, \\quad
        b_{kq} \\sim N(0, \\sigma_k^2), \\quad e_{iq} \\sim N(0, \\sigma_q^2 / w_i),

    crossed country and factor effects whose SDs ``sigma_k`` are shared by all
    questions.  The effects are integrated out exactly using per-question
    weighted cross-products of the design (sufficient statistics); NUTS
    samples only ``sigma_k`` and ``sigma_q`` (nutpie when installed, else
    PyMC); the effects are then drawn from their exact Gaussian conditional.
    Per draw, a group's mean answer is its (weighted) population composition
    times the coefficients, which gives ``A_G`` for every group and model, and
    the finite-population SD of ``A_G`` over the levels of each component
    (for the interaction: of the residuals of the cells' ``A_G`` from an
    additive country + factor fit, ``(I-1)(J-1)`` degrees of freedom).  One
    fit serves every model: the models enter only through ``a_q``.

    **Alternative (``estimand="respondent"``)**: each respondent's *own*
    alignment (mean over questions of ``1 - |x_iq - a_q| / (R_q - 1)``) is the
    outcome of a crossed random-effects model.  This is a different quantity:
    spread of answers *within* a group counts as misalignment (two groups
    whose mean answer equals the model's both score 1 on the paper's measure,
    however much their members disagree, but lower here).

    Parameters
    ----------
    data : pandas.DataFrame
        Respondent microdata: one column per question (ordinal option
        positions, NaN = no valid answer), a country column and the factor
        columns.
    answers : pandas.DataFrame or alignstat.OpinionDistributions
        Model answers with columns ``model``, ``question``, ``option``
        (numeric position), ``prob`` (and optionally ``status``), validated by
        :class:`alignstat.OpinionDistributions`: a duplicate option or a
        negative probability is an error; rejected rows are excluded and sums
        other than 1 renormalised, both reported.
    factors : sequence of str
        Socio-demographic factor columns.
    metric : {"likert", "wasserstein"}, default "likert"
    estimand : {"group", "respondent"}, default "group"
    positions : mapping, alignstat.QuestionBank or object with ``.positions``, optional
        Full scale of each question (e.g. ``range(11)`` for a 0-10 item), so
        that a point answer is scored on the question's scale, not on one
        guessed from the answers.  Questions it does not cover take the union
        of the positions observed in ``data`` and listed in ``answers``.
    unit : {"respondent", "response"}, optional
        ``estimand="respondent"`` only: outcome per respondent (mean over the
        answered questions, the default) or per answer with crossed
        ``question`` effects.
    questions : sequence of str, optional
        Questions to use (default: every question of ``answers`` that is a
        column of ``data``).
    effect_draws : int, default 1000
        ``estimand="group"``: posterior draws (evenly thinned) for which
        effects, group alignments and SDs are drawn.
""" + _DOC_OPTIONS + """
    Returns
    -------
    GroupDecompositionResult or DecompositionResult
        ``summary()`` has one row per model × component with ``component``,
        ``sd``, ``sd_low``, ``sd_high`` (posterior median and 90% interval of
        the finite-population SD: of the group alignments for the group
        estimand, of the respondent-level effects otherwise) and ``share``;
        the group result adds ``interval`` (in words) and ``alignments()``
        (every group's alignment); ``diagnostics`` reports R-hat, ESS,
        divergences, tree depth and E-BFMI (for ``"laplace-is"``: the Pareto
        ``k``, the importance-sampling ESS as ``ess_bulk_min`` and whether
        the mode was found).

    Warns
    -----
    alignstat.DiagnosticsWarning
        When the sampler fails a diagnostic (``on_failure="warn"``).
    alignstat.DataPolicyWarning
        When respondents are dropped.

    Notes
    -----
    The finite-population SD of a component is the SD of its realised level
    effects, ``s_k = sqrt(sum_l b_kl^2 / (L_k - 1))`` (``(I-1)(J-1)`` degrees of
    freedom for an interaction); the superpopulation SD ``sigma_k`` is the SD
    of the distribution the levels are drawn from [1]_.  For factors with few
    levels ``sigma_k`` is mostly prior, so ``s_k`` is the headline.  Shares are
    ``s_k^2 / sum_j s_j^2``; when factors are correlated (country and religion)
    the variance of the summed effects differs from the sum of the variances
    (``cov_remainder`` in the posterior), so shares are not additive
    contributions.  An interaction identifies only double-centred effects;
    cells without respondents are drawn from the prior.

    The posterior of the SDs is exact for this Gaussian model: the likelihood
    is reduced to ``z = D^(-1/2) U' X'Wy`` and ``rss0 = y'Wy - z'z`` (with
    ``X'WX = U D U'``), which equals the one-row-per-respondent likelihood up to
    a constant, so the cost of sampling does not grow with the number of
    respondents.  For the same reason the outcome is treated as Gaussian: the
    alignment of a respondent averaged over many questions is close to it, a
    single Likert answer (``unit="response"``) less so.

    References
    ----------
    .. [1] Gelman, A. (2005). Analysis of variance -- why it is more important
       than ever. The Annals of Statistics, 33(1), 1-53.
    .. [2] Pfeffermann, D., Skinner, C. J., Holmes, D. J., Goldstein, H. and
       Rasbash, J. (1998). Weighting for unequal selection probabilities in
       multilevel models. JRSS B, 60(1), 23-40.
    .. [3] Vehtari, A., Simpson, D., Gelman, A., Yao, Y. and Gabry, J. (2024).
       Pareto smoothed importance sampling. JMLR, 25(72), 1-58.

    Examples
    --------
    >>> from analyses.variance import decompose_variance
    >>> from surveys.synthetic import make_ess, model_answers
    >>> survey = make_ess(n_respondents=1500, n_countries=4, n_questions=3, rng=0)
    >>> res = decompose_variance(survey.responses(), model_answers(survey, models=("m",)),
    ...                          factors=["gender"], positions=survey.positions, chains=2, draws=100,
    ...                          tune=100, rng=1, on_failure="ignore")  # doctest: +SKIP
    >>> list(res.summary().columns[:6])  # doctest: +SKIP
    ['model', 'component', 'n_levels', 'sd', 'sd_low', 'sd_high']
"""
