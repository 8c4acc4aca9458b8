r"""Majority votes over a model's samples, and the bootstrap that re-votes them.

:func:`majority_vote` turns a model's repeated samples into point answers
with a documented tie rule, a minimum share of valid (non-refused) samples
and the refusal share per question.  :func:`samples_bootstrap` is the
subgroup study's bootstrap when the model's samples are a source of
uncertainty: every replicate redraws respondents (or the design's PSUs),
the model's samples, and/or questions together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignstat._bootstrap_iv import as_rng

__all__ = ["majority_vote", "is_sample_level", "samples_bootstrap", "TIES"]

#: Tie rules of :func:`majority_vote`.
TIES = ("random", "first", "midpoint", "drop")


def is_sample_level(answers):
    """Tell whether `answers` holds individual samples (a ``sample`` column and no ``prob``)."""
    return "sample" in answers.columns and "prob" not in answers.columns


def _check_rules(ties, min_valid_share):
    if ties not in TIES:
        raise ValueError(f"`ties` must be one of {TIES}, got {ties!r}.")
    if isinstance(min_valid_share, bool) or not np.isscalar(min_valid_share) or not 0 <= min_valid_share <= 1:
        raise ValueError(f"`min_valid_share` must be a number in [0, 1], got {min_valid_share!r}.")


def _vote(counts, ties, min_valid_share, rng):
    """Vote on count arrays ``(..., K + 1)`` (last = refused).

    Returns ``weights (..., K)`` of the answer (one-hot, or equal mass over
    tied options for ``"midpoint"``; all zero = no answer) and ``tie (...)``.
    """
    valid = counts[..., :-1]
    n_valid = valid.sum(-1)
    n_all = counts.sum(-1)
    top = valid.max(-1, initial=0)
    is_top = (valid == top[..., None]) & (top[..., None] > 0)
    n_top = is_top.sum(-1)
    tie = n_top > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        enough = (n_valid > 0) & (n_valid >= min_valid_share * n_all - 1e-9)
    if ties == "midpoint":
        out = is_top / np.maximum(n_top, 1)[..., None]
    else:
        if ties == "random":
            key = np.where(is_top, rng.random(is_top.shape), -1.0)
        else:  # first (lowest position) or drop
            key = np.where(is_top, -np.arange(is_top.shape[-1], dtype=float), -np.inf)
        choice = np.argmax(key, axis=-1)
        out = np.zeros(valid.shape)
        np.put_along_axis(out, choice[..., None], 1.0, axis=-1)
        if ties == "drop":
            enough = enough & ~tie
    out = np.where(enough[..., None], out, 0.0)
    return out, tie


def _counts(samples, model="model"):
    """Per (model, question, option) counts of samples; refusals under option NaN."""
    need = [model, "question", "option"]
    for c in need:
        if c not in samples.columns:
            raise ValueError(f"sample-level `answers` lack the column {c!r} (need {need} and `sample`).")
    f = samples.rename(columns={model: "model"})
    refused = f["option"].isna()
    if "status" in f.columns:
        refused |= f["status"].astype(str).isin(["refused", "rejected"])
    opt = pd.to_numeric(f["option"], errors="coerce")
    bad = f["option"].notna() & opt.isna()
    if bad.any():
        r = f.loc[bad].iloc[0]
        raise ValueError(f"`answers`: question {r['question']!r} (model={r['model']!r}): option {r['option']!r} "
                         "is not a scale position; refusals are NaN.")
    return pd.DataFrame({"model": f["model"].to_numpy(), "question": f["question"].astype(str).to_numpy(),
                         "option": np.where(refused, np.nan, opt.to_numpy(dtype=float))})


def majority_vote(samples, *, ties="random", min_valid_share=0.5, rng=None, model="model"):
    r"""Majority-vote point answers from a model's repeated samples.

    Parameters
    ----------
    samples : DataFrame
        One row per sample: `model`, ``question``, ``option`` (the answer's
        scale position; NaN = refused or unusable) and usually ``sample``.
    ties : {"random", "first", "midpoint", "drop"}
        Several options sharing the most votes: ``"random"`` picks one
        uniformly (seeded by `rng`), ``"first"`` the lowest position (the
        old behaviour), ``"midpoint"`` spreads the answer equally over the
        tied options (for the Likert metric, the midpoint of their
        positions), ``"drop"`` leaves the question unanswered.
    min_valid_share : float
        The answer counts only when at least this share of the samples is
        valid (not refused); otherwise the item is ``status="rejected"``.
        ``0`` counts any answer with one valid sample (the ESS paper).
    rng : None, int or Generator
    model : str
        Model column.

    Returns
    -------
    DataFrame
        One row per model x question x option seen in the samples (the
        chosen option has ``prob`` 1): `model`, ``question``, ``option``,
        ``prob``, ``status`` (``"ok"``/``"rejected"``), ``n_samples``,
        ``n_valid_samples``, ``refusal_share`` (refused / all samples),
        ``agreement`` (share of valid samples giving the chosen option),
        ``tie`` (several options had the most votes) and ``n_tied``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> s = pd.DataFrame({"model": "m", "question": "q", "sample": range(5),
    ...                   "option": [2.0, 2.0, 3.0, 3.0, np.nan]})
    >>> v = majority_vote(s, ties="first")
    >>> v.loc[v.prob == 1, ["option", "tie", "refusal_share"]].to_dict("records")
    [{'option': 2.0, 'tie': True, 'refusal_share': 0.2}]
    """
    _check_rules(ties, min_valid_share)
    rng = as_rng(rng)
    f = _counts(samples, model)
    rows = []
    for (m, q), g in f.groupby(["model", "question"], sort=True):
        opts = np.unique(g["option"].dropna().to_numpy())
        n_all = len(g)
        c = np.array([np.sum(g["option"].to_numpy() == o) for o in opts] + [int(g["option"].isna().sum())],
                     dtype=float)
        w, tie = _vote(c, ties, min_valid_share, rng)
        n_valid = int(c[:-1].sum())
        ok = w.sum() > 0
        top = c[:-1].max(initial=0)
        n_tied = int(np.sum((c[:-1] == top) & (top > 0)))
        agree = float((c[:-1] * w).sum() / n_valid) if ok and n_valid else np.nan
        if not len(opts):
            rows.append((m, q, np.nan, np.nan, "rejected", n_all, 0, 1.0, np.nan, False, 0))
            continue
        for o, p in zip(opts, w):
            rows.append((m, q, float(o), float(p) if ok else np.nan, "ok" if ok else "rejected", n_all, n_valid,
                         (n_all - n_valid) / n_all, agree, bool(tie), n_tied))
    cols = [model, "question", "option", "prob", "status", "n_samples", "n_valid_samples", "refusal_share",
            "agreement", "tie", "n_tied"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["params"] = dict(ties=ties, min_valid_share=float(min_valid_share))
    return out


def vote_counts(samples, models, questions, positions):
    """Count ``(M, Q, K + 1)`` the samples on each question's option grid (last slot: refused)."""
    f = _counts(samples)
    M, Q, K = len(models), len(questions), positions.shape[1]
    mi = {str(m): i for i, m in enumerate(models)}
    qi = {str(q): i for i, q in enumerate(questions)}
    C = np.zeros((M, Q, K + 1))
    f = f.loc[f["model"].astype(str).isin(mi) & f["question"].isin(qi)]
    for (m, q, o), n in f.groupby(["model", "question", "option"], dropna=False).size().items():
        a, b = mi[str(m)], qi[q]
        if isinstance(o, float) and np.isnan(o):
            C[a, b, K] += n
        else:
            k = np.flatnonzero(positions[b] == o)
            if not len(k):
                raise ValueError(f"question {q!r}: sampled option {o:g} of model {m!r} is not on the scale "
                                 f"{positions[b][~np.isnan(positions[b])].tolist()}.")
            C[a, b, k[0]] += n
    return C


def _multipliers(scheme, rng, n):
    return np.asarray(scheme.multipliers(rng, n), dtype=float)


def samples_bootstrap(rd, votes, scheme, units, *, n_resamples, confidence_level, rng, ties, min_valid_share,
                      group_names, chunk=64):
    r"""One bootstrap over respondents (or PSUs), the model's samples and questions (Likert metric).

    Every replicate :math:`b` (i) reweights respondents with the scheme's
    multipliers (when ``"respondents"`` is in `units`), (ii) redraws each
    model's :math:`n` samples of each question from their empirical
    distribution (refusals included) and re-votes them with the same tie
    rule and minimum valid share (``"samples"``), and (iii) draws questions
    with replacement (``"questions"``); the group's alignment is then the
    question-weighted mean of :math:`1 - |\bar x^*_{Gq} - a^*_{mq}|/(R_q-1)`
    over the questions in the full-sample set that are defined in the
    replicate.  Percentile intervals; the spread is rescaled by
    :math:`\sqrt{c(B)(B-1)}` for design schemes as in the core engine.

    Returns
    -------
    (DataFrame, int)
        ``model, factor, group, alignment, ci_low, ci_high, se, n, n_eff,
        n_resamples_valid, n_questions`` and the number of replicates.
    """
    B = int(n_resamples)
    if B < 2:
        raise ValueError(f"`n_resamples` must be at least 2, got {n_resamples!r}.")
    rng_r, rng_s, rng_q, rng_v = rng.spawn(4)
    resp = rd.responses
    N, Q = resp.shape
    if isinstance(scheme, str):
        import alignstat

        schemes = {"multinomial": alignstat.MultinomialScheme, "poisson": alignstat.PoissonScheme}
        if scheme not in schemes:
            raise ValueError(f"`scheme` must be 'multinomial', 'poisson' or a ReplicateScheme, got {scheme!r}.")
        scheme = schemes[scheme](N)
    pos = rd.positions
    span = np.nanmax(pos, 1) - np.nanmin(pos, 1)
    valid = ~np.isnan(resp)
    wv = rd.weights[:, None] * valid
    wvx = wv * np.where(valid, resp, 0.0)
    C = vote_counts(votes, rd.models, rd.questions, pos)
    n_s = C.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(n_s[..., None] > 0, C / np.maximum(n_s, 1)[..., None], 0.0)
    posz = np.nan_to_num(pos)
    tot = rd.answers.sum(2)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_full = np.where(tot > 0, np.einsum("mqk,qk->mq", rd.answers, posz) / np.where(tot > 0, tot, 1), np.nan)
    members, labels = [], []
    for f, name in enumerate(rd.factors):
        for g in range(len(rd.group_labels[f])):
            members.append(np.flatnonzero(rd.groups[:, f] == g))
            labels.append((name, group_names[name][g]))
    G, M = len(members), len(rd.models)

    def alignment(Fm, a, qw):
        # Fm (c, N) or None; a (c, M, Q); qw (c, Q)
        c = a.shape[0]
        out = np.empty((c, M, G))
        for j, idx in enumerate(members):
            if Fm is None:
                Sw = np.broadcast_to(wv[idx].sum(0), (c, Q))
                Sx = np.broadcast_to(wvx[idx].sum(0), (c, Q))
            else:
                Sw = Fm[:, idx] @ wv[idx]
                Sx = Fm[:, idx] @ wvx[idx]
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = Sx / Sw
            A = 1.0 - np.abs(mu[:, None, :] - a) / span
            ok = full_mask[:, j][None] & (Sw > 0)[:, None, :] & np.isfinite(a)
            wq = np.where(ok, qw[:, None, :], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, :, j] = np.where(wq.sum(-1) > 0, (np.where(ok, A, 0) * wq).sum(-1) / wq.sum(-1), np.nan)
        return out

    full_mask = np.zeros((M, G, Q), dtype=bool)
    for j, idx in enumerate(members):
        full_mask[:, j] = (wv[idx].sum(0) > 0)[None] & np.isfinite(a_full)
    estimate = alignment(None, a_full[None], np.ones((1, Q)))[0]
    boot = np.empty((B, M, G))
    for s in range(0, B, chunk):
        c = min(chunk, B - s)
        Fm = _multipliers(scheme, rng_r, c) if "respondents" in units else None
        if "samples" in units:
            n_int = n_s.astype(np.int64)
            draws = rng_s.multinomial(np.broadcast_to(n_int, (c, M, Q)), np.broadcast_to(P, (c, M, Q, P.shape[-1])))
            w, _ = _vote(draws.astype(float), ties, min_valid_share, rng_v)
            has = w.sum(-1) > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                a = np.where(has, (w * posz).sum(-1) / np.where(has, w.sum(-1), 1), np.nan)
        else:
            a = np.broadcast_to(a_full, (c, M, Q))
        if "questions" in units:
            qw = np.stack([np.bincount(rng_q.integers(0, Q, Q), minlength=Q) for _ in range(c)]).astype(float)
        else:
            qw = np.ones((c, Q))
        boot[s : s + c] = alignment(Fm, a, qw)
    if "respondents" in units:
        scale = float(scheme.variance_scale(B))
    else:
        scale = 1.0 / (B - 1)
    rescale = np.sqrt(scale * (B - 1))
    x = estimate + rescale * (boot - estimate)
    alpha = 1 - confidence_level
    n_valid = np.sum(np.isfinite(boot), 0)
    with np.errstate(invalid="ignore"):
        low = np.where(n_valid > 0, np.nanquantile(np.where(n_valid > 0, x, 0.0), alpha / 2, axis=0), np.nan)
        high = np.where(n_valid > 0, np.nanquantile(np.where(n_valid > 0, x, 0.0), 1 - alpha / 2, axis=0), np.nan)
        dev = boot - np.nanmean(np.where(n_valid > 0, boot, 0.0), axis=0)
        se = np.sqrt(scale * np.nansum(dev * dev, axis=0))
    n = np.array([len(i) for i in members])
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = np.array([rd.weights[i].sum() ** 2 / np.sum(rd.weights[i] ** 2) if len(i) else np.nan
                          for i in members])
    out = pd.DataFrame({
        "model": np.repeat(np.asarray([str(m) for m in rd.models], dtype=object), G),
        "factor": np.tile(np.asarray([lab[0] for lab in labels], dtype=object), M),
        "group": np.tile(np.asarray([lab[1] for lab in labels], dtype=object), M),
        "alignment": estimate.ravel(), "ci_low": low.ravel(), "ci_high": high.ravel(), "se": se.ravel(),
        "n": np.tile(n, M), "n_eff": np.tile(n_eff, M), "n_resamples_valid": n_valid.ravel(),
        "n_questions": full_mask.sum(-1).ravel(),
    })
    return out, B
