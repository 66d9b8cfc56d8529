"""Experiment commands -> one script per worker: split, replicate, shuffle, placeholders.

A *plan* says which command runs on which worker in which order; it is pure data, seeded
and reproducible. `render_script` turns a worker's part of the plan into a shell script in
which every command records its own start, end and exit code on the node.

The original octopus generators (`distribute_exp_scripts`, `replicate_commands_per_hardware`)
keep their signatures and return plain scripts when called directly; passed as
`exp_script_gen` (also through functools.partial) octopus plans with them directly.
"""

from __future__ import annotations

import collections
import functools
import inspect
import operator
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from octopus.errors import ConfigError
from octopus.node import Node

PLACEHOLDER_JOB_ID = "[job_id]"
PLACEHOLDER_SOCKET = "[socket]"
PLACEHOLDER_HARDWARE = "[hw_placeholder]"


class Shuffler(Protocol):
    """A random.Random, or the random module itself (the original generators' global RNG)."""

    def shuffle(self, x: list[Any]) -> None: ...


@dataclass(frozen=True)
class Worker:
    """One screen session, process or Slurm job on a node; `job_id` names its files."""

    node: str
    index: int
    job_id: int
    socket: int
    hardware: str | None = None


@dataclass(slots=True)
class Entry:
    """One command placed on a worker; `id` is unique within a delivery and never reused."""

    id: int
    node: str
    job_id: int
    position: int
    command: str
    command_index: int | None = None


@dataclass
class WorkerPlan:
    """A worker and its commands in order, kept as parallel lists: cheap for a million."""

    worker: Worker
    ids: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    command_indices: list[int | None] = field(default_factory=list)

    def entries(self) -> list[Entry]:
        w = self.worker
        return [
            Entry(i, w.node, w.job_id, position, text, index)
            for position, (i, text, index) in enumerate(
                zip(self.ids, self.commands, self.command_indices, strict=True)
            )
        ]


@dataclass
class Plan:
    """Who runs what: the workers in node order, each with its commands."""

    prefix: str
    seed: int
    parts: list[WorkerPlan] = field(default_factory=list)

    @property
    def workers(self) -> list[Worker]:
        return [p.worker for p in self.parts]

    @property
    def entries(self) -> list[Entry]:
        return [e for p in self.parts for e in p.entries()]

    def part(self, node: str, job_id: int) -> WorkerPlan | None:
        return next(
            (p for p in self.parts if p.worker.node == node and p.worker.job_id == job_id), None
        )

    def for_worker(self, node: str, job_id: int) -> list[Entry]:
        part = self.part(node, job_id)
        return part.entries() if part else []

    def next_id(self) -> int:
        return max((max(p.ids) for p in self.parts if p.ids), default=-1) + 1

    def as_dict(self) -> dict[str, Any]:
        """Workers, and every command with its node, worker and position (the manifest form)."""
        return {
            "prefix": self.prefix,
            "seed": self.seed,
            "workers": [asdict(p.worker) for p in self.parts],
            "commands": [
                {
                    "id": e.id,
                    "node": e.node,
                    "worker": e.job_id,
                    "position": e.position,
                    "command": e.command,
                    "command_index": e.command_index,
                }
                for e in self.entries
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        parts = {(w["node"], w["job_id"]): WorkerPlan(Worker(**w)) for w in data["workers"]}
        for c in sorted(data["commands"], key=lambda c: (c["node"], c["worker"], c["position"])):
            part = parts[(c["node"], c["worker"])]
            part.ids.append(c["id"])
            part.commands.append(c["command"])
            part.command_indices.append(c["command_index"])
        return cls(prefix=data["prefix"], seed=data["seed"], parts=list(parts.values()))


def chunks(items: Sequence[Any], n_chunks: int) -> list[list[Any]]:
    """Split into n contiguous chunks whose sizes differ by at most one (first ones larger)."""
    size, extra = divmod(len(items), n_chunks)
    result, start = [], 0
    for i in range(n_chunks):
        end = start + size + (1 if i < extra else 0)
        result.append(list(items[start:end]))
        start = end
    return result


def make_workers(
    nodes: Sequence[Node], per_node: int | None = None, offset: int = 0
) -> list[Worker]:
    """Every node's workers in node order; `per_node` overrides the nodes' own counts."""
    workers = []
    for node in nodes:
        count = per_node if per_node is not None else node.num_workers
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


def fill_placeholders(text: str, worker: Worker, hardware: bool = False) -> str:
    """`[job_id]`, `[socket]` (and `[hw_placeholder]` in per-hardware mode) for one worker."""
    if "[" not in text:
        return text
    text = text.replace(PLACEHOLDER_JOB_ID, str(worker.job_id))
    text = text.replace(PLACEHOLDER_SOCKET, str(worker.socket))
    if hardware:
        text = text.replace(PLACEHOLDER_HARDWARE, worker.hardware or "")
    return text


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
) -> Plan:
    plan = Plan(prefix=prefix, seed=seed)
    next_id = 0
    for worker, indices in zip(workers, assigned, strict=True):
        # Placeholders are filled once per worker on the joined text: a million commands
        # then cost a thousand replace() calls, not three million.
        texts = (
            fill_placeholders("\0".join(_pick(commands, indices)), worker, hardware).split("\0")
            if indices
            else []
        )
        ids = list(range(next_id, next_id + len(indices)))
        next_id += len(indices)
        plan.parts.append(WorkerPlan(worker, ids, texts, list(indices)))
    return plan


# -- the original generators ---------------------------------------------------------------


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
) -> Plan:
    """The plan for these nodes; the same inputs always give the same plan."""
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
        return _plan_from_assignment(commands, prefix, shuffle_seed, workers, assigned)
    if gen is replicate_commands_per_hardware:
        assigned = assign_per_hardware(
            len(commands), workers, shuffle=keywords.get("shuffle", False), rng=rng
        )
        return _plan_from_assignment(
            commands, prefix, shuffle_seed, workers, assigned, hardware=True
        )
    return _plan_from_user_scripts(
        gen, keywords, commands, prefix, nodes, workers, shuffle_seed, slurm or {}
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
    plan = Plan(prefix=prefix, seed=seed)
    next_id = 0
    for worker, script in zip(workers, scripts, strict=True):
        body = script[len(prefix) :] if prefix and script.startswith(prefix) else script
        found = _split_commands(body, known)
        plan.parts.append(
            WorkerPlan(
                worker,
                list(range(next_id, next_id + len(found))),
                [fill_placeholders(text, worker) for text, _ in found],
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


# -- worker scripts --------------------------------------------------------------------------

# Runs on the node with any POSIX shell (bash when present). Each command is a function run in
# a subshell, so its `exit` or `cd` cannot end or move the worker; its status reaches us even
# under the prefix's `set -e` because `a && b || c` lists are exempt from errexit.
_SCRIPT_HEAD = """\
#!/usr/bin/env bash
# octopus worker {job_id} of experiment {experiment} on {node} (delivery {delivery}).
# Every command appends 'start' and 'end' lines (tab-separated: event, id, time, detail) to
# the state file below, and its output to logs/<id>.log as well as to this worker's output.
OCTOPUS_RUN="$HOME/{run_dir}"
OCTOPUS_STATE="$OCTOPUS_RUN/state/s{job_id}.events"
mkdir -p "$OCTOPUS_RUN/state" "$OCTOPUS_RUN/logs"
octopus_now() {{ date +%s.%N 2>/dev/null || date +%s; }}
octopus_event() {{
  printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$(octopus_now)" "$3" >> "$OCTOPUS_STATE"
}}
octopus_run() {{
  octopus_event start "$1" "$(hostname)"
  octopus_rcfile="$OCTOPUS_RUN/state/.rc.$1"
  {{ ( "$2" ) 2>&1 && echo 0 > "$octopus_rcfile" || echo $? > "$octopus_rcfile"; }} \\
    | tee -a "$OCTOPUS_RUN/logs/$1.log"
  octopus_rc=$(cat "$octopus_rcfile" 2>/dev/null || echo 255)
  rm -f "$octopus_rcfile"
  octopus_event end "$1" "$octopus_rc"
  if [ "$octopus_rc" != 0 ]; then
    case "{stop_on_error}$-" in
      1*|*e*) touch "$OCTOPUS_STATE.stop"; octopus_stop ;;
    esac
  fi
}}
# Parallel commands (Slurm tasks) run in subshells: they only leave a mark, checked after wait.
octopus_stop() {{
  [ -n "$OCTOPUS_PARALLEL" ] || {{ octopus_event worker-end - stopped; exit 1; }}
}}
octopus_check_stop() {{
  if [ -e "$OCTOPUS_STATE.stop" ]; then octopus_event worker-end - stopped; exit 1; fi
}}
rm -f "$OCTOPUS_STATE.stop"
# `inv start` names the experiment's venv (SetupVenv, SetupUvVenv) when the node has one.
if [ -n "${{OCTOPUS_VENV:-}}" ] && [ -f "$OCTOPUS_VENV/bin/activate" ]; then
  . "$OCTOPUS_VENV/bin/activate"
fi
octopus_event worker-start - $$
"""

_SCRIPT_TAIL = """\
octopus_event worker-end - done
"""


@dataclass(frozen=True)
class SlurmJob:
    """What a worker's sbatch header asks for (the original octopus' #SBATCH lines, and more)."""

    parallel: int = 1
    cpus_per_task: int = 1
    gpus: int = 0
    options: tuple[tuple[str, str], ...] = ()

    def header(self, job_name: str, job_id: int, n_commands: int) -> str:
        lines = [
            f"#SBATCH --job-name={job_name}",
            f"#SBATCH --ntasks={max(1, min(n_commands, self.parallel))}",
            f"#SBATCH --cpus-per-task={self.cpus_per_task}",
        ]
        if self.gpus > 0:
            lines.append(f"#SBATCH --gpus={self.gpus}")
        lines += [f"#SBATCH -e job_{job_id}.err", f"#SBATCH -o job_{job_id}.out"]
        lines += [f"#SBATCH --{key}={value}" for key, value in self.options]
        return "\n".join(lines) + "\n"


def render_script(
    part: WorkerPlan,
    prefix: str,
    *,
    experiment: str,
    run_dir: str,
    delivery: str,
    stop_on_error: bool = False,
    slurm: SlurmJob | None = None,
    job_name: str = "",
) -> str:
    """The shell script for one worker: the prefix, then each command recording its own state.

    `run_dir` is relative to the login directory ($HOME), as the same script must find its
    state when Slurm runs a copy of it from its spool directory. With `slurm`, the script
    starts with #SBATCH lines and runs up to `slurm.parallel` commands at once.
    """
    worker = part.worker
    head = _SCRIPT_HEAD.format(
        job_id=worker.job_id,
        experiment=experiment,
        node=worker.node,
        delivery=delivery,
        run_dir=run_dir,
        stop_on_error=1 if stop_on_error else 0,
    )
    if slurm is not None:
        # sbatch reads #SBATCH lines only before the first command.
        shebang, _, rest = head.partition("\n")
        head = f"{shebang}\n{slurm.header(job_name, worker.job_id, len(part.ids))}{rest}"
    parts = [head]
    if prefix:
        parts.append(fill_placeholders(prefix, worker).rstrip("\n") + "\n")
    calls = [
        f"octopus_cmd_{i}() {{\n{text.rstrip()}\n}}\noctopus_run {i} octopus_cmd_{i}"
        for i, text in zip(part.ids, part.commands, strict=True)
    ]
    if slurm is None or slurm.parallel <= 1:
        parts.extend(call + "\n" for call in calls)
    else:
        # Up to `parallel` commands at once inside the job's tasks, then wait for the batch.
        parts.append("OCTOPUS_PARALLEL=1\n")
        for first in range(0, len(calls), slurm.parallel):
            parts.extend(call + " &\n" for call in calls[first : first + slurm.parallel])
            parts.append("wait\noctopus_check_stop\n")
    parts.append(_SCRIPT_TAIL)
    return "".join(parts)
