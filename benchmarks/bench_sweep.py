"""Sweep throughput: a synthetic ESS-scale sweep, serially and on a 2-worker Dask LocalCluster.

The path timed is the one a user runs: ``analyses.sweep.run_sweep`` on a TOML
spec whose survey is a Parquet file of ESS-scale respondents and whose models'
answers are a CSV of precomputed majority-vote answers (so no collection
time enters).  Each executor starts with an empty cache.  Printed: wall time,
cells per second, seconds per cell, and the overhead per cell of the
distributed run after the cluster's start-up (timed on its own),
``((wall_dist - startup) x workers - wall_serial) / cells`` in
worker-seconds (scheduling, serialisation, moving inputs to workers, and --
where the workers share fewer cores than a cluster would give them -- their
contention for cores, caches and memory bandwidth; the serial run's numba
kernels use every core unless ``NUMBA_NUM_THREADS=1``).

    python benchmarks/bench_sweep.py                  # 20 models x 6 conditions, 50,116 respondents, B = 20
    python benchmarks/bench_sweep.py --models 4 --conditions 2 --respondents 10000   # quick
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def build(folder: Path, *, models, conditions, respondents, questions, n_resamples, seed=0):
    import surveys

    svy = surveys.synthetic.make_ess(respondents, 30, questions, rng=seed)
    resp = svy.responses()
    qs = list(svy.questions)[:questions]
    factors = [f for f in ("country", "gender", "generation", "education") if f in resp.columns]
    keep = resp[qs + factors].copy()
    keep.to_parquet(folder / "survey.parquet", index=False)
    g = np.random.default_rng(seed)
    rows = []
    for m in range(models):
        for c in range(conditions):
            for q in qs:
                vals = keep[q].dropna()
                rows.append((f"m{m:02d}", f"c{c}", q, float(g.choice(vals.unique())), 1.0))
    pd.DataFrame(rows, columns=["model", "condition", "question", "option", "prob"]).to_csv(
        folder / "answers.csv", index=False)
    ms = "\n".join(f'[[models]]\nname = "m{m:02d}"\nbackend = "answers"\nanswers = "answers.csv"\n'
                   for m in range(models))
    cs = "\n".join(f'[[conditions]]\nname = "c{c}"\n' for c in range(conditions))
    (folder / "study.toml").write_text(f"""
[sweep]
name = "bench"
seed = 1

[[surveys]]
name = "ess"
source = "survey.parquet"
questions = {qs!r}
factors = {factors!r}

{ms}
{cs}
[[studies]]
kind = "subgroups"
survey = "ess"
metrics = ["likert"]
n_resamples = {n_resamples}
""")
    return len(qs), len(keep)


def cluster_startup(workers):
    """Seconds to start and close a LocalCluster like the one ``run_sweep`` starts, with a client."""
    import distributed

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    client.close()
    cluster.close()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--conditions", type=int, default=6)
    ap.add_argument("--respondents", type=int, default=50_116)
    ap.add_argument("--questions", type=int, default=47)
    ap.add_argument("--n-resamples", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from analyses.sweep import run_sweep

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        nq, n = build(tmp, models=args.models, conditions=args.conditions, respondents=args.respondents,
                      questions=args.questions, n_resamples=args.n_resamples)
        cells = args.models * args.conditions
        print(f"sweep: {args.models} models x {args.conditions} conditions = {cells} cells; "
              f"{n:,} respondents, {nq} questions, B = {args.n_resamples}")
        times = {}
        for name, kw in (("serial", dict(executor="serial")), ("local", dict(executor="local", workers=args.workers))):
            cache = tmp / f"cache-{name}"
            shutil.rmtree(cache, ignore_errors=True)
            text = (tmp / "study.toml").read_text()
            (tmp / f"{name}.toml").write_text(text + f'\n[run]\ncache = "{cache}"\n')
            t0 = time.perf_counter()
            res = run_sweep(tmp / f"{name}.toml", write=False, progress=None, **kw)
            times[name] = time.perf_counter() - t0
            assert res.stats["computed"] == cells
            print(f"{name:>7}: {times[name]:8.1f} s  {cells / times[name]:6.2f} cells/s  "
                  f"{times[name] / cells:6.2f} s/cell")
        start = cluster_startup(args.workers)
        over = ((times["local"] - start) * args.workers - times["serial"]) / cells
        print(f"LocalCluster start-up and shut-down ({args.workers} process workers): {start:.1f} s")
        print(f"speed-up on {args.workers} workers: {times['serial'] / times['local']:.2f}x "
              f"({times['serial'] / (times['local'] - start):.2f}x without start-up); "
              f"overhead per cell: {over:+.3f} worker-seconds (after start-up)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
