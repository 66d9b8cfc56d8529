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

from octopus.localfiles import compact_json
from octopus.run.command_keys import command_keys
from octopus.run.plan_sources import from_plan
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
        sources: list[str] | None = None,
        hashed: bool = False,
    ) -> None:
        self.prefix = prefix
        self.seed = seed
        # The experiment's commands as given, by index: their keys (run/command_keys.py)
        # come from them. A record written before kept the keys themselves, hashed
        # (`hashed`); one written before keys were kept has neither (keys: []).
        self._sources = sources
        # Whether the plan holds each of the sources as given, at its index (plan_sources.py):
        # set by the planner; a plan read back has its sources as a list again.
        self.holds_sources = False
        self._keys = keys
        self._hashed = hashed  # `keys` are an earlier record's hashes
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
    def sources(self) -> list[str] | None:
        """The experiment's commands as given, by index (plan_sources.py)."""
        if self._sources is None and self._keys is None:
            self.parts  # noqa: B018 (they are read together)
        return self._sources

    @sources.setter
    def sources(self, sources: list[str]) -> None:
        self._sources, self._keys, self._hashed = sources, None, False

    @property
    def hashed(self) -> bool:
        """Whether the keys are an earlier record's hashes (command_keys.py)."""
        if self._sources is None and self._keys is None:
            self.parts  # noqa: B018 (read with the commands)
        return self._hashed

    @property
    def keys(self) -> list[str]:
        """Each experiment command's key, by its index in the experiment's list."""
        if self._keys is None and self.sources is not None:
            self._keys = command_keys(self.sources)
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
        what `commands()` returns when first asked for (`columns_text`'s form, or as_dict's)."""
        workers = [Worker(**w) for w in data["workers"]]
        if commands is None:
            # A delivery's record has a dict per command; a node's manifest, its workers' lists.
            listed = data["commands"] if "commands" in data else {"parts": data["parts"]}
            plan = cls(data["prefix"], data["seed"], parts_of(workers, listed))
            plan._read_keys(data, plan.parts)
            return plan
        plan = cls(data["prefix"], data["seed"], workers=workers)

        def load() -> list[WorkerPlan]:
            read = commands()
            parts = parts_of(workers, read)
            plan._read_keys(read if isinstance(read, dict) else {}, parts)
            return parts

        plan._parts, plan._load = None, load
        return plan

    def _read_keys(self, read: dict[str, Any], parts: list[WorkerPlan]) -> None:
        """The sources, or an earlier record's hashed keys, as `columns_text` kept them. Kept
        as a count, they are read from the `parts` as they were written, before a steal or
        another delivery takes commands off them."""
        sources = read.get("sources")
        if isinstance(sources, int):
            self._sources, self._hashed = from_plan(sources, parts), False
        elif sources is not None:
            self._sources, self._hashed = sources, False
        else:
            self._keys, self._hashed = read.get("keys") or [], bool(read.get("keys"))


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


def part_columns(part: WorkerPlan) -> dict[str, Any]:
    """One worker's commands as its parallel lists, as the records keep them."""
    return {
        "node": part.worker.node,
        "worker": part.worker.job_id,
        "ids": part.ids,
        "commands": part.commands,
        "command_indices": part.command_indices,
        **({"kept": part.kept} if part.kept else {}),
    }


def encoded_parts(plan: Plan) -> list[str]:
    """Each worker's `part_columns` as JSON text, in plan order: encoded once, they make both
    the nodes' manifests and the plans folder's file of a delivery."""
    return [compact_json(part_columns(p)) for p in plan.parts]


def columns_text(plan: Plan, parts: list[str] | None = None) -> str:
    """The commands as the plans folder keeps them, as JSON text: each worker's parallel
    lists (`part_columns`; from `encoded_parts` when given), and the experiment's commands
    as given, which key them (command_keys.py). A million commands read back as a few
    lists, where a dict per command took seconds."""
    keys = compact_json(_keys_of(plan))
    return '{"parts":[' + ",".join(parts or encoded_parts(plan)) + "]," + keys[1:]


def _keys_of(plan: Plan) -> dict[str, Any]:
    sources = plan.sources
    if sources is None:
        return {"keys": plan.keys}
    return {"sources": len(sources) if plan.holds_sources else sources}


def parts_of(
    workers: list[Worker], commands: list[dict[str, Any]] | dict[str, Any]
) -> list[WorkerPlan]:
    """The workers with their commands, in each worker's order: from `columns_text`'s form, or
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
