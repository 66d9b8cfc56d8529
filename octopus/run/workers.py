"""Workers: the screen sessions, processes or Slurm jobs a node runs, and the placeholders
(`[job_id]`, `[socket]`, `[gpu]`, `[hw_placeholder]`) a command gets from the worker it lands
on. How many a node runs and which GPUs each gets is the node's business (hardware.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from octopus.errors import ConfigError
from octopus.limits import MAX_WORKERS_PER_NODE
from octopus.node import Node

PLACEHOLDER_JOB_ID = "[job_id]"
PLACEHOLDER_SOCKET = "[socket]"
PLACEHOLDER_GPU = "[gpu]"
PLACEHOLDER_HARDWARE = "[hw_placeholder]"


@dataclass(frozen=True)
class Worker:
    """One screen session, process or Slurm job on a node; `job_id` names its files."""

    node: str
    index: int
    job_id: int
    socket: int
    hardware: str | None = None
    # Its GPUs as CUDA_VISIBLE_DEVICES takes them (`0,1`); "" when it has none of its own.
    gpus: str = ""


def worker_on(node: Node, index: int, job_id: int, place: int | None = None) -> Worker:
    """The node's worker `index`, named `job_id`; its socket and GPUs are those of `place`
    (default: its index; workers added later, by a steal or a rebalance, count from 0)."""
    place = index if place is None else place
    return Worker(
        node=node.name or "?",
        index=index,
        job_id=job_id,
        socket=node.available_sockets[place % len(node.available_sockets)],
        hardware=node.hardware_desc,
        gpus=node.gpus_of(place),
    )


def make_workers(
    nodes: Sequence[Node], per_node: int | None = None, offset: int = 0
) -> list[Worker]:
    """Every node's workers in node order; `per_node` overrides the nodes' own counts."""
    workers: list[Worker] = []
    for node in nodes:
        count = per_node if per_node is not None else node.num_workers
        if count > MAX_WORKERS_PER_NODE:  # checked where it enters; kept here for safety
            raise ConfigError(
                f"{count} workers on node '{node.name}' is more than {MAX_WORKERS_PER_NODE}",
                key="screens_per_node",
            )
        workers.extend(worker_on(node, index, index + offset) for index in range(count))
    return workers


def check_gpu_placeholder(texts: Iterable[str], nodes: Sequence[Node]) -> None:
    """`[gpu]` means the worker's own GPUs: a ConfigError when a command (or the prefix) holds
    it and a node gives its workers none."""
    without = [node.name or "?" for node in nodes if not node.gpus_per_worker]
    if without and any(PLACEHOLDER_GPU in text for text in texts):
        raise ConfigError(
            f"{PLACEHOLDER_GPU} in a command, but node(s) {', '.join(without)} give their "
            "workers no GPUs: set gpus_per_worker for them in nodes.yaml, or leave them out "
            "(--nodes)",
            key="experiment_commands",
        )


def fill_placeholders(
    text: str, worker: Worker, hardware: bool = False, per_worker: bool = True
) -> str:
    """`[job_id]`, `[socket]`, `[gpu]` (and `[hw_placeholder]` in per-hardware mode) for one
    worker.

    Without `per_worker` (a node's shared queue) `[job_id]`, `[socket]` and `[gpu]` stay: the
    worker that takes the command fills them in when it runs it.
    """
    if "[" not in text:
        return text
    if per_worker:
        text = text.replace(PLACEHOLDER_JOB_ID, str(worker.job_id))
        text = text.replace(PLACEHOLDER_SOCKET, str(worker.socket))
        text = text.replace(PLACEHOLDER_GPU, worker.gpus)
    if hardware:
        text = text.replace(PLACEHOLDER_HARDWARE, worker.hardware or "")
    return text
