"""Collects the click commands of every layer for :mod:`analyses.cli`."""


def all_commands():
    cmds = []
    from analyses.demo import demo_command

    cmds.append(demo_command)
    return cmds
