"""The `octopus` command: the same tasks as `inv`, without needing a tasks.py.

Its `--help` lists only the core options that mean something for octopus: Invoke's options for
the shell commands a task runs through `c.run` (`--pty`, `--hide`, `--echo`, `--dry`,
`--warn-only`, `--command-timeout`, `--prompt-for-sudo-password`) do nothing here, and `-R`
(`--dry`) was easily taken for octopus' `--dry-run`. `inv` keeps every option Invoke gives it.
"""

from __future__ import annotations

import sys

from invoke.parser.argument import Argument
from invoke.program import Program

from octopus import __version__
from octopus.cli.config import project_config
from octopus.cli.tasks import ns
from octopus.errors import OctopusError

# Invoke's core options the `octopus` program leaves out (module docstring); `--list-depth`
# and `--write-pyc` concern nested task collections and a tasks.py, which it has neither of.
HIDDEN_CORE_OPTIONS = frozenset(
    {
        "command-timeout",
        "dry",
        "echo",
        "hide",
        "list-depth",
        "prompt-for-sudo-password",
        "pty",
        "warn-only",
        "write-pyc",
    }
)


class OctopusProgram(Program):
    """Invoke's Program reading its config files as octopus reads YAML (cli/config.py), and
    ./invoke.yaml as `inv` reads the one beside tasks.py; without the hidden core options."""

    def create_config(self) -> None:
        self.config = project_config()

    def core_args(self) -> list[Argument]:
        return [a for a in super().core_args() if a.name not in HIDDEN_CORE_OPTIONS]

    def parse_core_args(self) -> None:
        super().parse_core_args()
        # Invoke reads every core option after parsing (update_config): the hidden ones are
        # there with their defaults, as if not given.
        for arg in super().core_args():
            if arg.name in HIDDEN_CORE_OPTIONS:
                self.args[arg.name] = arg


# binary_names: as `python -m octopus` too, completion strips the program's name from the line.
program = OctopusProgram(
    namespace=ns, version=__version__, name="octopus", binary="octopus", binary_names=["octopus"]
)


def main() -> None:
    """Run the program; a bad config file found before a task starts ends in its one line."""
    try:
        program.run()
    except OctopusError as exc:
        print(f"octopus: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
