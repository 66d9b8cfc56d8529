"""Stealing across nodes: which unclaimed commands move from nodes with a backlog to nodes
with idle workers, how the source's claims are taken, and the move itself.

Within a node the queue keeps every worker busy; across nodes a node may run dry while
another still has a backlog. The commands to move are chosen from the backlog's tails (where
the source's own workers arrive last). Before anything moves, the source node's claims on them
are taken in one remote command that says which it got: a command its own workers claimed in
the meantime stays, so a command never runs on both nodes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from octopus.node import Node
from octopus.remote.shell import quote_path
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import CLAIMS_DIR, MARK, claim_file
from octopus.run.plan_model import Plan, WorkerPlan
from octopus.run.workers import worker_on


@dataclass(frozen=True)
class NodeLoad:
    """What stealing needs of a node: its unstarted commands (tails first), live workers and
    how many workers it may run."""

    waiting: list[int]
    alive: int
    capacity: int


@dataclass(frozen=True)
class Theft:
    source: str
    target: str
    ids: list[int]
    workers: int  # new workers on the target


def node_load(parts: list[WorkerPlan], commands: list[CommandStatus], capacity: int) -> NodeLoad:
    """A node's load from its workers' plan and fresh statuses; `alive` counts the workers
    with a command running."""
    pending = {c.id for c in commands if c.state is CommandState.PENDING and not c.attempts}
    tails = [[i for i in reversed(p.ids) if i in pending] for p in parts]
    waiting = [i for row in itertools.zip_longest(*tails) for i in row if i is not None]
    running = {c.worker for c in commands if c.state is CommandState.RUNNING}
    return NodeLoad(waiting, len(running), capacity)


def plan_thefts(loads: Mapping[str, NodeLoad]) -> list[Theft]:
    """Each idle node (nothing waiting, fewer busy workers than it may run) takes from the node
    whose workers have the most waiting each, as many as leaves both about equally loaded."""
    waiting = {n: list(load.waiting) for n, load in loads.items()}
    busy = {n: load.alive for n, load in loads.items()}
    thefts = []
    for target, load in loads.items():
        free = load.capacity - load.alive
        if waiting[target] or free <= 0:
            continue
        source = max(
            (n for n in loads if n != target and waiting[n]),
            key=lambda n: len(waiting[n]) / max(busy[n], 1),
            default=None,
        )
        if source is None:
            break
        count = min(
            len(waiting[source]), math.ceil(len(waiting[source]) * free / (busy[source] + free))
        )
        ids, waiting[source] = waiting[source][:count], waiting[source][count:]
        busy[target] += min(free, count)
        thefts.append(Theft(source, target, ids, min(free, count)))
    return thefts


# A claim's file name is the command's id and this (its stdout file's suffix, from layout).
CLAIM_SUFFIX = claim_file("").rsplit("/", 1)[-1]


def claim_command(run_dir: str, ids: list[int]) -> str:
    """Shell text taking the node's claims on these commands; prints `MARK claimed <id>` for
    each it got (one a worker of the node holds is not printed)."""
    folder = f'"$HOME"/{quote_path(run_dir)}/{CLAIMS_DIR}'
    return (
        f"mkdir -p {folder} && cd {folder} && set -C && "
        f"for i in {' '.join(map(str, ids))}; do "
        f'true 2>/dev/null > "$i{CLAIM_SUFFIX}" && echo "{MARK} claimed $i"; done; true'
    )


def parse_claimed(output: str) -> list[int]:
    prefix = f"{MARK} claimed "
    return [int(line[len(prefix) :]) for line in output.splitlines() if line.startswith(prefix)]


def new_workers(plan: Plan, node: Node, count: int) -> list[WorkerPlan]:
    """`count` new workers on `node`, numbered after every worker it has."""
    name = node.name or "?"
    jobs = [p.worker.job_id for p in plan.parts if p.worker.node == name]
    first = max(jobs, default=-1) + 1
    return [WorkerPlan(worker_on(node, len(jobs) + k, first + k, k)) for k in range(count)]


def move(plan: Plan, ids: list[int], targets: list[WorkerPlan]) -> None:
    """Take these commands off their workers in `plan` and deal them to `targets` in turn."""
    wanted = set(ids)
    taken: dict[int, tuple[str, int | None]] = {}
    for part in plan.parts:
        keep = []
        for k, ident in enumerate(part.ids):
            if ident in wanted:
                taken[ident] = (part.commands[k], part.command_indices[k])
            else:
                keep.append(k)
        if len(keep) != len(part.ids):
            part.ids = [part.ids[k] for k in keep]
            part.commands = [part.commands[k] for k in keep]
            part.command_indices = [part.command_indices[k] for k in keep]
    for ident, target in zip(ids, itertools.cycle(targets), strict=False):
        text, index = taken[ident]
        target.ids.append(ident)
        target.commands.append(text)
        target.command_indices.append(index)
