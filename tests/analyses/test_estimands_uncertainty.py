"""The combined bootstrap (respondents, model samples, questions) reaches nominal coverage.

Simulation with known truth: questions, respondents and the model's 20 samples
all vary; the estimand is the expected alignment of the model's majority
vote with the population mean, averaged over questions, computed here by
Monte Carlo over 8000 fresh questions.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from analyses import subgroup_alignment

K = 5


def _questions(rng, Q):
    r = rng.dirichlet(np.ones(K) * 2, Q)  # respondents' answer distribution
    mode = rng.integers(0, K, Q)
    p = np.full((Q, K), 0.4 / (K - 1))  # the model's sample distribution: mode 0.6
    p[np.arange(Q), mode] = 0.6
    return r, p


def _truth(rng, n=8000, S=20, refuse=0.1):
    r, p = _questions(rng, n)
    mu = (r * np.arange(1, K + 1)).sum(1)
    vals = np.empty(n)
    for j in range(n):
        o = rng.choice(K, size=S, p=p[j])[rng.random(S) >= refuse]
        c = np.bincount(o, minlength=K)
        vote = rng.choice(np.flatnonzero(c == c.max())) + 1
        vals[j] = 1 - abs(mu[j] - vote) / (K - 1)
    return vals.mean()


def _study(rng, resample, Q=12, N=120, S=20, B=200, refuse=0.1):
    r, p = _questions(rng, Q)
    qs = [f"q{j}" for j in range(Q)]
    data = pd.DataFrame({q: rng.choice(K, size=N, p=r[j]) + 1.0 for j, q in enumerate(qs)})
    opts = np.stack([rng.choice(K, size=S, p=p[j]) + 1.0 for j in range(Q)])
    opts[rng.random(opts.shape) < refuse] = np.nan
    samples = pd.DataFrame({"model": "m", "question": np.repeat(qs, S), "sample": np.tile(np.arange(S), Q),
                            "option": opts.ravel()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroup_alignment(data, samples, factors=[], n_resamples=B, n_null=0, n_splits=0,
                                 rng=int(rng.integers(1 << 30)), resample=resample, confidence_level=0.9,
                                 positions={q: [1, 2, 3, 4, 5] for q in qs})
    return res.iloc[0]


def test_combined_bootstrap_reaches_nominal_coverage():
    rng = np.random.default_rng(0)
    truth = _truth(rng)
    hits = []
    for _ in range(40):
        row = _study(rng, ("respondents", "samples", "questions"))
        hits.append(row["ci_low"] <= truth <= row["ci_high"])
    assert "model samples (re-voted)" in row["interval"] and "questions" in row["interval"]
    cover = np.mean(hits)
    # nominal 0.90; binomial sd with 40 runs ~0.05 (respondents + samples only covered ~0.6 here)
    assert 0.78 <= cover <= 0.99, cover


def test_samples_resampling_needs_sample_level_answers():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"q": rng.integers(1, 6, 50).astype(float)})
    ans = pd.DataFrame({"model": "m", "question": "q", "option": [1.0, 2, 3, 4, 5], "prob": [0, 0, 1.0, 0, 0]})
    with pytest.raises(ValueError, match="individual samples"):
        subgroup_alignment(data, ans, factors=[], resample=("respondents", "samples"), n_resamples=10)
    with pytest.raises(ValueError, match="`resample`"):
        subgroup_alignment(data, ans, factors=[], resample="people", n_resamples=10)


def test_samples_bootstrap_full_sample_estimate_is_the_vote():
    """With resample='samples', the estimate is the alignment with the majority vote (hand-computed)."""
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"q1": rng.integers(1, 6, 80).astype(float), "q2": rng.integers(1, 5, 80).astype(float)})
    samples = pd.DataFrame({"model": "m", "question": ["q1"] * 5 + ["q2"] * 5, "sample": list(range(5)) * 2,
                            "option": [4.0, 4.0, 2.0, np.nan, 4.0, 1.0, 1.0, 1.0, 3.0, np.nan]})
    res = subgroup_alignment(data, samples, factors=[], resample="samples", n_resamples=200, n_null=0, rng=0,
                             positions={"q1": [1, 2, 3, 4, 5], "q2": [1, 2, 3, 4]})
    ref = np.mean([1 - abs(data.q1.mean() - 4) / 4, 1 - abs(data.q2.mean() - 1) / 3])
    assert res["alignment"].iloc[0] == pytest.approx(ref, abs=1e-12)
    assert res["ci_low"].iloc[0] < res["ci_high"].iloc[0]
