"""Stopping this experiment's screen sessions and Slurm jobs, and nothing else of the user's."""

from __future__ import annotations

from typing import Any

from octopus.shell import kill_tree_snippet
from octopus.steps.base import Step, StepContext


def stop_screen_sessions_command(prefix: str | None) -> str:
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


class KillAllScreens(Step):
    """Stop this experiment's screen sessions and every process in them.

    `all_sessions=True` stops every screen session of the login user instead, as the
    original step did (it never kills processes by name).
    """

    def __init__(self, all_sessions: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.all_sessions = all_sessions

    def commands(self, ctx: StepContext) -> list[str]:
        prefix = None if self.all_sessions else ctx.experiment.paths.session_prefix
        return [stop_screen_sessions_command(prefix)]


class KillAllSlurmJobs(Step):
    """Cancel this experiment's Slurm jobs (their names carry it), or all of them with all_jobs."""

    def __init__(self, all_jobs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.all_jobs = all_jobs

    def commands(self, ctx: StepContext) -> list[str]:
        if self.all_jobs:
            return ['scancel -u "$USER"']
        prefix = ctx.experiment.paths.session_prefix
        return [
            "octopus_jobs=$(squeue -h -u \"$USER\" -o '%i %j' | "
            f"awk 'index($2, \"{prefix}\") == 1 {{ print $1 }}' | tr '\\n' ' '); "
            '[ -z "$octopus_jobs" ] || scancel $octopus_jobs'
        ]
