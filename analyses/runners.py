"""Run a study end to end: compute, then write tables, figures and provenance.

Each ``run_*`` function calls the study's library function, writes every
table as soon as it exists (CSV + Parquet), draws the papers' figures (PNG +
PDF) and records ``provenance.json``; it returns a :class:`StudySummary` that
:func:`analyses.report.write_report` puts on one page.  The CLI commands are
thin shells over these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import figures as F
from .consistency import internal_consistency
from .global_study import global_alignment
from .provenance import StudyWriter
from .sensitivity import prompt_sensitivity
from .steering import steering_alignment, steering_table
from .subgroups import OVERALL, answer_summary, subgroup_alignment
from .temporal import temporal_alignment

__all__ = ["StudySummary", "run_global", "run_steering", "run_temporal", "run_consistency", "run_sensitivity",
           "run_subgroups", "read_table"]


@dataclass
class StudySummary:
    """What a run produced: folder, headline numbers, figure names and a Markdown table."""

    study: str
    folder: Path
    headlines: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    preview: str = ""
    description: str = ""


def read_table(path) -> pd.DataFrame:
    """Read a tidy CSV or Parquet table, naming the file in errors."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"input file {str(p)!r} does not exist.")
    suf = p.suffix.lower()
    if suf == ".parquet":
        return pd.read_parquet(p)
    if suf in (".csv", ".txt"):
        return pd.read_csv(p)
    raise ValueError(f"input file {str(p)!r}: unsupported format {suf!r} (expected .csv or .parquet).")


def _writer(out, study, params, seed, note, inputs):
    w = StudyWriter(Path(out), study=study, params=params, seed=seed, note=note)
    for name, src in (inputs or {}).items():
        w.add_input(name, src)
    return w


def _md(frame, n=12, digits=4):
    f = frame.head(n).copy()
    for c in f.columns:
        if pd.api.types.is_float_dtype(f[c]):
            f[c] = f[c].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}f}")
    cols = [str(c) for c in f.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in f.astype(str).itertuples(index=False):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _fig(w, summary, name, fig):
    w.figure(name, fig)
    summary.figures.append(f"{name}.png")


def _tab(w, summary, name, frame):
    w.table(name, frame)
    summary.tables.append(name)


def run_global(answers, human, out, *, metric="wasserstein", n_boot=1000, top_k=5, tolerance=0.02, rng=None,
               note=None, inputs=None, max_model_figures=3):
    """Global study (RQ1) into `out`: scores, model summary, ranking, baseline, heatmaps."""
    seed = rng if isinstance(rng, (int, np.integer)) else None
    params = dict(metric=metric, n_boot=n_boot, top_k=top_k, tolerance=tolerance)
    w = _writer(out, "global", params, seed, note, inputs)
    s = StudySummary("global", Path(out), description=(
        "Alignment of each model with each country (mean over questions; CI: question bootstrap), "
        "the average-human baseline and the over/under/appropriate classification (paper 000, RQ1)."))
    res = global_alignment(answers, human, metric=metric, n_boot=n_boot, top_k=top_k, tolerance=tolerance, rng=rng)
    _tab(w, s, "scores", res.scores)
    _tab(w, s, "models", res.models)
    _tab(w, s, "ranking", res.ranking)
    _tab(w, s, "country_matrix", res.countries)
    _tab(w, s, "per_question", res.per_question)
    if len(res.report):
        _tab(w, s, "repairs", res.report)
    _fig(w, s, "fig2a_models", F.model_summary_figure(res.scores, metric=metric))
    order = res.models.sort_values("mean", ascending=False)["model"].tolist()
    for i, m in enumerate(order[:max_model_figures]):
        _fig(w, s, f"fig2b_ranking_{i + 1}", F.ranking_figure(res.ranking, m))
        _fig(w, s, f"fig2c_baseline_{i + 1}", F.baseline_figure(res.scores, m, tolerance=tolerance))
    mm = res.model_matrix()
    if mm.shape[1] > 3 * mm.shape[0] and mm.shape[1] > 20:  # many countries: one row per country reads better
        _fig(w, s, "fig19_model_country", F.heatmap_figure(mm.T, title="Country x model alignment"))
    else:
        _fig(w, s, "fig19_model_country", F.heatmap_figure(mm, title="Model x country alignment"))
    _fig(w, s, "fig4_countries", F.country_heatmap_figure(res.countries, res.scores, order[0],
                                                          k=min(6, max(1, res.scores["country"].nunique() // 2))))
    best = res.models.sort_values("mean", ascending=False).iloc[0]
    s.headlines = {
        "best model (mean over countries)": f"{best['model']} ({best['mean']:.4f})",
        "countries": int(res.scores["country"].nunique()),
        "share of model x country pairs under-aligned": f"{(res.scores['classification'] == 'under').mean():.2f}",
    }
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(res.models)
    w.finish()
    return s


def run_steering(answers, human, out, *, metric="wasserstein", test="t", correction=None, note=None, inputs=None):
    """Steering study (RQ2) into `out`: Tables 1/9 with stars, one figure per country."""
    params = dict(metric=metric, test=test, correction=correction)
    w = _writer(out, "steering", params, None, note, inputs)
    s = StudySummary("steering", Path(out), description=(
        "Alignment per target country, model and steering method; stars: paired test across questions "
        "of per-question alignment, steered vs no steering, same model and country (paper 000, RQ2)."))
    res = steering_alignment(answers, human, metric=metric, test=test, correction=correction)
    _tab(w, s, "steering", res)
    if res.attrs.get("repairs"):
        _tab(w, s, "repairs", pd.DataFrame(res.attrs["repairs"]))
    tab = steering_table(res)
    _tab(w, s, "table1_layout", tab)
    for i, c in enumerate(sorted(res["country"].unique())):
        _fig(w, s, f"steering_{i + 1}_{''.join(ch for ch in str(c) if ch.isalnum())}", F.steering_figure(res, c))
    sig = res[(res.method != "none") & res["p_adjusted"].notna()]
    s.headlines = {"tests": int(len(sig)), "significant at 0.05": int((sig["p_adjusted"] < 0.05).sum()),
                   "test": res["test"].iloc[0], "correction": correction or "none"}
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(tab, n=14)
    w.finish()
    return s


def run_temporal(answers, human, out, *, tau=0.02, metric="wasserstein", filter_wave=None, note=None, inputs=None):
    """Temporal study (RQ3) into `out`: tau filter, per-wave means and sd bands (Fig. 3)."""
    import warnings

    from alignstat._warnings import SmallCellWarning

    params = dict(tau=tau, metric=metric, filter_wave=filter_wave)
    w = _writer(out, "temporal", params, None, note, inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallCellWarning)
        res = temporal_alignment(answers, human, tau=tau, metric=metric, filter_wave=filter_wave)
    w.params.update(res.params)
    s = StudySummary("temporal", Path(out), description=(
        f"Countries kept by Eq. 3 (|A_M - A_avg| < tau = {res.params['tau']:g}, {res.params['tau_mode']}) on wave "
        f"{res.params['filter_wave']}, then the model's alignment with those countries in every wave "
        "(paper 000, RQ3)."))
    _tab(w, s, "filter", res.filter)
    _tab(w, s, "per_country", res.per_country)
    _tab(w, s, "by_wave", res.by_wave)
    if len(res.report):
        _tab(w, s, "repairs", res.report)
    filt = res.by_wave[res.by_wave["countries"] == "tau-filtered"]
    if len(filt):
        _fig(w, s, "fig3_waves_filtered", F.temporal_figure(filt))
    _fig(w, s, "fig3_waves_all_countries", F.temporal_figure(res.by_wave[res.by_wave["countries"] == "all"]))
    kept = res.filter.groupby("model")["kept"].sum()
    s.headlines = {f"countries kept for {m}": int(v) for m, v in kept.items()}
    s.headlines["waves"] = ", ".join(str(x) for x in res.params["waves"])
    if caught:
        s.headlines["warnings"] = "; ".join(str(c.message) for c in caught)[:300]
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(filt if len(filt) else res.by_wave, n=14)
    w.finish()
    return s


def run_consistency(answers, out, *, topics=None, note=None, inputs=None):
    """Internal consistency (section 7.2) into `out`."""
    w = _writer(out, "consistency", dict(topics="Table 11" if topics is None else str(topics)), None, note, inputs)
    s = StudySummary("consistency", Path(out), description=(
        "Share of a topic's questions whose modal answer falls in the topic's majority opinion group "
        "(paper 000, section 7.2, Table 11)."))
    res = internal_consistency(answers, topics=topics)
    _tab(w, s, "consistency", res)
    _fig(w, s, "consistency", F.consistency_figure(res))
    wide = res.pivot_table(index="model", columns="topic", values="rate").reset_index()
    s.headlines = {"fully consistent models": int((wide.drop(columns="model") == 1).all(axis=1).sum()),
                   "models": int(len(wide))}
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(wide)
    w.finish()
    return s


def run_sensitivity(answers, human, out, *, default="none", conditions=None, metric="wasserstein", note=None,
                    inputs=None):
    """Prompt sensitivity (Table 2) into `out`."""
    w = _writer(out, "sensitivity", dict(default=default, conditions=conditions, metric=metric), None, note, inputs)
    s = StudySummary("sensitivity", Path(out), description=(
        "Pearson's r across countries between alignment under the default prompt and under each perturbed "
        "prompt (paper 000, Table 2)."))
    table, pairs = prompt_sensitivity(answers, human, default=default, conditions=conditions, metric=metric)
    _tab(w, s, "sensitivity", table)
    _tab(w, s, "pairs", pairs)
    if len(pairs):
        _fig(w, s, "table2_scatter", F.sensitivity_figure(pairs, table))
    s.headlines = {"lowest r": f"{table['r'].min():.4f}" if len(table) else "n/a",
                   "largest p": f"{table['p'].max():.3g}" if len(table) else "n/a"}
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(table)
    w.finish()
    return s


def run_subgroups(data, answers, out, *, factors, country=None, metric="likert", n_boot=5000, rng=None,
                  weight=None, scheme="multinomial", design_scheme=None, missing_as_group=True, intersections=(),
                  min_n=50, note=None, inputs=None, labels=None):
    """Subgroup study (ESS paper) into `out`: groups x factors, CIs (respondent and design-based), forest plots.

    Parameters
    ----------
    design_scheme : ReplicateScheme, optional
        A second, design-based replicate scheme (e.g. ``surveys.RaoWuScheme``);
        its intervals are written alongside (columns ``*_design``).
    country : str, optional
        The country factor, drawn in a separate forest plot (Fig. 3).
    labels : dict, optional
        ``{factor: readable name}`` for the figures.
    """
    import warnings

    from alignstat._warnings import SmallCellWarning

    seed = rng if isinstance(rng, (int, np.integer)) else None
    rng = np.random.default_rng(rng)
    facs = list(factors) + ([country] if country and country not in factors else [])
    params = dict(factors=facs, metric=metric, n_boot=n_boot, weight=weight,
                  scheme=getattr(scheme, "name", str(scheme)),
                  design_scheme=getattr(design_scheme, "name", None), missing_as_group=missing_as_group,
                  intersections=[list(i) for i in intersections], min_n=min_n)
    w = _writer(out, "subgroups", params, seed, note, inputs)
    s = StudySummary("subgroups", Path(out), description=(
        f"{metric.capitalize()}-mean alignment of every group of every factor with each model's majority answer; "
        f"{n_boot} bootstrap resamples ({params['scheme']}"
        + (f"; design-based: {params['design_scheme']}" if design_scheme is not None else "") + ")."))
    if {"n_samples", "refusal_rate", "agreement", "n_valid"} <= set(answers.columns):
        _tab(w, s, "answers_summary", answer_summary(answers))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallCellWarning)
        res = subgroup_alignment(data, answers, factors=facs, metric=metric, n_boot=n_boot, rng=rng, weight=weight,
                                 scheme=scheme, missing_as_group=missing_as_group, intersections=intersections,
                                 min_n=min_n)
        if design_scheme is not None:
            des = subgroup_alignment(data, answers, factors=facs, metric=metric, n_boot=n_boot, rng=rng,
                                     weight=weight, scheme=design_scheme, missing_as_group=missing_as_group,
                                     intersections=intersections, min_n=min_n)
            res = res.merge(des[["model", "factor", "group", "ci_low", "ci_high", "se"]],
                            on=["model", "factor", "group"], how="left", suffixes=("", "_design"))
    _tab(w, s, "subgroups", res)
    lab = labels or {}
    shown = res.assign(factor=res["factor"].map(lambda f: lab.get(f, f)))
    for i, m in enumerate(sorted(res["model"].unique(), key=str)):
        ov = res[(res.model == m) & (res.factor == OVERALL)]["alignment"]
        overall = float(ov.iloc[0]) if len(ov) else None
        main = [lab.get(f, f) for f in factors]
        _fig(w, s, f"forest_{i + 1}_groups", F.forest_figure(shown, m, overall=overall, factors=main))
        if country:
            _fig(w, s, f"forest_{i + 1}_countries", F.forest_figure(
                shown, m, overall=overall, factors=[lab.get(country, country)],
                title=f"Alignment by country: {m}"))
        inter = [f for f in res["factor"].unique() if " × " in str(f)]
        if inter:
            _fig(w, s, f"forest_{i + 1}_intersections", F.forest_figure(
                shown, m, overall=overall, factors=inter, title=f"Intersectional groups: {m}"))
    allrow = res[res.factor == OVERALL]
    s.headlines = {f"overall alignment, {r['model']}": f"{r['alignment']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
                   for _, r in allrow.iterrows()}
    spread = res[(res.factor != OVERALL) & ~res["small_cell"]].groupby(["model", "factor"])["alignment"]
    rng_tab = (spread.max() - spread.min()).rename("range").reset_index()
    if len(rng_tab):
        top = rng_tab.sort_values("range", ascending=False).iloc[0]
        s.headlines["widest spread between groups"] = f"{top['factor']} ({top['model']}): {top['range']:.4f}"
    s.headlines["small cells flagged"] = int(res.drop_duplicates(["factor", "group"])["small_cell"].sum())
    if caught:
        s.headlines["warnings"] = f"{len(caught)} small-cell warning(s); see the small_cell column"
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.preview = _md(res[["model", "factor", "group", "alignment", "ci_low", "ci_high", "n", "n_eff"]]
                    [res.factor != OVERALL].sort_values("alignment"), n=8)
    w.finish()
    return s
