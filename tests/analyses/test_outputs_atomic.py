"""Study outputs are atomic: a failing run leaves the previous outputs untouched, --overwrite, clear --out errors."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analyses._atomic import AtomicFolder, check_out
from analyses.cli import main
from analyses.provenance import StudyWriter
from analyses.runners import run_consistency

QS = [f"Q{i}" for i in range(6)]


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
    _dists([(c,) for c in "ABCD"], ["country"], 1).to_csv(tmp_path / "human.csv", index=False)
    _dists([(m,) for m in ["m1", "m2"]], ["model"], 2).to_csv(tmp_path / "answers.csv", index=False)
    waves = pd.concat([_dists([(c,) for c in "ABCD"], ["country"], s).assign(wave=w) for w, s in [(5, 3), (6, 4)]])
    waves.to_csv(tmp_path / "waves.csv", index=False)
    return tmp_path


def _cli(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _global(files, out, *extra):
    return _cli(["global", "--answers", files / "answers.csv", "--human", files / "human.csv", "--out", out,
                 "--n-resamples", "50", "--top-k", "1", *extra])


def _leftovers(parent):
    return [p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_failing_run_leaves_previous_outputs_and_provenance_intact(files):
    out = files / "g"
    r = _global(files, out)
    assert r.exit_code == 0, r.output
    before = _snapshot(out)
    prov = json.loads((out / "provenance.json").read_text())
    assert set(prov["outputs"]) == set(before) - {"provenance.json"}
    # a second run that fails (bad human file) with --overwrite: nothing of the old run changes
    pd.read_csv(files / "human.csv").rename(columns={"country": "land"}).to_csv(files / "bad.csv", index=False)
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "bad.csv", "--out", out,
              "--overwrite"])
    assert r.exit_code == 1 and "country" in r.output and "Traceback" not in r.output
    assert _snapshot(out) == before
    assert _leftovers(files) == []


def test_failing_run_into_a_new_folder_leaves_no_folder(files):
    out = files / "deep" / "er" / "g"
    pd.read_csv(files / "human.csv").rename(columns={"country": "land"}).to_csv(files / "bad.csv", index=False)
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "bad.csv", "--out", out])
    assert r.exit_code == 1
    assert not (files / "deep").exists() and _leftovers(files) == []


def test_non_empty_out_is_refused_unless_overwrite(files):
    out = files / "g"
    assert _global(files, out).exit_code == 0
    first = json.loads((out / "provenance.json").read_text())
    r = _global(files, out)
    assert r.exit_code == 1 and "is not empty" in r.output and "--overwrite" in r.output
    r = _global(files, out, "--overwrite", "--seed", "7")
    assert r.exit_code == 0, r.output
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 7 and first["seed"] == 0
    snap = _snapshot(out)
    assert set(prov["outputs"]) == set(snap) - {"provenance.json"}
    assert all(prov["outputs"][k] == snap[k] for k in prov["outputs"])
    assert _leftovers(files) == []


def test_overwrite_refuses_a_folder_that_is_not_an_alignstat_output(files):
    out = files / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    r = _global(files, out, "--overwrite")
    assert r.exit_code == 1 and "not an alignstat output" in r.output
    assert (out / "thesis.tex").read_text() == "precious"


def test_out_below_a_regular_file_is_a_clear_error(files):
    (files / "afile").write_text("x")
    r = _global(files, files / "afile" / "sub")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "lies below" in r.output and "regular file" in r.output
    r = _global(files, files / "afile")
    assert r.exit_code == 1 and "is a regular file" in r.output


def test_input_inside_the_replaced_folder_is_refused(files, tmp_path):
    out = files / "g"
    assert _global(files, out).exit_code == 0
    (out / "answers.csv").write_bytes((files / "answers.csv").read_bytes())
    before = _snapshot(out)
    r = _cli(["global", "--answers", out / "answers.csv", "--human", files / "human.csv", "--out", out,
              "--overwrite", "--n-resamples", "20"])
    assert r.exit_code == 1 and "inside the output folder" in r.output
    assert _snapshot(out) == before


def test_library_runner_is_atomic_too(tmp_path):
    ans = pd.DataFrame({"model": "m", "question": ["Q165", "Q165"], "option": [1.0, 2.0], "prob": [0.9, 0.1]})
    s = run_consistency(ans, tmp_path / "c")
    assert s.folder == (tmp_path / "c").absolute() and (tmp_path / "c" / "consistency.csv").exists()
    before = _snapshot(tmp_path / "c")
    with pytest.raises(ValueError, match="is not empty"):
        run_consistency(ans, tmp_path / "c")
    with pytest.raises((ValueError, TypeError)):
        run_consistency(ans.drop(columns="prob"), tmp_path / "c", overwrite=True)
    assert _snapshot(tmp_path / "c") == before and _leftovers(tmp_path) == []


def test_writer_context_aborts_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with StudyWriter(tmp_path / "s", study="x") as w:
            w.table("t", pd.DataFrame({"a": [1]}))
            raise RuntimeError("boom")
    assert not (tmp_path / "s").exists() and list(tmp_path.iterdir()) == []


def test_atomic_folder_commit_replaces_and_check_out_validates(tmp_path):
    out = tmp_path / "o"
    with AtomicFolder(out) as f:
        (f.path / "provenance.json").write_text("{}")
        (f.path / "a").write_text("1")
    with AtomicFolder(out, overwrite=True) as f:
        (f.path / "provenance.json").write_text("{}")
        (f.path / "b").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b", "provenance.json"]
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="not empty"):
        check_out(out)
    assert check_out(tmp_path / "new") == (tmp_path / "new").absolute()


def test_global_with_several_waves_per_country_names_wave(files):
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "waves.csv", "--out", files / "g"])
    assert r.exit_code == 1 and "`wave`" in r.output and "--wave" in r.output and "Traceback" not in r.output
    assert not (files / "g").exists()
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "waves.csv", "--out", files / "g",
              "--wave", "6", "--n-resamples", "20"])
    assert r.exit_code == 0, r.output
    # the same numbers as a human file holding wave 6 only
    w6 = pd.read_csv(files / "waves.csv").query("wave == 6").drop(columns="wave")
    w6.to_csv(files / "w6.csv", index=False)
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "w6.csv", "--out", files / "g6",
              "--n-resamples", "20"])
    a = pd.read_csv(files / "g" / "scores.csv")
    b = pd.read_csv(files / "g6" / "scores.csv")
    np.testing.assert_allclose(a["alignment"], b["alignment"])
    r = _cli(["global", "--answers", files / "answers.csv", "--human", files / "waves.csv", "--out", files / "g9",
              "--wave", "9"])
    assert r.exit_code == 1 and "no rows of that wave" in r.output


def test_demo_into_a_non_empty_folder_is_refused_before_running(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "report.md").write_text("mine")
    r = _cli(["demo", "--out", out, "--quiet"])
    assert r.exit_code == 1 and "is not empty" in r.output
    assert (out / "report.md").read_text() == "mine"


def test_provenance_records_inputs_at_their_final_path():
    from analyses.provenance import _final_path

    assert _final_path("/x/.demo.tmp-ab_12/inputs/q.jsonl") == "/x/demo/inputs/q.jsonl"
    assert _final_path("/x/.demo.tmp-ab/.sub.tmp-cd/f") == "/x/demo/sub/f"
    assert _final_path("/x/a.tmp-1/f") == "/x/a.tmp-1/f"  # not a hidden temporary folder
