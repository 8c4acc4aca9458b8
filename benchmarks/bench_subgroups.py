"""Benchmark of the full ESS-scale subgroup study (``analyses.subgroup_alignment``).

Two measurements, each printed as a ratio measured in the same run:

1. Wasserstein (the models' answer distributions against each group's answer
   shares), B = 5000 respondent resamples: the study's wall time against its
   own matrix products -- the bootstrap engine's group sums alone
   (:func:`alignstat._kernels.groupsums.grouped_sums` over every grouping and
   chunk) on the same respondents, factors, precision and B, the data
   prepared once by :func:`alignstat.prepare_respondents`.  Target: <= 1.5.
2. Likert with majority answers against the pandas peer below.

Data: ``surveys.synthetic.make_ess`` -- about 50,000 respondents x 47
questions, 12 socio-demographic factors plus 30 countries -- and three
models' answers from ``surveys.synthetic.model_answers`` turned into
majority (modal) point answers, as in the ESS paper.  The study runs from
the tidy inputs (validation, alignment of respondents with answers, the
bootstrap engine, the tidy table): Likert-mean alignment, B = 5000
respondent resamples, 95% percentile intervals, missing factor values as
their own group.

Peer: a straightforward pandas implementation written here -- per replicate,
``DataFrame.sample(n, replace=True)``, melt to long form, a weighted
``groupby([factor, question])`` mean, the alignment formula and a mean over
questions -- timed on a few replicates in the same run and extrapolated to B.

Usage::

    python benchmarks/bench_subgroups.py                 # full scale, B = 5000
    python benchmarks/bench_subgroups.py --quick         # small run
    python benchmarks/bench_subgroups.py --resamples 500 # fewer replicates

Timings are wall-clock on whatever machine runs this; on a machine shared
with other jobs they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

FACTORS = ["gender", "ethnic_majority", "generation", "education", "income_decile", "main_activity", "religion",
           "religiosity", "domicile", "political_interest", "internet_time"]


def majority_answers(answers):
    """Point answer = modal option of each model's distribution (one-hot tidy frame)."""
    a = answers.copy()
    top = a.groupby(["model", "question"])["prob"].transform("max")
    first = a[a["prob"] == top].drop_duplicates(["model", "question"])
    a["prob"] = 0.0
    a.loc[first.index, "prob"] = 1.0
    return a


def naive_study(data, answers, factors, questions, positions, n_reps, seed=1):
    """The pandas peer: resample respondents, groupby means, alignment per group -- one replicate at a time."""
    rng = np.random.default_rng(seed)
    point = (answers.assign(v=answers["option"] * answers["prob"]).groupby(["model", "question"])["v"].sum()
             .unstack("model"))
    span = pd.Series({q: positions[q].max() - positions[q].min() for q in questions})
    out = []
    for _ in range(n_reps):
        s = data.sample(len(data), replace=True, random_state=rng.integers(2**31))
        long = s.melt(id_vars=factors + ["weight"], value_vars=questions, var_name="question", value_name="x")
        long = long.dropna(subset=["x"])
        long["wx"] = long["weight"] * long["x"]
        for f in factors:
            g = long.groupby([f, "question"], dropna=False)[["wx", "weight"]].sum()
            mu = (g["wx"] / g["weight"]).unstack("question")
            for m in point.columns:
                al = 1 - (mu - point[m]).abs() / span
                out.append(al.mean(axis=1))
    return out


def _study_kwargs():
    """Options that switch off the study's null and ceiling where it has them (only the bootstrap is timed)."""
    import inspect

    from analyses import subgroup_alignment

    params = inspect.signature(subgroup_alignment).parameters
    kw = {k: 0 for k in ("n_null", "n_splits") if k in params}
    if "weights" in params:
        kw["weights"] = "weight"
    elif "weight" in params:
        kw["weight"] = "weight"
    return kw


def wasserstein_matrix_time(data, answers, factors, B, precision):
    """Seconds of the engine's group sums alone for the study's data (see module docstring)."""
    from bench_bootstrap import matrix_product_time

    import alignstat

    rd = alignstat.prepare_respondents(data.assign(**{"(all)": "(all)"}), answers,
                                       factors=["(all)"] + list(factors), weight="weight",
                                       missing_as_group=True)
    dist = rd.answers.copy()
    dist[dist.sum(axis=2) <= 0] = np.nan
    return matrix_product_time(rd.responses, rd.groups, dist, rd.positions, rd.weights,
                               "wasserstein", B, precision)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, B = 500")
    ap.add_argument("--resamples", type=int, default=None, help="replicates B (default 5000)")
    ap.add_argument("--peer-reps", type=int, default=3, help="replicates timed for the pandas peer")
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()

    import surveys.synthetic as syn
    from alignstat import SmallCellWarning
    from analyses import subgroup_alignment

    n, q, c, B = (5000, 20, 10, 500) if args.quick else (50_116, 47, 30, 5000)
    B = args.resamples or B
    t = time.perf_counter()
    survey = syn.make_ess(n, c, q, rng=0)
    data = survey.responses()
    dists = syn.model_answers(survey)
    answers = majority_answers(dists)
    t_data = time.perf_counter() - t
    factors = ["country"] + [f for f in FACTORS if f in data.columns]
    print(f"data: {len(data)} respondents x {len(survey.questions)} questions, {len(factors)} factors "
          f"(incl. country), 3 models, B = {B}; generated in {t_data:.1f} s (not timed below)")
    print(f"cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
    kw = _study_kwargs()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCellWarning)
        # warm-up: compile the numba kernels on a small slice (JIT time is not the study's cost)
        for metric, ans in (("wasserstein", dists), ("likert", answers)):
            for precision in ("double", "single"):
                subgroup_alignment(data.head(500), ans, factors=factors, metric=metric, n_resamples=20,
                                   rng=0, missing_as_group=True, precision=precision, **kw)

        for precision in ("single", "double"):
            t = time.perf_counter()
            res = subgroup_alignment(data, dists, factors=factors, metric="wasserstein", n_resamples=B,
                                     rng=0, missing_as_group=True, precision=precision, **kw)
            t_study = time.perf_counter() - t
            t_mm = wasserstein_matrix_time(data, dists, factors, B, precision)
            ratio = t_study / t_mm
            print(f"wasserstein study ({precision}): {t_study:.1f} s wall for {len(res)} rows; its matrix "
                  f"products alone {t_mm:.1f} s -> ratio {ratio:.2f} "
                  f"(target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")

        times = {}
        for precision in ("double", "single"):
            t = time.perf_counter()
            c = time.process_time()
            res = subgroup_alignment(data, answers, factors=factors, n_resamples=B, rng=0,
                                     missing_as_group=True, precision=precision, **kw)
            times[precision] = t_ours = time.perf_counter() - t
            c_ours = time.process_time() - c
            print(f"likert study, majority answers ({precision} precision sums): {t_ours:.2f} s wall, "
                  f"{c_ours:.2f} s CPU (all threads) for {len(res)} (model, group) rows")
        t_ours = times["double"]
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores -- other jobs share the "
              "machine, wall times are noisy (the ratios compare parts of one run)")
    if args.skip_peer:
        return
    qs = list(survey.questions)
    pos = {k: np.asarray(v, dtype=float) for k, v in survey.positions.items()}
    d = data.copy()
    for f in factors:
        d[f] = d[f].astype(object).where(d[f].notna(), "(missing)")
    t = time.perf_counter()
    naive_study(d, answers, factors, qs, pos, args.peer_reps)
    t_rep = (time.perf_counter() - t) / args.peer_reps
    t_peer = t_rep * B
    print(f"pandas peer: {t_rep:.2f} s per replicate -> {t_peer:.0f} s extrapolated to B = {B}")
    print(f"speed-up over the pandas peer (likert, double): {t_peer / t_ours:.0f}x")


if __name__ == "__main__":
    main()
