"""The original octopus' rules for splitting commands over workers, and its two generators.

`distribute_exp_scripts` and `replicate_commands_per_hardware` keep their signatures and return
plain scripts when called directly, as in the original; the planner (plan.py) uses the same
assignment functions with a seeded random generator.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Sequence
from typing import Any, Protocol

from octopus.node import Node
from octopus.run.workers import Worker, fill_placeholders, make_workers


class Shuffler(Protocol):
    """A random.Random, or the random module itself (the original generators' global RNG)."""

    def shuffle(self, x: list[Any]) -> None: ...


def chunks(items: Sequence[Any], n_chunks: int) -> list[list[Any]]:
    """Split into n contiguous chunks whose sizes differ by at most one (first ones larger)."""
    size, extra = divmod(len(items), n_chunks)
    result, start = [], 0
    for i in range(n_chunks):
        end = start + size + (1 if i < extra else 0)
        result.append(list(items[start:end]))
        start = end
    return result


def assign_distributed(
    n_commands: int, n_workers: int, *, shuffle: bool, replicate: bool, rng: Shuffler
) -> list[list[int]]:
    """Command indices per worker: all of them everywhere (replicate) or split over workers."""
    order = list(range(n_commands))
    if shuffle:
        rng.shuffle(order)
    if replicate:
        return [list(order) for _ in range(n_workers)]
    return chunks(order, n_workers)


def assign_per_hardware(
    n_commands: int, workers: Sequence[Worker], *, shuffle: bool, rng: Shuffler
) -> list[list[int]]:
    """Each hardware group runs every command once, split over that group's workers."""
    order = list(range(n_commands))
    if shuffle:
        rng.shuffle(order)
    groups: dict[str | None, list[int]] = collections.defaultdict(list)
    for position, worker in enumerate(workers):
        groups[worker.hardware].append(position)
    assigned: list[list[int]] = [[] for _ in workers]
    for positions in groups.values():
        for position, part in zip(positions, chunks(order, len(positions)), strict=True):
            assigned[position] = part
    return assigned


def distribute_exp_scripts(
    prefix: str,
    experiment_commands: list[str],
    nodes: list[Node],
    shuffle: bool = True,
    replicate: bool = False,
    slurm_cpus_per_task: int = 1,
    slurm_num_parallel_tasks_per_job: int = 1,
    slurm_num_gpus_per_job: int = 0,
) -> list[str]:
    """One plain script per worker (prefix + its commands), commands split over all workers."""
    workers = make_workers(nodes)
    assigned = assign_distributed(
        len(experiment_commands), len(workers), shuffle=shuffle, replicate=replicate, rng=random
    )
    return [prefix + "\n".join(experiment_commands[i].strip() for i in part) for part in assigned]


def replicate_commands_per_hardware(
    prefix: str, experiment_commands: list[str], nodes: list[Node], shuffle: bool = False
) -> list[str]:
    """One plain script per worker; every hardware group runs all commands, split within it."""
    workers = make_workers(nodes)
    assigned = assign_per_hardware(len(experiment_commands), workers, shuffle=shuffle, rng=random)
    return [
        prefix
        + "\n".join(fill_placeholders(experiment_commands[i], w, hardware=True) for i in part)
        for w, part in zip(workers, assigned, strict=True)
    ]
