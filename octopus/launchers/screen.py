"""Workers as detached GNU screen sessions, named after the experiment and worker."""

from __future__ import annotations

from octopus.launchers.base import SHELL, WorkerLauncher
from octopus.remote.shell import kill_tree_snippet, quote_path
from octopus.run.layout import regex_literal
from octopus.run.workers import Worker

# `screen -ls` lines of live sessions: "<tab><pid>.<name><tab>(...)(Detached)"; a session
# whose process died (kill -9, OOM) stays listed as "(Dead ???)" until `screen -wipe`.
LIVE = "!/[(]Dead/"


def stop_sessions_command(pattern: str | None) -> str:
    """Shell code stopping the screen sessions whose whole name matches the extended regular
    expression `pattern` (every session of the user when None).

    Each session's process tree is signalled as a whole, so commands that ignore SIGHUP (the
    only signal `screen -X quit` sends) stop too; then dead sessions are wiped.
    """
    match = "1" if pattern is None else f"$2 ~ /^{pattern}$/"
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
        session = regex_literal(self.session_name(worker.job_id))
        return (
            f"screen -ls 2>/dev/null | awk '{LIVE} && $1 ~ /^[0-9]+\\.{session}$/ "
            "{ found = 1 } END { exit !found }'"
        )

    def stop_one_command(self, delivery_dir: str, worker: Worker) -> str:
        session = regex_literal(self.session_name(worker.job_id))
        pids = (
            "$(screen -ls 2>/dev/null | awk "
            f"'$1 ~ /^[0-9]+\\.{session}$/ {{ split($1, a, \".\"); print a[1] }}')"
        )
        return kill_tree_snippet(pids) + "; screen -wipe >/dev/null 2>&1; true"

    def stop_command(self, run_root: str) -> str:
        return stop_sessions_command(self.paths.session_regex)

    def running_command(self, run_root: str) -> str:
        pattern = self.paths.session_regex
        return (
            "screen -ls 2>/dev/null | awk "
            f"'{LIVE} && $1 ~ /^[0-9]+\\.{pattern}$/ {{ print \"screen session \" $1 }}'; true"
        )
