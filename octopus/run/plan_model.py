"""The plan's data: which worker runs which commands, in which order.

Kept as parallel lists per worker (ids, texts, the index of each in the experiment's list),
cheap for a million commands; a plan read from the record may hold its workers only until
its commands are asked for. Made by plan.py (build_plan), kept by the manifest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from octopus.run.workers import Worker

_LOADING = threading.Lock()


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
    # How many of the first commands succeeded in an earlier delivery (`inv run` keeps them,
    # run/rerun.py): they count as the worker's, and its script does not run them again.
    kept: int = 0

    def runnable(self) -> WorkerPlan:
        """The worker with the commands its script runs (those not kept)."""
        if not self.kept:
            return self
        k = self.kept
        return WorkerPlan(self.worker, self.ids[k:], self.commands[k:], self.command_indices[k:])

    def entries(self) -> list[Entry]:
        w = self.worker
        return [
            Entry(i, w.node, w.job_id, position, text, index)
            for position, (i, text, index) in enumerate(
                zip(self.ids, self.commands, self.command_indices, strict=True)
            )
        ]


class Plan:
    """Who runs what: the workers in node order, each with its commands.

    A plan read from the record may hold its workers only, its commands read when first
    asked for (`load`): a monitor needs the workers of a delivery of a million commands, and
    reading the commands takes most of a second.
    """

    def __init__(
        self,
        prefix: str,
        seed: int,
        parts: list[WorkerPlan] | None = None,
        *,
        workers: list[Worker] | None = None,
        load: Callable[[], list[WorkerPlan]] | None = None,
        keys: list[str] | None = None,
    ) -> None:
        self.prefix = prefix
        self.seed = seed
        # Each experiment command's key (run/command_keys.py), by its index in the
        # experiment's list; read with the commands ([]: a plan made before keys were kept).
        self._keys = keys
        self._parts = parts if parts is not None or load is None else None
        if self._parts is None and load is None:
            self._parts = []
        self._workers = workers
        self._load = load

    @property
    def parts(self) -> list[WorkerPlan]:
        if self._parts is None:
            with _LOADING:  # the nodes' threads of a stage may ask at once: read once
                if self._parts is None:
                    assert self._load is not None
                    self._parts, self._load = self._load(), None
        return self._parts

    @parts.setter
    def parts(self, parts: list[WorkerPlan]) -> None:
        self._parts, self._load = parts, None

    @property
    def keys(self) -> list[str]:
        if self._keys is None:
            self.parts  # noqa: B018 (they are read together)
        return self._keys or []

    @keys.setter
    def keys(self, keys: list[str]) -> None:
        self._keys = keys

    @property
    def loaded(self) -> bool:
        """Whether the commands are in memory (a plan not loaded is as it was read)."""
        return self._parts is not None

    @property
    def workers(self) -> list[Worker]:
        if self._parts is None and self._workers is not None:
            return list(self._workers)
        return [p.worker for p in self.parts]

    def __repr__(self) -> str:
        shown = f"{len(self.parts)} parts" if self.loaded else "not loaded"
        return f"Plan(prefix={self.prefix!r}, seed={self.seed}, {shown})"

    @property
    def entries(self) -> list[Entry]:
        return [e for p in self.parts for e in p.entries()]

    def part(self, node: str, job_id: int) -> WorkerPlan | None:
        return next(
            (p for p in self.parts if p.worker.node == node and p.worker.job_id == job_id), None
        )

    def next_id(self) -> int:
        return max((max(p.ids) for p in self.parts if p.ids), default=-1) + 1

    def start_ids_at(self, first: int) -> None:
        """Number the commands from `first` on (ids stay unique beside other deliveries)."""
        if first:
            for part in self.parts:
                part.ids = [first + ident for ident in part.ids]

    def as_dict(self) -> dict[str, Any]:
        """Workers, and every command with its node, worker and position (the manifest form)."""
        return {**self.header(), "commands": commands_data(self.parts)}

    def header(self) -> dict[str, Any]:
        """Everything but the commands."""
        return {
            "prefix": self.prefix,
            "seed": self.seed,
            "workers": [asdict(w) for w in self.workers],
        }

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        commands: Callable[[], list[dict[str, Any]] | dict[str, Any]] | None = None,
    ) -> Plan:
        """The plan `as_dict` gave; with `commands`, from its header, the commands read from
        what `commands()` returns when first asked for (`columns_of`'s form, or as_dict's)."""
        workers = [Worker(**w) for w in data["workers"]]
        if commands is None:
            return cls(
                data["prefix"],
                data["seed"],
                parts_of(workers, data["commands"]),
                keys=data.get("keys") or [],
            )
        plan = cls(data["prefix"], data["seed"], workers=workers)

        def load() -> list[WorkerPlan]:
            read = commands()
            plan.keys = (read.get("keys") if isinstance(read, dict) else None) or []
            return parts_of(workers, read)

        plan._parts, plan._load = None, load
        return plan


def commands_data(parts: list[WorkerPlan]) -> list[dict[str, Any]]:
    """Every command with its node, worker and position. Straight from the parallel lists,
    no Entry per command: a million commands are a million dicts, and nothing more."""
    return [
        {
            "id": ident,
            "node": p.worker.node,
            "worker": p.worker.job_id,
            "position": position,
            "command": text,
            "command_index": index,
        }
        for p in parts
        for position, (ident, text, index) in enumerate(
            zip(p.ids, p.commands, p.command_indices, strict=True)
        )
    ]


def columns_of(plan: Plan) -> dict[str, Any]:
    """The commands as the plans folder keeps them: each worker's parallel lists as they are,
    and the experiment commands' keys. A million commands read back as a few lists, where a
    dict per command took seconds."""
    return {
        "parts": [
            {
                "node": p.worker.node,
                "worker": p.worker.job_id,
                "ids": p.ids,
                "commands": p.commands,
                "command_indices": p.command_indices,
                **({"kept": p.kept} if p.kept else {}),
            }
            for p in plan.parts
        ],
        "keys": plan.keys,
    }


def parts_of(
    workers: list[Worker], commands: list[dict[str, Any]] | dict[str, Any]
) -> list[WorkerPlan]:
    """The workers with their commands, in each worker's order: from `columns_of`'s form, or
    from a dict per command (as_dict's, and the commands files of earlier versions)."""
    parts = {(w.node, w.job_id): WorkerPlan(w) for w in workers}
    if isinstance(commands, dict):
        for column in commands["parts"]:
            part = parts[(column["node"], column["worker"])]
            part.ids, part.commands = column["ids"], column["commands"]
            part.command_indices = column["command_indices"]
            part.kept = column.get("kept", 0)
            if not len(part.ids) == len(part.commands) == len(part.command_indices):
                raise ValueError(f"worker {column['node']}/s{column['worker']}: uneven lists")
        return list(parts.values())
    for c in sorted(commands, key=lambda c: (c["node"], c["worker"], c["position"])):
        part = parts[(c["node"], c["worker"])]
        part.ids.append(c["id"])
        part.commands.append(c["command"])
        part.command_indices.append(c["command_index"])
    return list(parts.values())
