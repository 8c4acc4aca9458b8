"""The ``alignstat`` command line: a thin shell over library functions.

Each layer defines its own click commands next to its library code; this
module only assembles them into one group.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alignstat")
def main():
    """alignstat: measure whose opinions large language models reflect."""


def _register():
    # Imported here so that `alignstat --help` stays fast and each layer owns its commands.
    from analyses import _commands

    for cmd in _commands.all_commands():
        main.add_command(cmd)


_register()
