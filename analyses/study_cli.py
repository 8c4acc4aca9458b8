"""Click commands of the studies: thin shells over :mod:`analyses.runners`.

Every command reads its inputs, calls one ``run_*`` library function and
prints where the outputs went; library errors become ``click.ClickException``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import pandas as pd

__all__ = ["commands"]


def _has_column(path, column):
    """Whether a tidy CSV/Parquet file has `column` (None for anything else: folders, answer stores)."""
    p = Path(path)
    suf = p.suffix.lower()
    try:
        if suf in (".csv", ".txt"):
            return column in pd.read_csv(p, nrows=0).columns
        if suf in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return column in pq.read_schema(p).names
    except Exception:  # noqa: BLE001 - unreadable files are reported by read_results
        return None
    return None


def _answers(paths):
    """Model answers: seed ``results.csv`` files/folders, tidy CSV/Parquet or answer stores.

    A tidy file without a ``condition`` column holds unsteered answers
    (condition ``"none"``): no hidden required column.
    """
    from inference import read_results

    frames = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for p in paths:
                cond = "none" if _has_column(p, "condition") is False else None
                frames.append(read_results([str(p)], condition=cond))
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs = {}
    return frame


def _human(path):
    from .runners import read_table

    try:
        return read_table(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _inputs(answers=(), human=None, data=None, extra=None):
    out = {}
    for i, p in enumerate(answers):
        out[f"answers[{i}]"] = Path(p)
    if human:
        out["human"] = Path(human)
    if data:
        out["data"] = Path(data)
    out.update(extra or {})
    return out


def _check_out(out, overwrite):
    """Refuse a bad --out before reading any input."""
    from ._atomic import check_out

    try:
        check_out(out, overwrite=overwrite)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(fn, *args, **kwargs):
    try:
        s = fn(*args, **kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        msg = str(exc) if not isinstance(exc, KeyError) else f"missing key or column {exc}"
        raise click.ClickException(msg) from exc
    except OSError as exc:
        raise click.ClickException(f"could not write the outputs: {exc}") from exc
    click.echo(f"{s.study}: wrote {len(s.tables)} tables and {len(s.figures)} figures to {s.folder}")
    for k, v in s.headlines.items():
        click.echo(f"  {k}: {v}")
    return s


_answers_opt = click.option("--answers", "answers", multiple=True, required=True, type=click.Path(exists=True),
                            help="Model answers: seed results.csv files or folders, tidy CSV/Parquet, or answer "
                                 "stores (repeatable).")
_human_opt = click.option("--human", required=True, type=click.Path(exists=True, dir_okay=False),
                          help="Tidy human distributions (CSV/Parquet: question, option, prob, country[, wave]); "
                               "for `global` also a survey file read with its profile (respondent microdata).")
_out_opt = click.option("--out", required=True, type=click.Path(),
                        help="Output folder; written atomically (a failing run leaves it unchanged). A non-empty "
                             "folder is refused unless --overwrite.")
_overwrite_opt = click.option("--overwrite", is_flag=True,
                              help="Replace the earlier alignstat outputs in a non-empty --out.")
_metric_opt = click.option("--metric", type=click.Choice(["wasserstein", "likert", "jsd", "tvd"]),
                           default="wasserstein", show_default=True)


def _one_wave(frame, path, wave):
    """Keep one wave of a human table that holds several per country (or say which to choose)."""
    if "wave" not in frame.columns:
        if wave is not None:
            raise click.ClickException(f"--wave {wave} given but {path} has no `wave` column.")
        return frame
    waves = sorted(pd.unique(frame["wave"].dropna()).tolist())
    if wave is not None:
        keep = frame[frame["wave"].astype(str) == str(wave)]
        if keep.empty:
            raise click.ClickException(f"--wave {wave}: {path} has no rows of that wave (its waves: {waves}).")
        return keep.drop(columns="wave")
    if "country" in frame.columns and frame.groupby("country")["wave"].nunique().max() > 1:
        raise click.ClickException(
            f"{path} holds several waves per country (column `wave`: {waves}); pass --wave to choose one "
            f"(e.g. --wave {waves[-1]}), or use `alignstat temporal` to compare waves.")
    return frame.drop(columns="wave")


@click.command("global")
@_answers_opt
@_human_opt
@_out_opt
@_overwrite_opt
@_metric_opt
@click.option("--n-resamples", default=1000, show_default=True, help="Question-bootstrap replicates (0: no CI).")
@click.option("--top-k", default=5, show_default=True, help="Countries shown at each end of the ranking.")
@click.option("--tolerance", default=0.02, show_default=True, help="Band of 'appropriate' alignment.")
@click.option("--condition", default=None, help="Keep only answers of this condition (e.g. none).")
@click.option("--wave", default=None, help="Keep only this wave of a --human table with a `wave` column.")
@click.option("--profile", default=None,
              help="Survey profile of a --human survey file (.sav, .zsav, .dta, or any file with --profile): "
                   "respondent microdata with the profile's design give respondent (design) intervals.")
@click.option("--paper-defaults", is_flag=True, default=None,
              help="Microdata: reproduce the paper (question bootstrap only, unweighted).")
@click.option("--seed", default=0, show_default=True)
def global_command(answers, human, out, overwrite, metric, n_resamples, top_k, tolerance, condition, wave, profile,
                   paper_defaults, seed):
    """Alignment of every model with every country (paper 000, RQ1).

    Writes scores with question-bootstrap CIs, the model summary, the top
    and bottom countries, the average-human baseline with the
    over/under/appropriate classification, the heatmaps and a report.

    Example:

    \b
        alignstat global --answers results/RQ1 --human wvs7_countries.parquet --out out/global
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import run_global

    _check_out(out, overwrite)
    a = _answers(answers)
    if condition is not None:
        if "condition" not in a.columns:
            raise click.ClickException("--condition given but the answers have no `condition` column.")
        a = a[a["condition"] == condition]
    if profile is not None or Path(human).suffix.lower() in _SURVEY_SUFFIXES:
        frame, design = _survey_frame(human, profile, (), (), "country", a, (None, None, None))
        if wave is not None:
            raise click.ClickException("--wave applies to a table of distributions; a survey file holds one wave.")
        h = frame if design is None or paper_defaults else design
    else:
        h = _one_wave(_human(human), human, wave)
    _run(run_global, a, h, out, metric=metric, n_resamples=n_resamples, top_k=top_k, tolerance=tolerance,
         rng=seed, inputs=_inputs(answers, human), overwrite=overwrite, paper_defaults=paper_defaults)


@click.command("steering")
@_answers_opt
@_human_opt
@_out_opt
@_overwrite_opt
@_metric_opt
@click.option("--test", type=click.Choice(["t", "wilcoxon"]), default="t", show_default=True,
              help="Paired test across questions, steered vs no steering (same model and country).")
@click.option("--adjust", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-testing adjustment over all tests of the table ('none': the paper's unadjusted "
                   "stars).")
def steering_command(answers, human, out, overwrite, metric, test, adjust):
    """Alignment per country x model x steering method with significance stars (RQ2, Tables 1/9).

    Unsteered answers (condition "none") are compared with every target
    country; steered answers carry their target in the `country` column.

    Example:

    \b
        alignstat steering --answers results/RQ1 --answers results/RQ2 --human wvs7_countries.parquet --out out/steering
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import run_steering

    _check_out(out, overwrite)
    _run(run_steering, _answers(answers), _human(human), out, metric=metric, test=test,
         adjust=None if adjust == "none" else adjust, inputs=_inputs(answers, human), overwrite=overwrite)


@click.command("temporal")
@_answers_opt
@_human_opt
@_out_opt
@_overwrite_opt
@_metric_opt
@click.option("--tau", default="0.02", show_default=True, help="Margin of Eq. 3, or 'auto'.")
@click.option("--filter-wave", type=int, default=None, help="Wave of the tau filter (default: the latest).")
def temporal_command(answers, human, out, overwrite, metric, tau, filter_wave):
    """Alignment across survey waves for the countries kept by the tau filter (RQ3, Eq. 3, Fig. 3).

    The human table needs `country` and `wave` columns.

    Example:

    \b
        alignstat temporal --answers results/RQ1 --human wvs_waves.parquet --out out/temporal --tau 0.02
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import run_temporal

    _check_out(out, overwrite)
    try:
        tau_v = tau if tau == "auto" else float(tau)
    except ValueError as exc:
        raise click.ClickException(f"--tau must be a number or 'auto', got {tau!r}.") from exc
    _run(run_temporal, _answers(answers), _human(human), out, tau=tau_v, metric=metric, filter_wave=filter_wave,
         inputs=_inputs(answers, human), overwrite=overwrite)


@click.command("consistency")
@_answers_opt
@_out_opt
@_overwrite_opt
@click.option("--topics", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Topic table (JSON {topic: {question: {group: [options]}}} or CSV topic,question,group,option); "
                   "default paper 000's Table 11.")
def consistency_command(answers, out, overwrite, topics):
    """Measure the internal consistency of each model on each topic (paper 000, section 7.2, Table 11).

    Example:

    \b
        alignstat consistency --answers results/RQ1 --out out/consistency
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import run_consistency

    _check_out(out, overwrite)
    _run(run_consistency, _answers(answers), out, topics=topics, inputs=_inputs(answers), overwrite=overwrite)


@click.command("sensitivity")
@_answers_opt
@_human_opt
@_out_opt
@_overwrite_opt
@_metric_opt
@click.option("--default", "default", default="none", show_default=True, help="The default condition.")
@click.option("--condition", "conditions", multiple=True, help="Perturbed conditions (default: all others).")
def sensitivity_command(answers, human, out, overwrite, metric, default, conditions):
    """Pearson's r of country scores between the default and perturbed prompts (Table 2).

    Example:

    \b
        alignstat sensitivity --answers results/RQ1 --answers results/Discussion --human wvs7_countries.parquet --out out/sensitivity
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import run_sensitivity

    _check_out(out, overwrite)
    _run(run_sensitivity, _answers(answers), _human(human), out, default=default,
         conditions=list(conditions) or None, metric=metric, inputs=_inputs(answers, human), overwrite=overwrite)


_SURVEY_SUFFIXES = (".sav", ".zsav", ".dta")


def _survey_frame(path, profile, questions, factors, country, answers, design_cols):
    """Respondent data from a survey file read with its profile: questions as positions, readable factors, design.

    Returns the frame and the ``surveys.Design`` the profile documents (None
    when design columns are given explicitly: they are copied into the frame).
    """
    import surveys

    try:
        sd = surveys.read_survey(path, profile=profile or "auto")
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    raw = sd.data
    prof = sd.profile
    if prof is None:
        raise click.ClickException(f"{path}: no survey profile recognised; pass --profile (one of "
                                   f"{sorted(surveys.PROFILES)}) or give a CSV/Parquet respondent table.")
    qs = list(questions) or [q for q in pd.unique(answers["question"].astype(str)) if q in raw.columns]
    if not qs:
        raise click.ClickException(f"none of the answers' questions {list(pd.unique(answers['question']))[:10]} is "
                                   f"a column of {path}; pass --question with the survey's variable names.")
    missing = [q for q in qs if q not in raw.columns]
    if missing:
        raise click.ClickException(f"--question {missing} not in {path}.")
    wanted = [f for f in [*factors, *([country] if country else [])] if f != "country"]
    known = set(getattr(prof, "factors", {}) or {})
    built = [f for f in wanted if f in known]
    plain = [f for f in wanted if f not in known]
    bad = [f for f in plain if f not in raw.columns]
    if bad:
        raise click.ClickException(f"factor(s) {bad} are neither factors of the {prof.name!r} profile "
                                   f"({sorted(known)}) nor columns of {path}.")
    try:
        frame = surveys.responses(sd, variables=qs, factors=built or [])
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    if len(frame) != len(raw):
        raise click.ClickException(f"{path}: respondent rows changed while reading ({len(raw)} -> {len(frame)}).")
    for f in plain:
        frame[f] = raw[f].to_numpy()
    if country == "country" and "country" not in frame.columns:
        raise click.ClickException(f"--country country: the {prof.name!r} profile names no country column in {path}.")
    explicit = [c for c in design_cols if c]
    if explicit:
        for c in explicit:
            if c not in raw.columns:
                raise click.ClickException(f"design column {c!r} is not in {path}.")
            frame[c] = raw[c].to_numpy()
        return frame, None
    # the design the profile documents (surveys.design: e.g. ESS anweight, strata cntry x stratum, PSUs psu)
    try:
        d = surveys.design(sd)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{path}: the {prof.name!r} profile's design could not be built ({exc}); "
                                   "name --weights/--strata/--psu or pass --paper-defaults.") from exc
    wname = getattr(d, "weights_name", None)
    if wname and wname in raw.columns:
        frame[wname] = raw[wname].to_numpy()
    design = surveys.Design(frame, weights=wname if wname in frame.columns else d.weights,
                            strata=d.strata_codes if d.has_strata else None,
                            psu=d.psu_codes if d.has_psu else None, lonely_psu=d.lonely_psu)
    return frame, design


@click.command("subgroups")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Respondent data: a survey file (.sav, .zsav, .dta, or any file with --profile) read with its "
                   "profile (questions, readable factors, weights and design), or a CSV/Parquet table with one "
                   "column per question (positions) and one per factor.")
@_answers_opt
@_out_opt
@_overwrite_opt
@click.option("--factor", "factors", multiple=True, required=True,
              help="Factor (repeatable): a column, or a readable factor of the profile (e.g. gender, generation).")
@click.option("--profile", default=None,
              help="Survey profile of --data (ess, wvs7, wvs_ts, ...; default for survey files: guessed).")
@click.option("--question", "questions", multiple=True,
              help="Survey variable of a question (repeatable; default: every question of the answers in the file).")
@click.option("--country", default=None, help="Country column (separate forest plot).")
@click.option("--metric", type=click.Choice(["likert", "wasserstein"]), default="likert", show_default=True)
@click.option("--n-resamples", type=int, default=None, help="Bootstrap replicates [default: as in Python, 5000].")
@click.option("--weights", default=None,
              help="Weight column [default: the design weight the file's profile knows, e.g. ESS anweight].")
@click.option("--strata", default=None, help="Stratum column of the design [default: from the profile].")
@click.option("--psu", default=None, help="PSU column of the design [default: from the profile].")
@click.option("--paper-defaults", is_flag=True, default=None,
              help="Reproduce the paper: unweighted, plain respondent bootstrap.")
@click.option("--intersection", "intersections", multiple=True,
              help="Comma-separated factors forming intersectional groups, e.g. gender,education.")
@click.option("--missing-as-group/--no-missing-as-group", default=None,
              help="Respondents with a missing factor value form their own group [default: as in Python, no].")
@click.option("--min-n", default=None, type=int,
              help="Groups below this size are flagged small_cell [default: alignstat.SMALL_CELL_N].")
@click.option("--shared-x/--no-shared-x", default=True, show_default=True,
              help="One x-range for every model's forest plots.")
@click.option("--compare", "comparisons", multiple=True, type=click.Choice(["rest", "pairs"]),
              help="Also test group differences (each group vs the rest of its factor, and/or every pair), "
                   "adjusted within model and factor, into comparisons.csv (repeatable).")
@click.option("--seed", default=0, show_default=True)
def subgroups_command(data, answers, out, overwrite, factors, profile, questions, country, metric, n_resamples,
                      weights, strata, psu, paper_defaults, intersections, missing_as_group, min_n, shared_x,
                      comparisons, seed):
    """Alignment of every socio-demographic group with each model, with bootstrap CIs (the ESS study).

    Defaults are those of the Python function `analyses.subgroup_alignment`:
    weights and design-based intervals where the data carry a design (a
    survey file read with its profile does), every group of a factor
    without a "missing" group, small cells below alignstat.SMALL_CELL_N.

    Example:

    \b
        alignstat subgroups --data ESS11.sav --profile ess --answers answers.jsonl --factor gender --factor generation --out out/subgroups
        alignstat subgroups --data respondents.parquet --answers answers.csv --factor gender --out out/subgroups
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .runners import read_table, run_subgroups

    _check_out(out, overwrite)
    ans = _answers(answers)
    if profile is not None or Path(data).suffix.lower() in _SURVEY_SUFFIXES:
        frame, design = _survey_frame(data, profile, questions, factors, country, ans, (weights, strata, psu))
        if design is not None and not paper_defaults:
            frame = design
    else:
        try:
            frame = read_table(data)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        for c in [*factors, *([country] if country else []), *(x for x in (weights, strata, psu) if x)]:
            if c not in frame.columns:
                raise click.ClickException(f"column {c!r} is not in {data} (columns: {list(frame.columns)[:30]}).")
        if questions:
            keep = set(questions)
            ans = ans[ans["question"].astype(str).isin(keep)]
    inter = [tuple(x.strip() for x in s.split(",")) for s in intersections]
    opts = dict(metric=metric, n_resamples=n_resamples, weights=weights, strata=strata, psu=psu,
                paper_defaults=paper_defaults, missing_as_group=missing_as_group, min_n=min_n,
                intersections=inter or None)
    _run(run_subgroups, frame, ans, out, factors=list(factors), country=country, rng=seed,
         shared_xlim=shared_x, comparisons=list(comparisons) or None, inputs=_inputs(answers, data=data), overwrite=overwrite, **opts)


def _write_text(path, text, overwrite):
    """Write one file atomically (temporary file + rename); an existing file needs --overwrite."""
    import os
    import tempfile

    p = Path(path).expanduser().absolute()
    for q in [p, *p.parents]:
        if q.exists() and q != p and not q.is_dir():
            raise click.ClickException(f"--output {path}: {q} is a regular file, not a folder.")
    if p.is_dir():
        raise click.ClickException(f"--output {path} is a folder; give a file name.")
    if p.exists() and not overwrite:
        raise click.ClickException(f"--output {path} exists; pass --overwrite to replace it.")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.tmp-", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _render(frame, fmt, caption, label=None):
    from .tables import to_latex, to_markdown

    if fmt == "latex":
        return to_latex(frame, caption=caption, label=label) + "\n"
    if fmt == "markdown":
        return to_markdown(frame, caption=caption) + "\n"
    f = frame.copy()
    f.attrs = {}
    return f.to_csv(index=False)


def _read_result(path, name):
    """Read a study table: a CSV/Parquet file, or `name`.csv inside a study folder."""
    from .runners import read_table

    p = Path(path)
    if p.is_dir():
        cand = [p / f"{name}.csv", p / f"{name}.parquet"]
        found = next((c for c in cand if c.is_file()), None)
        if found is None:
            raise click.ClickException(f"{path} is a folder without {name}.csv or {name}.parquet; give the table "
                                       "file itself.")
        p = found
    try:
        return read_table(p)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


_format_opt = click.option("--format", "fmt", type=click.Choice(["markdown", "latex", "csv"]), default="markdown",
                           show_default=True, help="Output format.")


@click.command("table")
@click.argument("table", type=click.Path(exists=True))
@_format_opt
@click.option("--columns", default=None, help="Comma-separated columns to keep (after formatting), in order.")
@click.option("--query", default=None, help="Keep rows matching a pandas query, e.g. \"factor == 'gender'\".")
@click.option("--digits", default=3, show_default=True, help="Decimal places of estimates.")
@click.option("--caption", default=None, help="Table caption (the interval type is appended).")
@click.option("--label", default=None, help="LaTeX \\label of the table.")
@click.option("-o", "--output", default=None, type=click.Path(), help="Write to this file (default: print).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --output file.")
def table_command(table, fmt, columns, query, digits, caption, label, output, overwrite):
    """Format a study table for a paper: estimates with intervals, p-values as < 0.001, LaTeX or Markdown.

    TABLE is a CSV/Parquet table written by a study (e.g. subgroups.csv).

    Example:

    \b
        alignstat table out/subgroups/subgroups.csv --format latex --query "factor == 'gender'" -o gender.tex
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .tables import format_table, to_latex, to_markdown

    frame = _read_result(table, "subgroups")
    if query:
        try:
            frame = frame.query(query)
        except Exception as exc:  # noqa: BLE001 - pandas raises many kinds for a bad query
            raise click.ClickException(f"--query {query!r} failed on {table}: {exc}") from exc
    cols = [c.strip() for c in columns.split(",")] if columns else None
    try:
        f = format_table(frame, digits=digits, columns=cols)
    except ValueError as exc:
        raise click.ClickException(f"{table}: {exc}") from exc
    if fmt == "latex":
        text = to_latex(f, caption=caption, label=label, formatted=True) + "\n"
    elif fmt == "markdown":
        text = to_markdown(f, caption=caption, formatted=True) + "\n"
    else:
        text = f.to_csv(index=False)
    if output:
        _write_text(output, text, overwrite)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@click.command("compare")
@click.argument("table", type=click.Path(exists=True))
@click.option("--between", default="model", show_default=True, help="Column whose values are compared.")
@click.option("--a", "a", default=None, help="Compare this value ...")
@click.option("--b", "b", default=None, help="... with this one (default: every pair).")
@click.option("--by", "by", multiple=True, help="One comparison per value of this column (repeatable).")
@click.option("--n-resamples", default=2000, show_default=True, help="Bootstrap replicates over questions.")
@click.option("--test", type=click.Choice(["t", "wilcoxon"]), default="t", show_default=True)
@click.option("--adjust", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Adjustment over all comparisons returned.")
@click.option("--seed", default=0, show_default=True)
@_format_opt
@click.option("-o", "--output", default=None, type=click.Path(), help="Write to this file (default: print).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --output file.")
def compare_command(table, between, a, b, by, n_resamples, test, adjust, seed, fmt, output, overwrite):
    """Model-vs-model or group-vs-group differences with intervals, paired over questions.

    TABLE is per-question alignment: a global study's folder or its
    per_question.csv, or any table with question, alignment and the
    compared column.  Group differences from respondent data (with the
    survey design's intervals) come from `alignstat subgroups --compare rest`.

    Example:

    \b
        alignstat compare out/global --between model --by country --format markdown
    """  # noqa: D301 - click needs the \b (backspace) marker
    from .compare import compare

    frame = _read_result(table, "per_question")
    try:
        res = compare(frame, between=between, a=_typed(frame, between, a), b=_typed(frame, between, b),
                      by=list(by) or None, n_resamples=n_resamples, test=test,
                      adjust=None if adjust == "none" else adjust, rng=seed)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{table}: {exc}") from exc
    cap = f"Paired differences of mean alignment between values of {between} ({res['family'].iloc[0]}; " \
          f"{res['test'].iloc[0]} test, {adjust}-adjusted p-values)."
    text = _render(res, fmt, cap)
    if output:
        _write_text(output, text, overwrite)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


def _typed(frame, column, value):
    """Convert a command-line value to the type of `column` (so --a 1 matches an integer column)."""
    if value is None or column not in frame.columns:
        return value
    for v in pd.unique(frame[column]):
        if str(v) == value:
            return v
    return value


commands = [global_command, steering_command, temporal_command, consistency_command, sensitivity_command,
            subgroups_command, table_command, compare_command]
