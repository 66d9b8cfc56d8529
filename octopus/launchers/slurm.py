"""Workers as Slurm batch jobs: sbatch to start, squeue (and sacct) to watch, scancel to stop.

Job names carry the experiment (oct-<exp>-s<i>), so stopping one experiment's jobs never
touches another's. Slurm is asked once per node for all of a delivery's jobs.
"""

from __future__ import annotations

from octopus.launchers.base import WorkerLauncher, WorkerProbe
from octopus.scripts import Worker
from octopus.shell import quote_path

MARK = "@@octopus"
# squeue states in which a job still holds or waits for its allocation.
ACTIVE = {
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


class SlurmLauncher(WorkerLauncher):
    name = "slurm"

    def job_file(self, worker: Worker) -> str:
        return f"jobs/s{worker.job_id}.jobid"

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        return (
            f"cd {self.run_dir(delivery_dir)} && mkdir -p jobs && "
            f"octopus_out=$(sbatch --parsable {quote_path(script)} 2>&1) || "
            '{ echo "sbatch: $octopus_out" >&2; exit 1; }; '
            f'echo "${{octopus_out%%;*}}" > {self.job_file(worker)} && '
            f'echo "{MARK} submitted s{worker.job_id} ${{octopus_out%%;*}}"'
        )

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

    def alive_command(self, delivery_dir: str, worker: Worker) -> str:
        run = self.run_dir(delivery_dir)
        return (
            f"octopus_id=$(cat {run}/{self.job_file(worker)} 2>/dev/null) && "
            'squeue -h -j "$octopus_id" -o %T 2>/dev/null | '
            "grep -qE 'PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED'"
        )

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        job_file = f"{self.run_dir(delivery_dir)}/{self.job_file(worker)}"
        return (
            f'octopus_id=$(cat {job_file} 2>/dev/null); [ -z "$octopus_id" ] || scancel $octopus_id'
        )

    def _listing(self) -> str:
        prefix = self.paths.session_prefix
        return (
            "squeue -h -u \"$USER\" -o '%i %j' 2>/dev/null | "
            f"awk 'index($2, \"{prefix}\") == 1 {{ print $1 }}'"
        )

    def stop_command(self, run_root: str) -> str:
        return (
            f"octopus_jobs=$({self._listing()} | tr '\\n' ' '); "
            '[ -z "$octopus_jobs" ] || scancel $octopus_jobs; true'
        )

    def running_command(self, run_root: str) -> str:
        return f"{self._listing()} | sed 's/^/slurm job /'; true"
