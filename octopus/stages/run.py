"""`inv run`: the whole lifecycle of an experiment, waiting for its commands in between."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import MonitorReport
from octopus.stages.dispatch import run_task
from octopus.stages.monitor import monitor
from octopus.stages.options import StageOptions
from octopus.views.monitor import print_monitor

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def wait_for_commands(
    experiment: Experiment,
    nodes: list[Node],
    *,
    output: StageOutput,
    parallel: int | None,
    interval: float,
    timeout: float | None,
) -> MonitorReport:
    """Poll the nodes until nothing runs or waits any more (or the timeout passes)."""
    quiet = StageOutput(output.console, quiet=True)
    began = time.monotonic()
    report = monitor(experiment, nodes, output=quiet, parallel=parallel)
    total = len(report.statuses)
    console = output.console
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("commands", total=total, states="")
        last = ""
        while True:
            counts = report.totals
            states = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
            bar.update(task, completed=counts["done"] + counts["failed"], states=states)
            if not console.is_terminal and states != last:
                output.note(f"commands: {states}")
                last = states
            stuck = report.unreachable or report.undelivered
            if report.finished or (stuck and not counts["running"]):
                return report
            if timeout is not None and time.monotonic() - began > timeout:
                output.note(f"stopped waiting after {timeout:g}s")
                return report
            time.sleep(interval)
            report = monitor(experiment, nodes, output=quiet, parallel=parallel)


def run_experiment(
    experiment: Experiment,
    nodes: list[Node],
    options: StageOptions,
    *,
    interval: float = 2.0,
    timeout: float | None = None,
) -> int:
    """Setup, deliver, start, wait, check-errors, pickup; the exit code of the whole run.

    With a dry run every stage only prints what it would do, and nothing is waited for.
    """
    output = StageOutput(log_path=None if options.dry_run else experiment.paths.stage_log("run"))
    code = 0
    try:
        for stage in (ExperimentTask.SETUP, ExperimentTask.DELIVER_SCRIPTS, ExperimentTask.START):
            report = run_task(experiment, stage, nodes, options, output)
            if report is not None and not report.ok:
                output.note(f"{stage} failed; stopping here")
                return report.exit_code
        if not options.dry_run:
            status = wait_for_commands(
                experiment,
                nodes,
                output=output,
                parallel=options.parallel,
                interval=interval,
                timeout=timeout,
            )
            print_monitor(status, output.console)
            code = status.exit_code
        for stage in (ExperimentTask.CHECK_ERRORS, ExperimentTask.PICKUP):
            report = run_task(experiment, stage, nodes, options, output)
            if report is not None:
                code = max(code, report.exit_code)
    finally:
        output.close()
    return 0 if options.dry_run else code
