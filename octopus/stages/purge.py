"""`inv purge`: stop this experiment's workers and their processes, then its purge steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.stages.engine import run_stage
from octopus.stages.options import StageOptions
from octopus.stages.worker_control import StopWorkers

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> StageReport:
    """Stop the workers (every launcher's way), then run the experiment's purge steps."""
    return run_stage(
        "purge",
        [StopWorkers(), *experiment.purge_steps],
        nodes,
        experiment=experiment,
        output=output,
        parallel=options.parallel,
        dry_run=options.dry_run,
        keep_going=True,  # a purge does all it can: a failing step does not stop the others
    )
