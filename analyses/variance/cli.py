"""``alignstat decompose``: command-line front end of :func:`decompose_variance`."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["command", "decompose"]


def _read_table(path):
    import pandas as pd

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if suffix in (".csv", ".gz", ".txt"):
        return pd.read_csv(p)
    raise click.BadParameter(f"{path}: expected a .csv or .parquet file.")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    return obj


@click.command("decompose", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.argument("answers", type=click.Path(exists=True, dir_okay=False))
@click.option("--factors", "-f", required=True, help="Comma-separated factor columns, e.g. gender,education,religion.")
@click.option("--country", default="country", show_default=True, help="Country column ('' for none).")
@click.option("--interaction", "interactions", multiple=True, metavar="A:B",
              help="Add the crossed effects of two grouping columns (repeatable), e.g. country:religion.")
@click.option("--weight", default=None, help="Survey-weight column (pseudo-likelihood, scaled within country).")
@click.option("--metric", type=click.Choice(["likert", "wasserstein"]), default="likert", show_default=True)
@click.option("--estimand", type=click.Choice(["group", "respondent"]), default="group", show_default=True,
              help="group: spread of the groups' alignment (the ESS paper's measure); respondent: each "
                   "respondent's own alignment (spread within groups counts as misalignment).")
@click.option("--positions", "positions_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file {question: [positions]}: each question's full scale.")
@click.option("--unit", type=click.Choice(["respondent", "response"]), default=None,
              help="estimand=respondent only: outcome per respondent (default) or per answer.")
@click.option("--missing", type=click.Choice(["group", "drop"]), default="group", show_default=True,
              help="Missing factor values: own level, or drop the respondent.")
@click.option("--sampler", type=click.Choice(["auto", "nutpie", "pymc", "laplace-is"]), default="auto", show_default=True,
              help="NUTS (nutpie, pymc) or, for the group estimand, PSIS-corrected Laplace importance sampling "
                   "(auto picks it for ESS-scale designs with an interaction).")
@click.option("--chains", type=int, default=4, show_default=True)
@click.option("--draws", type=int, default=500, show_default=True)
@click.option("--tune", type=int, default=500, show_default=True)
@click.option("--target-accept", type=float, default=0.9, show_default=True)
@click.option("--seed", type=int, default=None, help="Seed of every random number (reproducible runs).")
@click.option("--reml/--no-reml", default=False, show_default=True,
              help="estimand=respondent only: also fit by REML and print side by side.")
@click.option("--hdi-prob", type=float, default=0.9, show_default=True)
@click.option("--on-failure", type=click.Choice(["warn", "raise", "ignore"]), default="warn", show_default=True,
              help="What failed sampler diagnostics do ('raise' exits with status 1).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="decomposition", show_default=True,
              help="Output folder.")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf"]), default="png", show_default=True,
              help="Figure format.")
def decompose(data, answers, factors, country, interactions, weight, metric, estimand, positions_path, unit, missing,
              sampler, chains, draws, tune, target_accept, seed, reml, hdi_prob, on_failure, out_dir, fmt):
    """Decompose alignment variance into country and socio-demographic components.

    DATA is respondent microdata (CSV or Parquet: one column per question with
    ordinal positions, a country column, the factor columns); ANSWERS is the
    tidy model-answer table (model, question, option, prob).  With the default
    --estimand group, writes summary.csv (one row per model x component: the
    between-group SD of group alignment with its 90% interval, and share),
    alignments.csv (every group's alignment) and diagnostics.json; with
    --estimand respondent, summary.csv, effects.csv, decomposition.nc,
    components.png, effects_<model>.png, diagnostics.json (and reml.csv with
    --reml).

    Example:

    \b
        alignstat decompose ess11.parquet answers.csv \\
            --factors gender,education,religion,religiosity \\
            --weight weight --interaction country:religion \\
            --positions scales.json --seed 1 --out results/decomposition
    """
    import warnings

    from alignstat import DiagnosticsWarning

    from ._decompose import ConvergenceError, decompose_variance

    frame, ans = _read_table(data), _read_table(answers)
    positions = None
    if positions_path:
        positions = json.loads(Path(positions_path).read_text())
    facs = [f.strip() for f in factors.split(",") if f.strip()]
    inter = []
    for item in interactions:
        parts = item.split(":")
        if len(parts) != 2:
            raise click.BadParameter(f"--interaction {item!r} must look like A:B.")
        inter.append((parts[0], parts[1]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DiagnosticsWarning)
            res = decompose_variance(
                frame, ans, factors=facs, metric=metric, estimand=estimand, positions=positions, unit=unit,
                country=country or None, interactions=inter,
                weight=weight, missing=missing, sampler=sampler, chains=chains, draws=draws, tune=tune,
                target_accept=target_accept, reml=reml, hdi_prob=hdi_prob, on_failure=on_failure, rng=seed,
            )
    except ConvergenceError as e:
        raise click.ClickException(str(e)) from None
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from None
    summary = res.summary()
    summary.to_csv(out / "summary.csv", index=False)
    d = res.diagnostics
    status = "PASSED" if d["passed"] else "FAILED"
    diag_line = (f"\ndiagnostics {status}: R-hat max {d['r_hat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, "
                 f"tail ESS min {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
                 f"E-BFMI min {d['ebfmi_min']:.2f}")
    if estimand == "group":
        res.alignments().to_csv(out / "alignments.csv", index=False)
        (out / "diagnostics.json").write_text(json.dumps(_jsonable({**d, "timings": res.timings}), indent=2))
        cols = ["model", "component", "n_levels", "sd", "sd_low", "sd_high", "share"]
        click.echo(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        click.echo(summary["interval"].iloc[0])
        click.echo(diag_line)
        for w in caught:
            click.echo(f"WARNING: {w.message}", err=True)
        click.echo(f"wrote {out}")
        return
    res.effects().to_csv(out / "effects.csv", index=False)
    res.to_netcdf(out / "decomposition.nc")
    res.plot(out / f"components.{fmt}")
    for m in res.models:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in m)
        res.plot(out / f"effects_{safe}.{fmt}", kind="effects", model=m)
    diag = {k: v for k, v in res.diagnostics.items()}
    (out / "diagnostics.json").write_text(json.dumps(_jsonable({**diag, "timings": res.timings}), indent=2))
    cols = ["model", "component", "sd", "sd_low", "sd_high", "share"]
    click.echo(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if reml:
        res.reml.to_csv(out / "reml.csv", index=False)
        click.echo("\nREML cross-check (sd_reml) beside the posterior finite-population SD:")
        click.echo(res.reml_comparison().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    d = res.diagnostics
    status = "PASSED" if d["passed"] else "FAILED"
    click.echo(f"\ndiagnostics {status}: R-hat max {d['r_hat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, "
               f"tail ESS min {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
               f"E-BFMI min {d['ebfmi_min']:.2f}")
    for w in caught:
        click.echo(f"WARNING: {w.message}", err=True)
    click.echo(f"wrote {out}")


command = decompose
