"""Finding and stopping an experiment's workers on a node, whatever launcher started them."""

from __future__ import annotations

from octopus.launchers.base import WorkerLauncher
from octopus.launchers.registry import launcher_for
from octopus.remote.shell import quote_path
from octopus.run.layout import CANCEL_FILE
from octopus.steps.base import Step
from octopus.steps.context import StepContext


def _launchers(ctx: StepContext) -> list[tuple[WorkerLauncher, str]]:
    """(launcher, run folder) of the node's own launcher, plus screen and process, whose
    checks are harmless anywhere (an experiment may have started workers both ways over its
    life): under this checkout's names, and under the names older versions gave."""
    kinds = dict.fromkeys(["screen", "process", ctx.experiment.launcher_of(ctx.node)])
    paths = ctx.experiment.paths
    return [
        (launcher_for(kind, named), named.remote_run_dir)
        for named in (paths, paths.unscoped())
        for kind in kinds
    ]


def running_workers(ctx: StepContext) -> str:
    """What of this experiment still runs on the node ('' when nothing does)."""
    command = "; ".join(launcher.running_command(root) for launcher, root in _launchers(ctx))
    lines = [
        line for line in ctx.run(command, show=False, warn=True).stdout.splitlines() if line.strip()
    ]
    return ", ".join(lines)


def stop_workers(ctx: StepContext) -> None:
    """Stop every worker of this experiment on the node, with all its processes."""
    command = "; ".join(launcher.stop_command(root) for launcher, root in _launchers(ctx))
    ctx.run(command, show=False, warn=True)


class StopWorkers(Step):
    """What `inv purge` runs before the experiment's own purge steps."""

    label = "stop workers"

    def describe(self, ctx: StepContext) -> list[str]:
        run_root = ctx.experiment.paths.remote_run_dir
        return [f"stop this experiment's screen sessions and processes under ~/{run_root}"]

    def execute(self, ctx: StepContext) -> str:
        running = running_workers(ctx)
        # First the mark, so that what the workers leave unfinished reads as cancelled.
        paths = ctx.experiment.paths
        marks = [
            f'[ -d "$HOME"/{current} ] && touch "$HOME"/{current}/{CANCEL_FILE}'
            for current in (quote_path(p.remote_current) for p in (paths, paths.unscoped()))
        ]
        ctx.run("; ".join(marks) + "; true", show=False)
        stop_workers(ctx)
        ctx.say(f"stopped {running}" if running else "no worker was running")
        return running


class FindRunningWorkers(Step):
    """This experiment's workers still alive on the node (any delivery), stopped with `force`;
    returns what still runs ('' when nothing does)."""

    label = "check for running workers"

    def __init__(self, force: bool) -> None:
        super().__init__()
        self.force = force

    def describe(self, ctx: StepContext) -> list[str]:
        paths = ctx.experiment.paths
        return [
            f"look for running workers of this experiment ({paths.session_prefix}* sessions or "
            f"jobs, processes under ~/{paths.remote_run_dir})"
            + ("; stop them (--force)" if self.force else "")
        ]

    def execute(self, ctx: StepContext) -> str:
        running = running_workers(ctx)
        if running and self.force:
            ctx.say(f"--force: stopping {running}")
            stop_workers(ctx)
            return ""
        return running
