"""Damaged files name the file and the cause; missing-looking codes are never silent answers."""

import warnings

import numpy as np
import pandas as pd
import pytest

import surveys
from alignstat import DataPolicyWarning


@pytest.fixture
def sav(tmp_path):
    s = surveys.make_ess(300, 2, 3, rng=2)
    p = tmp_path / "ess.sav"
    s.to_sav(p)
    return p


def test_truncated_and_corrupt_spss(tmp_path, sav):
    raw = sav.read_bytes()
    cut = tmp_path / "cut.sav"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.sav could not be read as a SPSS file .*truncated or corrupt"):
        surveys.read_survey(cut)
    junk = tmp_path / "junk.sav"
    junk.write_bytes(b"$FL2" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"junk\.sav could not be read as a SPSS file"):
        surveys.read_survey(junk)


def test_empty_directory_and_mis_extended(tmp_path, sav):
    empty = tmp_path / "empty.dta"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.dta is empty \(0 bytes\)"):
        surveys.read_survey(empty)
    with pytest.raises(ValueError, match="is a directory"):
        surveys.read_survey(tmp_path / "d.sav") if (tmp_path / "d.sav").mkdir() is None else None
    wrong = tmp_path / "really_spss.dta"
    wrong.write_bytes(sav.read_bytes())
    with pytest.raises(ValueError, match=r"extension '\.dta' but its content looks like a SPSS file"):
        surveys.read_survey(wrong)
    csv_as_parquet = tmp_path / "t.parquet"
    csv_as_parquet.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"t\.parquet could not be read as a Parquet file"):
        surveys.read_survey(csv_as_parquet)


def test_csv_problems(tmp_path):
    full = "cntry,anweight,q\n" + "".join(f"NO,1.0,{i % 5}\n" for i in range(50))
    ok = tmp_path / "ok.csv"
    ok.write_text(full)
    assert len(surveys.read_survey(ok).data) == 50
    cut = tmp_path / "cut.csv"
    cut.write_text(full[: full.rindex("\n", 0, len(full) - 1) + 6])  # last line stops mid-row
    with pytest.raises(ValueError, match=r"cut\.csv: the last line has 2 of the header's 3 fields .*cut short"):
        surveys.read_survey(cut)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(ValueError, match=r"blank\.csv holds no data"):
        surveys.read_survey(blank)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("cntry,q\nNO,Bokm\u00e5l\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv: the text is not in the utf-8 encoding.*encoding="):
        surveys.read_survey(latin)
    assert surveys.read_survey(latin, encoding="latin-1").data["q"].iloc[0] == "Bokm\u00e5l"
    with pytest.raises(ValueError, match=r"ok\.csv: columns \['Q'\] are not in the file"):
        surveys.read_survey(ok, usecols=["Q"])
    with pytest.raises(TypeError, match="`row_limit` must be a non-negative integer"):
        surveys.read_survey(ok, row_limit=2.5)


def test_missing_like_codes_warn_and_are_excluded():
    df = pd.DataFrame({"q": [1, 2, 3, 4, 5, 2, 8, 9, -1, 3], "w": 1.0})
    with pytest.warns(DataPolicyWarning, match=r"variable 'q'.*\['-1', '8', '9'\] look like missing codes"):
        d = surveys.distributions(df, variables="q", weights="w")
    assert sorted(d["option"]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert d["n"].iloc[0] == 7
    # declared: no warning, and the declaration decides
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d2 = surveys.distributions(df, variables="q", weights="w",
                                   missing={"q": {8: "nonresponse", 9: "nonresponse", -1: "structural"}})
    assert d2["nonresponse"].iloc[0] == pytest.approx(2 / 9)
    np.testing.assert_allclose(d2["prob"], d["prob"])
    d3 = surveys.distributions(df, variables="q", weights="w", missing={"q": {8: "valid", 9: "valid", -1: "valid"}})
    assert sorted(d3["option"]) == [-1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 9.0]


def test_double_digit_codes_and_labelled_range():
    df = pd.DataFrame({"q": [0, 3, 7, 10, 77, 99, 5, 6]})
    with pytest.warns(DataPolicyWarning, match=r"\['77', '99'\]"):
        d = surveys.distributions(df, variables="q")
    assert 7.0 in set(d["option"]) and 77.0 not in set(d["option"])  # 7 lies inside the 0-10 scale
    sv = surveys.as_survey(pd.DataFrame({"q": [1, 2, 3, 4, 55]}),
                           value_labels={"q": {1: "Never", 2: "Rarely", 3: "Often", 4: "Always"}}, profile=None)
    with pytest.warns(DataPolicyWarning, match=r"\['55'\].*outside the labelled range"):
        d = surveys.distributions(sv, variables="q")
    assert list(d["option"]) == [1.0, 2.0, 3.0, 4.0]
    # a continuous variable (many distinct values) is not second-guessed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        surveys.means(pd.DataFrame({"age": np.arange(18, 100)}), variables="age")
