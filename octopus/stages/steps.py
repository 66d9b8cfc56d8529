"""The stages that are only the experiment's own steps: setup, check-errors, pickup, and monitor
before anything was delivered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.run.deliveries import Deliveries
from octopus.stages.command_logs import BringCommandLogs
from octopus.stages.engine import run_stage
from octopus.stages.options import StageOptions
from octopus.steps.base import AnyStep

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
    if stage is ExperimentTask.PICKUP and experiment.paths.manifest.is_file():
        record = Deliveries.read(experiment.paths.manifest)
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
    )
