"""The `octopus` command: the same tasks as `inv`, without needing a tasks.py."""

from __future__ import annotations

from invoke.program import Program

from octopus import __version__
from octopus.cli.tasks import ns

program = Program(namespace=ns, version=__version__, name="octopus", binary="octopus")


def main() -> None:
    program.run()
