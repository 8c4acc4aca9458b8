"""Calibration of the group-alignment decomposition on simulations with known group means.

Run ``python -m analyses.variance.calibrate --replicates 50`` (about 10-20 s
per replicate on 2 cores; ``--sampler laplace-is`` checks the importance
sampler instead of NUTS).  Each replicate draws the component SDs, simulates
answers from the model (:func:`analyses.variance._simulate.simulate_group_problem`),
fits ``estimand="group"`` and checks whether the 90% interval of each
component's finite-population SD covers the true value.  Prints the coverage
per component and overall.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

__all__ = ["calibrate"]


def calibrate(replicates=50, *, n=1500, n_questions=4, interaction=True, seed=2026, chains=2, draws=400, tune=400,
              sampler="nutpie", verbose=True):
    """Coverage of the 90% intervals over simulated replicates.

    Returns
    -------
    pandas.DataFrame
        One row per replicate × component: ``replicate``, ``component``,
        ``truth``, ``sd``, ``sd_low``, ``sd_high``, ``covered``, ``passed``.
    """
    from alignstat._optional import require

    if sampler == "nutpie":
        require("nutpie", purpose="the calibration study")
    from ._decompose import DEFAULT_THRESHOLDS
    from ._fit_group import fit_group
    from ._simulate import simulate_group_problem

    rng = np.random.default_rng(seed)
    rows = []
    th = dict(DEFAULT_THRESHOLDS, ess_bulk_min=100, ess_tail_min=100, r_hat_max=1.05)
    for r in range(replicates):
        t0 = time.perf_counter()
        levels = {"country": 6, "gender": 2, "education": 4}
        sd = {"country": abs(rng.normal(0, 0.08)), "gender": abs(rng.normal(0, 0.04)),
              "education": abs(rng.normal(0, 0.04))}
        inter = ("country", "education") if interaction else None
        if inter:
            sd["country:education"] = abs(rng.normal(0, 0.03))
        prob, truth = simulate_group_problem(n=n, levels=levels, n_questions=n_questions, sd=sd, sigma=0.15,
                                             interaction=inter, rng=rng)
        res = fit_group(prob, rng=rng, sampler=sampler, chains=chains, draws=draws, tune=tune, thresholds=th, on_failure="ignore",
                        effect_draws=400, prior_scale=0.15)
        s = res.summary().set_index("component")
        for _, t in truth.iterrows():
            row = s.loc[t["component"]]
            rows.append({"replicate": r, "component": t["component"], "truth": t["sd"], "sd": row["sd"],
                         "sd_low": row["sd_low"], "sd_high": row["sd_high"],
                         "covered": bool(row["sd_low"] <= t["sd"] <= row["sd_high"]), "passed": res.passed})
        if verbose:
            cov = np.mean([x["covered"] for x in rows])
            print(f"replicate {r + 1}/{replicates}: {time.perf_counter() - t0:.1f} s, running coverage {cov:.3f}",
                  flush=True)
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=50)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--no-interaction", action="store_true")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--sampler", default="nutpie", choices=["nutpie", "pymc", "laplace-is"],
                    help="Sampler of the hyper-parameters (laplace-is: importance sampling from a Laplace approximation).")
    ap.add_argument("--out", default=None, help="CSV of every replicate × component.")
    a = ap.parse_args(argv)
    df = calibrate(a.replicates, n=a.n, n_questions=a.questions, interaction=not a.no_interaction, seed=a.seed,
                   sampler=a.sampler)
    if a.out:
        df.to_csv(a.out, index=False)
    print("\ncoverage of the 90% intervals (nominal 0.90):")
    print(df.groupby("component")["covered"].agg(["mean", "size"]).to_string())
    print(f"overall: {df['covered'].mean():.3f} over {len(df)} intervals; "
          f"replicates passing the sampler gates: {df.groupby('replicate')['passed'].first().mean():.2f}")


if __name__ == "__main__":
    main()
