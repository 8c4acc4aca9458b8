"""``alignstat run``: a study spec end to end."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command("run")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Output folder (default: the spec's sweep.out).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--executor", type=click.Choice(["serial", "local"]), default=None,
              help="Run the statistics in this process or on a Dask LocalCluster (default: the spec's [run]).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Workers of the LocalCluster.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Send the statistics to a running Dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def command(spec, out, overwrite, executor, workers, scheduler, quiet):
    r"""Collect, compute and report every model x condition x study of a TOML spec.

    Answers are collected into resumable stores and every cell's result is
    cached by the hash of its inputs, so a rerun after adding one model
    computes only that model's cells and an interrupted run resumes.  Writes
    cells.csv/.parquet, leaderboard.csv/.parquet/.md/.tex, leaderboard.png
    and provenance.json into the output folder (atomically).

    \b
    Example:
        alignstat run study.toml --executor local --workers 2
        alignstat run study.toml --scheduler tcp://10.0.0.5:8786 --overwrite
    """
    import sys

    from .run import run_sweep
    from .spec import SpecError

    try:
        res = run_sweep(spec, executor=executor, workers=workers, scheduler=scheduler, out=out,
                        overwrite=overwrite, progress=None if quiet else sys.stderr)
    except (SpecError, FileExistsError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{res!r}\nwrote {res.out}")
