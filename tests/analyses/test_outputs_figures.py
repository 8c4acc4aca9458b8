"""Figure fixes of issue 13, checked on the matplotlib objects (each figure was also looked at as a PNG)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analyses import figures as F


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _forest_table():
    rows = []
    for m, shift in [("m1", 0.0), ("m2", 0.05)]:
        rows.append((m, "(all)", "(all)", 0.85 + shift, 0.84, 0.86, 1400, False, np.nan, np.nan))
        for g, a in [("F", 0.80), ("M", 0.86), ("X", 0.9)]:
            rows.append((m, "gender", g, a + shift, a + shift - 0.02, a + shift + 0.02, 100, g == "X", 0.84, 0.86))
    return pd.DataFrame(rows, columns=["model", "factor", "group", "alignment", "ci_low", "ci_high", "n",
                                       "small_cell", "null_low", "null_high"])


def _bbox(fig, artist):
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_forest_legend_sits_above_the_plot_and_null_band_is_drawn():
    t = _forest_table()
    fig = F.forest_figure(t, "m1", overall=0.85, factors=["gender"], interval="95% design bootstrap")
    ax = fig.axes[0]
    leg = ax.get_legend()
    assert leg is not None
    # the legend is entirely above the plotting area: it cannot hide any group's interval
    assert _bbox(fig, leg).y0 >= _bbox(fig, ax).y1 - 1
    labels = [t.get_text() for t in leg.get_texts()]
    assert "random-group null (95%)" in labels and any(s.startswith("whole population") for s in labels)
    assert "95% design bootstrap" in ax.get_xlabel()
    # one grey band per group (three groups)
    bands = [c for c in ax.collections if c.get_label() == "random-group null (95%)" or c.get_label().startswith("_")]
    assert len([c for c in bands if type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")]) == 3


def test_forest_shared_x_range():
    t = _forest_table()
    a = F.forest_figure(t, "m1", factors=["gender"], xlim=(0.7, 1.0)).axes[0].get_xlim()
    b = F.forest_figure(t, "m2", factors=["gender"], xlim=(0.7, 1.0)).axes[0].get_xlim()
    assert a == b == (0.7, 1.0)
    free_a = F.forest_figure(t, "m1", factors=["gender"]).axes[0].get_xlim()
    free_b = F.forest_figure(t, "m2", factors=["gender"]).axes[0].get_xlim()
    assert free_a != free_b  # without the option each model has its own range (the reason for the option)


def _scores():
    rng = np.random.default_rng(0)
    rows = []
    for m in ["org/model-with-a-rather-long-name-v1", "b"]:
        for c in [f"C{i}" for i in range(20)]:
            a = rng.uniform(0.7, 0.9)
            rows.append((m, c, a, 0.05, a - 0.01 + rng.normal(0, 0.03)))
    s = pd.DataFrame(rows, columns=["model", "country", "alignment", "sd", "baseline"])
    s["difference"] = s["alignment"] - s["baseline"]
    s["classification"] = np.where(s["difference"] > 0.02, "over", np.where(s["difference"] < -0.02, "under",
                                                                             "appropriate"))
    s["rank"] = s.groupby("model")["alignment"].rank(ascending=False).astype(int)
    return s


def test_model_box_plot_draws_each_country_once():
    fig = F.model_summary_figure(_scores())
    ax = fig.axes[0]
    # no flier markers from the box plot: every country is drawn once, by the scatter
    fliers = [ln for ln in ax.lines if ln.get_marker() not in ("None", None, "", "D") and len(ln.get_xdata())]
    assert fliers == []
    assert sum(len(c.get_offsets()) for c in ax.collections) == 40


def test_ranking_draws_the_whiskers_it_promises():
    s = _scores()
    ranking = s[s["model"] == "b"].sort_values("rank").head(6).assign(end=["top"] * 3 + ["bottom"] * 3)
    ax = F.ranking_figure(ranking, "b").axes[0]
    caps = [ln for ln in ax.lines if ln.get_marker() == "|"]
    assert len(caps) >= 2 and "whisker: ± sd" in ax.get_xlabel()
    segs = sum(len(c.get_segments()) for c in ax.collections if hasattr(c, "get_segments"))
    assert segs == 6
    lo, hi = ax.get_xlim()
    assert lo <= (ranking["alignment"] - ranking["sd"]).min() and hi >= (ranking["alignment"] + ranking["sd"]).max()
    one_q = F.ranking_figure(ranking.assign(sd=np.nan), "b").axes[0]
    assert "no sd" in one_q.get_xlabel()


def test_baseline_labels_do_not_overlap():
    fig = F.baseline_figure(_scores(), "b", n_labels=6)
    ax = fig.axes[0]
    boxes = [_bbox(fig, t) for t in ax.texts]
    assert len(boxes) >= 6
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (ax.texts[i].get_text(), ax.texts[j].get_text())


def test_heatmap_sorted_by_mean_with_full_names():
    mat = pd.DataFrame(np.array([[0.7, 0.9, 0.8], [0.8, 0.95, 0.85]]),
                       index=["aaa/first-model-with-long-name", "zzz"], columns=["A", "B", "C"])
    ax = F.heatmap_figure(mat, title="t").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["zzz", "aaa/first-model-with-long-name"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["B", "C", "A"]


def test_steering_colour_range_is_fixed_and_shared():
    rows = []
    for c in ["X", "Y"]:
        for m in ["m1", "m2"]:
            for meth, a in [("none", 0.86), ("persona", 0.87 if c == "X" else 0.95)]:
                rows.append((c, meth, m, a, ""))
    t = pd.DataFrame(rows, columns=["country", "method", "model", "alignment", "stars"])
    cx = F.steering_figure(t, "X").axes[0].images[0].get_clim()
    cy = F.steering_figure(t, "Y").axes[0].images[0].get_clim()
    assert cx == cy and cx[1] == 1.0 and cx[1] - cx[0] >= 0.1


def test_sensitivity_and_consistency_legends_are_outside_the_axes():
    pairs = pd.DataFrame({"model": ["m1"] * 5 + ["m2"] * 5, "condition": "order", "country": list("abcde") * 2,
                          "default": np.linspace(0.7, 0.9, 10), "perturbed": np.linspace(0.71, 0.88, 10)})
    table = pd.DataFrame({"model": ["m1", "m2"], "condition": "order", "r": [0.9, 0.8]})
    fig = F.sensitivity_figure(pairs, table)
    ax = fig.axes[0]
    assert not _bbox(fig, ax.get_legend()).overlaps(_bbox(fig, ax))
    assert any("r = 0.900" in t.get_text() for t in ax.get_legend().get_texts())
    cons = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"], "topic": ["t1", "t2"] * 2, "rate": [1.0, 0.9, 0.95, 1]})
    fig = F.consistency_figure(cons)
    ax = fig.axes[0]
    assert not _bbox(fig, ax.get_legend()).overlaps(_bbox(fig, ax))


def test_import_analyses_loads_no_matplotlib():
    import subprocess
    import sys

    code = "import analyses, analyses.figures, analyses.runners, analyses.report, sys; " \
           "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_temporal_never_joins_waves_over_different_sets():
    bw = pd.DataFrame({"model": "m", "wave": [5, 6, 7], "mean": [0.8, 0.82, 0.7], "sd": 0.01,
                       "n_countries": [10, 10, 10], "questions": ["q1, q2", "q1, q2", "q1"]})
    ax = F.temporal_figure(bw).axes[0]
    lines = [ln for ln in ax.lines if len(ln.get_xdata())]
    assert sorted(len(ln.get_xdata()) for ln in lines) == [1, 2]  # 5-6 joined, 7 alone
    assert "same countries and questions" in ax.get_title()
    same = F.temporal_figure(bw.assign(questions="q1")).axes[0]
    assert [len(ln.get_xdata()) for ln in same.lines if len(ln.get_xdata())] == [3]
