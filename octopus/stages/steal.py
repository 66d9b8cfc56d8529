"""`--steal` in `inv start` (as `inv monitor --steal` and `inv run` ask for it): idle nodes
take unclaimed commands from nodes with a backlog.

The nodes' fresh states decide what moves (run/steal.py); each source node then takes its own
claims on those commands in one remote command, and only the ones it got move: to new workers
in the target node's own delivery, started by the start stage like a rebalance's. The ledger
follows the commands to their new node at once, so the source's older view never pulls them
back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import MonitorReport, StageReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState
from octopus.run.ledger import Ledger
from octopus.run.plan_model import WorkerPlan
from octopus.run.schedule import QUEUE
from octopus.run.status import NodeStatus
from octopus.run.steal import (
    claim_command,
    move,
    new_workers,
    node_load,
    parse_claimed,
    plan_thefts,
)
from octopus.stages.engine import Fanout
from octopus.stages.facts import learn_recorded
from octopus.stages.options import StageOptions
from octopus.steps.base import Step
from octopus.steps.context import StepContext

if TYPE_CHECKING:
    from octopus.experiment import Experiment


class _TakeClaims(Step):
    """Takes the node's claims on the commands to move; returns the ids it got."""

    label = "take claims"

    def __init__(self, record: Deliveries, wanted: dict[str, list[int]]) -> None:
        super().__init__()
        self.record = record
        self.wanted = wanted

    def describe(self, ctx: StepContext) -> list[str]:
        return ["claim the commands other nodes take over"] if ctx.name in self.wanted else []

    def execute(self, ctx: StepContext) -> list[int]:
        ids = self.wanted.get(ctx.name)
        if not ids:
            return []
        result = ctx.run(claim_command(self.record.of(ctx.name).run_dir, ids), show=False)
        return parse_claimed(result.stdout)


def steal(
    fan: Fanout,
    record: Deliveries,
    ledger: Ledger,
    nodes: list[Node],
    statuses: dict[str, NodeStatus],
    added: dict[str, list[WorkerPlan]],
    per_node: int | None,
) -> bool:
    """Move unclaimed commands from backlogged nodes to idle ones; False when nothing moved."""
    by_name = {n.name or "?": n for n in nodes}
    loads = {
        name: node_load(
            record.of(name).workers_on(name),
            status.commands,
            per_node or by_name[name].num_workers,
        )
        for name, status in statuses.items()
        if name in by_name and status.delivery is not None and record.of(name).schedule == QUEUE
    }
    thefts = plan_thefts(loads)
    if not thefts:
        fan.output.note("steal: no idle node, or no backlog to take")
        return False
    wanted: dict[str, list[int]] = {}
    for theft in thefts:
        wanted.setdefault(theft.source, []).extend(theft.ids)
    fan.remote([_TakeClaims(record, wanted)], first=2)
    got = {name: set(ids) for name, ids in fan.data().items() if isinstance(ids, list)}
    moved = 0
    for theft in thefts:
        ids = [i for i in theft.ids if i in got.get(theft.source, set())]
        if not ids:
            continue  # the source's own workers claimed them meanwhile
        target = record.of(theft.target)
        workers = new_workers(target.plan, by_name[theft.target], min(theft.workers, len(ids)))
        move(record.of(theft.source).plan, ids, workers)
        target.plan.parts.extend(workers)
        added.setdefault(theft.target, []).extend(workers)
        record.of(theft.source).stolen.setdefault(theft.source, []).extend(ids)
        taken = set(ids)
        status = statuses[theft.source]
        status.commands = [c for c in status.commands if c.id not in taken]
        for part in workers:
            for ident in part.ids:
                entry = ledger.commands[ident]
                entry.node, entry.worker = part.worker.node, part.worker.job_id
        moved += len(ids)
        fan.output.note(f"steal: {len(ids)} command(s) from {theft.source} to {theft.target}")
    return moved > 0


def worth_stealing(report: MonitorReport, nodes: list[Node], per_node: int | None) -> bool:
    """From a monitor's picture: a node that answered runs fewer commands than it has workers
    and has none waiting, while another has commands waiting, both with the queue schedule
    (then `steal_work` looks closer)."""
    learn_recorded(nodes, report.record)
    queued = {n for m in report.record.manifests if m.schedule == QUEUE for n in m.launchers}
    out_of_reach = {
        *report.unreachable,
        *report.undelivered,
        *(n.name for n in nodes if n.name not in queued),
    }
    running: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for (node, _), worker in report.overview.workers.items():  # counted, not read one by one
        running[node] = running.get(node, 0) + worker.counts[str(CommandState.RUNNING)]
        waiting[node] = waiting.get(node, 0) + worker.counts[str(CommandState.PENDING)]
    backlog = any(count and node not in out_of_reach for node, count in waiting.items())
    idle = any(
        n.name not in out_of_reach
        and not waiting.get(n.name or "")
        and running.get(n.name or "", 0) < (per_node or n.num_workers)
        for n in nodes
    )
    return backlog and idle


def steal_work(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> StageReport:
    """`inv start --steal` on these nodes (what `inv monitor --steal` and `inv run` do)."""
    from octopus.stages import start  # the start stage uses this module: loaded when it runs

    plain = StageOptions(parallel=options.parallel, dry_run=options.dry_run, steal=True)
    return start.run(experiment, nodes, plain, output)
