"""Experiment commands -> a plan: which command runs on which worker, in which order.

A plan is pure data, seeded and reproducible. The original generators (generators.py), also
through functools.partial, plan directly; any other generator with their signature returns one
script per worker, which is split back into commands here.
"""

from __future__ import annotations

import functools
import inspect
import operator
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any

from octopus.errors import ConfigError
from octopus.node import Node
from octopus.run.generators import (
    assign_distributed,
    assign_per_hardware,
    distribute_exp_scripts,
    replicate_commands_per_hardware,
)
from octopus.run.plan_model import Plan, WorkerPlan
from octopus.run.schedule import FIXED, QUEUE
from octopus.run.workers import Worker, fill_placeholders, make_workers


def _pick(items: Sequence[str], indices: list[int]) -> list[str]:
    """items[i] for each index, gathered in C by itemgetter."""
    if len(indices) == 1:
        return [items[indices[0]]]
    return list(operator.itemgetter(*indices)(items))


def _plan_from_assignment(
    commands: Sequence[str],
    prefix: str,
    seed: int,
    workers: list[Worker],
    assigned: list[list[int]],
    hardware: bool = False,
    per_worker: bool = True,
) -> Plan:
    plan = Plan(prefix, seed)
    # Every command is placed, and only a placeholder (in brackets) changes a text.
    plan.holds_sources = not any("[" in text for text in commands)
    next_id = 0
    for worker, indices in zip(workers, assigned, strict=True):
        # Placeholders are filled once per worker on the joined text: a million commands
        # then cost a thousand replace() calls, not three million.
        texts = (
            fill_placeholders(
                "\0".join(_pick(commands, indices)), worker, hardware, per_worker
            ).split("\0")
            if indices
            else []
        )
        ids = list(range(next_id, next_id + len(indices)))
        next_id += len(indices)
        plan.parts.append(WorkerPlan(worker, ids, texts, list(indices)))
    return plan


def _unwrap(gen: Callable[..., Any]) -> tuple[Callable[..., Any], dict[str, Any]]:
    keywords: dict[str, Any] = {}
    while isinstance(gen, functools.partial):
        keywords = {**gen.keywords, **keywords}
        gen = gen.func
    return gen, keywords


def build_plan(
    experiment_commands: Sequence[str],
    prefix: str,
    nodes: Sequence[Node],
    *,
    exp_script_gen: Callable[..., Any] | None = None,
    shuffle_seed: int = 0,
    per_node: int | None = None,
    offset: int = 0,
    slurm: dict[str, int] | None = None,
    schedule: str = FIXED,
) -> Plan:
    """The plan for these nodes; the same inputs always give the same plan. With the
    `queue` schedule, `[job_id]` and `[socket]` are left for the worker that takes a command."""
    per_worker = schedule != QUEUE
    commands = list(experiment_commands)
    workers = make_workers(nodes, per_node, offset)
    if not workers:
        raise ConfigError("no workers: the selected nodes have no screens or jobs")
    rng = random.Random(shuffle_seed)
    gen, keywords = _unwrap(exp_script_gen or distribute_exp_scripts)
    if gen is distribute_exp_scripts:
        assigned = assign_distributed(
            len(commands),
            len(workers),
            shuffle=keywords.get("shuffle", True),
            replicate=keywords.get("replicate", False),
            rng=rng,
        )
        return _plan_from_assignment(
            commands, prefix, shuffle_seed, workers, assigned, per_worker=per_worker
        )
    if gen is replicate_commands_per_hardware:
        assigned = assign_per_hardware(
            len(commands), workers, shuffle=keywords.get("shuffle", False), rng=rng
        )
        return _plan_from_assignment(
            commands, prefix, shuffle_seed, workers, assigned, True, per_worker
        )
    return _plan_from_user_scripts(
        gen, keywords, commands, prefix, nodes, workers, shuffle_seed, slurm or {}, per_worker
    )


def _plan_from_user_scripts(
    gen: Callable[..., Any],
    keywords: dict[str, Any],
    commands: list[str],
    prefix: str,
    nodes: Sequence[Node],
    workers: list[Worker],
    seed: int,
    slurm: dict[str, int],
    per_worker: bool = True,
) -> Plan:
    """Plan with a user's generator, which returns one script (prefix + commands) per worker.

    A script's body is split back into commands: a known experiment command (multi-line ones
    too) where one starts, otherwise one line.
    """
    offered = {
        "prefix": prefix,
        "experiment_commands": list(commands),
        "nodes": list(nodes),
        "slurm_cpus_per_task": slurm.get("cpus", 1),
        "slurm_num_parallel_tasks_per_job": slurm.get("parallel", 1),
        "slurm_num_gpus_per_job": slurm.get("gpus", 0),
    }
    params = inspect.signature(gen).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
    # The original generators used the global RNGs, seeded right before the call.
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)
    scripts = list(gen(**{**kwargs, **keywords}))
    if len(scripts) != len(workers):
        raise ConfigError(
            f"exp_script_gen returned {len(scripts)} script(s) for {len(workers)} worker(s)"
        )
    known = sorted(((c.strip(), i) for i, c in enumerate(commands)), key=lambda x: -len(x[0]))
    plan = Plan(prefix, seed)
    next_id = 0
    for worker, script in zip(workers, scripts, strict=True):
        body = script[len(prefix) :] if prefix and script.startswith(prefix) else script
        found = _split_commands(body, known)
        plan.parts.append(
            WorkerPlan(
                worker,
                list(range(next_id, next_id + len(found))),
                [fill_placeholders(text, worker, per_worker=per_worker) for text, _ in found],
                [i for _, i in found],
            )
        )
        next_id += len(found)
    return plan


def _split_commands(body: str, known: list[tuple[str, int]]) -> list[tuple[str, int | None]]:
    found: list[tuple[str, int | None]] = []
    rest = body
    while rest.strip():
        rest = rest.lstrip("\n")
        for text, index in known:
            if text and rest.startswith(text) and rest[len(text) : len(text) + 1] in ("", "\n"):
                found.append((text, index))
                rest = rest[len(text) :]
                break
        else:
            line, _, rest = rest.partition("\n")
            if line.strip():
                found.append((line, None))
    return found
