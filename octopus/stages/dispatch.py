"""From a task to its stage: the one dispatcher, used by the Invoke tasks, `inv run` and
`Experiment.run_task`.

Each stage's module is imported when that stage runs (the imports inside `run_task`): a task
loads only its own stage, so `inv setup` does not pay for deliver's archives or start's
policies, and a one-node stage stays as quick to start as before the stages had modules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.experiment_task import ExperimentTask
from octopus.inventory import select_nodes as choose_nodes
from octopus.localfiles import local_file_errors
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import MonitorReport, StageReport
from octopus.stages import steps
from octopus.stages.interrupt import INTERRUPT, Interrupted
from octopus.stages.options import StageOptions
from octopus.views.tables import print_commands, print_stage

if TYPE_CHECKING:
    from octopus.experiment import Experiment

Report = StageReport | MonitorReport


def run_task(
    experiment: Experiment,
    task: ExperimentTask | str,
    nodes: list[Node],
    options: StageOptions,
    output: StageOutput,
) -> Report | None:
    """Run one stage on these nodes and print its summary; returns its report (None for print)."""
    task = ExperimentTask(str(task))
    if task is ExperimentTask.PRINT:
        print_commands(experiment.experiment_commands)
        return None
    # A stage's own lines are shown when they are its point, or in full with --verbose (or
    # in a dry run, whose point is what would run).
    shown = output.show_lines, output.show_details
    output.show_details = output.verbose or options.dry_run
    output.show_lines = output.show_details or task in TELLING_STAGES
    try:
        return _run_stage(experiment, task, nodes, options, output)
    finally:
        output.show_lines, output.show_details = shown


# The stages whose nodes' lines are what the user asked for.
TELLING_STAGES = (
    ExperimentTask.CHECK_ERRORS,
    ExperimentTask.MONITOR,
    ExperimentTask.SELECT_RUNEXP_NODES,
)


def _run_stage(
    experiment: Experiment,
    task: ExperimentTask,
    nodes: list[Node],
    options: StageOptions,
    output: StageOutput,
) -> Report:
    report: Report
    if task is ExperimentTask.SELECT_RUNEXP_NODES:
        from octopus.stages import select_nodes  # loaded when it runs (module docstring)

        selected, report = select_nodes.run(experiment, nodes, options, output)
        if not options.dry_run:
            # As the original did: later stages of this Experiment use the selection.
            experiment.use_nodes(selected)
    elif task is ExperimentTask.DELIVER_SCRIPTS:
        from octopus.stages import deliver  # loaded when it runs (module docstring)

        report = deliver.run(experiment, nodes, options, output)
    elif task is ExperimentTask.START:
        from octopus.stages import start  # loaded when it runs (module docstring)

        report = start.run(experiment, nodes, options, output)
    elif task is ExperimentTask.MONITOR:
        from octopus.stages import monitor  # loaded when it runs (module docstring)

        report = monitor.run(experiment, nodes, options, output)
        if isinstance(report, MonitorReport):
            _raise_if_interrupted(task)
            return report  # monitor shows its own table
    elif task is ExperimentTask.PURGE:
        from octopus.stages import purge  # loaded when it runs (module docstring)

        report = purge.run(experiment, nodes, options, output)
    else:
        report = steps.run(experiment, nodes, options, output, stage=task)
    print_stage(report, output)
    _raise_if_interrupted(task)
    return report


def _raise_if_interrupted(task: ExperimentTask) -> None:
    """After Ctrl-C, the stage's summary is printed; then the task (and `inv run`) ends."""
    if INTERRUPT.requested.is_set():
        raise Interrupted(f"{task} interrupted (Ctrl-C); the summary above shows each node")


def run_experiment_task(
    experiment: Experiment,
    task: ExperimentTask | str,
    *,
    nodes: str | Iterable[str] | None = None,
    tags: str | Iterable[str] | None = None,
    inventory: str | Path | None = None,
    options: StageOptions | None = None,
    output: StageOutput | None = None,
) -> Report | None:
    """`run_task` on the experiment's nodes narrowed by names and tags, with a stage log.

    A local file that cannot be written or read (full disk, permission denied) ends the
    stage with LocalFileError naming it, wherever in the stage it happened."""
    with local_file_errors(action="access"):
        return _run_experiment_task(experiment, task, nodes, tags, inventory, options, output)


def _run_experiment_task(
    experiment: Experiment,
    task: ExperimentTask | str,
    nodes: str | Iterable[str] | None,
    tags: str | Iterable[str] | None,
    inventory: str | Path | None,
    options: StageOptions | None,
    output: StageOutput | None,
) -> Report | None:
    options = options or StageOptions()
    task = ExperimentTask(str(task))
    if task is ExperimentTask.PRINT:
        return run_task(experiment, task, [], options, StageOutput(quiet=True))
    chosen = choose_nodes(experiment, nodes, tags, inventory)
    if nodes is not None or tags is not None:
        own = choose_nodes(experiment, None, None, inventory)
        options = dataclasses.replace(options, all_nodes=tuple(n.name or "" for n in own))
    out = output or StageOutput(
        log_path=None if options.dry_run else experiment.paths.stage_log(task.task_name),
        quiet=options.as_json,
        verbose=options.verbose,
    )
    try:
        return run_task(experiment, task, chosen, options, out)
    finally:
        if output is None:
            out.close()
