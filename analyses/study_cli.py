"""Click commands of the studies: thin shells over :mod:`analyses.runners`.

Every command reads its inputs, calls one ``run_*`` library function and
prints where the outputs went; library errors become ``click.ClickException``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

__all__ = ["commands"]


def _answers(paths):
    """Model answers: seed ``results.csv`` files/folders, tidy CSV/Parquet or answer stores."""
    from inference import read_results

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = read_results([str(p) for p in paths])
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
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


def _run(fn, *args, **kwargs):
    try:
        s = fn(*args, **kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{s.study}: wrote {len(s.tables)} tables and {len(s.figures)} figures to {s.folder}")
    for k, v in s.headlines.items():
        click.echo(f"  {k}: {v}")
    from .report import write_report

    write_report(s.folder, [s], title=f"alignstat {s.study}")
    return s


_answers_opt = click.option("--answers", "answers", multiple=True, required=True, type=click.Path(exists=True),
                            help="Model answers: seed results.csv files or folders, tidy CSV/Parquet, or answer "
                                 "stores (repeatable).")
_human_opt = click.option("--human", required=True, type=click.Path(exists=True, dir_okay=False),
                          help="Tidy human distributions (CSV/Parquet: question, option, prob, country[, wave]).")
_out_opt = click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
_metric_opt = click.option("--metric", type=click.Choice(["wasserstein", "likert", "jsd", "tvd"]),
                           default="wasserstein", show_default=True)


@click.command("global")
@_answers_opt
@_human_opt
@_out_opt
@_metric_opt
@click.option("--n-boot", default=1000, show_default=True, help="Question-bootstrap replicates (0: no CI).")
@click.option("--top-k", default=5, show_default=True, help="Countries shown at each end of the ranking.")
@click.option("--tolerance", default=0.02, show_default=True, help="Band of 'appropriate' alignment.")
@click.option("--condition", default=None, help="Keep only answers of this condition (e.g. none).")
@click.option("--seed", default=0, show_default=True)
def global_command(answers, human, out, metric, n_boot, top_k, tolerance, condition, seed):
    """Alignment of every model with every country (paper 000, RQ1).

    Writes scores with question-bootstrap CIs, the model summary, the top
    and bottom countries, the average-human baseline with the
    over/under/appropriate classification, and the heatmaps.

    Example:

    \b
        alignstat global --answers results/RQ1 --human wvs7_countries.parquet --out out/global
    """
    from .runners import run_global

    a = _answers(answers)
    if condition is not None:
        if "condition" not in a.columns:
            raise click.ClickException("--condition given but the answers have no `condition` column.")
        a = a[a["condition"] == condition]
    _run(run_global, a, _human(human), out, metric=metric, n_boot=n_boot, top_k=top_k, tolerance=tolerance,
         rng=seed, inputs=_inputs(answers, human))


@click.command("steering")
@_answers_opt
@_human_opt
@_out_opt
@_metric_opt
@click.option("--test", type=click.Choice(["t", "wilcoxon"]), default="t", show_default=True,
              help="Paired test across questions, steered vs no steering (same model and country).")
@click.option("--correction", type=click.Choice(["none", "holm", "bh"]), default="none", show_default=True,
              help="Multiple-testing correction over all tests of the table.")
def steering_command(answers, human, out, metric, test, correction):
    """Alignment per country x model x steering method with significance stars (RQ2, Tables 1/9).

    Unsteered answers (condition "none") are compared with every target
    country; steered answers carry their target in the `country` column.

    Example:

    \b
        alignstat steering --answers results/RQ1 --answers results/RQ2 --human wvs7_countries.parquet --out out/steering --correction holm
    """
    from .runners import run_steering

    _run(run_steering, _answers(answers), _human(human), out, metric=metric, test=test,
         correction=None if correction == "none" else correction, inputs=_inputs(answers, human))


@click.command("temporal")
@_answers_opt
@_human_opt
@_out_opt
@_metric_opt
@click.option("--tau", default="0.02", show_default=True, help="Margin of Eq. 3, or 'auto'.")
@click.option("--filter-wave", type=int, default=None, help="Wave of the tau filter (default: the latest).")
def temporal_command(answers, human, out, metric, tau, filter_wave):
    """Alignment across survey waves for the countries kept by the tau filter (RQ3, Eq. 3, Fig. 3).

    The human table needs `country` and `wave` columns.

    Example:

    \b
        alignstat temporal --answers results/RQ1 --human wvs_waves.parquet --out out/temporal --tau 0.02
    """
    from .runners import run_temporal

    try:
        tau_v = tau if tau == "auto" else float(tau)
    except ValueError as exc:
        raise click.ClickException(f"--tau must be a number or 'auto', got {tau!r}.") from exc
    _run(run_temporal, _answers(answers), _human(human), out, tau=tau_v, metric=metric, filter_wave=filter_wave,
         inputs=_inputs(answers, human))


@click.command("consistency")
@_answers_opt
@_out_opt
@click.option("--topics", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Topic table (JSON {topic: {question: {group: [options]}}} or CSV topic,question,group,option); "
                   "default paper 000's Table 11.")
def consistency_command(answers, out, topics):
    """Internal consistency of each model on each topic (paper 000, section 7.2, Table 11).

    Example:

    \b
        alignstat consistency --answers results/RQ1 --out out/consistency
    """
    from .runners import run_consistency

    _run(run_consistency, _answers(answers), out, topics=topics, inputs=_inputs(answers))


@click.command("sensitivity")
@_answers_opt
@_human_opt
@_out_opt
@_metric_opt
@click.option("--default", "default", default="none", show_default=True, help="The default condition.")
@click.option("--condition", "conditions", multiple=True, help="Perturbed conditions (default: all others).")
def sensitivity_command(answers, human, out, metric, default, conditions):
    """Pearson's r of country scores between the default and perturbed prompts (Table 2).

    Example:

    \b
        alignstat sensitivity --answers results/RQ1 --answers results/Discussion --human wvs7_countries.parquet --out out/sensitivity
    """
    from .runners import run_sensitivity

    _run(run_sensitivity, _answers(answers), _human(human), out, default=default,
         conditions=list(conditions) or None, metric=metric, inputs=_inputs(answers, human))


@click.command("subgroups")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Respondent microdata (CSV/Parquet): one column per question (positions), one per factor.")
@_answers_opt
@_out_opt
@click.option("--factor", "factors", multiple=True, required=True, help="Factor column (repeatable).")
@click.option("--country", default=None, help="Country column (separate forest plot).")
@click.option("--metric", type=click.Choice(["likert", "wasserstein"]), default="likert", show_default=True)
@click.option("--n-boot", default=5000, show_default=True, help="Bootstrap replicates.")
@click.option("--weight", default=None, help="Weight column.")
@click.option("--strata", default=None, help="Stratum column: adds Rao-Wu design-based intervals (with --psu).")
@click.option("--psu", default=None, help="PSU column (with --strata).")
@click.option("--intersection", "intersections", multiple=True,
              help="Comma-separated factors forming intersectional groups, e.g. gender,education.")
@click.option("--missing-as-group/--no-missing-as-group", default=True, show_default=True)
@click.option("--min-n", default=50, show_default=True, help="Groups below this size are flagged small_cell.")
@click.option("--seed", default=0, show_default=True)
def subgroups_command(data, answers, out, factors, country, metric, n_boot, weight, strata, psu, intersections,
                      missing_as_group, min_n, seed):
    """Alignment of every socio-demographic group with each model, with bootstrap CIs (the ESS study).

    Example:

    \b
        alignstat subgroups --data ess11.parquet --answers answers.jsonl --factor gender --factor education --country country --weight anweight --out out/subgroups
    """
    from .runners import read_table, run_subgroups

    try:
        frame = read_table(data)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    design = None
    if (strata is None) != (psu is None):
        raise click.ClickException("--strata and --psu go together.")
    if strata is not None:
        from surveys.design import RaoWuScheme

        for c in (strata, psu):
            if c not in frame.columns:
                raise click.ClickException(f"design column {c!r} is not in {data}.")
        design = RaoWuScheme(frame[strata].to_numpy(), frame[psu].to_numpy(), singleton="collapse")
    inter = [tuple(x.strip() for x in s.split(",")) for s in intersections]
    _run(run_subgroups, frame, _answers(answers), out, factors=list(factors), country=country, metric=metric,
         n_boot=n_boot, rng=seed, weight=weight, design_scheme=design, missing_as_group=missing_as_group,
         intersections=inter, min_n=min_n, inputs=_inputs(answers, data=data))


commands = [global_command, steering_command, temporal_command, consistency_command, sensitivity_command,
            subgroups_command]
