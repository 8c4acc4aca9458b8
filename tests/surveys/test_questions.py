"""Question-bank mapping: options, reversed/non-ordinal declarations, waves, concepts."""

import numpy as np
import pandas as pd
import pytest

import surveys
from alignstat import load_question_bank

LANGUAGES = ["Chinese", "English", "German", "Japanese", "Korean", "Portuguese", "Russian",
             "Spanish", "Vietnamese"]


@pytest.fixture(scope="module")
def english(seed_data):
    return load_question_bank(seed_data / "dataset" / "questions" / "WV7_English.jsonl")


@pytest.fixture(scope="module")
def wvs_bank(english):
    return surveys.make_wvs(4_000, 8, bank=english, rng=5)


# Option keys that differ from WV7_English at the same place in the option list (checked by
# reading the files: Korean numbers Q119 and Q122-Q129 in display order, Chinese Q119 too).
KNOWN_KEY_DIFFERENCES = {
    "Chinese": {"Q119"},
    "Korean": {"Q119", "Q122", "Q123", "Q124", "Q125", "Q126", "Q127", "Q128", "Q129"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_all_languages_map_to_the_same_options(seed_data, english, language):
    bank = load_question_bank(seed_data / "dataset" / "questions" / f"WV7_{language}.jsonl")
    assert bank.questions[0].language == language
    assert set(bank.ids) <= set(english.ids) and len(bank) >= 130
    disc = surveys.key_discrepancies(bank, english)
    assert set(disc["question"]) == KNOWN_KEY_DIFFERENCES.get(language, set())
    # through the English reference every language lands on the same codes and positions
    t = surveys.option_table(bank, reference=english)
    ref = surveys.option_table(english).set_index("question")
    for q, grp in t.groupby("question"):
        np.testing.assert_array_equal(grp["option"].to_numpy(), ref.loc[[q], "option"].to_numpy())
        np.testing.assert_array_equal(grp["code"].to_numpy(), ref.loc[[q], "code"].to_numpy())
        assert list(grp["label"]) == list(bank[q].choices)
    # without the reference the differing questions get other positions
    own = surveys.option_table(bank).set_index(["question", "key"])
    for q in KNOWN_KEY_DIFFERENCES.get(language, ()):
        assert list(own.loc[q, "option"]) != list(ref.loc[[q], "option"])


def test_option_table_reverse_and_non_ordinal(english):
    q = english.ids[0]
    base = surveys.option_table(english)
    rev = surveys.option_table(english, reverse=[q], non_ordinal={english.ids[1]: ["4"]})
    k = english[q].n_options
    b = base[base.question == q]["option"].to_numpy()
    r = rev[rev.question == q]["option"].to_numpy()
    np.testing.assert_array_equal(r, (1 + k) - b)
    assert np.isnan(rev[(rev.question == english.ids[1]) & (rev.key == "4")]["option"]).all()
    with pytest.raises(ValueError, match="not in"):
        surveys.option_table(english, reverse=["Q9999"])
    with pytest.raises(ValueError, match="has no option key"):
        surveys.option_table(english, non_ordinal={q: ["7"]})
    ov = pd.DataFrame({"question": [q], "key": ["1"], "option": [10.0]})
    o = surveys.option_table(english, overrides=ov)
    assert o[(o.question == q) & (o.key == "1")]["option"].iloc[0] == 10.0


def test_bank_distributions_on_synthetic_wvs(english, wvs_bank):
    d = surveys.bank_distributions(wvs_bank, english, by="B_COUNTRY_ALPHA")
    assert set(d.question) == set(english.ids)
    # options are the bank's positions, and shares agree with a direct count of valid codes
    q = "Q1"
    df = wvs_bank.data
    sub = d[(d.question == q) & (d.B_COUNTRY_ALPHA == "AND")].set_index("option")["prob"]
    x = df[(df.B_COUNTRY_ALPHA == "AND") & (df[q] > 0)]
    ref = x.groupby(q)["S018"].sum() / x["S018"].sum()
    np.testing.assert_allclose(sub.reindex(ref.index).to_numpy(), ref.to_numpy(), atol=1e-12)
    assert list(sub.index) == [float(k) for k in english[q].keys]
    # reversing a question mirrors its distribution
    r = surveys.bank_distributions(wvs_bank, english, by="B_COUNTRY_ALPHA", reverse=[q], questions=[q])
    rr = r[r.B_COUNTRY_ALPHA == "AND"].set_index("option")["prob"]
    np.testing.assert_allclose(rr.sort_index().to_numpy(), sub.sort_index().to_numpy()[::-1], atol=1e-15)


def test_bank_across_waves(seed_data, wvs_bank):
    """WV567: the same question read from wave-6 variable names gives the same numbers."""
    bank = load_question_bank(seed_data / "dataset" / "questions" / "WV567.jsonl")
    wt = surveys.wave_table(bank)
    assert set(wt.wave) == {5, 6, 7}
    q1 = wt[wt.question == "Q1"].set_index("wave")["variable"]
    assert q1[7] == "Q1" and q1[6] == "V4"
    w7 = wt[wt.wave == 7]
    have = [v for v in w7.variable if v in wvs_bank.data.columns]
    bank7 = bank.subset([q for q, v in zip(w7.question, w7.variable) if v in have])
    d7 = surveys.bank_distributions(wvs_bank, bank7, wave=7, by="B_COUNTRY_ALPHA")
    ren = dict(zip(w7.variable, wt[wt.wave == 6].variable))
    wave6 = wvs_bank.data.rename(columns={v: ren[v] for v in have})
    d6 = surveys.bank_distributions(surveys.as_survey(wave6, profile="wvs7"), bank7, wave=6,
                                    by="B_COUNTRY_ALPHA")
    pd.testing.assert_frame_equal(d7.reset_index(drop=True), d6.reset_index(drop=True), check_dtype=False)
    with pytest.raises(ValueError, match="not in the data"):
        surveys.bank_distributions(wvs_bank, bank, wave=5)


def test_multi_indicator_concept_split_ballot():
    """ESS split ballot: three form variables combined with weights into one question."""
    s = surveys.make_ess(3_000, 3, 47, rng=4)
    conc = s.indicators["testjc34"]
    d = surveys.means(s.survey(), variables=["testjc34"], indicators={"testjc34": conc}, by="cntry")
    r = s.responses()
    for c, row in d.set_index("cntry").iterrows():
        sel = (r.country == c) & r.testjc34.notna()
        w = r.loc[sel, "weight"].to_numpy()
        assert row["mean"] == pytest.approx((w * r.loc[sel, "testjc34"]).sum() / w.sum(), abs=1e-10)
    # unequal indicator weights: per-respondent weighted mean of the indicators
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [3.0, np.nan, np.nan], "w": [1.0, 1.0, 1.0]})
    m = surveys.means(df, variables=["ab"], indicators={"ab": {"a": 1.0, "b": 3.0}}, weights="w")
    assert m["mean"].iloc[0] == pytest.approx(((1 * 1 + 3 * 3) / 4 + 2.0) / 2)
    with pytest.raises(ValueError, match="positive weight"):
        surveys.means(df, variables=["ab"], indicators={"ab": {"a": 0.0}}, weights="w")
