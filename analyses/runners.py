"""Run a study end to end: compute, then write tables, figures, report and provenance atomically.

Each ``run_*`` function calls the study's library function inside a
:class:`~analyses.provenance.StudyWriter`: every table (CSV + Parquet), figure
(PNG + PDF), the study's ``report.md``/``report.html`` and ``provenance.json``
go into a temporary folder that replaces `out` only when the run is complete.
A failing run leaves `out` exactly as it was; a non-empty `out` is refused
unless ``overwrite=True``.  Each returns a :class:`StudySummary` that
:func:`analyses.report.write_report` puts on one page.  The CLI commands are
thin shells over these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import alignstat

from .provenance import StudyWriter

__all__ = ["StudySummary", "run_global", "run_steering", "run_temporal", "run_consistency", "run_sensitivity",
           "run_subgroups", "read_table"]


@dataclass
class StudySummary:
    """What a run produced: folder, headline numbers, labelled tables and figure names.

    Attributes
    ----------
    study : str
    folder : Path
        The study's output folder.
    headlines : dict
        Headline numbers as strings, for the report.
    figures : list of str
        Figure file names (PNG) in `folder`.
    tables : list of str
        Table names (``<name>.csv``/``.parquet``) in `folder`.
    previews : list of (str, DataFrame)
        Tables shown in the report, each with a caption saying what it shows.
    description : str
    figure_captions : dict
        ``{figure file: caption}``.
    """

    study: str
    folder: Path
    headlines: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    previews: list = field(default_factory=list)
    description: str = ""
    figure_captions: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"StudySummary(study={self.study!r}, folder={str(self.folder)!r}, {len(self.tables)} tables, "
                f"{len(self.figures)} figures)")

    def summary(self) -> str:
        """Return the study's headlines as a few lines of text."""
        lines = [f"{self.study}: {len(self.tables)} tables, {len(self.figures)} figures in {self.folder}"]
        lines += [f"  {k}: {v}" for k, v in self.headlines.items()]
        return "\n".join(lines)


def read_table(path) -> pd.DataFrame:
    """Read a tidy CSV or Parquet table, naming the file in errors."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"input file {str(p)!r} does not exist.")
    suf = p.suffix.lower()
    try:
        if suf == ".parquet":
            return pd.read_parquet(p)
        if suf in (".csv", ".txt"):
            return pd.read_csv(p)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise ValueError(f"input file {str(p)!r} could not be read as {suf[1:]} ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); save it as UTF-8 CSV or Parquet.") from exc
    raise ValueError(f"input file {str(p)!r}: unsupported format {suf!r} (expected .csv or .parquet).")


def _writer(out, study, params, seed, note, inputs, overwrite):
    w = StudyWriter(Path(out), study=study, params=params, seed=seed, note=note, overwrite=overwrite)
    for name, src in (inputs or {}).items():
        w.add_input(name, src)
    return w


def _fig(w, summary, name, fig, caption=None):
    w.figure(name, fig)
    summary.figures.append(f"{name}.png")
    if caption:
        summary.figure_captions[f"{name}.png"] = caption


def _tab(w, summary, name, frame):
    w.table(name, frame)
    summary.tables.append(name)


class _Warnings:
    """Record the warnings of a run (for the headlines, provenance and report), then issue them again."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self.caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def messages(self):
        seen = []
        for c in self.caught:
            m = f"{c.category.__name__}: {c.message}"
            if m not in seen:
                seen.append(m)
        return seen

    def __exit__(self, *exc):
        import warnings

        caught = list(self.caught)
        self._ctx.__exit__(*exc)
        if exc[0] is None:
            done = set()
            for c in caught:
                key = (c.category, str(c.message))
                if key not in done:
                    done.add(key)
                    warnings.warn_explicit(c.message, c.category, c.filename, c.lineno)
        return False


def _done(w, s, report, rec=None):
    """Headlines into provenance, the report into the folder, then move the folder into place."""
    from .report import write_report

    if rec is not None and rec.messages() and "warnings" not in s.headlines:
        msgs = rec.messages()
        s.headlines["warnings"] = "; ".join(msgs)[:600] + (" ..." if len("; ".join(msgs)) > 600 else "")
    for k, v in s.headlines.items():
        w.headline(k, v)
    s.previews = [_tidy_preview(c, f) for c, f in s.previews]
    if report:
        write_report(w.folder, [s], title=f"alignstat {s.study}", note=w.note)
    w.finish()
    s.folder = w.out
    return s


_CONSTANT_IN_CAPTION = ("test", "adjust", "family", "metric", "comparison")


def _tidy_preview(caption, frame):
    """Move columns that hold one value for the whole table (test, adjustment, family) into the caption."""
    moved = []
    for c in _CONSTANT_IN_CAPTION:
        if c in frame.columns and frame[c].nunique(dropna=False) == 1:
            moved.append(f"{c}: {frame[c].iloc[0]}")
            frame = frame.drop(columns=c)
    if "note" in frame.columns:
        frame = frame.drop(columns="note")
    return (caption + (" (" + "; ".join(moved) + ")" if moved else ""), frame)


def run_global(answers, human, out, *, metric="wasserstein", n_resamples=1000, top_k=5, tolerance=0.02, rng=None,
               note=None, inputs=None, max_model_figures=3, overwrite=False, report=True, **options):
    """Run the global study (RQ1) into `out`: scores, model summary, ranking, baseline, heatmaps.

    Parameters
    ----------
    answers, human : pandas.DataFrame
        Passed to :func:`analyses.global_alignment`.
    out : path
        Output folder; replaced atomically at the end of the run.
    metric, n_resamples, top_k, tolerance, rng
        Passed to :func:`analyses.global_alignment`.
    note : str, optional
        Label put on every table and figure (see :class:`StudyWriter`).
    inputs : dict, optional
        ``{name: path or DataFrame}`` hashed into ``provenance.json``.
    max_model_figures : int
        Ranking and baseline figures for this many best models.
    overwrite : bool
        Replace earlier outputs in a non-empty `out`.
    report : bool
        Write ``report.md`` and ``report.html`` into `out`.
    **options
        Further options of :func:`analyses.global_alignment` (``resample``,
        ``paper_defaults``, ``weights``, ...), with its defaults.

    Returns
    -------
    StudySummary
    """
    from . import figures as F
    from .global_study import global_alignment
    from .tables import interval_label

    options = {k: v for k, v in options.items() if v is not None}

    seed = rng if isinstance(rng, (int, np.integer)) else None
    params = dict(metric=metric, n_resamples=n_resamples, top_k=top_k, tolerance=tolerance,
                  **{k: getattr(v, "name", v) for k, v in options.items()})
    with _writer(out, "global", params, seed, note, inputs, overwrite) as w, _Warnings() as rec:
        s = StudySummary("global", w.folder)
        res = global_alignment(answers, human, metric=metric, n_resamples=n_resamples, top_k=top_k,
                               tolerance=tolerance, rng=rng, **options)
        ci = interval_label(res.scores)
        s.description = (
            "Alignment of each model with each country (mean over questions), the average-human baseline and "
            f"the over/under/appropriate classification (paper 000, RQ1). Intervals: {ci}.")
        _tab(w, s, "scores", res.scores)
        _tab(w, s, "models", res.models)
        _tab(w, s, "ranking", res.ranking)
        _tab(w, s, "country_matrix", res.countries)
        _tab(w, s, "per_question", res.per_question)
        if len(res.report):
            _tab(w, s, "repairs", res.report)
        _fig(w, s, "fig2a_models", F.model_summary_figure(res.scores, metric=metric),
             "Each model's alignment across countries (box: quartiles, diamond: mean, points: countries).")
        order = res.models.sort_values("mean", ascending=False)["model"].tolist()
        for i, m in enumerate(order[:max_model_figures]):
            _fig(w, s, f"fig2b_ranking_{i + 1}", F.ranking_figure(res.ranking, m),
                 f"Most and least aligned countries of {m} (whiskers: ± sd over questions).")
            _fig(w, s, f"fig2c_baseline_{i + 1}", F.baseline_figure(res.scores, m, tolerance=tolerance),
                 f"{m} against the average-human baseline, per country.")
        mm = res.model_matrix()
        _fig(w, s, "fig19_model_country", F.heatmap_figure(mm, title="Model x country alignment"),
             "Alignment of every model with every country (countries ordered by mean alignment).")
        _fig(w, s, "fig4_countries", F.country_heatmap_figure(
            res.countries, res.scores, order[0], k=min(6, max(1, res.scores["country"].nunique() // 2))),
            f"Country x country alignment among the first and last countries of {order[0]}.")
        best = res.models.sort_values("mean", ascending=False).iloc[0]
        s.headlines = {
            "best model (mean over countries)": f"{best['model']} ({best['mean']:.4f})",
            "countries": str(int(res.scores["country"].nunique())),
            "share of model x country pairs under-aligned":
                f"{(res.scores['classification'] == 'under').mean():.2f}",
        }
        s.previews.append(("Model-level summary: mean, sd, median, min and max of each model's alignment over "
                           "countries, and how many countries it over-, under- or appropriately aligns with.",
                           res.models))
        return _done(w, s, report, rec)


def run_steering(answers, human, out, *, metric="wasserstein", test="t", adjust="holm", note=None, inputs=None,
                 overwrite=False, report=True):
    """Run the steering study (RQ2) into `out`: Tables 1/9 with stars, one figure per country.

    Parameters are those of :func:`run_global` and :func:`analyses.steering_alignment`
    (`adjust`: ``"holm"`` (default), ``"bh"`` or None (the paper's unadjusted stars) over all tests of
    the table).
    """
    from . import figures as F
    from .steering import steering_alignment, steering_table
    from .tables import format_pvalue

    params = dict(metric=metric, test=test, adjust=adjust)
    with _writer(out, "steering", params, None, note, inputs, overwrite) as w, _Warnings() as rec:
        s = StudySummary("steering", w.folder, description=(
            "Alignment per target country, model and steering method; stars: paired test across questions "
            "of per-question alignment, steered vs no steering, same model and country (paper 000, RQ2)."))
        res = steering_alignment(answers, human, metric=metric, test=test, adjust=adjust)
        _tab(w, s, "steering", res)
        if res.attrs.get("repairs"):
            _tab(w, s, "repairs", pd.DataFrame(res.attrs["repairs"]))
        tab = steering_table(res)
        _tab(w, s, "table1_layout", tab)
        for i, c in enumerate(sorted(res["country"].unique())):
            _fig(w, s, f"steering_{i + 1}_{''.join(ch for ch in str(c) if ch.isalnum())}", F.steering_figure(res, c),
                 f"Steering towards {c}: alignment per method and model (stars: p vs no steering).")
        pcol = "pvalue_adj"
        sig = res[(res.method != "none") & res[pcol].notna()]
        s.headlines = {"paired tests": str(int(len(sig))),
                       "significant at 0.05": f"{int((sig[pcol] < 0.05).sum())} of {len(sig)}",
                       "smallest p-value" + (" (adjusted)" if adjust else ""):
                           format_pvalue(sig[pcol].min()) if len(sig) else "n/a",
                       "test": str(res["test"].iloc[0]), "adjustment": adjust or "none"}
        shown = res[[c for c in res.columns if c not in ("stars", "statistic")]]
        s.previews.append(("Alignment per country, steering method and model; difference from no steering, and "
                           f"the paired {test}-test across questions" + (f" ({adjust}-adjusted over the table)"
                                                                         if adjust else "") + ".", shown))
        return _done(w, s, report, rec)


def run_temporal(answers, human, out, *, tau=0.02, metric="wasserstein", filter_wave=None, note=None, inputs=None,
                 overwrite=False, report=True):
    """Run the temporal study (RQ3) into `out`: tau filter, per-wave means and sd bands (Fig. 3)."""
    import warnings

    from alignstat._warnings import SmallCellWarning

    from . import figures as F
    from .temporal import temporal_alignment

    params = dict(tau=tau, metric=metric, filter_wave=filter_wave)
    with _writer(out, "temporal", params, None, note, inputs, overwrite) as w, _Warnings() as rec:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmallCellWarning)
            res = temporal_alignment(answers, human, tau=tau, metric=metric, filter_wave=filter_wave)
        w.params.update(res.params)
        s = StudySummary("temporal", w.folder, description=(
            f"Countries kept by Eq. 3 (|A_M - A_avg| < tau = {res.params['tau']:g}, {res.params['tau_mode']}) on "
            f"wave {res.params['filter_wave']}, then the model's alignment with those countries in every wave "
            "(paper 000, RQ3)."))
        _tab(w, s, "filter", res.filter)
        _tab(w, s, "per_country", res.per_country)
        _tab(w, s, "by_wave", res.by_wave)
        if len(res.report):
            _tab(w, s, "repairs", res.report)
        filt = res.by_wave[res.by_wave["countries"] == "tau-filtered"]
        if len(filt):
            _fig(w, s, "fig3_waves_filtered", F.temporal_figure(filt),
                 "Mean alignment per wave over the tau-filtered countries (band: ± sd over countries).")
        _fig(w, s, "fig3_waves_all_countries", F.temporal_figure(res.by_wave[res.by_wave["countries"] == "all"]),
             "Mean alignment per wave over all countries (band: ± sd over countries).")
        kept = res.filter.groupby("model")["kept"].sum()
        s.headlines = {f"countries kept for {m}": str(int(v)) for m, v in kept.items()}
        s.headlines["waves"] = ", ".join(str(x) for x in res.params["waves"])
        if caught:
            s.headlines["warnings"] = "; ".join(str(c.message) for c in caught)[:300]
        s.previews.append(("Mean alignment per model and wave (mean and sd over countries), for the tau-filtered "
                           "countries and for all countries.", res.by_wave))
        return _done(w, s, report, rec)


def run_consistency(answers, out, *, topics=None, note=None, inputs=None, overwrite=False, report=True):
    """Run the internal-consistency study (section 7.2) into `out`."""
    from . import figures as F
    from .consistency import internal_consistency

    params = dict(topics="Table 11" if topics is None else str(topics))
    with _writer(out, "consistency", params, None, note, inputs, overwrite) as w, _Warnings() as rec:
        s = StudySummary("consistency", w.folder, description=(
            "Share of a topic's questions whose modal answer falls in the topic's majority opinion group "
            "(paper 000, section 7.2, Table 11)."))
        res = internal_consistency(answers, topics=topics)
        _tab(w, s, "consistency", res)
        _fig(w, s, "consistency", F.consistency_figure(res),
             "Internal-consistency rate of each model on each topic.")
        wide = res.pivot_table(index="model", columns="topic", values="rate").reset_index()
        wide.columns.name = None
        s.headlines = {"fully consistent models": str(int((wide.drop(columns="model") == 1).all(axis=1).sum())),
                       "models": str(int(len(wide)))}
        s.previews.append(("Internal-consistency rate per model (rows) and topic (columns).", wide))
        return _done(w, s, report, rec)


def run_sensitivity(answers, human, out, *, default="none", conditions=None, metric="wasserstein", note=None,
                    inputs=None, overwrite=False, report=True):
    """Run the prompt-sensitivity study (Table 2) into `out`."""
    from . import figures as F
    from .sensitivity import prompt_sensitivity
    from .tables import format_pvalue

    params = dict(default=default, conditions=conditions, metric=metric)
    with _writer(out, "sensitivity", params, None, note, inputs, overwrite) as w, _Warnings() as rec:
        s = StudySummary("sensitivity", w.folder, description=(
            "Pearson's r across countries between alignment under the default prompt and under each perturbed "
            "prompt (paper 000, Table 2)."))
        table, pairs = prompt_sensitivity(answers, human, default=default, conditions=conditions, metric=metric)
        _tab(w, s, "sensitivity", table)
        _tab(w, s, "pairs", pairs)
        if len(pairs):
            _fig(w, s, "table2_scatter", F.sensitivity_figure(pairs, table),
                 "Country scores under the default prompt against each perturbed prompt (line: y = x).")
        s.headlines = {"lowest r": f"{table['r'].min():.4f}" if len(table) else "n/a",
                       "largest p-value": format_pvalue(table["pvalue"].max()) if len(table) else "n/a"}
        s.previews.append((f"Pearson's r across countries between the default prompt ({default}) and each "
                           "perturbed prompt, per model (CI: Fisher z).", table))
        return _done(w, s, report, rec)


def _subgroup_preview(res, factors_shown):
    """Build the wide table: factor, group, n, then one ``estimate [CI]`` column per model."""
    from .tables import format_estimate

    sub = res[res["factor"].isin(factors_shown)]
    lo, hi = ("ci_low", "ci_high")
    cell = [format_estimate(a, l_, h_) + (" †" if sc else "")
            for a, l_, h_, sc in zip(sub["alignment"], sub[lo], sub[hi], sub["small_cell"])]
    wide = sub.assign(cell=cell).pivot_table(index=["factor", "group"], columns="model", values="cell",
                                             aggfunc="first", sort=False)
    n = sub.drop_duplicates(["factor", "group"]).set_index(["factor", "group"])["n"]
    wide.insert(0, "n", n.reindex(wide.index).astype("Int64").astype(str))
    wide.columns.name = None
    return wide.reset_index()


# options of subgroup_alignment that subgroup_comparisons shares (the same design and resampling)
_COMPARISON_OPTIONS = ("metric", "n_resamples", "weights", "strata", "psu", "paper_defaults", "scheme",
                       "confidence_level", "missing_as_group", "missing_label", "min_n", "questions", "positions")


def run_subgroups(data, answers, out, *, factors, country=None, labels=None, shared_xlim=True,
                  comparisons=None, note=None, inputs=None, overwrite=False, report=True, rng=None, **options):
    """Run the subgroup study (ESS paper) into `out`: groups x factors, intervals, random-group null, forest plots.

    Parameters
    ----------
    data, answers, factors, rng
        Passed to :func:`analyses.subgroup_alignment`.
    country : str, optional
        The country factor, drawn in a separate forest plot (Fig. 3).
    labels : dict, optional
        ``{factor: readable name}`` for the figures.
    shared_xlim : bool
        One x-range for every model's forest plots (so they compare at a glance).
    comparisons : str or sequence of {"rest", "pairs"}, optional
        Also run :func:`analyses.subgroups.subgroup_comparisons` (each group
        against the rest of its factor, and/or every pair within a factor;
        same design, adjusted p-values) into ``comparisons.csv``.
    overwrite, report, note, inputs
        As in :func:`run_global`.
    **options
        Every other option of :func:`analyses.subgroup_alignment`
        (``metric``, ``n_resamples``, ``weights``, ``strata``, ``psu``,
        ``scheme``, ``missing_as_group``, ``intersections``, ``min_n``, ...),
        with its defaults.  The tables, figures and report show the
        intervals the study computed (its ``interval`` column: design-based
        where the data carry a design).

    Returns
    -------
    StudySummary
    """
    import warnings

    from alignstat._warnings import SmallCellWarning

    from . import figures as F
    from .subgroups import OVERALL, answer_summary, subgroup_alignment
    from .tables import interval_label

    options = {k: v for k, v in options.items() if v is not None}
    min_n = options.get("min_n", alignstat.SMALL_CELL_N)
    metric = options.get("metric", "likert")
    seed = rng if isinstance(rng, (int, np.integer)) else None
    rng = np.random.default_rng(rng)
    factors = [factors] if isinstance(factors, str) else list(factors)
    facs = factors + ([country] if country and country not in factors else [])
    params = {**{k: getattr(v, "name", v) for k, v in options.items()}, "factors": facs}
    with _writer(out, "subgroups", params, seed, note, inputs, overwrite) as w, _Warnings() as rec:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmallCellWarning)
            res = subgroup_alignment(data, answers, factors=facs, rng=rng, **options)
        res.attrs = {}
        shown_ci = interval_label(res)
        s = StudySummary("subgroups", w.folder, description=(
            f"{metric.capitalize()}-mean alignment of every group of every factor with each model's answers. "
            f"Intervals: {shown_ci}."
            + (" Grey bands in the forest plots: the range (95%) of alignment of random groups of the same size "
               "(random-group null)." if res["null_low"].notna().any() else "")))
        # repeated-sample answers (majority_vote or the inference store) carry their sample counts
        if {"n_samples", "n_valid_samples", "agreement", "refusal_share"} <= set(answers.columns):
            summ = answer_summary(answers)
            _tab(w, s, "answers_summary", summ)
            s.previews.append(("Model answers: questions, disagreement with the majority vote, refusals and samples "
                               "per model.", summ))
        _tab(w, s, "subgroups", res)
        lab = labels or {}
        shown = res.assign(factor=res["factor"].map(lambda f: lab.get(f, f)))
        xlim = None
        if shared_xlim:
            body = res[res["factor"] != OVERALL]
            vals = pd.concat([body["alignment"], body["ci_low"], body["ci_high"]]).to_numpy(dtype=float)
            vals = vals[np.isfinite(vals)]
            if len(vals):
                pad = 0.05 * max(vals.max() - vals.min(), 1e-3)
                xlim = (float(vals.min() - pad), float(vals.max() + pad))
        inter = [f for f in res["factor"].unique() if " × " in str(f)]
        for i, m in enumerate(sorted(res["model"].unique(), key=str)):
            ov = res[(res.model == m) & (res.factor == OVERALL)]["alignment"]
            overall = float(ov.iloc[0]) if len(ov) else None
            main = [lab.get(f, f) for f in factors]
            _fig(w, s, f"forest_{i + 1}_groups", F.forest_figure(shown, m, overall=overall, factors=main, xlim=xlim,
                                                                 interval=shown_ci),
                 f"Alignment of each group with {m} (point: estimate, bar: {shown_ci}).")
            if country:
                _fig(w, s, f"forest_{i + 1}_countries", F.forest_figure(
                    shown, m, overall=overall, factors=[lab.get(country, country)], xlim=xlim, interval=shown_ci,
                    title=f"Alignment by country: {m}"), f"Alignment of each country with {m} (bar: {shown_ci}).")
            if inter:
                _fig(w, s, f"forest_{i + 1}_intersections", F.forest_figure(
                    shown, m, overall=overall, factors=inter, title=f"Intersectional groups: {m}", xlim=xlim,
                    interval=shown_ci), f"Alignment of each intersectional group with {m} (bar: {shown_ci}).")
        allrow = res[res.factor == OVERALL]
        s.headlines = {f"overall alignment, {r['model']}": f"{r['alignment']:.4f} [{r['ci_low']:.4f}, "
                                                             f"{r['ci_high']:.4f}]"
                       for _, r in allrow.iterrows()}
        spread = res[(res.factor != OVERALL) & ~res["small_cell"]].groupby(["model", "factor"])["alignment"]
        rng_tab = (spread.max() - spread.min()).rename("range").reset_index()
        if len(rng_tab):
            top = rng_tab.sort_values("range", ascending=False).iloc[0]
            s.headlines["widest spread between groups"] = f"{top['factor']} ({top['model']}): {top['range']:.4f}"
        s.headlines["small cells flagged (n < %d)" % min_n] = str(
            int(res.drop_duplicates(["factor", "group"])["small_cell"].sum()))
        if caught:
            s.headlines["warnings"] = f"{len(caught)} small-cell warning(s); see the small_cell column"
        if comparisons:
            from .subgroups import subgroup_comparisons

            copts = {k: v for k, v in options.items() if k in _COMPARISON_OPTIONS}
            comp = subgroup_comparisons(data, answers, factors=facs, rng=rng, compare=comparisons, **copts)
            comp.attrs = {}
            _tab(w, s, "comparisons", comp)
            sig_c = comp[comp["pvalue_adj"] < 0.05]
            s.headlines["group differences significant after adjustment (p_adj < 0.05)"] = (
                f"{len(sig_c)} of {len(comp)}")
            if len(sig_c):
                s.previews.append((
                    "Group differences in alignment that remain significant after adjustment (pvalue_adj < 0.05; "
                    "families: model / factor / comparison); group_b '(rest)' is everyone else with a value of the "
                    f"factor. All {len(sig_c)} such rows of comparisons.csv.",
                    sig_c.drop(columns="family")))
        null_preview = []
        if res["p_null"].notna().any():
            out_null = res[(res.factor != OVERALL) & (res["p_null"] < 0.05)]
            cols = ["model", "factor", "group", "n", "alignment", "alignment_bc", "null_low", "null_high", "p_null",
                    "ceiling", "alignment_rel"]
            s.headlines["groups outside the random-group null (p_null < 0.05)"] = (
                f"{len(out_null)} of {int((res.factor != OVERALL).sum())} model x group rows")
            if len(out_null):
                null_preview.append((
                    "Groups whose alignment lies outside what random groups of the same size give (p_null < 0.05, "
                    "unadjusted): estimate, bias-corrected estimate (alignment_bc), the random-group null's 95% range "
                    "(null_low, null_high), the ceiling a perfect model could reach and the score as a share of it "
                    f"(alignment_rel). All {len(out_null)} such rows.", out_null[cols].sort_values(["model", "p_null"])))
        s.previews.append((f"Alignment of every group with each model (columns): estimate [{shown_ci}]; "
                           f"n: respondents; † small cell (n < {min_n}).",
                           _subgroup_preview(res, [OVERALL] + list(pd.unique(res["factor"][res.factor != OVERALL])))))
        s.previews += null_preview
        return _done(w, s, report, rec)
