"""Everything Slurm: the #SBATCH header, which options octopus owns, sbatch to start (and its
output's parse), squeue/sacct to watch (and their parse), scancel to stop.

Job names carry the experiment (oct-<exp>-s<i>), so stopping one experiment's jobs never
touches another's. Slurm is asked once per node for all of a delivery's jobs. How jobs
behave on a real Slurm, as read here, is written down in docs/slurm.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octopus.launchers.base import WorkerLauncher
from octopus.launchers.sbatch_options import OWN_OPTIONS, check_options
from octopus.remote.shell import quote_path
from octopus.run.layout import MARK, job_file, slurm_output, worker_label
from octopus.run.status import WorkerProbe
from octopus.run.workers import Worker

__all__ = ["OWN_OPTIONS", "SlurmJob", "SlurmLauncher", "cancel_all_command", "check_options"]

# squeue states in which a job still holds or waits for its allocation.
ACTIVE = frozenset(
    {
        "PENDING",
        "RUNNING",
        "CONFIGURING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
    }
)


@dataclass(frozen=True)
class SlurmJob:
    """What a worker's sbatch header asks for (the original octopus' #SBATCH lines, and more)."""

    parallel: int = 1
    cpus_per_task: int = 1
    gpus: int = 0
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, settings: dict[str, Any], node: str) -> SlurmJob:
        """From the manifest's Slurm settings; the node's own options win over the experiment's."""
        options = {**settings.get("options", {}), **settings.get("node_options", {}).get(node, {})}
        return cls(
            parallel=settings.get("parallel", 1),
            cpus_per_task=settings.get("cpus", 1),
            gpus=settings.get("gpus", 0),
            options=tuple(sorted(options.items())),
        )

    def header(self, job_name: str, job_id: int, n_commands: int) -> str:
        lines = [
            f"#SBATCH --job-name={job_name}",
            f"#SBATCH --ntasks={max(1, min(n_commands, self.parallel))}",
            f"#SBATCH --cpus-per-task={self.cpus_per_task}",
        ]
        if self.gpus > 0:
            lines.append(f"#SBATCH --gpus={self.gpus}")
        lines += [
            f"#SBATCH -e {slurm_output(job_id, 'err')}",
            f"#SBATCH -o {slurm_output(job_id, 'out')}",
        ]
        lines += [f"#SBATCH --{key}={value}" for key, value in self.options]
        return "\n".join(lines) + "\n"


class SlurmLauncher(WorkerLauncher):
    name = "slurm"

    @property
    def job(self) -> SlurmJob:
        return SlurmJob.of(self.settings.get("slurm") or {}, self.node)

    def script_header(self, worker: Worker, n_commands: int) -> str:
        return self.job.header(self.session_name(worker.job_id), worker.job_id, n_commands)

    @property
    def parallel(self) -> int:
        return self.job.parallel

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        return (
            f"cd {self.run_dir(delivery_dir)} && mkdir -p jobs && "
            f"octopus_out=$(sbatch --parsable {quote_path(script)} 2>&1) || "
            '{ echo "sbatch: $octopus_out" >&2; exit 1; }; '
            f'echo "${{octopus_out%%;*}}" > {job_file(worker.job_id)} && '
            f'echo "{MARK} submitted {worker_label(worker.job_id)} ${{octopus_out%%;*}}"'
        )

    def parse_started(self, output: str) -> dict[str, str]:
        submitted = {}
        for line in output.splitlines():
            words = line.split()
            if len(words) == 4 and words[:2] == [MARK, "submitted"]:
                submitted[words[2]] = words[3]
        return submitted

    def probe_command(self, delivery_dir: str, workers: list[Worker]) -> str:
        run = self.run_dir(delivery_dir)
        return (
            f'octopus_ids=$(cat {run}/jobs/*.jobid 2>/dev/null | tr "\\n" "," | sed "s/,$//"); '
            f'for f in {run}/jobs/*.jobid; do [ -f "$f" ] && '
            f'echo "{MARK} jobid $(basename "$f" .jobid) $(cat "$f")"; done; '
            'if [ -n "$octopus_ids" ]; then '
            "squeue -h --states=all -j \"$octopus_ids\" -o '%i|%T|%r' 2>/dev/null "
            f'| sed "s/^/{MARK} squeue /"; '
            'sacct -X -n -P -j "$octopus_ids" -o JobID,State,ExitCode 2>/dev/null '
            f'| sed "s/^/{MARK} sacct /"; fi; true'
        )

    def parse_probe(self, lines: list[str]) -> dict[int, WorkerProbe]:
        job_of: dict[str, int] = {}
        states: dict[str, tuple[str, str]] = {}
        for line in lines:
            words = line.split(" ", 3)
            if len(words) < 3 or words[0] != MARK:
                continue
            if words[1] == "jobid" and len(words) == 4 and words[2].startswith("s"):
                job_of[words[3].strip()] = int(words[2][1:])
            elif words[1] == "squeue":
                slurm_id, state, reason = (line.split(" ", 2)[2].split("|") + ["", ""])[:3]
                states[slurm_id] = (state, reason)
            elif words[1] == "sacct":
                slurm_id, state = (line.split(" ", 2)[2].split("|") + [""])[:2]
                # squeue's view wins while it still knows the job (sacct lags behind it).
                states.setdefault(slurm_id, (state.split()[0] if state else "", ""))
        probes = {}
        for slurm_id, job in job_of.items():
            state, reason = states.get(slurm_id, ("", ""))
            probes[job] = WorkerProbe(
                alive=state in ACTIVE,
                detail={
                    "job_id": slurm_id,
                    "state": state or "UNKNOWN",
                    "reason": "" if reason in ("None", "") else reason,
                },
                cancelled=state.startswith("CANCELLED"),
            )
        return probes

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        path = f"{self.run_dir(delivery_dir)}/{job_file(worker.job_id)}"
        return f'octopus_id=$(cat {path} 2>/dev/null); [ -z "$octopus_id" ] || scancel $octopus_id'

    def _listing(self) -> str:
        """The ids of the user's jobs named as this experiment's workers (whole names)."""
        return (
            "squeue -h -u \"$USER\" -o '%i %j' 2>/dev/null | "
            f"awk '$2 ~ /^{self.paths.session_regex}$/ {{ print $1 }}'"
        )

    def stop_command(self, run_root: str = "") -> str:
        return (
            f"octopus_jobs=$({self._listing()} | tr '\\n' ' '); "
            '[ -z "$octopus_jobs" ] || scancel $octopus_jobs; true'
        )

    def running_command(self, run_root: str = "") -> str:
        return f"{self._listing()} | sed 's/^/slurm job /'; true"


def cancel_all_command() -> str:
    """Cancel every job of the login user (KillAllSlurmJobs(all_jobs=True), as the original)."""
    return 'scancel -u "$USER"'
