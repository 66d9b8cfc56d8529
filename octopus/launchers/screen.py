"""Workers as detached GNU screen sessions, named after the experiment and worker."""

from __future__ import annotations

from octopus.launchers.base import SHELL, WorkerLauncher
from octopus.scripts import Worker
from octopus.shell import kill_tree_snippet, quote_path
from octopus.steps.kill import stop_screen_sessions_command


class ScreenLauncher(WorkerLauncher):
    name = "screen"

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        session = self.paths.worker_session(worker.job_id)
        inner = f'exec "$0" {quote_path(script)} >> {self.output_file(worker)} 2>&1'
        return (
            f"cd {self.run_dir(delivery_dir)} && "
            f"screen -dmS {session} {SHELL} -c {quote_path(inner)} {SHELL}"
        )

    def alive_command(self, delivery_dir: str, worker: Worker) -> str:
        session = self.paths.worker_session(worker.job_id)
        return f"screen -ls 2>/dev/null | grep -q '[0-9]\\.{session}[[:space:]]'"

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        session = self.paths.worker_session(worker.job_id)
        pids = (
            "$(screen -ls 2>/dev/null | awk "
            f"'$1 ~ /^[0-9]+\\.{session}$/ {{ split($1, a, \".\"); print a[1] }}')"
        )
        return kill_tree_snippet(pids) + "; screen -wipe >/dev/null 2>&1; true"

    def stop_command(self, run_root: str) -> str:
        return stop_screen_sessions_command(self.paths.session_prefix)

    def running_command(self, run_root: str) -> str:
        prefix = self.paths.session_prefix
        return (
            "screen -ls 2>/dev/null | awk "
            f"'$1 ~ /^[0-9]+\\.{prefix}/ {{ print \"screen session \" $1 }}'; true"
        )
