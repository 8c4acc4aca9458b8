"""The survey layer's outputs feed alignstat (align, prepare_respondents) and show the known bias."""

import numpy as np
import pytest

import alignstat
import surveys


@pytest.fixture(scope="module")
def ess():
    return surveys.make_ess(8_000, 6, 47, rng=11)


def test_distributions_feed_align_and_recover_the_known_bias(ess):
    d = surveys.distributions(ess, by=["religiosity", "political_interest"], on_empty="drop")
    answers = surveys.model_answers(ess, rng=0)
    res = alignstat.align(d, answers)
    groups = d.drop_duplicates(["religiosity", "political_interest"])
    assert len(res) == len(groups) * 3
    score = res.set_index(["religiosity", "political_interest", "model"])["alignment"]
    secular = ("0", "Very interested")
    devout = ("10", "Not at all interested")
    # model-a was built as a secular, very interested persona; model-b as a devout, uninterested one
    assert score[(*secular, "model-a")] > score[(*devout, "model-a")]
    assert score[(*devout, "model-b")] > score[(*secular, "model-b")]


def test_clean_frame_feeds_prepare_respondents(ess):
    r = ess.responses()
    answers = surveys.model_answers(ess, rng=0)
    data = alignstat.prepare_respondents(r, answers, factors=["country", "gender"], weight="weight",
                                         missing_as_group=True)
    assert data.responses.shape == (len(r), len(ess.questions))
    np.testing.assert_array_equal(data.weights, r["weight"].to_numpy())
