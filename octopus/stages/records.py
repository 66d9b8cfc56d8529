"""Stages that change an experiment's local records (deliver, start) run one at a time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.run.lock import holding_records
from octopus.stages.options import StageOptions

if TYPE_CHECKING:
    from octopus.experiment import Experiment

StageRun = Callable[["Experiment", list[Node], StageOptions, StageOutput], StageReport]


def changes_records(run: StageRun) -> StageRun:
    """Run the stage holding the experiment's records lock (a dry run changes nothing and
    takes no lock), so two processes never write what the other just wrote over."""

    @functools.wraps(run)
    def holding(
        experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
    ) -> StageReport:
        if options.dry_run:
            return run(experiment, nodes, options, output)
        with holding_records(experiment.paths):
            return run(experiment, nodes, options, output)

    return holding
