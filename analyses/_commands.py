"""Collects the click commands of every layer for :mod:`analyses.cli`."""


def all_commands():
    """The studies' commands, ``demo``, the inference layer's and the variance decomposition's."""
    from analyses.demo import demo_command
    from analyses.study_cli import commands

    cmds = [*commands, demo_command]
    try:
        from inference.cli import commands as inference_commands
    except ImportError:  # layer not installed in this checkout
        inference_commands = []
    cmds += list(inference_commands)
    try:
        from analyses.variance.cli import command as variance_command
    except ImportError:  # not landed yet
        variance_command = None
    if variance_command is not None:
        cmds.append(variance_command)
    return cmds
