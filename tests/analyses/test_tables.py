"""Paper-ready tables (Markdown, LaTeX) and paired differences with intervals (`compare`)."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import alignstat
from analyses.cli import main
from analyses.compare import compare
from analyses.tables import format_estimate, format_pvalue, format_table, latex_escape, to_latex, to_markdown


def test_format_pvalue_and_estimate():
    assert format_pvalue(0.0009999) == "< 0.001"
    assert format_pvalue(0.001) == "0.001"
    assert format_pvalue(0.04449) == "0.044"
    assert format_pvalue(1.0) == "1.000"
    assert format_pvalue(None) == "" and format_pvalue(np.nan) == ""
    assert format_pvalue(0.00002, digits=4) == "< 0.0001"
    assert format_estimate(0.81234, 0.8011, 0.8236) == "0.812 [0.801, 0.824]"
    assert format_estimate(0.5, np.nan, 0.6, digits=2) == "0.50"


@pytest.fixture
def result():
    return pd.DataFrame({
        "model": ["m1", "m2"], "factor": ["gender", "gender"], "group": ["F", "M"],
        "alignment": [0.81234, 0.79], "ci_low": [0.8, 0.77], "ci_high": [0.83, 0.81], "se": [0.0071, 0.01],
        "pvalue": [2e-7, 0.0312], "n": [120, 95], "small_cell": [False, True],
        "interval": ["90% percentile bootstrap; resampled: design (rao-wu); B=2000"] * 2,
        "note": ["x", "x"]})


def test_format_table_combines_estimate_and_interval(result):
    f = format_table(result)
    assert list(f.columns) == ["model", "factor", "group", "alignment [90% CI]", "se", "pvalue", "n", "small_cell"]
    assert f.loc[0, "alignment [90% CI]"] == "0.812 [0.800, 0.830]"
    assert f["pvalue"].tolist() == ["< 0.001", "0.031"]
    assert f["n"].tolist() == ["120", "95"] and f["small_cell"].tolist() == ["", "yes"]
    assert f.attrs["interval"].startswith("90% percentile bootstrap")
    g = format_table(result, columns=["group", "alignment"], digits=2)
    assert list(g.columns) == ["group", "alignment [90% CI]"] and g.iloc[1, 1] == "0.79 [0.77, 0.81]"
    with pytest.raises(ValueError, match=r"`columns` \['nope'\] are not in the table"):
        format_table(result, columns=["nope"])
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        format_table([1, 2])


def _parse_markdown(md):
    rows = [r for r in md.splitlines() if r.startswith("|")]
    split = [[c.strip().replace("\\|", "|") for c in r.strip("|").split(" | ")] for r in rows]
    return split[0], split[2:]


def test_markdown_round_trips_the_formatted_cells(result):
    md = to_markdown(result.assign(group=["F|x", "M"]), caption="Alignment by gender")
    assert md.startswith("**Alignment by gender Intervals: 90% percentile bootstrap")
    head, body = _parse_markdown(md)
    f = format_table(result.assign(group=["F|x", "M"]))
    assert head == list(f.columns)
    assert body == f.to_numpy().tolist()


def test_latex_is_escaped_and_well_formed(result):
    tex = to_latex(result.assign(group=["a_b & c", "50%"]), caption="Gender #1", label="tab:g")
    lines = tex.splitlines()
    assert lines[0] == r"\begin{table}[htbp]" and lines[-1] == r"\end{table}"
    assert r"\caption{Gender \#1 Intervals: 90\% percentile bootstrap" in tex and r"\label{tab:g}" in tex
    start, end = lines.index(r"\midrule"), lines.index(r"\bottomrule")
    body = lines[start + 1:end]
    assert len(body) == 2
    ncol = len(format_table(result).columns)
    for row in body + [lines[start - 1]]:
        # unescaped & separate exactly ncol cells
        assert row.replace(r"\&", "").count("&") == ncol - 1 and row.endswith(r"\\")
    assert r"a\_b \& c" in body[0] and r"50\%" in body[1] and r"\textless{} 0.001" in body[0]
    assert lines[lines.index(r"\toprule") - 1].startswith(r"\begin{tabular}{lll")
    assert latex_escape("x^2~{y}\\") == r"x\textasciicircum{}2\textasciitilde{}\{y\}\textbackslash{}"


def _pq(seed=0, n_q=30, shift=0.02):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.6, 0.9, n_q)
    rows = []
    for c in ["A", "B"]:
        for m, s in [("m1", 0.0), ("m2", shift), ("m3", -shift)]:
            v = base + s + rng.normal(0, 0.03, n_q)
            rows += [(m, c, f"Q{i}", v[i]) for i in range(n_q)]
    return pd.DataFrame(rows, columns=["model", "country", "question", "alignment"])


def test_compare_against_scipy():
    pq = _pq()
    r = compare(pq, between="model", by="country", n_resamples=4000, rng=1, adjust="holm")
    assert len(r) == 6 and set(r["model_a"] + r["model_b"]) == {"m1m2", "m1m3", "m2m3"}
    for _, row in r.iterrows():
        g = pq[pq["country"] == row["country"]].pivot(index="question", columns="model", values="alignment")
        d = (g[row["model_a"]] - g[row["model_b"]]).to_numpy()
        assert row["difference"] == pytest.approx(g[row["model_a"]].mean() - g[row["model_b"]].mean())
        assert row["pvalue"] == pytest.approx(stats.ttest_rel(g[row["model_a"]], g[row["model_b"]]).pvalue)
        assert row["se"] == pytest.approx(stats.sem(d))
        ref = stats.bootstrap((d,), np.mean, method="percentile", n_resamples=4000, rng=2).confidence_interval
        assert row["ci_low"] == pytest.approx(ref.low, abs=0.15 * row["se"])
        assert row["ci_high"] == pytest.approx(ref.high, abs=0.15 * row["se"])
    # Holm by hand over the family of six
    p = r["pvalue"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    expect = np.empty_like(p)
    expect[order] = holm
    np.testing.assert_allclose(r["pvalue_adj"], expect)
    assert (r["family"] == "6 paired comparisons of model within country").all()
    assert r["interval"].iloc[0] == "95% percentile bootstrap; resampled: questions (paired); B=4000"
    w = compare(pq, between="model", a="m1", b="m2", test="wilcoxon", adjust=None, n_resamples=0)
    g = pq.groupby(["model", "question"])["alignment"].mean().unstack(0)
    assert w["pvalue"].iloc[0] == pytest.approx(stats.wilcoxon(g["m1"] - g["m2"]).pvalue)
    assert np.isnan(w["ci_low"].iloc[0]) and w["interval"].iloc[0] == "none"


def test_compare_interval_covers_the_truth():
    # the difference of two models' per-question scores has a known mean; 95% intervals cover it ~95% of the time
    rng = np.random.default_rng(7)
    hits = 0
    n_rep = 200
    for _ in range(n_rep):
        n_q = 40
        base = rng.uniform(0.5, 0.9, n_q)
        pq = pd.DataFrame({"model": ["a"] * n_q + ["b"] * n_q, "question": list(range(n_q)) * 2,
                           "alignment": np.r_[base + 0.01 + rng.normal(0, 0.05, n_q), base]})
        r = compare(pq, n_resamples=400, rng=rng)
        hits += r["ci_low"].iloc[0] <= 0.01 <= r["ci_high"].iloc[0]
    assert 0.88 <= hits / n_rep <= 0.99


def test_compare_groups_from_align_and_errors():
    rng = np.random.default_rng(3)
    rows = []
    for m in ["m1", "m2"]:
        for q in range(6):
            p = rng.dirichlet(np.ones(4))
            rows += [(m, f"Q{q}", k + 1.0, p[k]) for k in range(4)]
    model = pd.DataFrame(rows, columns=["model", "question", "option", "prob"])
    rows = []
    for g in ["F", "M", "X"]:
        for q in range(6):
            p = rng.dirichlet(np.ones(4))
            rows += [(g, f"Q{q}", k + 1.0, p[k]) for k in range(4)]
    people = pd.DataFrame(rows, columns=["gender", "question", "option", "prob"])
    pq = alignstat.align(model, people, level="question", groups_a=["model"])
    r = compare(pq, between="gender", a="F", by="model", n_resamples=100, rng=0)
    assert len(r) == 4 and set(r["gender_b"]) == {"M", "X"}
    one = pq[(pq.model == "m1")].pivot(index="question", columns="gender", values="alignment")
    row = r[(r.model == "m1") & (r.gender_b == "M")].iloc[0]
    assert row["difference"] == pytest.approx((one["F"] - one["M"]).mean())
    with pytest.raises(ValueError, match="lacks the column 'nope'"):
        compare(pq, between="nope")
    with pytest.raises(ValueError, match="`a`='Z' is not a value of 'gender'"):
        compare(pq, between="gender", a="Z", by="model")
    with pytest.raises(ValueError, match="`n_resamples` must be a non-negative integer"):
        compare(pq, between="gender", by="model", n_resamples=2.7)
    with pytest.raises(ValueError, match="cannot also be a `by` column"):
        compare(pq, between="model", by="model")
    # one question: no interval, no p-value (never a zero-width interval)
    r1 = compare(pq[pq.question == "Q0"], between="gender", by="model", n_resamples=50, rng=0)
    assert r1["ci_low"].isna().all() and r1["pvalue"].isna().all()


def _files(tmp_path):
    pq = _pq(n_q=12)
    pq.to_csv(tmp_path / "per_question.csv", index=False)
    res = pd.DataFrame({"model": ["m1", "m1"], "factor": ["gender"] * 2, "group": ["F", "M"],
                        "alignment": [0.8, 0.7], "ci_low": [0.75, 0.65], "ci_high": [0.85, 0.75],
                        "pvalue_adj": [0.0001, 0.2], "interval": ["95% percentile bootstrap; B=10"] * 2})
    res.to_csv(tmp_path / "subgroups.csv", index=False)
    return tmp_path


def test_table_and_compare_commands(tmp_path):
    d = _files(tmp_path)
    run = CliRunner().invoke
    r = run(main, ["table", str(d / "subgroups.csv"), "--format", "latex", "--caption", "Gender",
                   "-o", str(d / "new" / "dir" / "t.tex")])
    assert r.exit_code == 0, r.output
    tex = (d / "new" / "dir" / "t.tex").read_text()
    assert r"\begin{tabular}" in tex and r"0.800 [0.750, 0.850]" in tex and r"\textless{} 0.001" in tex
    r = run(main, ["table", str(d / "subgroups.csv"), "-o", str(d / "new" / "dir" / "t.tex")])
    assert r.exit_code == 1 and "exists; pass --overwrite" in r.output
    r = run(main, ["table", str(d), "--query", "group == 'M'", "--columns", "group,alignment"])
    assert r.exit_code == 0 and "| group | alignment [95% CI] |" in r.output and "| M | 0.700 [0.650, 0.750] |" in r.output
    r = run(main, ["table", str(d / "subgroups.csv"), "--columns", "nope"])
    assert r.exit_code == 1 and "nope" in r.output
    r = run(main, ["compare", str(d), "--between", "model", "--by", "country", "--a", "m1", "--format", "csv",
                   "-o", str(d / "diff.csv")])
    assert r.exit_code == 0, r.output
    diff = pd.read_csv(d / "diff.csv")
    assert len(diff) == 4 and {"ci_low", "ci_high", "pvalue_adj", "interval"} <= set(diff.columns)
    (d / "afile").write_text("x")
    r = run(main, ["compare", str(d / "per_question.csv"), "-o", str(d / "afile" / "x.csv")])
    assert r.exit_code == 1 and "regular file" in r.output and "Traceback" not in r.output
    r = run(main, ["compare", str(d / "per_question.csv"), "--between", "nope"])
    assert r.exit_code == 1 and "lacks the column 'nope'" in r.output


def test_compare_and_table_functions_are_exported_from_analyses():
    import analyses
    import analyses.tables as tables_module
    from analyses.compare import compare as compare_function

    assert analyses.compare is compare_function and analyses.format_table is tables_module.format_table
    assert analyses.to_latex is tables_module.to_latex and analyses.to_markdown is tables_module.to_markdown
    assert {"compare", "format_table", "to_latex", "to_markdown"} <= set(analyses.__all__)
