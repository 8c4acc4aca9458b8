"""Study results print as one line and summarise as a short labelled table."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from analyses._summary import StudyResultMixin, result_summary, short_repr


@dataclass(repr=False)
class _Result(StudyResultMixin):
    scores: pd.DataFrame
    models: pd.DataFrame
    params: dict
    _summary_table = "models"


def _result():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"model": np.repeat(["m1", "m2"], 200), "alignment": rng.uniform(0.7, 0.9, 400)})
    models = pd.DataFrame({"model": ["m1", "m2"], "alignment": [0.8, 0.7], "ci_low": [0.78, 0.68],
                           "ci_high": [0.82, 0.72], "pvalue": [1e-6, 0.2]})
    return _Result(scores, models, {"metric": "wasserstein", "n_resamples": 1000, "tolerance": 0.02})


def test_repr_is_one_short_line():
    r = _result()
    text = repr(r)
    assert "\n" not in text and len(text) < 200
    assert text == ("_Result(scores: 400 x 2; models: 2 x 5; params: metric='wasserstein', n_resamples=1000, "
                    "tolerance=0.02)")
    assert short_repr(r) == text


def test_summary_shows_the_headline_table_formatted():
    s = _result().summary()
    lines = s.splitlines()
    assert lines[0] == repr(_result())
    assert "**models (2 rows)**" in s and "0.800 [0.780, 0.820]" in s and "< 0.001" in s
    long = result_summary(_result(), table="scores", n=3)
    assert "first 3 of 400 rows" in long and len(long.splitlines()) < 12
    with pytest.raises(ValueError, match="`table` must be one of"):
        result_summary(_result(), table="nope")
