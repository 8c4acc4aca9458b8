"""Bad inputs to the readers: each a clear error naming the file, column or question."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

from inference import read_results
from inference.cli import answers

HEADER = "id,question,choices,choice_keys,answer,type,response\n"
ROW = 'Q1,Family?,"[\'Yes\', \'No\']","[\'1\', \'2\']",x,Opinion-Dependent,"{\'1\': \'60%\', \'2\': \'40%\'}"\n'


def results(tmp_path, text, name="results.csv"):
    d = tmp_path / "results" / "RQ1" / "m"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")
    return d / name


@pytest.mark.parametrize("drop", ["response", "choice_keys"])
def test_results_file_missing_a_column_names_it(tmp_path, drop):
    cols = HEADER.strip().split(",")
    keep = [i for i, c in enumerate(cols) if c != drop]
    import csv
    import io

    rows = list(csv.reader(io.StringIO(HEADER + ROW)))
    buf = io.StringIO()
    csv.writer(buf).writerows([[r[i] for i in keep] for r in rows])
    path = results(tmp_path, buf.getvalue())
    with pytest.raises(ValueError, match=rf"results\.csv: columns \['{drop}'\] are missing; a results file needs"):
        read_results(path)


def test_type_column_is_kept_to_select_opinion_questions(tmp_path):
    path = results(tmp_path, HEADER + ROW + ROW.replace("Q1,", "Q2,").replace("Opinion-Dependent", "Culture-Dependent"))
    frame = read_results(path)
    assert frame.groupby("question")["type"].first().to_dict() == {"Q1": "Opinion-Dependent", "Q2": "Culture-Dependent"}
    assert frame.loc[frame["type"] == "Opinion-Dependent", "question"].unique().tolist() == ["Q1"]


def test_empty_question_id_is_rejected(tmp_path):
    path = results(tmp_path, HEADER + ROW + ROW.replace("Q1,", ",", 1))
    with pytest.raises(ValueError, match=r"results\.csv:3: empty question id in column 'id'"):
        read_results(path)
    tidy = tmp_path / "t.csv"
    tidy.write_text("question,option,prob,model,condition\nQ1,1,1.0,m,none\n,1,1.0,m,none\n")
    with pytest.raises(ValueError, match=r"t\.csv: 1 row\(s\) with an empty question id .*row 3"):
        read_results(tidy)
    store = tmp_path / "s.jsonl"
    store.write_text(json.dumps({"key": "k", "status": "done", "question": "", "keys": ["1"], "answer_method": "verbalized",
                                 "text": "{'1': '100%'}"}) + "\n")
    with pytest.raises(ValueError, match=r"s\.jsonl: record k has an empty question id"):
        read_results(store)


@pytest.mark.parametrize("name", ["results.csv", "tidy.csv", "answers.jsonl"])
def test_utf16_empty_and_binary_files_name_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((HEADER + ROW).encode("utf-16"))
    with pytest.raises(ValueError, match=rf"{name}: the .* is UTF-16 encoded; save it as UTF-8"):
        read_results(path, model="m", condition="none")
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"{name}: the .* is empty \(0 bytes\)"):
        read_results(path, model="m", condition="none")
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=rf"{name}: the .* is not text \(binary content\)"):
        read_results(path, model="m", condition="none")
    path.write_bytes("question,option,prob\nQ1,1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=rf"{name}: the .* is not UTF-8 text"):
        read_results(path, model="m", condition="none")


def test_parquet_that_is_not_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_text("question,option,prob\n")
    with pytest.raises(ValueError, match=r"t\.parquet: not a readable Parquet file"):
        read_results(path, model="m", condition="none")


def test_answers_output_into_a_missing_folder_is_a_clear_error(tmp_path):
    path = results(tmp_path, HEADER + ROW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = CliRunner().invoke(answers, [str(path), "-o", str(tmp_path / "nodir" / "x.csv")])
    assert r.exit_code == 1 and "does not exist; create it first" in r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)


def test_reserved_group_names_and_fractional_counts_are_errors(tmp_path, bank):
    from inference import OpenAIChatBackend, PromptBuilder, collect

    path = results(tmp_path, HEADER + ROW)
    with pytest.raises(ValueError, match=r"`groups`: \['source'\] are reserved column names"):
        read_results(path, groups={"source": "x"})
    with pytest.raises(ValueError, match=r"`n_examples` must be a positive integer; got 2.7"):
        PromptBuilder(n_examples=2.7)
    backend = OpenAIChatBackend("m", base_url="http://127.0.0.1:9/v1", api_key_env=None)
    for kw, msg in [({"samples": 2.7}, "`samples` must be a positive integer"),
                    ({"max_attempts": 0}, "`max_attempts` must be a positive integer"),
                    ({"backoff": -1}, "`backoff` must be a finite number of seconds"),
                    ({"lock_timeout": float("nan")}, "`lock_timeout` must be a finite number")]:
        with pytest.raises(ValueError, match=msg):
            collect(bank, backend=backend, store=tmp_path / "s.jsonl", progress=False, **kw)
    assert not (tmp_path / "s.jsonl").exists()
