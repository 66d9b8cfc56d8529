"""Stopping this experiment's screen sessions and Slurm jobs, and nothing else of the user's."""

from __future__ import annotations

from typing import Any

from octopus.launchers.screen import stop_sessions_command
from octopus.launchers.slurm import SlurmLauncher, cancel_all_command
from octopus.steps.base import Step
from octopus.steps.context import StepContext


class KillAllScreens(Step):
    """Stop this experiment's screen sessions and every process in them.

    `all_sessions=True` stops every screen session of the login user instead, as the
    original step did (it never kills processes by name).
    """

    def __init__(self, all_sessions: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.all_sessions = all_sessions

    def commands(self, ctx: StepContext) -> list[str]:
        pattern = None if self.all_sessions else ctx.experiment.paths.session_regex
        return [stop_sessions_command(pattern)]


class KillAllSlurmJobs(Step):
    """Cancel this experiment's Slurm jobs (their names carry it), or all of them with all_jobs."""

    def __init__(self, all_jobs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.all_jobs = all_jobs

    def commands(self, ctx: StepContext) -> list[str]:
        if self.all_jobs:
            return [cancel_all_command()]
        return [SlurmLauncher(ctx.experiment.paths).stop_command()]
