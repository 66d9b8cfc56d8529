"""Workers as detached processes (setsid + nohup) with PID files: needs only a POSIX shell."""

from __future__ import annotations

from octopus.launchers.base import SHELL, WorkerLauncher
from octopus.remote.shell import kill_tree_snippet, quote_path
from octopus.run.layout import pid_file
from octopus.run.workers import Worker


def _alive_pid(pid: str, script_match: str) -> str:
    """True when `pid` runs (not a zombie) and its command line names the worker's script."""
    return (
        f'[ -n "{pid}" ] && kill -0 "{pid}" 2>/dev/null && '
        f"{{ [ ! -d /proc/{pid} ] || {{ "
        f"[ \"$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null | cut -d' ' -f1)\" != Z ] && "
        f"tr '\\0' ' ' < /proc/{pid}/cmdline 2>/dev/null | grep -q {quote_path(script_match)}; "
        "}; }"
    )


class ProcessLauncher(WorkerLauncher):
    name = "process"

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        return (
            f"cd {self.run_dir(delivery_dir)} && mkdir -p pids && "
            f"{{ setsid nohup {SHELL} {quote_path(script)} >> {self.output_file(worker)} 2>&1 "
            f"< /dev/null & echo $! > {pid_file(worker.job_id)}; }}"
        )

    def alive_command(self, delivery_dir: str, worker: Worker) -> str:
        path = f"{self.run_dir(delivery_dir)}/{pid_file(worker.job_id)}"
        return f"octopus_pid=$(cat {path} 2>/dev/null); " + _alive_pid("$octopus_pid", "run_exp_s")

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        path = f"{self.run_dir(delivery_dir)}/{pid_file(worker.job_id)}"
        return kill_tree_snippet(f"$(cat {path} 2>/dev/null)")

    def stop_command(self, run_root: str) -> str:
        root = '"$HOME"/' + quote_path(run_root)
        collect = (
            f"octopus_pids=; for f in {root}/deliveries/*/pids/*.pid; do "
            '[ -f "$f" ] || continue; p=$(cat "$f"); '
            f'if {_alive_pid("$p", "run_exp_s")}; then octopus_pids="$octopus_pids $p"; fi; '
            "done"
        )
        return f"{collect}; {kill_tree_snippet('$octopus_pids')}"

    def running_command(self, run_root: str) -> str:
        root = '"$HOME"/' + quote_path(run_root)
        return (
            f"for f in {root}/deliveries/*/pids/*.pid; do "
            '[ -f "$f" ] || continue; p=$(cat "$f"); '
            f'if {_alive_pid("$p", "run_exp_s")}; then echo "process $p"; fi; done; true'
        )
