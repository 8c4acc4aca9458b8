"""Click command of the survey layer: ``alignstat questions``.

``alignstat questions FILE --variables Q1,Q2 -o bank.jsonl`` writes the
question bank a survey file's codebook implies (see
:func:`surveys.question_bank`), ready for ``alignstat collect``.
"""

from __future__ import annotations

import click


@click.command("questions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--variables", required=True,
              help="Question variables, comma-separated (or repeat the option); profile factor names work too.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output question bank (.jsonl, the seed's format).")
@click.option("--profile", default="auto", show_default=True,
              help="Survey profile: auto, ess, wvs7, wvs_ts or none.")
@click.option("--encoding", default=None, help="Text encoding of the file (default: as stored).")
def questions(file, variables, output, profile, encoding):
    """Write the question bank of FILE's labelled variables (text, options, full scale)."""
    from .codebook import question_bank, write_question_bank
    from .readers import read_survey

    names = [v.strip() for v in variables.split(",") if v.strip()]
    if not names:
        raise click.UsageError("--variables names no variable.")
    prof = None if profile == "none" else profile
    try:
        sv = read_survey(file, profile=prof, encoding=encoding)
        bank = question_bank(sv, variables=names)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from None
    path = write_question_bank(bank, output)
    click.echo(f"wrote {len(bank)} question(s) to {path}")
    rev = getattr(bank, "reversed", ())
    if rev:
        click.echo(f"reversed scales (labels run from high to low; check before comparing means): {', '.join(rev)}")


commands = [questions]
