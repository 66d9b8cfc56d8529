"""The launcher interface: pure hooks that build the shell text starting, probing and stopping
an experiment's workers, and parse what that text prints (submitit's executor shape)."""

from __future__ import annotations

from typing import Any, ClassVar

from octopus.remote.shell import quote_path
from octopus.run.layout import MARK, ExperimentPaths, output_file
from octopus.run.status import WorkerProbe
from octopus.run.workers import Worker

# The first shell a node has: the scripts are POSIX sh, but users' commands may need bash.
SHELL = "$(command -v bash || command -v sh)"


class WorkerLauncher:
    """Builds the shell text that starts, checks and stops an experiment's workers.

    `settings` are the manifest's launcher settings (run_exp options, Slurm resources) and
    `node` the node the workers run on; launchers that need neither ignore them.
    """

    name: ClassVar[str] = ""

    def __init__(
        self, paths: ExperimentPaths, settings: dict[str, Any] | None = None, node: str = ""
    ) -> None:
        self.paths = paths
        self.settings = settings or {}
        self.node = node

    def run_dir(self, delivery_dir: str) -> str:
        return '"$HOME"/' + quote_path(delivery_dir)

    def output_file(self, worker: Worker) -> str:
        return output_file(worker.job_id)

    def session_name(self, job_id: int) -> str:
        """How the worker shows in session and job lists."""
        return self.paths.worker_session(job_id)

    # -- the worker script ----------------------------------------------------------------

    def script_header(self, worker: Worker, n_commands: int) -> str:
        """Lines the worker script needs right after its shebang (Slurm's #SBATCH lines)."""
        return ""

    @property
    def parallel(self) -> int:
        """How many of a worker's commands run at once."""
        return 1

    # -- starting -------------------------------------------------------------------------

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        """Start `script` (a file in delivery_dir) as this worker; returns immediately."""
        raise NotImplementedError

    def parse_started(self, output: str) -> dict[str, str]:
        """What the start commands printed: worker label -> the scheduler's id for it."""
        return {}

    # -- watching -------------------------------------------------------------------------

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

    # -- stopping -------------------------------------------------------------------------

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        """Stop one worker and everything it started."""
        raise NotImplementedError

    def stop_command(self, run_root: str) -> str:
        """Stop every worker of this experiment, of every delivery, and all their processes."""
        raise NotImplementedError

    def running_command(self, run_root: str) -> str:
        """Print one line per worker of this experiment that is still running."""
        raise NotImplementedError
