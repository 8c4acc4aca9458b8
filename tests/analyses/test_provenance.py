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
    # written at once, before finish(): a later failure loses nothing already computed
    assert (tmp_path / "study" / "t.csv").exists() and (tmp_path / "study" / "t.parquet").exists()
    back = pd.read_csv(tmp_path / "study" / "t.csv")
    assert back["note"].tolist() == ["ILLUSTRATIVE: test"] and back["alignment"].tolist() == [0.5]
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    w.figure("f", fig)
    assert (tmp_path / "study" / "f.png").stat().st_size > 0 and (tmp_path / "study" / "f.pdf").exists()
    w.headline("best", 0.5)
    prov = json.loads(w.finish().read_text())
    assert prov["inputs"]["file"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert prov["inputs"]["frame"]["sha256"] == sha256_frame(frame)
    assert prov["parameters"] == {"n_boot": 10} and prov["seed"] == 3
    assert prov["outputs"] == ["t.csv", "t.parquet", "f.png", "f.pdf"]
    assert prov["headlines"] == {"best": 0.5} and prov["version"]
    assert prov["started"] <= prov["finished"]
    # the frame hash changes with the content
    assert sha256_frame(frame.assign(alignment=0.6)) != sha256_frame(frame)


def test_report_links_figures_and_headlines(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "fig.png").write_bytes(b"\x89PNG")
    s = StudySummary("global", tmp_path / "s", headlines={"best model": "m (0.8)"}, figures=["fig.png"],
                     preview="| a | b |\n|---|---|\n| 1 | 2 |", description="desc")
    p = write_report(tmp_path, [s], title="t", note="ILLUSTRATIVE: x")
    md = p.read_text()
    assert "![global: fig.png](s/fig.png)" in md and "**best model**: m (0.8)" in md and "ILLUSTRATIVE: x" in md
    html = (tmp_path / "report.html").read_text()
    assert "src='s/fig.png'" in html and "<td>1</td>" in html


def test_read_table_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ValueError, match="x.xlsx.*unsupported format"):
        read_table(tmp_path / "x.xlsx")
