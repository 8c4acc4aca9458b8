"""read_results on tidy files and answer stores, mixed; status_report accounting."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alignstat import DataPolicyWarning
from inference import AnswerStore, read_results, status_report


def tidy_frame():
    rows = []
    for q, ps in {"Q1": [0.5, 0.3, 0.2], "Q2": [0.6, 0.6, 0.0], "Q3": [0.9, 0.9, 0.9], "Q4": [0.2, -0.1, 0.9]}.items():
        rows += [{"question": q, "option": float(i + 1), "prob": p, "country": "Chile"} for i, p in enumerate(ps)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_file_checked_per_item(tmp_path, suffix):
    path = tmp_path / f"people{suffix}"
    f = tidy_frame()
    f.to_csv(path, index=False) if suffix == ".csv" else f.to_parquet(path, index=False)
    with pytest.warns(DataPolicyWarning):
        out = read_results(path, model="survey", condition="human")
    st = out.drop_duplicates("question").set_index("question")
    assert st["status"].to_dict() == {"Q1": "ok", "Q2": "repaired", "Q3": "rejected", "Q4": "rejected"}
    assert st.loc["Q2", "repairs"] == "renormalized"
    assert st.loc["Q3", "reason"].startswith("sum_out_of_range")
    np.testing.assert_allclose(out.loc[out["question"] == "Q2", "prob"], [0.5, 0.5, 0.0])
    assert out.loc[out["question"].isin(["Q3", "Q4"]), "prob"].isna().all()
    assert set(out["country"]) == {"Chile"}
    rep = status_report(out)
    assert rep.n_items == 4 and rep.by_status.to_dict() == {"ok": 1, "repaired": 1, "rejected": 2}
    with pytest.warns(DataPolicyWarning):
        strict = read_results(path, model="survey", condition="human", repair="strict")
    assert strict.drop_duplicates("question")["status"].tolist() == ["ok", "rejected", "rejected", "rejected"]


def test_missing_columns_and_labels_are_named(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"question": ["Q1"], "prob": [1.0]}).to_csv(p, index=False)
    with pytest.raises(ValueError, match=r"bad\.csv: columns \['option'\] are missing"):
        read_results(p, model="m", condition="c")
    p2 = tmp_path / "t.csv"
    tidy_frame().to_csv(p2, index=False)
    with pytest.raises(ValueError, match=r"t\.csv: no 'model' column; add one or pass `model=` \(command line: --model\)"):
        read_results(p2)
    p3 = tmp_path / "x" / "results.csv"
    p3.parent.mkdir()
    pd.DataFrame({"id": ["Q1"], "question": ["?"], "choices": ["['a','b']"], "choice_keys": ["['1','2']"],
                  "answer": [""], "type": [""], "response": ["{'1': '100%'}"]}).to_csv(p3, index=False)
    with pytest.raises(ValueError, match=r"cannot tell the 'model' from the path"):
        read_results(p3)
    p3.with_name("results.csv").write_text("id,question,choices,choice_keys,answer,type,response\n"
                                           "Q1,?,not a list,\"['1','2']\",,,{}\n")
    with pytest.raises(ValueError, match=r"results\.csv:2 \(question 'Q1'\): column 'choices' is not a list"):
        read_results(p3, model="m", condition="c")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_results(tmp_path / "nope.csv")


def test_store_and_tidy_mix_with_none_fill(tmp_path):
    store = tmp_path / "s.jsonl"
    with AnswerStore(store) as st:
        st.append({"key": "a", "status": "done", "model": "m", "answer_method": "verbalized", "condition": "none",
                   "country": None, "language": "English", "question": "Q1", "keys": ["1", "2", "3"],
                   "labels": ["a", "b", "c"], "sample": 0, "text": "{'1': '50%', '2': '30%', '3': '20%'}"})
    tidy = tmp_path / "t.csv"
    tidy_frame().query("question == 'Q1'").assign(model="WVS", condition="survey").to_csv(tidy, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataPolicyWarning)
        both = read_results([store, tidy])
    assert len(both) == 6 and set(both["status"]) == {"ok"}
    by_model = {m: g for m, g in both.groupby("model")}
    np.testing.assert_allclose(by_model["m"]["prob"], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(by_model["WVS"]["prob"], [0.5, 0.3, 0.2])
    # a label one input lacks is filled with "none", never NaN (NaN groups vanish in groupby)
    assert set(by_model["m"]["country"]) == {"none"} and set(by_model["WVS"]["country"]) == {"Chile"}
    assert set(by_model["WVS"]["language"]) == {"none"}
    assert not both[["model", "condition", "country", "language", "answer_method"]].isna().any().any()
