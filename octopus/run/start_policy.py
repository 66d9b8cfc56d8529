"""What `inv start` does with each worker: start it, resume what it still owes, leave it, refuse.

Pure decisions over a node's status (run/status.py), so each rule has a unit test. Nothing
that finished successfully runs twice: a resumed worker gets a new script holding only the
commands it still owes, each keeping its id, so its events join the ones already recorded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from octopus.errors import OctopusError
from octopus.node import Node
from octopus.run.events import CommandState
from octopus.run.layout import script_name, worker_label
from octopus.run.ledger import Ledger
from octopus.run.plan_model import Plan, WorkerPlan
from octopus.run.status import NodeStatus
from octopus.run.workers import Worker, worker_on


@dataclass(frozen=True)
class StartOptions:
    """How `start` treats workers that already ran: the task's flags."""

    resume: bool = False
    retry_failed: bool = False
    rebalance: bool = False
    force: bool = False
    steal: bool = False  # idle nodes take unclaimed commands from backlogged ones (steal.py)

    @property
    def partial(self) -> bool:
        """Only some commands run again (a new script per worker), not the delivered scripts."""
        return self.resume or self.retry_failed or self.rebalance or self.steal

    @property
    def wanted(self) -> set[CommandState]:
        """The command states that run again."""
        states: set[CommandState] = set()
        if self.resume or self.rebalance:
            states |= {CommandState.PENDING, CommandState.LOST, CommandState.CANCELLED}
        if self.retry_failed:
            states.add(CommandState.FAILED)
        return states


@dataclass
class WorkerStart:
    """What start does with one worker: stop it first?, start which script with which commands."""

    worker: Worker
    script: str | None = None  # None: nothing to start
    owed: WorkerPlan | None = None  # the commands of a new script (None: the delivered one)
    stop_first: bool = False
    note: str = ""  # said when the worker is left alone


def refuse_if_running(status: NodeStatus, options: StartOptions) -> None:
    """A plain start refuses while any worker of the node still runs."""
    if options.partial or options.force:
        return
    running = [worker_label(job) for job, alive in sorted(status.alive.items()) if alive]
    if running:
        raise OctopusError(
            f"{', '.join(running)} still running: refused "
            "(--force restarts them, --resume leaves them be)"
        )


def worker_start(
    part: WorkerPlan, status: NodeStatus, options: StartOptions, new: bool = False
) -> WorkerStart:
    """The decision for one worker of the delivery (`new`: made just now by rebalance)."""
    job = part.worker.job_id
    name = worker_label(job)
    alive = status.alive.get(job, False)
    if alive and not options.force:
        return WorkerStart(
            part.worker, note=f"{name} is still running: left alone (--force restarts it)"
        )
    events = status.events.get(job)
    if new:
        return WorkerStart(part.worker, script_name(job), part, stop_first=alive)
    if not options.partial:
        if events is not None and events.runs and not options.force:
            raise OctopusError(
                f"worker {name} already ran: use --resume or "
                "--retry-failed (or --force to run its script again)"
            )
        return WorkerStart(part.worker, script_name(job), stop_first=alive)
    states = {c.id: c.state for c in status.commands if c.worker == job}
    if alive:  # stopped first: what was running is lost
        states = {
            i: CommandState.LOST if s is CommandState.RUNNING else s for i, s in states.items()
        }
    keep = [i for i, ident in enumerate(part.ids) if states.get(ident) in options.wanted]
    if not keep:
        return WorkerStart(part.worker, stop_first=alive)
    owed = WorkerPlan(
        part.worker,
        [part.ids[i] for i in keep],
        [part.commands[i] for i in keep],
        [part.command_indices[i] for i in keep],
    )
    runs = (events.runs if events else 0) + 1
    return WorkerStart(part.worker, script_name(job, f".run{runs}"), owed, stop_first=alive)


def move_unfinished(plan: Plan, ledger: Ledger, up: list[Node], down: set[str]) -> list[WorkerPlan]:
    """Give the unfinished commands of the `down` nodes to new workers on the `up` nodes.

    The moved commands leave their old workers in the plan and become pending on the new
    ones (round robin), keeping their ids; returns the new workers that got commands, which
    are also added to the plan.
    """
    if not down:
        return []
    if not up:
        raise OctopusError("no node is reachable to take over the work")
    moving = [
        s
        for s in ledger.statuses()
        if s.node in down and s.state not in (CommandState.DONE, CommandState.FAILED)
    ]
    if not moving:
        return []
    targets: list[WorkerPlan] = []
    for node in up:
        jobs = [p.worker.job_id for p in plan.parts if p.worker.node == node.name]
        next_job = max(jobs, default=-1) + 1
        for index in range(node.num_workers):
            targets.append(WorkerPlan(worker_on(node, len(jobs) + index, next_job + index, index)))
    moved_ids = {s.id for s in moving}
    by_id = {e.id: e for e in plan.entries}  # before the moved ones leave their old workers
    for part in plan.parts:
        if part.worker.node in down:
            keep = [i for i, ident in enumerate(part.ids) if ident not in moved_ids]
            part.ids = [part.ids[i] for i in keep]
            part.commands = [part.commands[i] for i in keep]
            part.command_indices = [part.command_indices[i] for i in keep]
    for status, target in zip(moving, itertools.cycle(targets), strict=False):
        target.ids.append(status.id)
        target.commands.append(status.command)
        target.command_indices.append(
            by_id[status.id].command_index if status.id in by_id else None
        )
        entry = ledger.commands[status.id]
        # A new home: what the old node did of it (unfinished) stays in its own events.
        entry.node = target.worker.node
        entry.worker = target.worker.job_id
        entry.state = CommandState.PENDING
        entry.attempts, entry.started, entry.ended, entry.exit_code = 0, None, None, None
    added = [t for t in targets if t.ids]
    plan.parts.extend(added)
    return added
