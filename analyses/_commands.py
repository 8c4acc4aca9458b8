"""Collects the click commands of every layer for :mod:`analyses.cli`."""


def all_commands():
    """Return every layer's click commands: the studies', ``demo``, inference, variance, ``run`` and surveys."""
    from analyses.demo import demo_command
    from analyses.study_cli import commands
    from analyses.sweep.cli import command as sweep_command
    from analyses.variance.cli import command as variance_command
    from inference.cli import commands as inference_commands
    from surveys.cli import commands as survey_commands

    return [*commands, demo_command, *inference_commands, variance_command, sweep_command, *survey_commands]
