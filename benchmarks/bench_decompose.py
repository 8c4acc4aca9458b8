"""Benchmark and calibration study of the variance decomposition.

Usage::

    python benchmarks/bench_decompose.py                  # ESS-scale timing, estimand="group", two fits
    python benchmarks/bench_decompose.py --interaction country:religiosity --weighted
    python benchmarks/bench_decompose.py --estimand respondent
    python benchmarks/bench_decompose.py --n 5000 --countries 10
    python benchmarks/bench_decompose.py --interaction country:religiosity --weighted
    python benchmarks/bench_decompose.py --calibration 100   # respondent model: simulation-based calibration
    python -m analyses.variance.calibrate --replicates 50  # group estimand: coverage with known group means

Prints compile and sampling times measured in this run, the sampler
diagnostics and (for the timing run) the summary table.  The calibration study
draws the component SDs from the model's prior, simulates an outcome on the
synthetic ESS design (its countries, factor columns and joint distribution),
refits with the compiled model reused, and reports the coverage of the 90%
HDIs and the rank statistics of the true values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

FACTORS = ["gender", "ethnic_majority", "generation", "education", "income_decile", "main_activity", "religion",
           "religiosity", "domicile", "political_interest", "internet_time"]


def timing(args):
    from analyses.variance import decompose_variance
    from surveys.synthetic import make_ess, model_answers

    t0 = time.perf_counter()
    survey = make_ess(n_respondents=args.n, n_countries=args.countries, n_questions=args.questions, rng=0)
    data = survey.responses()
    answers = model_answers(survey, models=("model-a", "model-b"))
    t1 = time.perf_counter()
    print(f"data: {len(data)} respondents, {args.questions} questions, {args.countries} countries, "
          f"{len(FACTORS) + 1} grouping factors; generated in {t1 - t0:.1f} s")
    inter = [tuple(args.interaction.split(":"))] if args.interaction else ()
    kw = dict(factors=FACTORS, weight="weight" if args.weighted else None, interactions=inter, chains=args.chains,
              draws=args.draws, tune=args.tune, sampler=args.sampler, on_failure="ignore")
    if args.estimand == "group":
        kw["positions"] = survey.positions
    else:
        kw["reml"] = True
    times = []
    for rep in range(args.repeat):
        t1 = time.perf_counter()
        res = decompose_variance(data, answers, estimand=args.estimand, rng=1 + rep, **kw)
        t2 = time.perf_counter()
        times.append(t2 - t1)
        tm = res.timings
        how = (f"{args.chains * args.draws} importance proposals" if tm["sampler"] == "laplace-is"
               else f"{args.chains} chains x {args.draws} draws + {args.tune} tune")
        print(f"fit {rep + 1} (estimand={args.estimand}): whole call {t2 - t1:.1f} s; compile {tm['compile_s']:.1f} s, "
              f"sampling {tm['sample_s']:.1f} s, effect draws {tm['effects_s']:.1f} s "
              f"({tm['sampler']}, {how})", flush=True)
        d = res.diagnostics
        if tm["sampler"] == "laplace-is":
            print(f"  diagnostics passed={d['passed']}: Pareto k {d['pareto_k']:.2f}, importance ESS "
                  f"{d['ess_bulk_min']:.0f} of {args.chains * args.draws} proposals, mode found "
                  f"{d['optimizer_converged']}, {d['evaluations']} log-density evaluations", flush=True)
        else:
            print(f"  diagnostics passed={d['passed']}: R-hat max {d['r_hat_max']:.4f}, bulk ESS min "
                  f"{d['ess_bulk_min']:.0f}, tail ESS min {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
                  f"tree-depth hits {d['max_treedepth_hits']}, E-BFMI min {d['ebfmi_min']:.2f}", flush=True)
    if len(times) > 1:
        print(f"second fit / first fit: {times[1] / times[0]:.2f} (same shape, nothing recompiled)")
    target = 180.0
    print(f"target: <= {target:.0f} s per fit at ESS scale with one interaction; slowest fit {max(times):.0f} s "
          f"({max(times) / target:.2f} x the target)")
    cols = ["model", "component", "n_levels", "sd", "sd_low", "sd_high", "share"]
    print(res.summary()[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _gate(failure):
    """Name of the diagnostic gate a failure message refers to."""
    for key in ("R-hat", "bulk ESS", "tail ESS", "divergent", "E-BFMI", "tree depth"):
        if key in failure:
            return key
    return failure


def calibration(args):
    import pandas as pd

    from analyses.variance import decompose_outcome, simulate_outcome
    from surveys.synthetic import make_ess

    survey = make_ess(n_respondents=args.n, n_countries=args.countries, n_questions=5, rng=0)
    data = survey.responses()
    rng = np.random.default_rng(12345)
    scale = 0.05
    comps = ["country"] + FACTORS
    rows = []
    t0 = time.perf_counter()
    for rep in range(args.calibration):
        sd = {c: abs(rng.normal(0, scale)) for c in comps}
        sigma = abs(rng.normal(0, scale))
        y, truth = simulate_outcome(data, factors=FACTORS, sd=sd, sigma=sigma, intercept=0.6, rng=rng)
        res = decompose_outcome(data.assign(y=y), outcome="y", factors=FACTORS, chains=2, draws=500, tune=500,
                                prior_scale=scale, intercept_prior=(0.6, 10 * scale), rng=rng, on_failure="ignore")
        s = res.summary().set_index("component")
        post = res.idata.posterior
        for c in comps + ["residual"]:
            t = truth.set_index("component").loc[c]
            if c == "residual":
                draws = post["sigma"].values.ravel()
            else:
                draws = post["sd_super"].sel(component=c).values.ravel()
            rows.append({"rep": rep, "component": c,
                         "covered_super": s.loc[c, "sd_super_low"] <= t["sd_super"] <= s.loc[c, "sd_super_high"],
                         "covered_finite": s.loc[c, "sd_low"] <= t["sd_finite"] <= s.loc[c, "sd_high"],
                         "rank": float((draws < t["sd_super"]).mean()),
                         "passed": res.diagnostics["passed"],
                         "failures": "+".join(_gate(f) for f in res.diagnostics["failures"])})
        if rep % 10 == 0:
            print(f"replicate {rep}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    print(f"{args.calibration} replicates, {args.n} respondents, {time.perf_counter() - t0:.0f} s")
    print("coverage of the 90% HDIs (superpopulation SD drawn from the prior; finite-population SD realised):")
    print(df.groupby("component")[["covered_super", "covered_finite"]].mean().round(2).to_string())
    print(f"overall: superpopulation {df.covered_super.mean():.3f}, finite-population {df.covered_finite.mean():.3f}; "
          f"runs passing diagnostics {df.groupby('rep').passed.first().mean():.2f}")
    fails = df.groupby("rep").failures.first()
    print("failed gates per replicate (2 chains x 500 draws):", fails[fails != ""].value_counts().to_dict())
    hist, _ = np.histogram(df["rank"], bins=10, range=(0, 1))
    print("rank histogram of the true SD among posterior draws (10 bins, uniform if calibrated):", hist.tolist())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50_116)
    p.add_argument("--countries", type=int, default=30)
    p.add_argument("--questions", type=int, default=47)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--estimand", choices=["group", "respondent"], default="group")
    p.add_argument("--repeat", type=int, default=2, help="fits of the same shape in one process")
    p.add_argument("--sampler", default="auto")
    p.add_argument("--weighted", action="store_true")
    p.add_argument("--interaction", default=None, help="add one interaction block, e.g. country:religiosity")
    p.add_argument("--calibration", type=int, default=0, help="number of calibration replicates (0: timing run)")
    args = p.parse_args()
    if args.calibration:
        if args.n == 50_116:
            args.n, args.countries = 3000, 10
        calibration(args)
    else:
        timing(args)


if __name__ == "__main__":
    main()
