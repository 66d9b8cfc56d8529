"""The experiment's status on the user's machine, merged from every monitor run.

Kept in deliverables/<exp>/ledger.sqlite (ledger_store.py), so the state of all commands is
known even while some nodes are unreachable, and `inv monitor --offline` can show it without
connecting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from octopus.localfiles import local_file_errors
from octopus.run import ledger_store
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import IMPORTED_LEDGER, LEGACY_LEDGER
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
    # The rows as they are on disk (None: unknown, the next save writes them all), and a
    # ledger.json of earlier versions that this one was read from.
    _stored: dict[int, ledger_store.Row] | None = field(default=None, repr=False)
    _imported_from: Path | None = field(default=None, repr=False)

    @classmethod
    def fresh(cls, record: Deliveries | Manifest) -> Ledger:
        """Every command pending where its delivery put it: nothing has been seen yet."""
        if isinstance(record, Manifest):
            record = Deliveries.of_one(record)
        ledger = cls(deliveries=record.by_node)
        pending = CommandState.PENDING
        for part in record.plan.parts:  # the plan's lists, no Entry per command
            node, job = part.worker.node, part.worker.job_id
            for ident, text in zip(part.ids, part.commands, strict=True):
                ledger.commands[ident] = CommandStatus(ident, node, job, text, pending)
        return ledger

    @classmethod
    def load(cls, path: Path, record: Deliveries | Manifest) -> Ledger:
        """What is known of the record's deliveries: the saved state of every node that
        still holds the delivery it was saved for, fresh for the others (and for all when
        the file is damaged, which `damaged` then says). `path` is the SQLite ledger; a
        ledger.json beside it from earlier versions is read when there is none yet."""
        if isinstance(record, Manifest):
            record = Deliveries.of_one(record)
        try:
            stored = ledger_store.read(path)
        except ledger_store.StoreDamaged as exc:
            ledger = cls.fresh(record)
            ledger.damaged = str(exc)
            return ledger
        if stored is not None:
            ledger = cls(deliveries=record.by_node)
            ledger._overlay(stored[0], stored[1], _planned_nodes(record))
            ledger._fill(record)
            return ledger
        ledger = cls.fresh(record)
        legacy = path.with_name(LEGACY_LEDGER)
        data = _read_json(legacy, ledger)
        if data is None:
            return ledger
        try:
            rows = [ledger_store.row_of(CommandStatus.from_dict(c)) for c in data["commands"]]
        except (TypeError, KeyError, ValueError) as exc:
            ledger.damaged = f"{legacy} is damaged ({exc!r})"
            return ledger
        ledger._overlay(data, rows, _planned_nodes(record))
        ledger._imported_from, ledger._stored = legacy, None  # none of it is in SQLite yet
        return ledger

    def _fill(self, record: Deliveries) -> None:
        """Every planned command the saved state did not cover, pending where it was put."""
        if len(self.commands) == sum(len(p.ids) for p in record.plan.parts):
            return
        for ident, status in Ledger.fresh(record).commands.items():
            self.commands.setdefault(ident, status)
        self.commands = dict(sorted(self.commands.items()))
        self._stored = None  # the rows on disk are not these: the next save writes them all

    def _overlay(
        self, data: dict[str, Any], rows: list[ledger_store.Row], planned: dict[int, str]
    ) -> None:
        """Take the saved state of the nodes whose delivery did not change (`planned`: the
        node each command's delivery put it on)."""
        saved = data.get("deliveries")
        if not isinstance(saved, dict):  # written for one delivery of every node
            saved = {node: data.get("delivery") for node in self.deliveries}
        same = {n for n, delivery in self.deliveries.items() if saved.get(n) == delivery}
        kept: dict[int, ledger_store.Row] = {}
        status_of = ledger_store.status_of
        for row in rows:
            if planned.get(row[0]) in same:
                self.commands[row[0]] = status_of(row)
                kept[row[0]] = row
        if len(kept) == len(rows) == len(planned):
            self._stored = kept  # the rows on disk are these: a save writes what changes
        self.nodes = {
            name: NodeSeen(**seen) for name, seen in data.get("nodes", {}).items() if name in same
        }
        self.workers = {
            key: info
            for key, info in data.get("workers", {}).items()
            if key.rsplit("/", 1)[0] in same
        }
        self.duplicates = {
            int(k): v for k, v in data.get("duplicates", {}).items() if int(k) in kept
        }
        self.possible_duplicates = {
            int(k): v for k, v in data.get("possible_duplicates", {}).items() if int(k) in kept
        }

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

    def summary(self) -> dict[str, Any]:
        """Everything but the commands: small, kept as one JSON value."""
        return {
            "deliveries": self.deliveries,
            "nodes": {name: vars(seen) for name, seen in self.nodes.items()},
            "workers": self.workers,
            "duplicates": {str(k): v for k, v in sorted(self.duplicates.items())},
            "possible_duplicates": {str(k): v for k, v in sorted(self.possible_duplicates.items())},
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "commands": [s.as_dict() for s in self.statuses()]}

    def save(self, path: Path) -> None:
        """Write what changed since the load (every command when the set of commands did,
        or the file had none), in one transaction."""
        rows = [ledger_store.row_of(s) for s in self.statuses()]
        stored = self._stored or {}
        every_row = self._stored is None or len(stored) != len(rows)
        changed = rows if every_row else [r for r in rows if stored.get(r[0]) != r]
        ledger_store.write(path, self.summary(), changed, every_row=every_row)
        self._stored = {row[0]: row for row in rows}
        if self._imported_from is not None:
            with local_file_errors(self._imported_from):
                self._imported_from.rename(self._imported_from.with_name(IMPORTED_LEDGER))
            self._imported_from = None


def _planned_nodes(record: Deliveries) -> dict[int, str]:
    """command id -> the node its delivery put it on."""
    return {ident: part.worker.node for part in record.plan.parts for ident in part.ids}


def _read_json(path: Path, ledger: Ledger) -> dict[str, Any] | None:
    """A ledger.json of earlier versions, or None (with `damaged` said when it is)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        ledger.damaged = f"{path} is damaged ({exc})"
        return None
    if not isinstance(data, dict) or not isinstance(data.get("commands", []), list):
        ledger.damaged = f"{path} is damaged (not a ledger)"
        return None
    data.setdefault("commands", [])
    return data


def _add(found: dict[int, list[str]], ident: int, node: str) -> None:
    nodes = found.setdefault(ident, [])
    if node not in nodes:
        nodes.append(node)
