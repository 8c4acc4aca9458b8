"""Click commands of the inference layer: ``collect`` and ``answers``.

The lead registers :data:`commands` in the ``alignstat`` group; ``python -m
inference.cli`` runs them in a small group of their own.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

__all__ = ["collect", "answers", "commands", "main"]


def _examples_for(steering, country, language, bank, few_shot_file, distributions, n_examples):
    from .prompts import FewShotExamples, load_templates

    if few_shot_file:
        return FewShotExamples.from_file(few_shot_file)
    if "few-shot" not in steering:
        return None
    if not distributions:
        raise click.UsageError(
            f"--steering {steering} needs real example distributions: --few-shot-file FILE "
            "(e.g. inputs/few_shot/lang-En_dist-Germany.txt) or --distributions TIDY_FILE."
        )
    import pandas as pd

    path = Path(distributions)
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    template = load_templates()[language or "English"]
    where = {"country": country} if "country" in frame.columns else None

    def per_question(q):
        return FewShotExamples.from_distributions(frame, bank, template=template, n=n_examples,
                                                  exclude=(q.id,), where=where)

    return per_question


@click.command("collect")
@click.option("--questions", "questions_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Question bank (.jsonl), e.g. WV7_English.jsonl.")
@click.option("--model", required=True, help="Model name (server model id, or a local path with --backend transformers).")
@click.option("--base-url", default=None, help="OpenAI-compatible server URL (vLLM, Ollama, DeepSeek ...).")
@click.option("--backend", "backend_name", type=click.Choice(["openai", "batch", "transformers"]), default="openai",
              show_default=True, help="Chat completions, the OpenAI Batch API, or a local transformers model.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key (keys are never passed on the command line).")
@click.option("--answer-method", type=click.Choice(["verbalized", "logprobs", "sequence", "freetext"]),
              default="verbalized", show_default=True, help="How the model is asked.")
@click.option("--steering", type=click.Choice(["none", "persona", "few-shot", "language", "language-persona",
                                               "language-few-shot"]), default="none", show_default=True)
@click.option("--country", default=None, help="Country for persona / few-shot steering.")
@click.option("--language", default=None, help="Template language (default: English; language steering: the bank's).")
@click.option("--few-shot-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Few-shot example block used verbatim (e.g. inputs/few_shot/lang-En_dist-Germany.txt).")
@click.option("--distributions", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Tidy distributions (csv/parquet) to build few-shot examples of --country from.")
@click.option("--n-examples", default=5, show_default=True, help="Number of few-shot examples.")
@click.option("--shuffle-options", is_flag=True, help="Show options in a random order (sensitivity study).")
@click.option("--samples", default=1, show_default=True, help="Requests per question (free text: 20).")
@click.option("--temperature", type=float, default=None,
              help="Sampling temperature (answer-method default otherwise).")
@click.option("--max-tokens", type=int, default=None)
@click.option("--concurrency", default=8, show_default=True, help="Requests in flight at once.")
@click.option("--max-retries", default=6, show_default=True,
              help="Retries of one request in this run after 429/5xx/timeouts/connection errors.")
@click.option("--max-attempts", default=20, show_default=True,
              help="Total attempt budget of one request over all runs (counted in the store).")
@click.option("--retry-failed", is_flag=True,
              help="Also re-ask requests stored as permanently failed (client errors, spent budgets).")
@click.option("--wait-for-lock", type=float, default=0.0, show_default=True,
              help="Seconds to wait while another collect writes the same store (0: refuse at once).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per request.")
@click.option("--poll-interval", default=30.0, show_default=True, help="Batch API: seconds between status polls.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random examples and option shuffling (part of the prompt: keep it to resume).")
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False),
              help="Answer store (.jsonl); appended to, and re-running resumes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def collect(questions_path, model, base_url, backend_name, api_key_env, answer_method, steering, country, language,
            few_shot_file, distributions, n_examples, shuffle_options, samples, temperature, max_tokens,
            concurrency, max_retries, max_attempts, retry_failed, wait_for_lock, timeout, poll_interval, seed,
            store_path, quiet):
    """Ask a model every question of a bank and append the answers to a store.

    Re-running the same command resumes: answered requests are not sent
    again; requests that failed for a passing cause (connection, timeout,
    429/5xx, an unparsable answer) are asked again, within --max-attempts
    per request; --retry-failed re-asks permanent failures.  An unreachable
    server, a refused key or an unknown model stop the run at the start with
    one line.  One collect at a time writes a store.  The API key is read
    from the environment variable named by --api-key-env and is never
    written anywhere.

    \b
    Exit status:
        0  every requested item is answered
        3  finished, but some items are not answered (run again to retry)
        4  stopped by a fatal error (server, key, model, settings, busy store)
        2  wrong command-line usage

    Example:

    \b
        OPENAI_API_KEY=... alignstat collect --questions WV7_English.jsonl \\
            --model gpt-4o-mini --answer-method verbalized --steering persona \\
            --country Germany --concurrency 16 --store answers.jsonl
    """  # noqa: D301 - click's \b marker must be a real backspace escape
    from alignstat import load_question_bank

    from .backends import FatalError, OpenAIBatchBackend, OpenAIChatBackend, TransformersBackend
    from .runner import EXIT_FATAL
    from .runner import collect as run_collect
    from .store import StoreBusyError

    try:
        bank = load_question_bank(questions_path)
        if language is None and steering.startswith("language"):
            language = bank.questions[0].language if len(bank) else None
        examples = _examples_for(steering, country, language, bank, few_shot_file, distributions, n_examples)
        if backend_name == "transformers":
            backend = TransformersBackend(model)
        elif backend_name == "batch":
            backend = OpenAIBatchBackend(model, base_url=base_url, api_key_env=api_key_env, timeout=timeout,
                                         poll_interval=poll_interval)
        else:
            backend = OpenAIChatBackend(model, base_url=base_url, api_key_env=api_key_env, timeout=timeout)
        summary = run_collect(
            bank, backend=backend, store=store_path, answer_method=answer_method, steering=steering,
            country=country, language=language, samples=samples, examples=examples, n_examples=n_examples,
            shuffle_options=shuffle_options, temperature=temperature, max_tokens=max_tokens,
            concurrency=concurrency, max_retries=max_retries, max_attempts=max_attempts, retry_failed=retry_failed,
            lock_timeout=wait_for_lock, progress=not quiet, prompt_seed=seed,
        )
    except (ValueError, TypeError, FileNotFoundError, FatalError, StoreBusyError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(str(summary))
    sys.exit(summary.exit_code)


@click.command("answers")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Tidy output (.parquet or .csv).")
@click.option("--repair", type=click.Choice(["lenient", "strict"]), default="lenient", show_default=True,
              help="Repair rules for messy answers (inference.RepairRules preset).")
@click.option("--model", default=None, help="Model label for inputs whose path does not carry one.")
@click.option("--condition", default=None, help="Condition label for inputs whose path does not carry one.")
def answers(inputs, output, repair, model, condition):
    """Read answer stores and results.csv files into one tidy distribution file.

    Accepts answer stores (.jsonl), seed-layout results.csv files, tidy
    .csv/.parquet files and folders holding them, and prints how many items
    are ok, repaired and rejected (and why).

    Example:

    \b
        alignstat answers answers.jsonl seed-data/results/RQ1 -o tidy.parquet
    """  # noqa: D301 - click's \b marker must be a real backspace escape
    from .ingest import read_results, status_report

    out = Path(output)
    if out.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise click.ClickException(f"--output {output!r}: use a .parquet or .csv file name.")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise click.ClickException(f"--output {output!r} lies below {str(above)!r}, which is a regular file; "
                                   "choose another path.")
    if not out.parent.is_dir():
        raise click.ClickException(f"--output {output!r}: folder {str(out.parent)!r} does not exist; create it first.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the report below says the same
            frame = read_results(list(inputs), repair=repair, model=model, condition=condition)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    except OSError as exc:
        raise click.ClickException(f"--output {output!r}: cannot write ({exc.strerror or exc}).") from None
    click.echo(str(status_report(frame)))
    click.echo(f"wrote {len(frame)} rows to {out}")


commands = [collect, answers]


@click.group()
def main():
    """Alignstat inference commands (collect model answers, read them)."""


for _c in commands:
    main.add_command(_c)


if __name__ == "__main__":
    sys.exit(main())
