"""The seed's 379 results.csv files as a parsing corpus, and model-vs-model alignment."""

from __future__ import annotations

import ast
import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import alignstat
from alignstat import DataPolicyWarning
from inference import read_results, status_report
from inference.ingest import condition_from_path


@pytest.fixture(scope="module")
def corpus(seed_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)
        frame = read_results(seed_data / "results")
    return frame


@pytest.fixture(scope="module")
def raw_files(seed_data):
    files = sorted((seed_data / "results").rglob("results.csv"))
    return {f: pd.read_csv(f, dtype=str, keep_default_na=False) for f in files}


def test_all_379_files_load_and_every_item_is_accounted(corpus, raw_files):
    assert len(raw_files) == 379
    assert corpus["source"].nunique() == 379
    # items counted independently: distinct (file, question id) pairs of the raw files
    expected_items = sum(df["id"].nunique() for df in raw_files.values())
    rep = status_report(corpus)
    assert rep.n_items == expected_items
    assert int(rep.by_status.sum()) == expected_items
    assert set(rep.by_status.index) == {"ok", "repaired", "rejected"}
    assert int(rep.by_reason.sum()) == int(rep.by_status["rejected"])
    # each repaired item has at least one repair code and each code is counted
    items = corpus.drop_duplicates(["source", "question"])
    rep_items = items[items["status"] == "repaired"]
    assert (rep_items["repairs"].str.len() > 0).all()
    assert int(rep.by_repair.sum()) == int(rep_items["repairs"].str.count(";").sum() + len(rep_items))
    # one row per option of every item, rejected items included
    n_opts = sum(
        len(ast.literal_eval(k))
        for df in raw_files.values()
        for k in df.drop_duplicates("id", keep="last")["choice_keys"]
    )
    assert len(corpus) == n_opts
    assert corpus.loc[corpus["status"] == "rejected", "prob"].isna().all()
    assert corpus.loc[corpus["status"] != "rejected", "prob"].notna().all()


def test_duplicate_rows_keep_the_last_answer(corpus, raw_files):
    dups = {f: df for f, df in raw_files.items() if df["id"].duplicated().any()}
    assert dups, "the seed corpus has files answering a question twice"
    for f, df in dups.items():
        last = df.drop_duplicates("id", keep="last").set_index("id")["response"]
        sub = corpus[corpus["source"] == str(f)].drop_duplicates("question").set_index("question")
        for qid in df.loc[df["id"].duplicated(), "id"]:
            assert sub.loc[qid, "raw"] == last[qid]
            if sub.loc[qid, "status"] == "repaired":
                assert "duplicates_dropped" in sub.loc[qid, "repairs"]


def _independent_parse(response, keys):
    """Oracle for clean answers: Python's literal parser and float('..%')."""
    d = ast.literal_eval(response.strip())
    vals = {str(k).strip(): float(str(v).strip().rstrip("%")) / 100 for k, v in d.items()}
    return [vals.get(k, 0.0) for k in keys]


def test_ok_items_match_an_independent_parser(corpus, raw_files, rng):
    items = corpus.drop_duplicates(["source", "question"])
    ok = items[items["status"] == "ok"]
    pick = ok.iloc[rng.choice(len(ok), size=min(400, len(ok)), replace=False)][["source", "question"]]
    sub = corpus.merge(pick, on=["source", "question"])
    by_path = {str(f): df for f, df in raw_files.items()}
    for (src, qid), got in sub.groupby(["source", "question"], sort=False):
        row = by_path[src][by_path[src]["id"] == qid].iloc[-1]
        keys = [str(k) for k in ast.literal_eval(row["choice_keys"])]
        ref = np.array(_independent_parse(row["response"], keys))
        ref = ref / ref.sum()
        got = got.set_index("key").loc[keys]
        np.testing.assert_allclose(got["prob"].to_numpy(), ref, atol=1e-12)
        np.testing.assert_array_equal(got["option"].to_numpy(), [float(k) for k in keys])
    assert sub.groupby(["source", "question"]).ngroups == len(pick)


def test_labels_from_paths(corpus):
    models = set(corpus.loc[corpus["condition"] == "none", "model"])
    assert "CohereLabs/aya-23-35B" in models and "gpt-4" in models and len(models) == 7
    assert set(corpus["condition"]) == {
        "none", "persona", "few-shot", "language", "language-persona", "language-few-shot",
        "sensitivity-order", "sensitivity-number", "sensitivity-prob",
    }
    rq2 = corpus[corpus["condition"] == "persona"]
    assert set(rq2["country"]) == {"Argentina", "Brazil", "Chile", "China", "Germany", "Japan", "Korea",
                                    "Russia", "Uruguay", "Vietnam"}
    assert (corpus.loc[corpus["condition"] == "none", "country"] == "none").all()
    assert condition_from_path("x/results/RQ2/language_few-shot/Korea/Qwen/Qwen2.5-72B-Instruct/results.csv") == {
        "model": "Qwen/Qwen2.5-72B-Instruct", "condition": "language-few-shot", "country": "Korea"}


def test_strict_rejects_every_item_lenient_repaired(seed_data):
    files = sorted((seed_data / "results" / "RQ1").rglob("results.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)
        le = read_results(files, repair="lenient").drop_duplicates(["source", "question"])
        st = read_results(files, repair="strict").drop_duplicates(["source", "question"])
    le, st = le.set_index(["source", "question"]), st.set_index(["source", "question"])
    assert (st.loc[le["status"] == "repaired", "status"] == "rejected").all()
    assert (st.loc[le["status"] == "ok", "status"] == "ok").all()


def test_read_results_warns_once_with_counts(seed_data):
    with pytest.warns(DataPolicyWarning, match=r"item\(s\) repaired"):
        read_results(seed_data / "results" / "RQ1" / "gpt-4" / "results.csv")


def test_rq1_model_vs_model_alignment_equals_scipy(seed_data):
    """alignstat.align on read_results output == scipy.stats.wasserstein_distance by hand."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataPolicyWarning)
        f = read_results(seed_data / "results" / "RQ1")
    models = sorted(f["model"].unique())
    res = alignstat.align(f, f, groups_a=["model"], groups_b=["model"])
    res = res.set_index(["model_a", "model_b"])
    arrays = {
        (m, q): (g["option"].to_numpy(), g["prob"].to_numpy())
        for (m, q), g in f[f["status"] != "rejected"].groupby(["model", "question"])
    }
    for ma, mb in itertools.combinations(models, 2):
        scores = []
        for q in sorted({q for m, q in arrays if m == ma} & {q for m, q in arrays if m == mb}):
            (xa, pa), (xb, pb) = arrays[(ma, q)], arrays[(mb, q)]
            span = max(xa.max(), xb.max()) - min(xa.min(), xb.min())
            scores.append(1 - scipy.stats.wasserstein_distance(xa, xb, pa, pb) / span)
        assert res.loc[(ma, mb), "n_questions"] == len(scores)
        assert math.isclose(res.loc[(ma, mb), "alignment"], np.mean(scores), rel_tol=0, abs_tol=1e-12)
        assert math.isclose(res.loc[(ma, mb), "sd"], np.std(scores, ddof=1), rel_tol=0, abs_tol=1e-12)


def test_seed_frame_columns_follow_the_contract(corpus):
    from inference.ingest import RESERVED

    extra = set(corpus.columns) - RESERVED
    assert extra == {"model", "condition", "country"}
    assert corpus["question"].dtype != object and corpus["option"].dtype == "float64"
