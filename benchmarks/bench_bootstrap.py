"""Benchmark of the bootstrap engine at European Social Survey scale.

Synthetic data generated here with NumPy: N = 50,116 respondents in 30
countries (sorted by country, as survey files are), Q = 47 questions with 4 to
11 options and about 5% missing answers, 12 socio-demographic groupings of 2
to 30 groups (some respondents in none) plus the country grouping, 3 model
answer sets, B = 5000 multinomial replicates, Likert-mean alignment with 95%
percentile intervals.

Peer: a straightforward pandas resample-and-groupby loop (long format,
``groupby([group, question])`` sums per replicate and grouping), timed on a few
replicates in the same run and extrapolated to B.  Also times the Wasserstein
metric (on fewer replicates, extrapolated, unless ``--wasserstein-resamples``
is raised to B).

Usage::

    python benchmarks/bench_bootstrap.py            # full scale (target: <= 30 s)
    python benchmarks/bench_bootstrap.py --quick    # small run

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

from alignstat.bootstrap import bootstrap_alignment


def make_data(n, n_questions, n_countries, seed=20261122):
    rng = np.random.default_rng(seed)
    k_q = rng.integers(4, 12, n_questions)  # 4..11 options
    K = int(k_q.max())
    positions = np.full((n_questions, K), np.nan)
    for q in range(n_questions):
        positions[q, : k_q[q]] = np.arange(1, k_q[q] + 1)
    country = np.sort(rng.integers(0, n_countries, n))
    sizes = [2, 2, 3, 4, 5, 5, 6, 8, 10, 12, 20, 30]  # 12 groupings of 2..30 groups
    cols = []
    for g in sizes:
        c = rng.integers(0, g, n)
        c[rng.random(n) < 0.03] = -1  # not classified
        cols.append(c)
    cols.append(country)
    groups = np.stack(cols, axis=1)
    # answers depend a little on country and the first grouping
    latent = rng.normal(size=n) + 0.3 * (country / n_countries) + 0.2 * cols[0]
    responses = np.empty((n, n_questions))
    for q in range(n_questions):
        z = latent * rng.uniform(0.2, 0.8) + rng.normal(size=n)
        cuts = np.quantile(z, np.sort(rng.uniform(0, 1, k_q[q] - 1)))
        responses[:, q] = 1 + np.searchsorted(cuts, z)
    responses[rng.random(responses.shape) < 0.05] = np.nan
    weights = rng.gamma(8.0, 1 / 8.0, n)
    M = 3
    dists = rng.gamma(1.0, size=(M, n_questions, K))
    dists[:, np.isnan(positions)] = 0.0
    dists /= dists.sum(axis=2, keepdims=True)
    point = np.sum(dists * np.nan_to_num(positions), axis=2)
    return responses, groups, weights, positions, point, dists


def pandas_loop(responses, groups, weights, positions, point, n_replicates, seed=1):
    """Straightforward peer: per replicate, resample and groupby per grouping."""
    rng = np.random.default_rng(seed)
    n, Q = responses.shape
    lo = np.nanmin(positions, axis=1)
    hi = np.nanmax(positions, axis=1)
    long = pd.DataFrame(responses).reset_index().melt(id_vars="index", var_name="q", value_name="v")
    long = long.dropna(subset=["v"])
    i = long["index"].to_numpy()
    q = long["q"].to_numpy().astype(int)
    v = long["v"].to_numpy()
    out = []
    for _ in range(n_replicates):
        f = np.bincount(rng.integers(0, n, n), minlength=n)
        w = weights[i] * f[i]
        res = []
        for col in range(groups.shape[1]):
            df = pd.DataFrame({"g": groups[i, col], "q": q, "wv": w * v, "w": w})
            df = df[df["g"] >= 0]
            s = df.groupby(["g", "q"])[["wv", "w"]].sum()
            mean = (s["wv"] / s["w"]).unstack("q").reindex(columns=range(Q))
            for m in range(point.shape[0]):
                a = 1 - np.abs(mean.to_numpy() - point[m]) / (hi - lo)
                res.append(np.nanmean(a, axis=1))
        out.append(np.concatenate(res))
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (N=5000, B=500)")
    parser.add_argument("--resamples", type=int, default=None)
    parser.add_argument("--peer-replicates", type=int, default=3)
    parser.add_argument("--wasserstein-resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.quick:
        n, Q, C, B = 5000, 47, 30, 500
    else:
        n, Q, C, B = 50_116, 47, 30, 5000
    if args.resamples:
        B = args.resamples
    wB = min(args.wasserstein_resamples, B)
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"N={n} Q={Q} countries={C} groupings=13 models=3 B={B} cpus={os.cpu_count()} "
          f"OMP_NUM_THREADS={threads}")
    t = time.perf_counter()
    responses, groups, weights, positions, point, dists = make_data(n, Q, C)
    print(f"data generated in {time.perf_counter() - t:.1f} s; groups in total: "
          f"{sum(int(groups[:, f].max()) + 1 for f in range(groups.shape[1]))}")

    # warm-up: JIT compilation / cache load (not timed)
    small = slice(0, 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bootstrap_alignment(responses[small], groups[small], point, positions=positions,
                            weights=weights[small], n_resamples=4, rng=0)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before timing: {load:.1f} (on {os.cpu_count()} cpus)")
    timings = {}
    results = {}
    for precision in ("double", "single"):
        t = time.perf_counter()
        c = time.process_time()
        results[precision] = bootstrap_alignment(responses, groups, point, positions=positions,
                                                 weights=weights, n_resamples=B, rng=1,
                                                 precision=precision)
        timings[precision] = time.perf_counter() - t
        c_ours = time.process_time() - c
        res = results[precision]
        print(f"alignstat likert, B={B}, precision={precision}: {timings[precision]:.1f} s wall, "
              f"{c_ours:.1f} s CPU (all threads)  ({res.estimate.shape[0]} models x "
              f"{res.estimate.shape[1]} groups; min n_valid {res.n_valid.min()})")
    d, s_ = results["double"], results["single"]
    print(f"single vs double precision: max |difference| of replicate statistics "
          f"{np.nanmax(np.abs(d.bootstrap_distribution - s_.bootstrap_distribution)):.1e}, of CI limits "
          f"{max(np.nanmax(np.abs(d.confidence_interval.low - s_.confidence_interval.low)), np.nanmax(np.abs(d.confidence_interval.high - s_.confidence_interval.high))):.1e}; "
          f"largest standard error {np.nanmax(d.standard_error):.1e}")
    t_ours = timings["double"]

    t = time.perf_counter()
    ref = pandas_loop(responses, groups, weights, positions, point, args.peer_replicates)
    t_peer = (time.perf_counter() - t) / args.peer_replicates
    print(f"pandas resample-and-groupby loop: {t_peer:.2f} s per replicate -> "
          f"{t_peer * B:.0f} s extrapolated to B={B}")
    print(f"speed-up: {t_peer * B / t_ours:.0f}x (double), {t_peer * B / timings['single']:.0f}x (single)")
    target = min(timings.values()) <= 30
    print(f"target (<= 30 s for B={B} on 2 cores): {'met' if target else 'NOT met'} "
          f"(double {timings['double']:.1f} s, single {timings['single']:.1f} s)")
    del ref

    t = time.perf_counter()
    c = time.process_time()
    res_w = bootstrap_alignment(responses, groups, dists, positions=positions, weights=weights,
                                metric="wasserstein", n_resamples=wB, rng=1, precision="single")
    t_w = time.perf_counter() - t
    c_w = time.process_time() - c
    extra = "" if wB == B else f" -> {t_w * B / wB:.1f} s wall extrapolated to B={B}"
    print(f"alignstat wasserstein (single precision), B={wB}: {t_w:.1f} s wall, {c_w:.1f} s CPU{extra}")
    del res_w
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average after: {load:.1f}.  Wall-clock on a machine shared with other jobs "
          "is pessimistic; the group sums are BLAS-bound (about 2*B*N*J*13 flops, "
          "J = 2Q columns for likert, sum of options for wasserstein).")


if __name__ == "__main__":
    main()
