"""One workflow from file to figure: `alignstat subgroups` from a survey file and a profile equals the Python call."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import surveys
from analyses import subgroup_alignment
from analyses.cli import main


@pytest.fixture(scope="module")
def ess(tmp_path_factory):
    d = tmp_path_factory.mktemp("ess")
    s = surveys.make_ess(400, 2, 4, rng=0)
    s.to_sav(d / "ess.sav")
    answers = surveys.model_answers(s, models=("model-a", "model-b"), rng=1)
    assert "condition" not in answers.columns  # no hidden required column
    answers.to_csv(d / "answers.csv", index=False)
    return s, answers, d


def test_subgroups_from_a_survey_file_equals_the_python_call(ess):
    s, answers, d = ess
    out = d / "cli"
    r = CliRunner().invoke(main, ["subgroups", "--data", str(d / "ess.sav"), "--profile", "ess", "--answers",
                                  str(d / "answers.csv"), "--factor", "gender", "--factor", "generation",
                                  "--n-resamples", "200", "--out", str(out)])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(out / "subgroups.csv")
    py = subgroup_alignment(s, answers, factors=["gender", "generation"], n_resamples=200, rng=0)
    key = ["model", "factor", "group"]
    m = cli.merge(py, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(py) == len(cli)
    # the same estimates, the same small-cell flags and the same kind of interval: identical defaults
    np.testing.assert_allclose(m["alignment_cli"], m["alignment_py"], rtol=1e-12)
    assert (m["small_cell_cli"] == m["small_cell_py"]).all()
    assert (m["interval_cli"] == m["interval_py"]).all()
    assert m["interval_cli"].str.contains("design").all()  # weights and design from the profile
    assert "(missing)" not in set(cli["group"])  # missing_as_group off in both
    assert (out / "forest_1_groups.png").exists() and (out / "report.html").exists()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["data"]["path"].endswith("ess.sav")


def test_survey_route_errors_name_what_to_do(ess):
    _, _, d = ess
    r = CliRunner().invoke(main, ["subgroups", "--data", str(d / "ess.sav"), "--profile", "ess", "--answers",
                                  str(d / "answers.csv"), "--factor", "shoe_size", "--out", str(d / "x")])
    assert r.exit_code == 1 and "shoe_size" in r.output and "factors of the 'ess' profile" in r.output
    r = CliRunner().invoke(main, ["subgroups", "--data", str(d / "ess.sav"), "--profile", "ess", "--answers",
                                  str(d / "answers.csv"), "--factor", "gender", "--question", "nope",
                                  "--out", str(d / "x")])
    assert r.exit_code == 1 and "--question ['nope'] not in" in r.output
    assert not (d / "x").exists()


def test_paper_defaults_from_a_survey_file(ess):
    s, answers, d = ess
    out = d / "paper"
    r = CliRunner().invoke(main, ["subgroups", "--data", str(d / "ess.sav"), "--profile", "ess", "--answers",
                                  str(d / "answers.csv"), "--factor", "gender", "--n-resamples", "100",
                                  "--paper-defaults", "--out", str(out)])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(out / "subgroups.csv")
    py = subgroup_alignment(s, answers, factors=["gender"], n_resamples=100, rng=0, paper_defaults=True)
    m = cli.merge(py, on=["model", "factor", "group"], suffixes=("_cli", "_py"))
    np.testing.assert_allclose(m["alignment_cli"], m["alignment_py"], rtol=1e-12)
    assert not m["interval_cli"].str.contains("design").any()


def test_group_vs_group_differences_from_the_cli(ess):
    from analyses.subgroups import subgroup_comparisons

    s, answers, d = ess
    out = d / "cmp"
    r = CliRunner().invoke(main, ["subgroups", "--data", str(d / "ess.sav"), "--profile", "ess", "--answers",
                                  str(d / "answers.csv"), "--factor", "gender", "--n-resamples", "100",
                                  "--compare", "rest", "--compare", "pairs", "--out", str(out)])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(out / "comparisons.csv")
    py = subgroup_comparisons(s, answers, factors=["gender"], n_resamples=100, rng=0, compare=("rest", "pairs"))
    key = ["model", "factor", "comparison", "group_a", "group_b"]
    m = cli.merge(py, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(py) == len(cli) > 0
    np.testing.assert_allclose(m["difference_cli"], m["difference_py"], rtol=1e-12)
    assert {"ci_low", "ci_high", "pvalue_adj", "interval"} <= set(cli.columns)
    assert "group differences significant" in (out / "report.md").read_text()


def test_global_from_a_survey_file_equals_the_python_call(tmp_path):
    from analyses import global_alignment

    s = surveys.make_wvs(n_respondents=1500, n_countries=5, n_questions=6, rng=0)
    s.to_sav(tmp_path / "wvs.sav")
    answers = surveys.model_answers(s, models=("model-a", "model-b"), rng=1)
    answers.to_csv(tmp_path / "answers.csv", index=False)
    r = CliRunner().invoke(main, ["global", "--answers", str(tmp_path / "answers.csv"), "--human",
                                  str(tmp_path / "wvs.sav"), "--n-resamples", "50", "--top-k", "2",
                                  "--out", str(tmp_path / "g")])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(tmp_path / "g" / "scores.csv")
    py = global_alignment(answers, s, n_resamples=50, rng=0, top_k=2).scores
    m = cli.merge(py, on=["model", "country"], suffixes=("_cli", "_py"))
    assert len(m) == len(py) == 10
    np.testing.assert_allclose(m["alignment_cli"], m["alignment_py"], rtol=1e-12)
    assert (m["interval_cli"] == m["interval_py"]).all() and m["interval_cli"].str.contains("design").all()
