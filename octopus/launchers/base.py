"""The launcher interface and the pieces every launcher shares."""

from __future__ import annotations

from typing import ClassVar

from octopus.node import Launcher
from octopus.paths import ExperimentPaths
from octopus.scripts import Worker
from octopus.shell import quote_path

# The first shell a node has: the scripts are POSIX sh, but users' commands may need bash.
SHELL = "$(command -v bash || command -v sh)"


class WorkerLauncher:
    """Builds the shell text that starts, checks and stops an experiment's workers."""

    name: ClassVar[str] = ""

    def __init__(self, paths: ExperimentPaths) -> None:
        self.paths = paths

    def run_dir(self, delivery_dir: str) -> str:
        return '"$HOME"/' + quote_path(delivery_dir)

    def output_file(self, worker: Worker) -> str:
        return f"output_screen{worker.job_id}"

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        """Start `script` (a file in delivery_dir) as this worker; returns immediately."""
        raise NotImplementedError

    def alive_command(self, delivery_dir: str, worker: Worker) -> str:
        """A command that exits 0 exactly when the worker is still running."""
        raise NotImplementedError

    def stop_command(self, run_root: str) -> str:
        """Stop every worker of this experiment, of every delivery, and all their processes."""
        raise NotImplementedError

    def running_command(self, run_root: str) -> str:
        """Print one line per worker of this experiment that is still running."""
        raise NotImplementedError


def launcher_for(kind: Launcher | str, paths: ExperimentPaths) -> WorkerLauncher:
    from octopus.launchers.process import ProcessLauncher
    from octopus.launchers.screen import ScreenLauncher

    launchers: dict[str, type[WorkerLauncher]] = {
        ScreenLauncher.name: ScreenLauncher,
        ProcessLauncher.name: ProcessLauncher,
    }
    try:
        return launchers[str(kind)](paths)
    except KeyError:
        from octopus.errors import OctopusError

        raise OctopusError(f"launcher '{kind}' cannot start workers yet") from None
