"""The experiment's status on the user's machine, merged from every monitor run.

Kept in deliverables/<exp>/ledger.sqlite (ledger_store.py), so the state of all commands is
known even while some nodes are unreachable, and `inv monitor --offline` can show it without
connecting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from octopus.localfiles import local_file_errors
from octopus.run import ledger_rows, ledger_store
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import IMPORTED_LEDGER
from octopus.run.ledger_overview import Overview, overview_of_file, overview_of_rows, tallies
from octopus.run.ledger_pending import PendingCommands
from octopus.run.ledger_store import Row, row_of
from octopus.run.manifest import Manifest
from octopus.run.worker_reads import WorkerRead


@dataclass
class NodeSeen:
    reachable: bool
    last_seen: str | None = None
    message: str = ""
    state_lost: str = ""  # why the node's record went backwards, when it last did


FINISHED = (CommandState.DONE, CommandState.FAILED)
PENDING = CommandState.PENDING


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
    nodes: dict[str, NodeSeen] = field(default_factory=dict)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Commands that ran to the end on a node they had been moved off: id -> those nodes.
    duplicates: dict[int, list[str]] = field(default_factory=dict)
    # ... and those it started there without an end on record (it may have finished them).
    possible_duplicates: dict[int, list[str]] = field(default_factory=dict)
    # Why the saved ledger could not be read ("" when it could, or there was none).
    damaged: str = ""
    # How far each worker's events were read: (node, job id) -> WorkerRead.
    reads: dict[tuple[str, int], WorkerRead] = field(default_factory=dict)
    # The commands in memory; None: still in the file only (`_path`), or all pending where
    # the record put them (`_pending`: nothing saved yet), made whole when asked for, while
    # merges go to `_changes` and a monitor asks for the few it needs.
    _commands: dict[int, CommandStatus] | None = field(default_factory=dict, repr=False)
    _changes: dict[int, CommandStatus] = field(default_factory=dict, repr=False)
    _path: Path | None = field(default=None, repr=False)
    _pending: PendingCommands | None = field(default=None, repr=False)
    # The record's commands files the rows were written for (Deliveries.write names a new
    # one whenever a plan changes): while they are the same, the rows are the plan's.
    _plans: list[str] = field(default_factory=list, repr=False)
    # The rows as they are on disk (None: unknown, the next save writes them all), and a
    # ledger.json of earlier versions that this one was read from.
    _stored: dict[int, ledger_store.Row] | None = field(default=None, repr=False)
    _imported_from: Path | None = field(default=None, repr=False)
    # The record the ledger is of: it gives the commands' grid parameters when every row is
    # written (None: a ledger made without one writes none).
    _record: Deliveries | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def commands(self) -> dict[int, CommandStatus]:
        """Every command's status (read from the file the first time a lazy ledger is asked)."""
        with self._lock:
            if self._commands is None and self._pending is not None:
                commands = self._pending.statuses()
                commands.update(self._changes)
                self._commands, self._changes = dict(sorted(commands.items())), {}
                self._pending = None
            elif self._commands is None:
                assert self._path is not None
                stored = ledger_store.read(self._path)
                rows = stored[1] if stored is not None else []
                self._stored = {row[0]: row for row in rows}
                status_of = ledger_store.status_of
                commands = {row[0]: status_of(row) for row in rows}
                commands.update(self._changes)
                self._commands, self._changes = dict(sorted(commands.items())), {}
            return self._commands

    @classmethod
    def fresh(cls, record: Deliveries | Manifest) -> Ledger:
        """Every command pending where its delivery put it: nothing has been seen yet."""
        if isinstance(record, Manifest):
            record = Deliveries.of_one(record)
        return cls(
            deliveries=record.by_node,
            _plans=plan_files(record),
            _commands=None,
            _pending=PendingCommands(record),
            _record=record,
        )

    @classmethod
    def load(cls, path: Path, record: Deliveries | Manifest) -> Ledger:
        """What is known of the record's deliveries (ledger_load.py)."""
        # ledger_load builds Ledgers: it imports this module, so it is imported here.
        from octopus.run.ledger_load import load_ledger

        return load_ledger(path, record)

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
        lazy = self._commands is None
        # Nothing saved yet: a command no longer pending is a change, with nothing to compare.
        fresh = lazy and self._pending is not None
        ask = [s.id for s in statuses if not fresh or s.state is PENDING or s.id in self._changes]
        known_now = self.known(ask) if lazy else self.commands
        changed = self._changes if lazy else self.commands
        for status in statuses:
            known = known_now.get(status.id)
            if known is not None and known.node == node and _goes_back(known, status):
                backwards.append(status.id)
            elif (
                known is None or known.state is not status.state or row_of(known) != row_of(status)
            ):
                changed[status.id] = status
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

    def record_reads(self, node: str, reads: dict[int, WorkerRead]) -> None:
        """How far the node's events files are read now (replacing what was)."""
        self.reads = {key: read for key, read in self.reads.items() if key[0] != node}
        self.reads.update(((node, job), read) for job, read in reads.items())

    def known(self, ids: list[int]) -> dict[int, CommandStatus]:
        """The statuses of these commands (those the ledger has), without reading the rest."""
        if self._commands is not None:
            return {i: self._commands[i] for i in ids if i in self._commands}
        found = {i: self._changes[i] for i in ids if i in self._changes}
        missing = [i for i in ids if i not in found]
        if self._pending is not None:
            pending = ((i, self._pending.get(i)) for i in missing)
            found.update((i, s) for i, s in pending if s is not None)
            return found
        assert self._path is not None
        found.update(
            (row[0], ledger_store.status_of(row))
            for row in ledger_rows.rows_by_id(self._path, missing)
        )
        return found

    def node_statuses(self, node: str) -> list[CommandStatus]:
        """The statuses of the commands one node holds, by id, without reading the rest."""
        if self._commands is not None:
            return [s for s in self._commands.values() if s.node == node]
        if self._pending is not None:
            found = self._pending.of_node(node)
        else:
            assert self._path is not None
            status_of = ledger_store.status_of
            rows = ledger_rows.rows_of_node(self._path, node)
            found = {row[0]: status_of(row) for row in rows}
        found.update((i, s) for i, s in self._changes.items() if i in found or s.node == node)
        return [s for _, s in sorted(found.items()) if s.node == node]

    def overview(self) -> Overview:
        """Counts per worker, the commands in trouble and the pace, from SQLite: from the
        file when it holds everything, else from the rows in memory."""
        sessions = {key: read.flags.session for key, read in self.reads.items()}
        if self._commands is None and self._pending is not None:
            return overview_of_rows(self._pending.rows(self._changes), sessions)
        if self._commands is None and not self._changes and self._path is not None:
            return overview_of_file(self._path, sessions)
        return overview_of_rows((ledger_store.row_of(s) for s in self.statuses()), sessions)

    def span(self, nodes: list[str] | None = None) -> tuple[float | None, float | None]:
        """When the first command of these nodes (None: all) started and the last ended."""
        if self._commands is None and not self._changes and self._pending is None:
            assert self._path is not None
            return ledger_rows.span(self._path, nodes)
        shown = [s for s in self.statuses() if nodes is None or s.node in nodes]
        starts = [s.started for s in shown if s.started is not None]
        ends = [s.ended for s in shown if s.ended is not None]
        return (min(starts, default=None), max(ends, default=None))

    @property
    def state_lost(self) -> dict[str, str]:
        """The nodes whose record went backwards at their last look, and why."""
        return {name: seen.state_lost for name, seen in self.nodes.items() if seen.state_lost}

    def worker_info(self, node: str, job_id: int) -> dict[str, Any] | None:
        """What the launcher last said of a worker (a Slurm job's id, state and reason)."""
        return self.workers.get(f"{node}/s{job_id}")

    def record_worker(self, node: str, job_id: int, info: dict[str, Any]) -> None:
        self.workers[f"{node}/s{job_id}"] = dict(info)

    def statuses(self) -> list[CommandStatus]:
        return [self.commands[i] for i in sorted(self.commands)]

    def summary(self) -> dict[str, Any]:
        """Everything but the commands: small, kept as one JSON value."""
        return {
            "deliveries": self.deliveries,
            "plans": self._plans,
            "nodes": {name: vars(seen) for name, seen in self.nodes.items()},
            "workers": self.workers,
            "duplicates": {str(k): v for k, v in sorted(self.duplicates.items())},
            "possible_duplicates": {str(k): v for k, v in sorted(self.possible_duplicates.items())},
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "commands": [s.as_dict() for s in self.statuses()]}

    def save(self, path: Path) -> None:
        """Write what changed since the load (every command when the set of commands did,
        or the file had none, with the grid parameters), in one transaction."""
        reads = {key: read.as_dict() for key, read in self.reads.items()}
        record = self._record
        rows: Iterable[Row]
        if self._commands is None and self._pending is not None:  # nothing saved yet
            rows, every_row = self._pending.rows(self._changes), True
        elif self._commands is None and path == self._path:  # only the merged rows changed
            rows, every_row = [row_of(s) for s in self._changes.values()], False
        else:
            every = [row_of(s) for s in self.statuses()]
            stored = self._stored or {}
            every_row = self._stored is None or len(stored) != len(every)
            rows = every if every_row else [r for r in every if stored.get(r[0]) != r]
        params = record.grid_params() if record and every_row else None
        ledger_store.write(
            path, self.summary(), rows, every_row=every_row, reads=reads, params=params,
            tally=tallies,
        )  # fmt: skip
        if self._imported_from is not None:
            with local_file_errors(self._imported_from):
                self._imported_from.rename(self._imported_from.with_name(IMPORTED_LEDGER))
            self._imported_from = None
        # The file now holds every command as it is: what is asked next is asked of it
        # (the overview SQLite counts there, a few rows by id), not of objects in memory.
        self._commands, self._changes, self._pending, self._stored = None, {}, None, None
        self._path = path


def _add(found: dict[int, list[str]], ident: int, node: str) -> None:
    nodes = found.setdefault(ident, [])
    if node not in nodes:
        nodes.append(node)


def plan_files(record: Deliveries) -> list[str]:
    """The commands file of each delivery of the record ("" for a plan not in one)."""
    return [m.commands_file for m in record.manifests]
