"""What `inv pickup` runs beyond the experiment's own pickup steps: first a look that no two
nodes would write one file (pickup_check.py), then every command's log brought home
(command_logs.py); CombineCSVFiles steps are told the experiment's commands, so a results file
that names its command gets that command's node, id and grid parameters as columns, and when
the deliveries were made, so that files of earlier ones stay out."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from octopus.run.deliveries import Deliveries
from octopus.stages.command_logs import BringCommandLogs
from octopus.stages.engine import Fanout
from octopus.stages.pickup_check import check_collisions
from octopus.steps.base import AnyStep
from octopus.steps.csv_origin import CommandRef
from octopus.steps.local import CombineCSVFiles

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def pickup_plan(experiment: Experiment) -> tuple[list[AnyStep], Callable[[Fanout], None]]:
    """(the steps pickup runs, the look it takes at every node before them)."""
    own: list[AnyStep] = list(experiment.pickup_steps)
    before = functools.partial(check_collisions, steps=list(own))
    if not experiment.paths.manifest.is_file():  # nothing delivered: the steps alone
        return own, before
    record = Deliveries.read(experiment.paths.manifest)
    combines = [step for step in own if isinstance(step, CombineCSVFiles)]
    if combines:
        commands = command_refs(record)
        made = [m.began for m in record.manifests]
        known = [t for t in made if t is not None]
        for step in combines:
            step.commands = commands
            step.delivered_at = min(known) if known and len(known) == len(made) else None
    logs = BringCommandLogs(
        record, experiment.paths, experiment.ssh_path, experiment.local_cmd_prefix
    )
    return [logs, *own], before


def command_refs(record: Deliveries) -> list[CommandRef]:
    """Every command of the record, as CombineCSVFiles' columns need it."""
    return [
        CommandRef(ident, part.worker.node, text, manifest.params_of(index))
        for manifest in record.manifests
        for part in manifest.plan.parts
        if record.holds(part.worker.node) and record.of(part.worker.node) is manifest
        for ident, text, index in zip(part.ids, part.commands, part.command_indices, strict=True)
    ]
