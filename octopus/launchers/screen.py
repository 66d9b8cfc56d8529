"""Workers as detached GNU screen sessions, named after the experiment and worker."""

from __future__ import annotations

from octopus.launchers.base import SHELL, WorkerLauncher
from octopus.remote.shell import kill_tree_snippet, quote_path
from octopus.run.workers import Worker


def stop_sessions_command(prefix: str | None) -> str:
    """Shell code stopping the screen sessions whose name starts with prefix (all when None).

    Each session's process tree is signalled as a whole, so commands that ignore SIGHUP (the
    only signal `screen -X quit` sends) stop too; then dead sessions are wiped.
    """
    match = "1" if prefix is None else f'index($2, "{prefix}") == 1'
    listing = (
        "screen -ls 2>/dev/null | awk "
        '\'$1 ~ /^[0-9]+\\./ { dot = index($1, "."); pid = substr($1, 1, dot - 1); '
        f"name = substr($1, dot + 1); $2 = name; if ({match}) print pid }}'"
    )
    return (
        f"octopus_sessions=$({listing} | tr '\\n' ' '); "
        + kill_tree_snippet("$octopus_sessions")
        + "; screen -wipe >/dev/null 2>&1; true"
    )


class ScreenLauncher(WorkerLauncher):
    name = "screen"

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        session = self.session_name(worker.job_id)
        inner = f'exec "$0" {quote_path(script)} >> {self.output_file(worker)} 2>&1'
        return (
            f"cd {self.run_dir(delivery_dir)} && "
            f"screen -dmS {session} {SHELL} -c {quote_path(inner)} {SHELL}"
        )

    def alive_command(self, delivery_dir: str, worker: Worker) -> str:
        session = self.session_name(worker.job_id)
        return f"screen -ls 2>/dev/null | grep -q '[0-9]\\.{session}[[:space:]]'"

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        session = self.session_name(worker.job_id)
        pids = (
            "$(screen -ls 2>/dev/null | awk "
            f"'$1 ~ /^[0-9]+\\.{session}$/ {{ split($1, a, \".\"); print a[1] }}')"
        )
        return kill_tree_snippet(pids) + "; screen -wipe >/dev/null 2>&1; true"

    def stop_command(self, run_root: str) -> str:
        return stop_sessions_command(self.paths.session_prefix)

    def running_command(self, run_root: str) -> str:
        prefix = self.paths.session_prefix
        return (
            "screen -ls 2>/dev/null | awk "
            f"'$1 ~ /^[0-9]+\\.{prefix}/ {{ print \"screen session \" $1 }}'; true"
        )
