"""The launcher interface and the pieces every launcher shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from octopus.node import Launcher
from octopus.paths import ExperimentPaths
from octopus.scripts import Worker
from octopus.shell import quote_path

# The first shell a node has: the scripts are POSIX sh, but users' commands may need bash.
SHELL = "$(command -v bash || command -v sh)"


MARK = "@@octopus"


@dataclass
class WorkerProbe:
    """What a launcher learned about one worker: alive, and details such as a Slurm state."""

    alive: bool
    detail: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False


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

    def probe_command(self, delivery_dir: str, workers: list[Worker]) -> str:
        """Shell text printing what parse_probe needs about all these workers, in one go."""
        return "; ".join(
            f"if {self.alive_command(delivery_dir, w)}; then echo '{MARK} alive {w.job_id} 1'; "
            f"else echo '{MARK} alive {w.job_id} 0'; fi"
            for w in workers
        )

    def parse_probe(self, lines: list[str]) -> dict[int, WorkerProbe]:
        probes = {}
        for line in lines:
            words = line.split()
            if len(words) == 4 and words[:2] == [MARK, "alive"]:
                probes[int(words[2])] = WorkerProbe(alive=words[3] == "1")
        return probes

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        """Stop one worker and everything it started."""
        raise NotImplementedError

    def stop_command(self, run_root: str) -> str:
        """Stop every worker of this experiment, of every delivery, and all their processes."""
        raise NotImplementedError

    def running_command(self, run_root: str) -> str:
        """Print one line per worker of this experiment that is still running."""
        raise NotImplementedError


def launcher_for(
    kind: Launcher | str, paths: ExperimentPaths, settings: dict[str, Any] | None = None
) -> WorkerLauncher:
    """The launcher of that kind; `settings` carries run_exp options from the manifest."""
    from octopus.launchers.process import ProcessLauncher
    from octopus.launchers.run_exp import RunExpLauncher
    from octopus.launchers.screen import ScreenLauncher
    from octopus.launchers.slurm import SlurmLauncher

    launchers: dict[str, type[WorkerLauncher]] = {
        cls.name: cls for cls in (ScreenLauncher, ProcessLauncher, SlurmLauncher, RunExpLauncher)
    }
    try:
        launcher = launchers[str(kind)](paths)
    except KeyError:
        from octopus.errors import OctopusError

        raise OctopusError(f"launcher '{kind}' cannot start workers") from None
    if isinstance(launcher, RunExpLauncher) and settings and settings.get("run_exp"):
        from octopus.launchers.run_exp import RunExpOptions

        launcher.options = RunExpOptions(**settings["run_exp"])
    return launcher
