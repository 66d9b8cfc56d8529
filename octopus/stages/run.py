"""`inv run`: the whole lifecycle of an experiment, waiting for its commands in between."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from octopus.experiment_task import ExperimentTask
from octopus.inventory import select_nodes
from octopus.node import Node
from octopus.notify.notices import FIRST_FAILURE
from octopus.notify.targets import Targets
from octopus.output import StageOutput
from octopus.results import MonitorReport, RunReport, StageReport
from octopus.run.events import CommandState
from octopus.stages.connection_pool import keeping_connections
from octopus.stages.deliverables import require_commands
from octopus.stages.dispatch import run_task
from octopus.stages.monitor import monitor
from octopus.stages.notify import notify_if_due, targets_for
from octopus.stages.options import StageOptions
from octopus.stages.steal import steal_work, worth_stealing
from octopus.views.monitor import print_monitor
from octopus.views.summary import results_of, summary_line

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
    steal: bool = False,
    notify: Targets | None = None,
) -> MonitorReport:
    """Poll the nodes until nothing runs or waits any more (or the timeout passes); with
    `steal`, idle nodes take unclaimed commands from backlogged ones as they go; `notify`
    hears of the first failure as soon as a look sees it (of the end once pickup is done)."""
    quiet = output.on_same_console(quiet=True)
    began = time.monotonic()
    report = monitor(experiment, nodes, output=quiet, parallel=parallel)
    first_failure = (FIRST_FAILURE,)
    total = sum(report.totals.values())
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
            if notify:
                notify_if_due(experiment, report, notify, output, only=first_failure)
            out_of_reach = {**report.unreachable, **report.undelivered}
            if out_of_reach and not console.is_terminal and states != last:
                output.note(f"out of reach: {', '.join(sorted(out_of_reach))}")
            if report.finished:
                return report
            if not _can_progress(report):
                _say_stuck(report, experiment.name, output)
                return report
            if timeout is not None and time.monotonic() - began > timeout:
                output.note(f"stopped waiting after {timeout:g}s")
                return report
            if steal and worth_stealing(report, nodes, experiment.screens_per_node):
                steal_work(experiment, nodes, StageOptions(parallel=parallel), quiet)
            time.sleep(interval)
            report = monitor(experiment, nodes, output=quiet, parallel=parallel)


UNFINISHED = (CommandState.RUNNING, CommandState.PENDING)


def _can_progress(report: MonitorReport) -> bool:
    """Whether a command still runs or waits on a node that answered and has its delivery
    (a node out of reach keeps its last known "running" forever)."""
    out_of_reach = {*report.unreachable, *report.undelivered}
    return any(node not in out_of_reach for node in _unfinished(report))


def _unfinished(report: MonitorReport) -> dict[str, int]:
    """node -> how many of its commands run or wait."""
    waiting: dict[str, int] = {}
    for (node, _), worker in report.overview.workers.items():
        count = sum(worker.counts[str(state)] for state in UNFINISHED)
        if count:
            waiting[node] = waiting.get(node, 0) + count
    return waiting


def _say_stuck(report: MonitorReport, name: str, output: StageOutput) -> None:
    """Name the nodes the unfinished commands wait on, and how to go on."""
    for node, count in sorted(_unfinished(report).items()):
        why = report.unreachable.get(node) or report.undelivered.get(node) or "out of reach"
        output.note(f"stopped waiting: {count} unfinished command(s) on {node} ({why})")
    output.note(
        f"`inv start --exp={name} --rebalance` moves them to the nodes that answer; "
        f"`inv start --exp={name} --resume` runs them where they were, once it is back"
    )


def run_experiment(
    experiment: Experiment,
    nodes: list[Node],
    options: StageOptions,
    *,
    interval: float = 2.0,
    timeout: float | None = None,
    strict: bool = False,
    steal: bool = True,
) -> RunReport:
    """Setup, deliver, start, wait, check-errors, pickup; the report of the whole run (each
    stage's report, the state at the end, the exit code).

    A node that fails a stage or cannot be reached drops out, and the run goes on with the
    others (as ansible and pyinfra do); it is reported, and the run exits 1. With `strict`,
    the first such node stops the run. With `steal`, while it waits, nodes whose workers run
    dry take unclaimed commands from nodes with a backlog (queue schedule). With a dry run
    every stage only prints what it would do, and nothing is waited for.
    """
    require_commands(experiment, "run")  # before setup, not after it at deliver
    output = StageOutput(
        log_path=None if options.dry_run else experiment.paths.stage_log("run"),
        verbose=options.verbose,
    )
    run = RunReport()
    try:
        with keeping_connections():  # one login per node for the whole run
            code = _run_stages(
                experiment, nodes, options, output, interval, timeout, strict, steal, run
            )
    finally:
        output.close()
    run.exit_code = 0 if options.dry_run else code
    return run


def _run_stages(
    experiment: Experiment,
    nodes: list[Node],
    options: StageOptions,
    output: StageOutput,
    interval: float,
    timeout: float | None,
    strict: bool,
    steal: bool,
    run: RunReport,
) -> int:
    code = 0
    for stage in (ExperimentTask.SETUP, ExperimentTask.DELIVER_SCRIPTS, ExperimentTask.START):
        report = run.add(run_task(experiment, stage, nodes, options, output))
        if not isinstance(report, StageReport) or report.ok:
            continue
        going = {r.node for r in report.results if r.ok}
        if strict or report.local_failures or not going:
            output.note(f"{stage} failed; stopping here")
            return report.exit_code
        dropped = [r.node for r in report.results if not r.ok]
        output.note(f"{stage}: going on without {', '.join(dropped)} (--strict stops here)")
        before, nodes = nodes, [n for n in nodes if n.name in going]
        code = 1
        if stage is ExperimentTask.DELIVER_SCRIPTS:
            # Their share of the commands would wait forever: plan everything again over
            # the nodes that took the delivery, and drop the others from the record.
            output.note(f"deliver: planning every command again over {', '.join(going)}")
            replan = dataclasses.replace(
                options, replan=True, all_nodes=tuple(n.name or "" for n in before)
            )
            again = run.add(run_task(experiment, stage, nodes, replan, output))
            if again is None or not again.ok:
                output.note(f"{stage} failed again; stopping here")
                return again.exit_code if again is not None else 1
    status = None
    targets = targets_for(experiment, options.notify)
    if not options.dry_run:
        status = wait_for_commands(
            experiment,
            nodes,
            output=output,
            parallel=options.parallel,
            interval=interval,
            timeout=timeout,
            steal=steal,
            notify=targets,
        )
        run.status = status
        if output.verbose or status.exit_code:  # the summary line says the rest
            print_monitor(status, output.console)
        code = max(code, status.exit_code)
    for stage in (ExperimentTask.CHECK_ERRORS, ExperimentTask.PICKUP):
        report = run.add(run_task(experiment, stage, nodes, options, output))
        if report is not None:
            code = max(code, report.exit_code)
    if status is not None:  # the end, with the results pickup just brought home
        notify_if_due(experiment, status, targets, output)
        output.note(summary_line(experiment.name, status, results_of(experiment)))
    return code


def run_all(experiment: Experiment, **options: Any) -> RunReport:
    """`inv run` from Python (a project's tasks.py): the whole lifecycle on the experiment's
    nodes, returning its report. Keyword options: `nodes`, `tags`, `inventory` narrow the
    nodes; `interval`, `timeout`, `strict`, `steal` are `inv run`'s; `fresh` runs again what
    succeeded before; the rest are StageOptions (dry_run, parallel, verbose, ...)."""
    chosen = select_nodes(
        experiment,
        options.pop("nodes", None),
        options.pop("tags", None),
        options.pop("inventory", None),
    )
    waiting = {
        k: options.pop(k) for k in ("interval", "timeout", "strict", "steal") if k in options
    }
    fresh = options.pop("fresh", False)
    return run_experiment(
        experiment, chosen, StageOptions(keep_done=not fresh, **options), **waiting
    )
