"""The stages that are only the experiment's own steps: setup, check-errors, pickup, and monitor
before anything was delivered."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.stages.engine import Fanout, run_stage
from octopus.stages.options import StageOptions
from octopus.stages.pickup import pickup_plan
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
    """Run the experiment's steps of that stage on the nodes (pickup: pickup.py)."""
    own: list[AnyStep] = list(experiment.steps_of(stage))
    before: Callable[[Fanout], None] | None = None
    if stage is ExperimentTask.PICKUP:
        own, before = pickup_plan(experiment)
    return run_stage(
        stage.task_name,
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
