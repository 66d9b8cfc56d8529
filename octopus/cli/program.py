"""The `octopus` command: the same tasks as `inv`, without needing a tasks.py."""

from __future__ import annotations

import sys

from invoke.program import Program

from octopus import __version__
from octopus.cli.config import project_config
from octopus.cli.tasks import ns
from octopus.errors import OctopusError


class OctopusProgram(Program):
    """Invoke's Program reading its config files as octopus reads YAML (cli/config.py), and
    ./invoke.yaml as `inv` reads the one beside tasks.py."""

    def create_config(self) -> None:
        self.config = project_config()


program = OctopusProgram(namespace=ns, version=__version__, name="octopus", binary="octopus")


def main() -> None:
    """Run the program; a bad config file found before a task starts ends in its one line."""
    try:
        program.run()
    except OctopusError as exc:
        print(f"octopus: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
