"""Workers: the screen sessions, processes or Slurm jobs a node runs, and the placeholders
(`[job_id]`, `[socket]`, `[hw_placeholder]`) a command gets from the worker it lands on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from octopus.errors import ConfigError
from octopus.limits import MAX_WORKERS_PER_NODE
from octopus.node import Node

PLACEHOLDER_JOB_ID = "[job_id]"
PLACEHOLDER_SOCKET = "[socket]"
PLACEHOLDER_HARDWARE = "[hw_placeholder]"


@dataclass(frozen=True)
class Worker:
    """One screen session, process or Slurm job on a node; `job_id` names its files."""

    node: str
    index: int
    job_id: int
    socket: int
    hardware: str | None = None


def make_workers(
    nodes: Sequence[Node], per_node: int | None = None, offset: int = 0
) -> list[Worker]:
    """Every node's workers in node order; `per_node` overrides the nodes' own counts."""
    workers = []
    for node in nodes:
        count = per_node if per_node is not None else node.num_workers
        if count > MAX_WORKERS_PER_NODE:  # checked where it enters; kept here for safety
            raise ConfigError(
                f"{count} workers on node '{node.name}' is more than {MAX_WORKERS_PER_NODE}",
                key="screens_per_node",
            )
        for index in range(count):
            workers.append(
                Worker(
                    node=node.name or "?",
                    index=index,
                    job_id=index + offset,
                    socket=node.available_sockets[index % len(node.available_sockets)],
                    hardware=node.hardware_desc,
                )
            )
    return workers


def fill_placeholders(
    text: str, worker: Worker, hardware: bool = False, per_worker: bool = True
) -> str:
    """`[job_id]`, `[socket]` (and `[hw_placeholder]` in per-hardware mode) for one worker.

    Without `per_worker` (a node's shared queue) `[job_id]` and `[socket]` stay: the worker
    that takes the command fills them in when it runs it.
    """
    if "[" not in text:
        return text
    if per_worker:
        text = text.replace(PLACEHOLDER_JOB_ID, str(worker.job_id))
        text = text.replace(PLACEHOLDER_SOCKET, str(worker.socket))
    if hardware:
        text = text.replace(PLACEHOLDER_HARDWARE, worker.hardware or "")
    return text
