"""The stages that are only the experiment's own steps: setup, check-errors, pickup, and monitor
before anything was delivered."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.run.deliveries import Deliveries
from octopus.stages.command_logs import BringCommandLogs
from octopus.stages.engine import Fanout, run_stage
from octopus.stages.options import StageOptions
from octopus.stages.pickup_check import check_collisions
from octopus.steps.base import AnyStep
from octopus.steps.csv_origin import CommandRef
from octopus.steps.local import CombineCSVFiles

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def run(
    experiment: Experiment,
    nodes: list[Node],
    options: StageOptions,
    output: StageOutput,
    *,
    stage: ExperimentTask,
) -> StageReport:
    """Run the experiment's steps of that stage on the nodes (pickup brings the command logs
    of a delivered experiment home first: command_logs.py)."""
    own: list[AnyStep] = list(experiment.steps_of(stage))
    before: Callable[[Fanout], None] | None = None
    if stage is ExperimentTask.PICKUP:  # first: no two nodes may write one file
        before = functools.partial(check_collisions, steps=list(own))
    if stage is ExperimentTask.PICKUP and experiment.paths.manifest.is_file():
        record = Deliveries.read(experiment.paths.manifest)
        combines = [step for step in own if isinstance(step, CombineCSVFiles)]
        if combines:  # a results file that names its command gets its node, id, parameters
            commands = command_refs(record)
            for step in combines:
                step.commands = commands
        logs = BringCommandLogs(
            record, experiment.paths, experiment.ssh_path, experiment.local_cmd_prefix
        )
        own = [logs, *own]
    return run_stage(
        str(stage),
        own,
        nodes,
        experiment=experiment,
        output=output,
        parallel=options.parallel,
        dry_run=options.dry_run,
        # check-errors does all it can, as the original did: a failing check does not stop
        # the next ones (setup stops a node at its first failure: later steps need earlier).
        keep_going=stage is ExperimentTask.CHECK_ERRORS,
        before=before,
    )


def command_refs(record: Deliveries) -> list[CommandRef]:
    """Every command of the record, as CombineCSVFiles' columns need it."""
    return [
        CommandRef(ident, part.worker.node, text, manifest.params_of(index))
        for manifest in record.manifests
        for part in manifest.plan.parts
        if record.holds(part.worker.node) and record.of(part.worker.node) is manifest
        for ident, text, index in zip(part.ids, part.commands, part.command_indices, strict=True)
    ]
