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


def running_command(ctx: StepContext) -> str:
    """Shell text printing what of this experiment still runs on the node, a line each."""
    checks: dict[str, list[str]] = {}
    for launcher, root in _launchers(ctx):
        checks.setdefault(root, []).append(launcher.running_command(root))
    return in_run_folders(checks)


def in_run_folders(checks: dict[str, list[str]]) -> str:
    """Shell text running each run folder's checks (`checks`: folder under $HOME -> shell
    texts) only where the folder exists. Workers run their scripts from their run folder, so
    none runs without one; and a node with none (every first delivery, and the names older
    versions gave, on most nodes) then starts no `screen -ls`, `awk` or `squeue` to look."""
    return "; ".join(
        f'if [ -d "$HOME"/{quote_path(root)} ]; then {"; ".join(texts)}; fi'
        for root, texts in checks.items()
    )


def stop_command(ctx: StepContext) -> str:
    """Shell text stopping every worker of this experiment on the node, with its processes."""
    return "; ".join(launcher.stop_command(root) for launcher, root in _launchers(ctx))


def listed(output: str) -> str:
    """The running workers' lines as one text ('' when there are none)."""
    return ", ".join(line for line in output.splitlines() if line.strip())


def running_workers(ctx: StepContext) -> str:
    """What of this experiment still runs on the node ('' when nothing does)."""
    return listed(ctx.quick(running_command(ctx), warn=True).stdout)


def stop_workers(ctx: StepContext) -> None:
    """Stop every worker of this experiment on the node, with all its processes."""
    ctx.quick(stop_command(ctx), warn=True)


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
        ctx.quick("; ".join(marks) + "; true")
        stop_workers(ctx)
        ctx.say(f"stopped {running}" if running else "no worker was running")
        return running
