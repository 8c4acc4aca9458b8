"""Hostile-user audit (issue 12, item 7): bad inputs and faults against the public API and the CLI.

Every case is one of
* a clear error (``pytest.raises(..., match=...)`` on a message that names the
  argument, file, column, question or group and says what to do),
* correct handling, checked against an independent computation (SciPy, NumPy,
  pandas, hand-worked values), or
* correct handling of a case the audit first found wrong (the last block,
  fixed since; kept as regression tests).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import alignstat as a
import analyses as an
import inference as inf
from alignstat import DataPolicyWarning

QS = ("q1", "q2", "q3")


def _human(countries=("A", "B"), qs=QS, seed=0, k=4):
    r = np.random.default_rng(seed)
    rows = []
    for c in countries:
        for q in qs:
            p = r.dirichlet(np.ones(k))
            rows += [(q, c, o + 1, p[o]) for o in range(k)]
    return pd.DataFrame(rows, columns=["question", "country", "option", "prob"])


def _models(models=("m1",), qs=QS, seed=1, k=4):
    r = np.random.default_rng(seed)
    rows = []
    for m in models:
        for q in qs:
            p = r.dirichlet(np.ones(k))
            rows += [(m, q, o + 1, p[o]) for o in range(k)]
    return pd.DataFrame(rows, columns=["model", "question", "option", "prob"])


H = _human()
M = _models()
H6 = _human(countries=tuple("ABCDEF"))
M2 = _models(models=("m1", "m2"))
HW = pd.concat([H6.assign(wave=1), _human(countries=tuple("ABCDEF"), seed=5).assign(wave=2)], ignore_index=True)

K = {"q1": 5, "q2": 11, "q3": 4}


def _resp(n=200, seed=0):
    r = np.random.default_rng(seed)
    d = pd.DataFrame({q: r.integers(1, K[q] + 1, n).astype(float) for q in QS})
    d["gender"] = r.choice(["F", "M"], n)
    d["w"] = r.uniform(0.5, 2, n)
    d["stratum"] = r.choice(["s1", "s2"], n)
    d["psu"] = [f"{s}_{i}" for s, i in zip(d["stratum"], r.integers(0, 5, n))]
    return d


def _point_answers():
    point = {"q1": 2, "q2": 7, "q3": 3}
    rows = [("a", q, float(o), 1.0 if o == point[q] else 0.0) for q in QS for o in range(1, K[q] + 1)]
    return pd.DataFrame(rows, columns=["model", "question", "option", "prob"])


D = _resp()
ANS = _point_answers()


def _sg(**kw):
    k = dict(factors=["gender"], n_resamples=20, n_null=10, rng=1, weights=None, strata=None, psu=None)
    k.update(kw)
    data = k.pop("data", D)
    answers = k.pop("answers", ANS)
    return an.subgroup_alignment(data, answers, **k)


def _with(frame, **changes):
    f = frame.copy()
    for (row, col), v in changes.get("at", {}).items():
        f.loc[row, col] = v
    return f


def _steer(target="A"):
    return pd.concat([M2.assign(condition="none"), M2.assign(condition="persona", country=target)],
                     ignore_index=True)


def _mixed(col, frame, a_val="A", b_val="B"):
    f = frame.copy()
    f[col] = [1 if v == a_val else ("1" if v == b_val else v) for v in f[col]]
    return f


# --------------------------------------------------------------------------- clear errors (Python API)
CLEAR = [
    # core: align / metrics
    ("align-metric-unknown", lambda: a.align(M, H, metric="wass"), ValueError, r"`metric` must be one of"),
    ("align-nan-prob", lambda: a.align(M, _with(H, at={(0, "prob"): np.nan})), ValueError,
     r"question 'q1' \(country='A'\).*NaN"),
    ("align-inf-prob", lambda: a.align(M, _with(H, at={(0, "prob"): np.inf})), ValueError, r"q1.*infinite"),
    ("align-negative-prob", lambda: a.align(M, _with(H, at={(0, "prob"): -0.1})), ValueError, r"q1.*negative"),
    ("align-empty-frame", lambda: a.align(M, H.iloc[:0]), ValueError, r"no rows"),
    ("align-duplicated-rows", lambda: a.align(M, pd.concat([H, H])), ValueError,
     r"question 'q1' \(country='A'\): option 1.0 appears more than once"),
    ("align-source-as-group", lambda: a.align(M, H.rename(columns={"country": "source"})), ValueError,
     r"'source' is reserved.*rename it"),
    ("align-mixed-1-'1'", lambda: a.align(M, _mixed("country", H)), ValueError,
     r"column 'country' holds values that differ only in type"),
    ("align-empty-question-id", lambda: a.align(M.replace({"question": {"q1": ""}}), H.replace({"question": {"q1": ""}})),
     ValueError, r"question id is empty"),
    ("align-groups-missing", lambda: a.align(M, H, groups_b="cntry"), ValueError, r"group column 'cntry' is missing"),
    ("align-no-common-question", lambda: a.align(_models(qs=("x1",)), H), ValueError, r"share no question"),
    ("align-option-text", lambda: a.align(M, H.assign(option=H["option"].astype(str) + "a")), ValueError,
     r"option '1a' is not a number"),
    ("align-list", lambda: a.align([1, 2], H), TypeError, r"expected a pandas DataFrame"),
    ("align-records", lambda: a.align(M.to_dict("records"), H), TypeError, r"expected a pandas DataFrame"),
    ("align-one-option", lambda: a.align(M[M.option == 1].assign(prob=1.0), H[H.option == 1].assign(prob=1.0)),
     ValueError, r"question 'q1' has a single ordinal position"),
    ("wass-nan", lambda: a.wasserstein_alignment(np.array([0.5, np.nan, 0.5]), np.array([0.2, 0.3, 0.5])),
     ValueError, r"`p` must be finite"),
    ("wass-length", lambda: a.wasserstein_alignment(np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])), ValueError,
     r"same number of options"),
    ("wass-empty", lambda: a.wasserstein_alignment(np.array([]), np.array([])), ValueError, r"`p` is empty"),
    ("wass-negative", lambda: a.wasserstein_alignment(np.array([1.2, -0.2]), np.array([0.5, 0.5])), ValueError,
     r"non-negative"),
    ("wass-positions-nan", lambda: a.wasserstein_alignment(np.array([.5, .5]), np.array([.5, .5]), positions=[1, np.nan]),
     ValueError, r"`positions` must be finite"),
    # bootstrap arguments
    ("bq-n_resamples-2.7", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=2.7), ValueError,
     r"`n_resamples` must be an integer; got 2.7 \(not truncated\)"),
    ("bq-n_resamples-0", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=0), ValueError,
     r"`n_resamples` must be an integer >= 1; got 0"),
    ("bq-n_resamples--1", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=-1), ValueError,
     r"`n_resamples` must be an integer >= 1; got -1"),
    ("bq-n_resamples-True", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=True), TypeError,
     r"`n_resamples` must be an integer; got bool"),
    ("bq-n_resamples-str", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples="100"), TypeError,
     r"`n_resamples` must be an integer; got str"),
    ("bq-confidence-95", lambda: a.bootstrap_questions(np.arange(5.0), confidence_level=95), ValueError,
     r"`confidence_level` must lie strictly between 0 and 1; got 95"),
    ("bq-confidence-0", lambda: a.bootstrap_questions(np.arange(5.0), confidence_level=0), ValueError,
     r"`confidence_level`"),
    ("bq-confidence-nan", lambda: a.bootstrap_questions(np.arange(5.0), confidence_level=np.nan), ValueError,
     r"`confidence_level`"),
    ("bq-ci_method", lambda: a.bootstrap_questions(np.arange(5.0), ci_method="bca2"), ValueError,
     r"`ci_method` must be one of"),
    ("bq-inf", lambda: a.bootstrap_questions(np.array([1.0, np.inf, 3.0]), n_resamples=10), ValueError,
     r"infinite"),
    ("bq-empty", lambda: a.bootstrap_questions(np.array([]), n_resamples=10), ValueError, r"at least one question"),
    ("bq-strings", lambda: a.bootstrap_questions(["a", "b"], n_resamples=10), TypeError, r"array of numbers"),
    ("bq-rng-str", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=10, rng="x"), TypeError,
     r"`rng` must be None, a non-negative integer seed"),
    ("bq-rng-negative", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=10, rng=-3), TypeError, r"`rng`"),
    ("bq-rng-float", lambda: a.bootstrap_questions(np.arange(5.0), n_resamples=10, rng=1.5), TypeError, r"`rng`"),
    ("scheme-n_units-0", lambda: a.MultinomialScheme(0), ValueError, r"`n_units` must be a positive integer"),
    ("scheme-n_units-2.5", lambda: a.MultinomialScheme(2.5), TypeError, r"`n_units` must be an integer"),
    ("scheme-n_units--3", lambda: a.PoissonScheme(-3), ValueError, r"`n_units`"),
    # stats
    ("ttest-length", lambda: a.paired_ttest([1, 2, 3], [1, 2]), ValueError, r"same shape"),
    ("ttest-alternative", lambda: a.paired_ttest([1, 2, 3], [2, 3, 5], alternative="bigger"), ValueError,
     r"`alternative` must be one of"),
    ("ttest-inf", lambda: a.paired_ttest([1, 2, np.inf], [2, 3, 5]), ValueError, r"infinite"),
    ("adjust->1", lambda: a.adjust_pvalues([0.01, 1.5]), ValueError, r"p-values in \[0, 1\]"),
    ("adjust-negative", lambda: a.adjust_pvalues([0.01, -0.1]), ValueError, r"p-values in \[0, 1\]"),
    ("adjust-unknown", lambda: a.adjust_pvalues([0.01, 0.2], adjust="bonf"), ValueError, r"`adjust` must be one of"),
    ("adjust-string", lambda: a.adjust_pvalues("0.01"), TypeError, r"`p` must be an array of numbers"),
    ("paired_comparison-test", lambda: a.paired_comparison([1, 2, 3], [2, 3, 5], test="z"), ValueError,
     r"`test` must be one of"),
    # subgroups
    ("sg-factor-missing", lambda: _sg(factors=["sex"]), ValueError, r"factor column 'sex' is not in `data`"),
    ("sg-weights-zero", lambda: _sg(data=D.assign(w=0.0), weights="w"), ValueError,
     r"weights column 'w' must be finite, non-negative and not all zero"),
    ("sg-weights-negative", lambda: _sg(data=_with(D, at={(0, "w"): -1.0}), weights="w"), ValueError,
     r"weights column 'w'"),
    ("sg-weights-nan", lambda: _sg(data=_with(D, at={(0, "w"): np.nan}), weights="w"), ValueError,
     r"weights column 'w'"),
    ("sg-weights-unknown", lambda: _sg(weights="wt"), ValueError, r"weights column 'wt' is not a column"),
    ("sg-n_resamples-2.7", lambda: _sg(n_resamples=2.7), ValueError, r"not truncated"),
    ("sg-n_resamples-0", lambda: _sg(n_resamples=0), ValueError, r"`n_resamples` must be an integer >= 1"),
    ("sg-confidence-95", lambda: _sg(confidence_level=95), ValueError, r"`confidence_level`"),
    ("sg-metric", lambda: _sg(metric="foo"), ValueError, r"`metric` must be 'likert' or 'wasserstein'"),
    ("sg-lonely-psu", lambda: _sg(data=_with(D, at={(0, "stratum"): "s3", (0, "psu"): "lonely"}), weights="w",
                                  strata="stratum", psu="psu"), ValueError, r"single PSU.*lonely_psu"),
    ("sg-answers-nan-prob", lambda: _sg(answers=_with(ANS, at={(0, "prob"): np.nan})), ValueError,
     r"question 'q1' \(model='a'\) has a missing `prob`"),
    ("sg-response-out-of-scale", lambda: _sg(data=_with(D, at={(0, "q1"): 99.0})), ValueError,
     r"column 'q1': values \[99.0\] are not options.*recode missing-value codes"),
    ("sg-response-negative-code", lambda: _sg(data=_with(D, at={(0, "q1"): -1.0})), ValueError,
     r"column 'q1': values \[-1.0\]"),
    ("sg-empty-data", lambda: _sg(data=D.iloc[:0]), ValueError, r"at least one row"),
    ("sg-mixed-1-'1'", lambda: _sg(data=_mixed("gender", D, "F", "M")), ValueError,
     r"`data`: column 'gender' holds values that differ only in type"),
    ("sgc-mixed-1-'1'", lambda: an.subgroup_comparisons(_mixed("gender", D, "F", "M"), ANS, factors="gender",
                                                      n_resamples=20, weights=None, strata=None, psu=None),
     ValueError, r"column 'gender' holds values that differ only in type"),
    ("sg-min_n--1", lambda: _sg(min_n=-1), ValueError, r"`min_n` must be a non-negative integer"),
    ("sg-min_n-2.5", lambda: _sg(min_n=2.5), ValueError, r"`min_n`"),
    ("sg-rng-str", lambda: _sg(rng="abc"), TypeError, r"`rng` must be None"),
    ("mv-min_valid_share", lambda: an.majority_vote(pd.DataFrame({"model": "m", "question": ["q1"] * 3,
                                                                  "option": [1, 1, 2]}), min_valid_share=2),
     ValueError, r"`min_valid_share` must be a number in \[0, 1\]"),
    ("mv-ties", lambda: an.majority_vote(pd.DataFrame({"model": "m", "question": ["q1"] * 3, "option": [1, 1, 2]}),
                                         ties="x"), ValueError, r"`ties` must be one of"),
    ("answer_summary-missing", lambda: an.answer_summary(M), ValueError,
     r"lacks column\(s\) \['n_samples', 'n_valid_samples'"),
    # global
    ("global-multi-wave", lambda: an.global_alignment(M2, HW, n_resamples=20, rng=0), ValueError,
     r"`human` holds more than one answer for country='A'.*\['wave'\] vary"),
    ("global-n_resamples-2.7", lambda: an.global_alignment(M2, H6, n_resamples=2.7), ValueError, r"`n_resamples`"),
    ("global-confidence-95", lambda: an.global_alignment(M2, H6, n_resamples=20, confidence_level=95), ValueError,
     r"`confidence_level`"),
    ("global-top_k-0", lambda: an.global_alignment(M2, H6, n_resamples=20, top_k=0), ValueError, r"`top_k`"),
    ("global-tolerance--1", lambda: an.global_alignment(M2, H6, n_resamples=20, tolerance=-1), ValueError,
     r"`tolerance`"),
    ("global-tolerance-nan", lambda: an.global_alignment(M2, H6, n_resamples=20, tolerance=np.nan), ValueError,
     r"`tolerance` must be a finite non-negative number"),
    ("global-country-missing", lambda: an.global_alignment(M2, H6, n_resamples=20, country="cntry"), ValueError,
     r"`human` lacks the column 'cntry'"),
    ("global-several-conditions", lambda: an.global_alignment(
        pd.concat([M2.assign(condition="a"), M2.assign(condition="b")]), H6, n_resamples=20), ValueError,
     r"model='m1', question='q1'; the column\(s\) \['condition'\] vary"),
    ("global-mixed-1-'1'", lambda: an.global_alignment(M2, _mixed("country", H6), n_resamples=20), ValueError,
     r"column 'country' holds values that differ only in type"),
    ("global-all-rejected", lambda: an.global_alignment(M2.assign(status="rejected", reason="bad_value"), H6,
                                                        n_resamples=20), ValueError, r"every item is rejected"),
    ("global-rng-str", lambda: an.global_alignment(M2, H6, n_resamples=20, rng="seed"), TypeError, r"`rng`"),
    # steering / temporal / sensitivity / consistency
    ("steering-multi-wave", lambda: an.steering_alignment(_steer(), HW), ValueError,
     r"`human` holds more than one answer for country='A'.*\['wave'\]"),
    ("steering-baseline-missing", lambda: an.steering_alignment(M2.assign(condition="x"), H6), ValueError,
     r"no row of the baseline condition 'none'"),
    ("steering-target-unknown", lambda: an.steering_alignment(_steer("Z"), H6), ValueError,
     r"target countries \['Z'\] have no distribution"),
    ("steering-adjust", lambda: an.steering_alignment(_steer(), H6, adjust="bonferroni"), ValueError, r"`adjust`"),
    ("steering-test", lambda: an.steering_alignment(_steer(), H6, test="z"), ValueError, r"`test`"),
    ("temporal-tau--1", lambda: an.temporal_alignment(M2, HW, tau=-1, n_resamples=10), ValueError, r"`tau`"),
    ("temporal-no-wave", lambda: an.temporal_alignment(M2, H6, n_resamples=10), ValueError,
     r"`human` lacks the column 'wave'"),
    ("temporal-n_resamples-2.7", lambda: an.temporal_alignment(M2, HW, n_resamples=2.7), ValueError,
     r"`n_resamples` must be an integer; got 2.7"),
    ("temporal-n_resamples--1", lambda: an.temporal_alignment(M2, HW, n_resamples=-1), ValueError,
     r"`n_resamples` must be an integer >= 0"),
    ("temporal-min_countries-0", lambda: an.temporal_alignment(M2, HW, min_countries=0, n_resamples=10), ValueError,
     r"`min_countries` must be an integer >= 1"),
    ("temporal-confidence-95", lambda: an.temporal_alignment(M2, HW, n_resamples=10, confidence_level=95), ValueError,
     r"`confidence_level`"),
    ("temporal-filter_wave", lambda: an.temporal_alignment(M2, HW, filter_wave=9, n_resamples=10), ValueError,
     r"`filter_wave` 9 is not a wave"),
    ("temporal-duplicate-wave-rows", lambda: an.temporal_alignment(M2, pd.concat([HW, HW]), n_resamples=10),
     ValueError, r"`human` holds more than one answer for country='A'"),
    ("sensitivity-no-default", lambda: an.prompt_sensitivity(M2.assign(condition="x"), H6, n_resamples=10), ValueError,
     r"default condition 'none' is not among"),
    ("sensitivity-one-condition", lambda: an.prompt_sensitivity(M2.assign(condition="none"), H6, n_resamples=10),
     ValueError, r"only the default condition 'none'"),
    ("sensitivity-n_resamples--1", lambda: an.prompt_sensitivity(
        pd.concat([M2.assign(condition="none"), M2.assign(condition="b")]), H6, n_resamples=-1), ValueError,
     r"`n_resamples` must be an integer >= 0"),
    ("sensitivity-confidence-95", lambda: an.prompt_sensitivity(
        pd.concat([M2.assign(condition="none"), M2.assign(condition="b")]), H6, n_resamples=10,
        confidence_level=95), ValueError, r"`confidence_level`"),
    ("sensitivity-multi-wave", lambda: an.prompt_sensitivity(
        pd.concat([M2.assign(condition="none"), M2.assign(condition="b")]), HW, n_resamples=10), ValueError,
     r"`human` holds more than one answer.*\['wave'\]"),
    ("consistency-ties", lambda: an.internal_consistency(M, ties="x"), ValueError, r"`ties` must be"),
    ("consistency-by-missing", lambda: an.internal_consistency(M, by="zzz"), ValueError, r"`by` column 'zzz'"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in CLEAR], ids=[c[0] for c in CLEAR])
def test_clear_error(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


# --------------------------------------------------------------------------- files
GOOD = "question,model,condition,option,prob\nq1,m,none,1,0.5\nq1,m,none,2,0.5\n"
FILES = {
    "utf16.csv": lambda p: p.write_text(GOOD, encoding="utf-16"),
    "empty.csv": lambda p: p.write_bytes(b""),
    "binary.csv": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "folder": lambda p: p.mkdir(),
    "missing.csv": lambda p: None,
    "emptyq.csv": lambda p: p.write_text("question,model,condition,option,prob\n,m,none,1,0.5\n,m,none,2,0.5\n"),
    "nocondition.csv": lambda p: p.write_text("question,model,option,prob\nq1,m,1,0.5\nq1,m,2,0.5\n"),
    "broken.parquet": lambda p: p.write_bytes(b"PAR1 not really"),
    "dupoption.csv": lambda p: p.write_text("question,model,condition,option,prob\nq1,m,none,1,0.5\nq1,m,none,1,0.5\n"
                                            "q1,m,none,2,0.5\n"),
    "source.csv": lambda p: p.write_text("question,model,condition,option,prob,source\nq1,m,none,1,0.5,a\n"
                                         "q1,m,none,2,0.5,a\nq1,m,none,1,0.2,b\nq1,m,none,2,0.8,b\n"),
}
FILE_CASES = [
    ("utf16.csv", "read_tidy", ValueError, r"utf16.csv: the tidy CSV file is UTF-16 encoded; save it as UTF-8"),
    ("utf16.csv", "read_results", ValueError, r"utf16.csv: the CSV file is UTF-16"),
    ("empty.csv", "read_tidy", ValueError, r"empty.csv: the tidy CSV file is empty \(0 bytes\)"),
    ("empty.csv", "read_results", ValueError, r"empty.csv: .*empty \(0 bytes\)"),
    ("binary.csv", "read_tidy", ValueError, r"binary.csv: .*not text \(binary content\)"),
    ("binary.csv", "read_results", ValueError, r"binary.csv: .*not text"),
    ("folder", "read_tidy", ValueError, r"folder: is a folder, not a tidy CSV/Parquet file"),
    ("folder", "read_results", ValueError, r"folder: folder holds no results.csv"),
    ("missing.csv", "read_tidy", FileNotFoundError, r"missing.csv: no such file"),
    ("missing.csv", "read_results", FileNotFoundError, r"missing.csv: no such file"),
    ("emptyq.csv", "read_tidy", ValueError, r"empty question id in column 'question'"),
    ("nocondition.csv", "read_tidy", ValueError, r"no 'condition' column; add one or pass `condition=` \(command line: --condition\)"),
    ("broken.parquet", "read_tidy", ValueError, r"broken.parquet: not a readable Parquet file"),
    ("dupoption.csv", "read_tidy", ValueError,
     r"dupoption.csv: option 1.0 appears more than once for model='m', condition='none', question='q1'.*drop the dup"),
    ("dupoption.csv", "read_results", ValueError, r"option 1.0 appears more than once"),
    ("source.csv", "read_tidy", ValueError, r"reserved column\(s\) \['source'\] differ between them.*rename"),
]


@pytest.mark.parametrize("name,reader,exc,match", FILE_CASES, ids=[f"{c[1]}-{c[0]}" for c in FILE_CASES])
def test_bad_files(tmp_path, name, reader, exc, match):
    p = tmp_path / name
    FILES[name](p)
    with pytest.raises(exc, match=match):
        getattr(inf, reader)(str(p))


def test_read_results_wrong_extension(tmp_path):
    p = tmp_path / "answers.txt"
    p.write_text(GOOD)
    with pytest.raises(ValueError, match=r"answers.txt: unknown file type '.txt'"):
        inf.read_results(str(p))


@pytest.mark.parametrize("body", ["q1,m,none,1,nan\nq1,m,none,2,0.5\n", "q1,m,none,1,-0.5\nq1,m,none,2,1.5\n",
                                  "q1,m,none,1,0.5\nq1,m,none,2"], ids=["nan-prob", "negative-prob", "truncated"])
def test_unusable_item_is_rejected_with_reason(tmp_path, body):
    """A NaN, negative or truncated probability rejects the item (recorded), never a number."""
    p = tmp_path / "t.csv"
    p.write_text("question,model,condition,option,prob\n" + body)
    f = inf.read_tidy(p)
    assert (f["status"] == "rejected").all() and f["prob"].isna().all()
    assert f["reason"].str.startswith("bad_value").all()


def test_seed_type_column_is_kept_not_a_group(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("question,model,condition,option,prob,type\nq1,m,none,1,0.5,opinion\nq1,m,none,2,0.5,opinion\n"
                 "q2,m,none,1,0.2,knowledge\nq2,m,none,2,0.8,knowledge\n")
    f = inf.read_tidy(p)
    assert f["type"].tolist() == ["opinion", "opinion", "knowledge", "knowledge"]
    assert "type" in inf.ingest.RESERVED


# --------------------------------------------------------------------------- correct handling (independent checks)
def _w1_alignment(p, q, pos):
    return 1 - stats.wasserstein_distance(pos, pos, p, q) / (pos.max() - pos.min())


def _vec(frame, q, **sel):
    f = frame.loc[frame["question"] == q]
    for k, v in sel.items():
        f = f.loc[f[k] == v]
    return f.sort_values("option")["prob"].to_numpy()


def _reference_scores(m, h, model, country):
    pos = np.arange(1.0, 5.0)
    return np.mean([_w1_alignment(_vec(m, q, model=model), _vec(h, q, country=country), pos) for q in QS])


def test_nan_group_label_kept_and_right():
    """A NaN country label is its own group in align and alignment_matrix alike, with the right number."""
    h = H.assign(country=H["country"].map({"A": "A", "B": np.nan}))
    res = a.align(M, h)
    mat = a.alignment_matrix(M, h)
    nan_row = res.loc[res["country"].isna(), "alignment"]
    assert len(nan_row) == 1 and mat.shape == (1, 2)
    ref = _reference_scores(M, H, "m1", "B")
    assert nan_row.iloc[0] == pytest.approx(ref, abs=1e-12)
    assert np.nanmax(mat.to_numpy()) == pytest.approx(max(ref, _reference_scores(M, H, "m1", "A")), abs=1e-12)


def test_one_question_study_has_no_sd():
    m, h = _models(qs=("q1",)), _human(qs=("q1",))
    res = a.align(m, h)
    assert res["sd"].isna().all() and (res["n_questions"] == 1).all()
    ref = _w1_alignment(_vec(m, "q1", model="m1"), _vec(h, "q1", country="A"), np.arange(1.0, 5.0))
    assert res.loc[res["country"] == "A", "alignment"].iloc[0] == pytest.approx(ref, abs=1e-12)


def test_unnormalised_probabilities_are_renormalised_and_reported():
    with pytest.warns(DataPolicyWarning, match=r"b: 6 item\(s\) sum != 1 -> renormalized"):
        res = a.align(M, H.assign(prob=H["prob"] * 2))
    ref = a.align(M, H)
    np.testing.assert_allclose(res["alignment"], ref["alignment"], atol=1e-12)
    assert len(a.report_frame(res)) > 0


def test_positions_out_of_order_are_honoured():
    # p: 0.5 at position 3 and 0.5 at 1; q: 0.5 at 1 and 0.5 at 2 -> W1 = 0.5, range 2
    val = a.wasserstein_alignment(np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5]), positions=[3, 1, 2])
    assert val == pytest.approx(0.75, abs=1e-12)


def test_bootstrap_nan_values_are_missing_questions():
    r = a.bootstrap_questions(np.array([1.0, np.nan, 3.0]), n_resamples=50, rng=0)
    assert float(r.estimate) == pytest.approx(2.0)


def test_bootstrap_one_question_interval_is_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = a.bootstrap_questions(np.array([0.5]), n_resamples=50, rng=0)
    assert np.isnan(r.confidence_interval.low) and np.isnan(r.confidence_interval.high)


def test_integral_float_n_resamples_is_accepted():
    r = a.bootstrap_questions(np.arange(5.0), n_resamples=100.0, rng=0)
    assert r.bootstrap_distribution.shape[-1] == 100


def test_ttest_drops_incomplete_pairs_like_scipy():
    x, y = np.array([1, 2, np.nan, 4.0]), np.array([1, 3, 3, 5.0])
    r = a.paired_ttest(x, y)
    ref = stats.ttest_rel(x, y, nan_policy="omit")
    assert r.n == 3
    assert r.statistic == pytest.approx(ref.statistic) and r.pvalue == pytest.approx(ref.pvalue)


def test_pearson_drops_incomplete_pairs_like_scipy():
    x, y = np.array([1, 2, np.nan, 4, 7.0]), np.array([1, 3, 2, 5, 6.0])
    r = a.pearson_r(x, y)
    ok = ~np.isnan(x)
    ref = stats.pearsonr(x[ok], y[ok])
    assert r.n == 4 and r.statistic == pytest.approx(ref.statistic) and r.pvalue == pytest.approx(ref.pvalue)


def test_degenerate_tests_give_nan_not_numbers():
    assert np.isnan(a.paired_ttest([1], [2]).pvalue)
    assert np.isnan(a.paired_ttest([1, 2, 3], [1, 2, 3]).pvalue)
    assert np.isnan(a.pearson_r([1, 1, 1], [1, 2, 3]).statistic)
    assert np.isnan(a.wilcoxon_signed_rank([1, 2, 3], [1, 2, 3]).pvalue)


def test_adjust_leaves_nan_and_adjusts_the_rest():
    # Holm by hand on the non-missing p-values [0.01, 0.04]: [0.02, max(0.02, 0.04)]
    np.testing.assert_allclose(a.adjust_pvalues([0.01, np.nan, 0.04]), [0.02, np.nan, 0.04])
    assert a.adjust_pvalues([]).shape == (0,)


def test_subgroup_nan_labels_dropped_or_kept_as_group():
    d = D.copy()
    d.loc[:4, "gender"] = np.nan
    out = _sg(data=d)
    n = out.set_index("group")["n"]
    assert n["F"] == (d["gender"] == "F").sum() and n["M"] == (d["gender"] == "M").sum()
    with pytest.warns(a.SmallCellWarning, match=r"gender=\(missing\) \(n=5\)"):
        out2 = _sg(data=d, missing_as_group=True)
    assert out2.set_index("group").loc["(missing)", "n"] == 5


def test_subgroup_single_level_factor_equals_overall():
    out = _sg(data=D.assign(gender="F"))
    est = out.set_index("group")["alignment"]
    assert est["F"] == pytest.approx(est["(all)"], abs=1e-12)


def test_subgroup_duplicated_respondents_keep_the_estimate():
    # doubling every row leaves every (equally weighted) mean unchanged
    e1 = _sg()["alignment"].to_numpy()
    e2 = _sg(data=pd.concat([D, D], ignore_index=True))["alignment"].to_numpy()
    np.testing.assert_allclose(e1, e2, atol=1e-12)


def test_subgroup_estimate_against_paper_formula():
    out = _sg().set_index("group")
    point = {"q1": 2, "q2": 7, "q3": 3}
    for g in ("F", "M"):
        sub = D.loc[D["gender"] == g]
        ref = np.mean([1 - abs(sub[q].mean() - point[q]) / (K[q] - 1) for q in QS])
        assert out.loc[g, "alignment"] == pytest.approx(ref, abs=1e-12)


def test_subgroup_answer_question_absent_from_data_warns():
    ans = ANS.replace({"question": {"q3": "q9"}})
    with pytest.warns(DataPolicyWarning, match=r"not columns of `data`.*\['q9'\]"):
        out = _sg(answers=ans)
    assert (out["n_questions"] == 2).all()


def test_global_one_question_and_nan_country():
    m, h = _models(models=("m1", "m2"), qs=("q1",)), _human(countries=tuple("ABCDEF"), qs=("q1",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = an.global_alignment(m, h, n_resamples=20, rng=0).scores
    row = s.loc[(s["model"] == "m1") & (s["country"] == "C")].iloc[0]
    ref = _w1_alignment(_vec(m, "q1", model="m1"), _vec(h, "q1", country="C"), np.arange(1.0, 5.0))
    assert row["alignment"] == pytest.approx(ref, abs=1e-12) and np.isnan(row["sd"])


def test_global_multi_wave_one_wave_selected_equals_single_wave():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s1 = an.global_alignment(M2, HW.loc[HW["wave"] == 1].drop(columns="wave"), n_resamples=0).scores
        s0 = an.global_alignment(M2, H6, n_resamples=0).scores
    pd.testing.assert_series_equal(s1.sort_values(["model", "country"])["alignment"].reset_index(drop=True),
                                   s0.sort_values(["model", "country"])["alignment"].reset_index(drop=True))


def test_steering_adjust_none_is_unadjusted_and_labelled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = an.steering_alignment(_steer(), H6, adjust=None)
    np.testing.assert_array_equal(out["pvalue_adj"].to_numpy(), out["pvalue"].to_numpy())
    assert set(out["adjust"]) == {"none"}


def test_answer_summary_reads_the_inference_layer_columns():
    """answer_summary reads the columns the inference layer writes (n_valid_samples, refusal_share)."""
    y = pd.DataFrame({"model": "m", "question": ["q1", "q2"], "option": [1.0, 2.0], "prob": [1.0, 1.0],
                      "n_samples": [5, 5], "n_valid_samples": [5, 3], "agreement": [1.0, 0.6], "refusal_share": [0.0, 0.4]})
    s = an.answer_summary(y).iloc[0]
    assert s["n_samples"] == 10 and s["n_questions"] == 2


# --------------------------------------------------------------------------- CLI
def _cli(args):
    from analyses.cli import main

    return CliRunner().invoke(main, [str(x) for x in args])


@pytest.fixture
def files(tmp_path):
    HW.to_csv(tmp_path / "hum_waves.csv", index=False)
    M2.assign(condition="none").to_csv(tmp_path / "ans.csv", index=False)
    (tmp_path / "afile").write_text("x")
    return tmp_path


CLI_CASES = [
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--out", "{t}/o", "--n-resamples", "5"],
     r"several waves per country \(column `wave`: \[1, 2\]\); pass --wave"),
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--wave", "2", "--out", "{t}/afile/sub"],
     r"lies below .*afile', which is a regular file"),
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--wave", "9", "--out", "{t}/o"],
     r"--wave 9: .*no rows of that wave"),
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--wave", "2", "--out", "{t}/o",
      "--n-resamples", "2.7"], r"'2.7' is not a valid integer"),
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--wave", "2", "--out", "{t}/o",
      "--n-resamples", "-1"], r"`n_resamples` must be a non-negative integer, got -1"),
    (["global", "--answers", "{t}/ans.csv", "--human", "{t}/afile", "--out", "{t}/o"], r"unsupported format"),
    (["global", "--answers", "{t}", "--human", "{t}/hum_waves.csv", "--wave", "2", "--out", "{t}/o"],
     r"folder holds no results.csv"),
    (["answers", "{t}/ans.csv", "-o", "{t}/nodir/x.csv"], r"folder '.*nodir' does not exist; create it first"),
    (["steering", "--answers", "{t}/ans.csv", "--human", "{t}/hum_waves.csv", "--out", "{t}/s"],
     r"more than one answer for country='A'.*\['wave'\]"),
]


@pytest.mark.parametrize("args,match", CLI_CASES, ids=[f"{c[0][0]}-{i}" for i, c in enumerate(CLI_CASES)])
def test_cli_clear_error(files, args, match):
    r = _cli([x.format(t=files) for x in args])
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    import re

    assert re.search(match, r.output), r.output


COLLECT = ["collect", "--questions", "{t}/bank.jsonl", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
           "--store", "{t}/s.jsonl", "--quiet", "--n-examples", "1", "--timeout", "2"]
COLLECT_CASES = [
    (["--base-url", "notaurl"], r"`base_url` 'notaurl' is not an http\(s\) URL"),
    (["--timeout", "-1"], r"`timeout` must be a positive number of seconds; got -1"),
    (["--samples", "0"], r"`samples` must be a positive integer; got 0"),
    (["--concurrency", "0"], r"`concurrency` must be a positive integer; got 0"),
    (["--max-attempts", "0"], r"`max_attempts` must be a positive integer; got 0"),
    (["--steering", "persona"], r"steering 'persona' needs `country`"),
    (["--n-examples", "5"], r"only 1 question\(s\) left for the prompt's 5 format examples.*--n-examples"),
    (["--store", "{t}/afile/s.jsonl"], r"lies below .*afile', which is a regular file"),
    ([], r"cannot reach the server at http://127.0.0.1:9/v1.*Nothing was asked or stored"),
]


@pytest.mark.parametrize("extra,match", COLLECT_CASES, ids=[" ".join(c[0][:1]) or "refused" for c in COLLECT_CASES])
def test_collect_configuration_errors_stop_before_asking(files, extra, match):
    import pathlib
    import re

    from tests.inference.conftest import TINY, write_bank

    write_bank(pathlib.Path(files / "bank.jsonl"), TINY[:2])
    r = _cli([x.format(t=files) for x in COLLECT + extra])
    assert r.exit_code == inf.EXIT_FATAL, r.output
    assert "Traceback" not in r.output
    assert re.search(match, r.output), r.output
    assert not (files / "s.jsonl").exists() or (files / "s.jsonl").stat().st_size == 0


def test_cli_refuses_non_empty_out_and_keeps_it(files):
    base = ["global", "--answers", files / "ans.csv", "--human", files / "hum_waves.csv", "--wave", "2",
            "--out", files / "o", "--n-resamples", "5"]
    assert _cli(base).exit_code == 0
    before = sorted(p.name for p in (files / "o").iterdir())
    r = _cli(base)
    assert r.exit_code != 0 and "is not empty; pass --overwrite" in r.output
    assert sorted(p.name for p in (files / "o").iterdir()) == before


# --------------------------------------------------------------------------- fixed since the audit (regression tests)
def test_type_column_is_never_a_group():
    h = H.assign(type=np.where(H["question"] == "q1", "knowledge", "opinion"))
    res = a.align(M, h)
    assert "type" not in res.columns and len(res) == 2
    np.testing.assert_allclose(res["alignment"], a.align(M, H)["alignment"], atol=1e-12)


def test_majority_vote_columns_are_never_groups():
    s = pd.DataFrame({"model": "m1", "question": np.repeat(list(QS), 5),
                      "option": [1, 1, 2, np.nan, 2, 3, 3, 3, 1, 2, 4, 4, 1, 1, np.nan]})
    v = an.majority_vote(s, ties="first")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)
        res = a.align(v, H, policy=a.Policy(missing_options="zero"))
    assert len(res) == 2 and not {"n_valid_samples", "refusal_share", "tie", "n_tied"} & set(res.columns)


def test_likert_answer_outside_scale_is_an_error():
    with pytest.raises(ValueError, match=r"outside"):
        a.likert_alignment(np.array([0.5, 0.5]), 5, positions=[1, 2])


def test_classify_nan_tolerance_is_an_error():
    with pytest.raises(ValueError, match=r"tolerance"):
        a.classify_alignment(np.array([0.5, 0.9]), np.array([0.9, 0.5]), tolerance=np.nan)


def test_prepare_respondents_mixed_label_types():
    d = pd.DataFrame({"q1": [1.0, 2, 3, 4, 1, 2], "g": [1, "1", 1, "1", 1, "1"]})
    ans = pd.DataFrame({"model": "m", "question": "q1", "option": [1.0, 2, 3, 4], "prob": [0.25] * 4})
    with pytest.raises(ValueError, match=r"differ only in type"):
        a.prepare_respondents(d, ans, factors=["g"])


def test_cli_answers_output_below_a_file(files):
    r = _cli(["answers", files / "ans.csv", "-o", files / "afile" / "x.csv"])
    assert r.exit_code != 0 and "is a regular file" in r.output
