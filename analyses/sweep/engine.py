"""Run a study spec: collect, compute every cell (serially or on Dask), cache by content.

A *cell* is one study x metric x model x condition.  Its result depends only
on its inputs -- the survey data, the model's answers under the condition,
the study's parameters and a seed derived from the cell's identity -- so

* every cell is keyed by a SHA-256 hash of those inputs (:func:`cell_key`)
  and cached on disk: a rerun after adding a model computes only that
  model's cells, and an interrupted run resumes where it stopped;
* the numbers do not depend on the executor or the number of workers: each
  cell runs single-threaded (BLAS and numba) with its own seed, on the main
  process (``executor="serial"``) or on ``dask.distributed`` workers (a
  ``LocalCluster`` of processes, or any scheduler address); a worker killed
  mid-run has its cells re-run by the scheduler.

Collection (asking the models) runs on the main process through the
inference layer's resumable answer stores; only the statistics go to the
workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Cell", "cell_key", "compute_cell", "run_cells", "frame_digest", "file_digest"]

#: Bumped when the arithmetic of a cell changes, so old cache entries are not reused.
CACHE_VERSION = 1


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def frame_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's content (values, column names and dtypes; row order matters)."""
    h = hashlib.sha256()
    h.update(_canonical([list(map(str, df.columns)), [str(t) for t in df.dtypes]]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def file_digest(path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Cell:
    """One unit of statistics: a study x metric x model x condition.

    Attributes
    ----------
    study, kind, metric, model, condition : str
        What the cell computes.
    params : dict
        The study's parameters (``factors``, ``n_resamples``, ``confidence_level``).
    data_ref : str
        Name of the respondent frame the cell reads (a survey of the spec).
    data_digest, answers_digest : str
        Content hashes of the respondent data and of the model's answers.
    seed : int
        The sweep's seed.
    """

    study: str
    kind: str
    metric: str
    model: str
    condition: str
    params: dict
    data_ref: str
    data_digest: str
    answers_digest: str
    seed: int

    @property
    def key(self) -> str:
        """Content key of the cell (see :func:`cell_key`)."""
        return cell_key(self)

    @property
    def label(self) -> str:
        """Human-readable name used in progress lines and errors."""
        return f"{self.study}/{self.metric} x {self.model} x {self.condition}"


def cell_key(cell: Cell) -> str:
    """SHA-256 of everything a cell's result depends on (and nothing else).

    The cell's place in the sweep, the executor and the number of workers are
    not part of it, so the same cell in a bigger sweep reuses the cached result.
    """
    from alignstat import __version__

    d = asdict(cell)
    d["_version"] = [CACHE_VERSION, __version__]
    return hashlib.sha256(_canonical(d).encode()).hexdigest()


def _cell_seed(cell: Cell) -> np.random.SeedSequence:
    # the seed depends on the sweep's seed and the cell's identity, never on its position or worker
    ident = int.from_bytes(hashlib.sha256(_canonical(
        [cell.study, cell.metric, cell.model, cell.condition]).encode()).digest()[:8], "little")
    return np.random.SeedSequence([cell.seed & 0xFFFFFFFFFFFFFFFF, ident])


def compute_cell(cell: Cell, data: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Compute one cell single-threaded and return its tidy table.

    Parameters
    ----------
    cell : Cell
    data : pandas.DataFrame or surveys.Design
        The survey's respondents (question columns as positions, factor
        columns), or its design.
    answers : pandas.DataFrame
        The model's tidy answers under the cell's condition.

    Returns
    -------
    pandas.DataFrame
        The study's table with ``study``, ``metric``, ``model`` and
        ``condition`` columns first.
    """
    import numba
    from threadpoolctl import threadpool_limits

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            out = _compute(cell, data, answers)
    finally:
        numba.set_num_threads(threads)
    out = out.drop(columns=[c for c in ("study", "metric", "model", "condition") if c in out.columns])
    for name, value in (("condition", cell.condition), ("model", cell.model), ("metric", cell.metric),
                        ("study", cell.study)):
        out.insert(0, name, value)
    out.attrs = {}
    return out


def _compute(cell, data, answers):
    import warnings

    from alignstat import AlignstatWarning
    from analyses.subgroups import subgroup_alignment

    if cell.kind != "subgroups":  # pragma: no cover - the spec validates kinds
        raise ValueError(f"unknown study kind {cell.kind!r}")
    rng = np.random.default_rng(_cell_seed(cell))
    ans = answers.assign(model=cell.model)
    with warnings.catch_warnings():
        # small-cell and repair warnings are reported in the tables' columns
        warnings.simplefilter("ignore", AlignstatWarning)
        res = subgroup_alignment(
            data, ans, factors=list(cell.params["factors"]), metric=cell.metric,
            n_resamples=int(cell.params["n_resamples"]), confidence_level=float(cell.params["confidence_level"]),
            resample=tuple(cell.params.get("resample", ("respondents",))), rng=rng,
        )
    out = res.drop(columns=["model"], errors="ignore")
    return out.reset_index(drop=True)


class _Cache:
    """Content-addressed cell results: one Parquet file per cell key, written atomically."""

    def __init__(self, root: Path):
        self.dir = Path(root) / "cells"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, key):
        return self.dir / f"{key}.parquet"

    def get(self, key):
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return pd.read_parquet(p)
        except Exception:  # a damaged entry is recomputed, never trusted
            p.unlink(missing_ok=True)
            return None

    def put(self, key, frame):
        p = self.path(key)
        tmp = p.with_suffix(f".tmp-{os.getpid()}")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, p)


def _progress(msg, stream):
    if stream is not None:
        print(msg, file=stream, flush=True)


def run_cells(cells, data, answers, *, cache_dir, executor="serial", workers=2, scheduler=None,
              progress=sys.stderr, stop_after=None):
    """Compute the cells not in the cache; return every cell's table and what was done.

    Parameters
    ----------
    cells : sequence of Cell
    data : dict
        Respondent frame (or design) of each ``Cell.data_ref``.
    answers : dict
        Answers of each ``(model, condition)``.
    cache_dir : path-like
        The content-addressed cache.
    executor : {"serial", "local"}
        ``"local"`` starts a ``dask.distributed.LocalCluster`` of `workers`
        single-threaded processes; with `scheduler` (an address) the cells
        go to that cluster instead.
    progress : file-like or None
        Where progress lines go (standard error by default).
    stop_after : int, optional
        Stop (raise ``KeyboardInterrupt``) after this many newly computed
        cells -- used to test that an interrupted run resumes.

    Returns
    -------
    tables : list of pandas.DataFrame
        In the order of `cells`.
    stats : dict
        ``computed``, ``cached``, ``seconds`` and ``executor``.
    """
    cache = _Cache(cache_dir)
    t0 = time.perf_counter()
    keys = [c.key for c in cells]
    tables = [cache.get(k) for k in keys]
    todo = [i for i, t in enumerate(tables) if t is None]
    n_cached = len(cells) - len(todo)
    _progress(f"sweep: {len(cells)} cells, {n_cached} cached, {len(todo)} to compute ({executor})", progress)
    done = 0

    def finish(i, table):
        nonlocal done
        cache.put(keys[i], table)
        tables[i] = table
        done += 1
        _progress(f"  [{done}/{len(todo)}] {cells[i].label}", progress)
        if stop_after is not None and done >= stop_after and done < len(todo):
            raise KeyboardInterrupt(f"stopped after {done} cells (stop_after)")

    if todo and executor == "serial" and scheduler is None:
        for i in todo:
            c = cells[i]
            finish(i, compute_cell(c, data[c.data_ref], answers[(c.model, c.condition)]))
    elif todo:
        _run_dask(cells, todo, data, answers, finish, workers=workers, scheduler=scheduler)
    stats = dict(computed=done, cached=n_cached, seconds=time.perf_counter() - t0,
                 executor=scheduler or executor, workers=None if executor == "serial" else workers)
    return tables, stats


def _identity(x):
    return x


@contextmanager
def dask_client(*, workers=2, scheduler=None):
    """Open a ``dask.distributed`` client on a new LocalCluster, or on the cluster at `scheduler`.

    The LocalCluster has `workers` single-threaded processes and is closed
    on exit; a cluster reached by its address is left running.

    Yields
    ------
    distributed.Client
    """
    from alignstat._optional import require

    distributed = require("distributed", purpose="running a sweep on Dask")
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_dask(cells, todo, data, answers, finish, *, workers, scheduler):
    import distributed

    with dask_client(workers=workers, scheduler=scheduler) as client:
        # inputs enter the graph as tasks (not scattered): if the worker holding them dies, the
        # scheduler recomputes them, so the cells that need them can be re-run
        refs = {name: client.submit(_identity, frame, key=f"alignstat-data-{name}-{id(frame)}", pure=False)
                for name, frame in data.items()}
        needed = sorted({(cells[i].model, cells[i].condition) for i in todo})
        ans_refs = {k: client.submit(_identity, answers[k], key=f"alignstat-answers-{k[0]}-{k[1]}-{id(answers[k])}",
                                     pure=False) for k in needed}
        futures = {}
        for i in todo:
            c = cells[i]
            fut = client.submit(compute_cell, c, refs[c.data_ref], ans_refs[(c.model, c.condition)],
                                key=f"alignstat-cell-{c.key[:20]}", pure=False, retries=2)
            futures[fut] = i
        for fut in distributed.as_completed(list(futures)):
            finish(futures[fut], fut.result())
