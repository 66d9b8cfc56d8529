"""The experiment's status on the user's machine, merged from every monitor run.

Kept in deliverables/<exp>/ledger.json, so the state of all commands is known even while
some nodes are unreachable, and `inv monitor --offline` can show it without connecting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from octopus.localfiles import compact_json, write_atomically
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.manifest import Manifest


@dataclass
class NodeSeen:
    reachable: bool
    last_seen: str | None = None
    message: str = ""
    state_lost: str = ""  # why the node's record went backwards, when it last did


FINISHED = (CommandState.DONE, CommandState.FAILED)


def _goes_back(known: CommandStatus, fresh: CommandStatus) -> bool:
    """Whether a node's fresh view of a command says less than the ledger already knows."""
    if fresh.attempts < known.attempts:
        return True
    return (
        fresh.attempts == known.attempts and known.state in FINISHED and fresh.state not in FINISHED
    )


@dataclass
class Ledger:
    # node -> the delivery whose commands the ledger holds for it: a node that takes a new
    # delivery starts afresh, the others keep what was seen of them.
    deliveries: dict[str, str]
    commands: dict[int, CommandStatus] = field(default_factory=dict)
    nodes: dict[str, NodeSeen] = field(default_factory=dict)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Commands that ran to the end on a node they had been moved off: id -> those nodes.
    duplicates: dict[int, list[str]] = field(default_factory=dict)
    # ... and those it started there without an end on record (it may have finished them).
    possible_duplicates: dict[int, list[str]] = field(default_factory=dict)
    # Why the saved ledger could not be read ("" when it could, or there was none).
    damaged: str = ""

    @classmethod
    def fresh(cls, record: Deliveries | Manifest) -> Ledger:
        """Every command pending where its delivery put it: nothing has been seen yet."""
        if isinstance(record, Manifest):
            record = Deliveries.of_one(record)
        ledger = cls(deliveries=record.by_node)
        for entry in record.plan.entries:
            ledger.commands[entry.id] = CommandStatus(
                id=entry.id,
                node=entry.node,
                worker=entry.job_id,
                command=entry.command,
                state=CommandState.PENDING,
            )
        return ledger

    @classmethod
    def load(cls, path: Path, record: Deliveries | Manifest) -> Ledger:
        """What is known of the record's deliveries: the saved state of every node that
        still holds the delivery it was saved for, fresh for the others (and for all when
        the file is damaged, which `damaged` then says)."""
        ledger = cls.fresh(record)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return ledger
        except (ValueError, UnicodeDecodeError) as exc:
            ledger.damaged = f"{path} is damaged ({exc})"
            return ledger
        if not isinstance(data, dict):
            ledger.damaged = f"{path} is damaged (not a JSON object)"
            return ledger
        saved = data.get("deliveries")
        if not isinstance(saved, dict):  # written for one delivery of every node
            saved = {node: data.get("delivery") for node in ledger.deliveries}
        same = {n for n, delivery in ledger.deliveries.items() if saved.get(n) == delivery}
        kept: set[int] = set()
        for raw in data.get("commands", []):
            status = CommandStatus.from_dict(raw)
            planned = ledger.commands.get(status.id)  # fresh: where its delivery put it
            if planned is not None and planned.node in same:
                ledger.commands[status.id] = status
                kept.add(status.id)
        ledger.nodes = {
            name: NodeSeen(**seen) for name, seen in data.get("nodes", {}).items() if name in same
        }
        ledger.workers = {
            key: info
            for key, info in data.get("workers", {}).items()
            if key.rsplit("/", 1)[0] in same
        }
        ledger.duplicates = {
            int(k): v for k, v in data.get("duplicates", {}).items() if int(k) in kept
        }
        ledger.possible_duplicates = {
            int(k): v for k, v in data.get("possible_duplicates", {}).items() if int(k) in kept
        }
        return ledger

    def merge(self, node: str, statuses: list[CommandStatus] | None, message: str = "") -> None:
        """Take a node's fresh statuses; None means it could not be read (kept as before).

        The record never goes backwards: a command keeps what the ledger knows when the node
        now shows fewer attempts of it, or an unfinished last attempt where the ledger saw it
        finish. The node is then marked as having lost its state, and monitor says so.
        """
        seen = self.nodes.get(node) or NodeSeen(reachable=False)
        seen.message = message
        if statuses is None:
            seen.reachable = False
            self.nodes[node] = seen
            return
        seen.reachable = True
        seen.last_seen = datetime.now(timezone.utc).isoformat(timespec="seconds")
        backwards = []
        for status in statuses:
            known = self.commands.get(status.id)
            if known is not None and known.node == node and _goes_back(known, status):
                backwards.append(status.id)
            else:
                self.commands[status.id] = status
        seen.state_lost = (
            f"the node no longer shows what it recorded of {len(backwards)} command(s) "
            f"(e.g. #{backwards[0]}); kept as they were"
            if backwards
            else ""
        )
        self.nodes[node] = seen

    def record_duplicates(
        self, node: str, ids: list[int], possible: list[int] | None = None
    ) -> None:
        """Commands the node ran to the end after a rebalance had moved them elsewhere, and
        those it started there with no end on record (a crash may have cut the record)."""
        for ident in possible or []:
            if ident not in self.duplicates:
                _add(self.possible_duplicates, ident, node)
        for ident in ids:
            _add(self.duplicates, ident, node)
            self.possible_duplicates.pop(ident, None)

    @property
    def state_lost(self) -> dict[str, str]:
        """The nodes whose record went backwards at their last look, and why."""
        return {name: seen.state_lost for name, seen in self.nodes.items() if seen.state_lost}

    @staticmethod
    def _worker_key(node: str, job_id: int) -> str:
        return f"{node}/s{job_id}"

    def worker_info(self, node: str, job_id: int) -> dict[str, Any] | None:
        """What the launcher last said of a worker (a Slurm job's id, state and reason)."""
        return self.workers.get(self._worker_key(node, job_id))

    def record_worker(self, node: str, job_id: int, info: dict[str, Any]) -> None:
        self.workers[self._worker_key(node, job_id)] = dict(info)

    def statuses(self) -> list[CommandStatus]:
        return [self.commands[i] for i in sorted(self.commands)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "nodes": {name: vars(seen) for name, seen in self.nodes.items()},
            "workers": self.workers,
            "duplicates": {str(k): v for k, v in sorted(self.duplicates.items())},
            "possible_duplicates": {str(k): v for k, v in sorted(self.possible_duplicates.items())},
            "commands": [s.as_dict() for s in self.statuses()],
        }

    def save(self, path: Path) -> None:
        write_atomically(path, compact_json(self.as_dict()))


def _add(found: dict[int, list[str]], ident: int, node: str) -> None:
    nodes = found.setdefault(ident, [])
    if node not in nodes:
        nodes.append(node)
