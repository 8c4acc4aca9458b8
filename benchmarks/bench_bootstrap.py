"""Benchmark of the bootstrap engine at European Social Survey scale.

Synthetic data generated here with NumPy: N = 50,116 respondents in 30
countries (sorted by country, as survey files are), Q = 47 questions with 4 to
11 options and about 5% missing answers, 12 socio-demographic groupings of 2
to 30 groups (some respondents in none) plus the country grouping, 3 model
answer sets, B = 5000 multinomial replicates, Likert-mean alignment with 95%
percentile intervals.

Measured in one run and printed as ratios:

* Likert: wall time (double and single precision sums) against a
  straightforward pandas resample-and-groupby loop (long format,
  ``groupby([group, question])`` sums per replicate and grouping), timed on a
  few replicates and extrapolated to B; and the memory the call *adds* at its
  peak -- ``tracemalloc`` (NumPy's allocations) and the growth of the peak
  resident set (``VmHWM`` after resetting it through ``/proc/self/clear_refs``)
  -- against the target of 400 MiB.
* Wasserstein (``--wasserstein-resamples``, default B): the whole bootstrap
  against its own matrix products -- the group sums
  (:func:`alignstat._kernels.groupsums.grouped_sums` over every grouping and
  chunk, multipliers gathered, BLAS) timed alone on the same data, precision and
  number of replicates -- against the target ratio of 1.5.

Usage::

    python benchmarks/bench_bootstrap.py            # full scale, B = 5000
    python benchmarks/bench_bootstrap.py --quick    # small run
    python benchmarks/bench_bootstrap.py --resamples 1000 --skip-peer

Timings are wall-clock on whatever machine runs this; on a machine shared
with other jobs they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from alignstat._bootstrap_iv import bootstrap_iv
from alignstat.bootstrap import _CHUNK_ELEMENTS, _Statistic, bootstrap_alignment


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


def pandas_loop(responses, groups, weights, positions, point, n_resamples, seed=1):
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
    for _ in range(n_resamples):
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


def _status(key):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024.0  # MiB
    except OSError:
        pass
    return float("nan")


def added_peak_memory(fn):
    """Run ``fn()``; return (result, tracemalloc peak MiB, peak-RSS growth MiB)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    base = _status("VmRSS")
    tracemalloc.start()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, peak / 2**20, _status("VmHWM") - base


def matrix_product_time(responses, groups, answers, positions, weights, metric, B, precision):
    """Seconds of the group sums alone: every grouping, every chunk of B replicates.

    The same validated inputs, design-matrix copies and chunk size as
    :func:`bootstrap_alignment`; one chunk of multinomial multipliers is drawn
    once (not timed) and reused, so only the gathers and BLAS products count.
    """
    inp = bootstrap_iv(responses, groups, answers, positions=positions, weights=weights,
                       metric=metric, resample="respondents", scheme="multinomial",
                       n_resamples=B, confidence_level=0.95, ci_method="percentile",
                       chunk_size=None, group_names=None, model_names=None,
                       jackknife_blocks=200, precision=precision)
    stat = _Statistic(inp.opt, inp.spos, inp.k_q, inp.lo, inp.hi, inp.weights, inp.groupings,
                      inp.point, inp.dist, inp.metric, inp.precision)
    n = responses.shape[0]
    chunk = max(1, min(B, _CHUNK_ELEMENTS // n))
    F = inp.scheme.multipliers(np.random.default_rng(0), chunk).astype(stat.sum_dtype)
    t = time.perf_counter()
    for start in range(0, B, chunk):
        c = min(chunk, B - start)
        stat.group_sums(F[:c])
    return time.perf_counter() - t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (N=5000, B=500)")
    parser.add_argument("--resamples", type=int, default=None)
    parser.add_argument("--peer-resamples", type=int, default=3)
    parser.add_argument("--skip-peer", action="store_true", help="do not time the pandas loop")
    parser.add_argument("--wasserstein-resamples", type=int, default=None,
                        help="replicates of the Wasserstein timing (default: B)")
    parser.add_argument("--memory-resamples", type=int, default=None,
                        help="replicates of the Likert memory measurement (default: B)")
    args = parser.parse_args(argv)
    if args.quick:
        n, Q, C, B = 5000, 47, 30, 500
    else:
        n, Q, C, B = 50_116, 47, 30, 5000
    if args.resamples:
        B = args.resamples
    wB = args.wasserstein_resamples or B
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
        for ans, metric in ((point, "likert"), (dists, "wasserstein")):
            for precision in ("double", "single"):
                bootstrap_alignment(responses[small], groups[small], ans, positions=positions,
                                    weights=weights[small], n_resamples=4, rng=0, metric=metric,
                                    precision=precision)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before timing: {load:.1f} (on {os.cpu_count()} cpus)")

    # ---------------------------------------------------------------- Likert: memory
    mB = args.memory_resamples or B
    for precision in ("double", "single"):
        _, traced, rss = added_peak_memory(lambda: bootstrap_alignment(
            responses, groups, point, positions=positions, weights=weights, n_resamples=mB,
            rng=1, precision=precision))
        ok = max(traced, rss) <= 400
        print(f"likert memory added at peak (B={mB}, {precision}): tracemalloc {traced:.0f} MiB, "
              f"peak RSS +{rss:.0f} MiB -> {max(traced, rss) / 400:.2f}x the 400 MiB target "
              f"({'met' if ok else 'NOT met'})")

    # ---------------------------------------------------------------- Likert: time
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
              f"{res.estimate.shape[1]} groups; min n_resamples_valid "
              f"{res.n_resamples_valid.min()})")
    d, s_ = results["double"], results["single"]
    ci_d, ci_s = d.confidence_interval, s_.confidence_interval
    print(f"single vs double precision: max |difference| of replicate statistics "
          f"{np.nanmax(np.abs(d.bootstrap_distribution - s_.bootstrap_distribution)):.1e}, of CI "
          f"limits {max(np.nanmax(np.abs(ci_d.low - ci_s.low)), np.nanmax(np.abs(ci_d.high - ci_s.high))):.1e}; "
          f"largest standard error {np.nanmax(d.standard_error):.1e}")
    del results, d, s_
    if not args.skip_peer:
        t = time.perf_counter()
        pandas_loop(responses, groups, weights, positions, point, args.peer_resamples)
        t_peer = (time.perf_counter() - t) / args.peer_resamples
        print(f"pandas resample-and-groupby loop: {t_peer:.2f} s per replicate -> "
              f"{t_peer * B:.0f} s extrapolated to B={B}")
        print(f"speed-up over the pandas loop: {t_peer * B / timings['double']:.0f}x (double), "
              f"{t_peer * B / timings['single']:.0f}x (single)")

    # ---------------------------------------------------------------- Wasserstein: time
    for precision in ("single", "double"):
        t = time.perf_counter()
        c = time.process_time()
        res_w = bootstrap_alignment(responses, groups, dists, positions=positions,
                                    weights=weights, metric="wasserstein", n_resamples=wB,
                                    rng=1, precision=precision)
        t_w = time.perf_counter() - t
        c_w = time.process_time() - c
        del res_w
        t_mm = matrix_product_time(responses, groups, dists, positions, weights, "wasserstein",
                                   wB, precision)
        ratio = t_w / t_mm
        print(f"alignstat wasserstein, B={wB}, precision={precision}: {t_w:.1f} s wall "
              f"({c_w:.1f} s CPU); its matrix products alone: {t_mm:.1f} s -> ratio {ratio:.2f} "
              f"(target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average after: {load:.1f}.  Wall-clock on a machine shared with other jobs is "
          "noisy; the ratios compare parts measured in the same run.")


if __name__ == "__main__":
    main()
