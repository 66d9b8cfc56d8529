"""The original octopus' rules for splitting commands over workers, and every public function
of its `script_preparation` module, with their signatures and results.

Called directly they return scripts, as in the original; the planner (plan.py) uses the same
assignment functions with a seeded random generator, and takes any of them (or a generator of
the user's) as `exp_script_gen`.
"""

from __future__ import annotations

import collections
import random
import re
from collections.abc import Sequence
from typing import Any, Protocol

from octopus.node import Launcher, Node
from octopus.run.workers import Worker, fill_placeholders, make_workers


class Shuffler(Protocol):
    """A random.Random, or the random module itself (the original generators' global RNG)."""

    def shuffle(self, x: list[Any]) -> None: ...


def shuffle_in_place(items: list[Any], rng: Shuffler) -> None:
    """`rng.shuffle(items)`, to the same order. For random.Random itself and the random
    module, it makes the same draws as their shuffle without its method call per item (which
    is most of its time): a fifth to a third less on a million commands. Any other generator
    shuffles as it does itself. tests/unit/test_generators.py holds it to random's own
    shuffle."""
    if type(rng) is random.Random:
        getrandbits = rng.getrandbits
    elif rng is random:
        getrandbits = random.getrandbits
    else:
        rng.shuffle(items)
        return
    # Fisher-Yates from the end, as random.shuffle: position n - 1 swaps with a draw below n,
    # the draw made of n's bit length bits, drawn again until below n. Every n from `n` down
    # to a power of two has the same bit length.
    n = len(items)
    while n > 1:
        bits = n.bit_length()
        lowest = max(1 << (bits - 1), 2)
        for below in range(n, lowest - 1, -1):
            drawn = getrandbits(bits)
            while drawn >= below:
                drawn = getrandbits(bits)
            last = below - 1
            items[last], items[drawn] = items[drawn], items[last]
        n = lowest - 1


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
        shuffle_in_place(order, rng)
    if replicate:
        return [list(order) for _ in range(n_workers)]
    return chunks(order, n_workers)


def assign_per_hardware(
    n_commands: int, workers: Sequence[Worker], *, shuffle: bool, rng: Shuffler
) -> list[list[int]]:
    """Each hardware group runs every command once, split over that group's workers."""
    order = list(range(n_commands))
    if shuffle:
        shuffle_in_place(order, rng)
    groups: dict[str | None, list[int]] = collections.defaultdict(list)
    for position, worker in enumerate(workers):
        groups[worker.hardware].append(position)
    assigned: list[list[int]] = [[] for _ in workers]
    for positions in groups.values():
        for position, part in zip(positions, chunks(order, len(positions)), strict=True):
            assigned[position] = part
    return assigned


DEVICE_PLACEHOLDER = "[device_placeholder]"


def create_scripts_for_commands(
    cmd_lists: list[list[str]],
    nodes: list[Node],
    prefix: str,
    slurm_cpus_per_task: int,
    slurm_gpus_per_job: int,
    slurm_num_parallel_tasks_per_job: int,
) -> list[str]:
    """The original's script for each worker from its commands, workers in node order.

    A Slurm node's worker gets an sbatch script: #SBATCH lines, the prefix, then each command
    (newlines removed) in the background with its output in ~/output_job[job_id]_<k>, and a
    `wait` after every `slurm_num_parallel_tasks_per_job` of them. Any other worker gets the
    prefix followed by its commands, one per line.
    """
    scripts: list[str] = []
    lists = iter(cmd_lists)
    parallel = slurm_num_parallel_tasks_per_job
    for node in nodes:
        for _ in range(node.num_workers):
            cmds = next(lists)
            if node.launcher is not Launcher.SLURM:
                scripts.append(prefix + "\n".join(cmd.strip() for cmd in cmds))
                continue
            lines = [
                "#!/bin/bash",
                f"#SBATCH --ntasks {min(len(cmds), parallel)}",
                f"#SBATCH --cpus-per-task {slurm_cpus_per_task}",
            ]
            if slurm_gpus_per_job is not None and slurm_gpus_per_job > 0:
                lines.append(f"#SBATCH --gpus {slurm_gpus_per_job}")
            lines += ["#SBATCH -e job_[job_id].err", "#SBATCH -o job_[job_id].out"]
            if prefix is not None:
                lines.append(prefix)
            running = 0
            for k, cmd in enumerate(cmds):
                lines.append(f"{cmd.replace(chr(10), '')} > ~/output_job[job_id]_{k} 2>&1 &")
                running += 1
                if running == parallel:
                    lines.append("wait")
                    running = 0
            if not lines[-1].endswith("wait"):
                lines.append("wait")
            scripts.append("\n".join(lines))
    return scripts


def _command_lists(
    experiment_commands: list[str], nodes: list[Node], shuffle: bool, replicate: bool
) -> list[list[str]]:
    """The commands of each worker, shuffled with the global RNG as the original did."""
    n_workers = sum(node.num_workers for node in nodes)
    assigned = assign_distributed(
        len(experiment_commands), n_workers, shuffle=shuffle, replicate=replicate, rng=random
    )
    return [[experiment_commands[i] for i in part] for part in assigned]


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
    """One script per worker, commands split over all workers (all of them everywhere with
    `replicate`); Slurm nodes get sbatch scripts (create_scripts_for_commands)."""
    return create_scripts_for_commands(
        _command_lists(experiment_commands, nodes, shuffle, replicate),
        nodes,
        prefix,
        slurm_cpus_per_task,
        slurm_num_gpus_per_job,
        slurm_num_parallel_tasks_per_job,
    )


def generate_cpu_exp_scripts(
    prefix: str,
    experiment_commands: list[str],
    nodes: list[Node],
    shuffle: bool = True,
    replicate: bool = False,
    slurm_cpus_per_task: int = 1,
    slurm_num_parallel_tasks_per_job: int = 1,
    slurm_num_gpus_per_job: int = 0,
) -> list[str]:
    """Scripts for experiments without GPUs: commands split over the workers as
    distribute_exp_scripts does, with `[device_placeholder]` removed."""
    lists = _command_lists(experiment_commands, nodes, shuffle, replicate)
    return [
        prefix + "\n".join(cmd.replace(DEVICE_PLACEHOLDER, "").strip() for cmd in cmds)
        for cmds in lists
    ]


def generate_exp_scripts_alternating_cuda_device(
    prefix: str,
    experiment_commands: list[str],
    nodes: list[Node],
    cuda_devices: list[str] | None = None,
    replicate: bool = False,
    slurm_cpus_per_task: int = 1,
    slurm_num_parallel_tasks_per_job: int = 1,
    slurm_num_gpus_per_job: int = 0,
) -> list[str]:
    """Scripts whose workers take turns over the CUDA devices (cuda:0, cuda:1 unless given):
    `[device_placeholder]` becomes ` --device <device>` for worker i's device i mod n.
    Commands are always shuffled."""
    devices = cuda_devices or ["cuda:0", "cuda:1"]
    lists = _command_lists(experiment_commands, nodes, True, replicate)
    return [
        prefix
        + "\n".join(
            cmd.replace(DEVICE_PLACEHOLDER, f" --device {devices[i % len(devices)]}").strip()
            for cmd in cmds
        )
        for i, cmds in enumerate(lists)
    ]


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


def strip_single_command(cmd: str) -> str:
    """A command on one line: newlines become spaces and runs of white space one space."""
    return re.sub(r"\s+", " ", cmd.replace("\n", " "))


def strip_commands(exp_commands: list[str]) -> list[str]:
    """strip_single_command for each command."""
    return [strip_single_command(cmd) for cmd in exp_commands]
