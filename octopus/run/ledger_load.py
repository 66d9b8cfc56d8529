"""Reading the ledger for a record: lazily when the saved rows are the plan's as it is, whole
(keeping what is still true, filling in what is new) when a delivery or rebalance changed
the plan, imported from the ledger.json of earlier versions once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from octopus.run import ledger_store
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandStatus
from octopus.run.layout import LEGACY_LEDGER
from octopus.run.ledger import Ledger, NodeSeen, plan_files
from octopus.run.manifest import Manifest
from octopus.run.worker_reads import WorkerRead


def load_ledger(path: Path, record: Deliveries | Manifest) -> Ledger:
    """What is known of the record's deliveries: the saved state of every node that
    still holds the delivery it was saved for, fresh for the others (and for all when
    the file is damaged, which `damaged` then says). `path` is the SQLite ledger; a
    ledger.json beside it from earlier versions is read when there is none yet."""
    if isinstance(record, Manifest):
        record = Deliveries.of_one(record)
    try:
        small = ledger_store.read_small(path)
        if small is not None and _same_plan(small[0], record):
            ledger = Ledger(deliveries=record.by_node, _plans=plan_files(record), _record=record)
            ledger._commands, ledger._path = None, path
            _take_small(ledger, small[0], small[1], set(ledger.deliveries))
            return ledger
        stored = ledger_store.read(path) if small is not None else None
    except ledger_store.StoreDamaged as exc:
        ledger = Ledger.fresh(record)
        ledger.damaged = str(exc)
        return ledger
    if stored is not None and small is not None:
        ledger = Ledger(deliveries=record.by_node, _plans=plan_files(record), _record=record)
        _overlay(ledger, stored[0], stored[1], _planned_nodes(record), small[1])
        _fill(ledger, record)
        return ledger
    ledger = Ledger.fresh(record)
    legacy = path.with_name(LEGACY_LEDGER)
    data = _read_json(legacy, ledger)
    if data is None:
        return ledger
    try:
        rows = [ledger_store.row_of(CommandStatus.from_dict(c)) for c in data["commands"]]
    except (TypeError, KeyError, ValueError) as exc:
        ledger.damaged = f"{legacy} is damaged ({exc!r})"
        return ledger
    _overlay(ledger, data, rows, _planned_nodes(record))
    ledger._imported_from, ledger._stored = legacy, None  # none of it is in SQLite yet
    return ledger


def _fill(ledger: Ledger, record: Deliveries) -> None:
    """Every planned command the saved state did not cover, pending where it was put."""
    if len(ledger.commands) == sum(len(p.ids) for p in record.plan.parts):
        return
    for ident, status in Ledger.fresh(record).commands.items():
        ledger.commands.setdefault(ident, status)
    ledger._commands = dict(sorted(ledger.commands.items()))
    ledger._stored = None  # the rows on disk are not these: the next save writes them all


def _overlay(
    ledger: Ledger,
    data: dict[str, Any],
    rows: list[ledger_store.Row],
    planned: dict[int, str],
    reads: dict[tuple[str, int], Any] | None = None,
) -> None:
    """Take the saved state of the nodes whose delivery did not change (`planned`: the
    node each command's delivery put it on)."""
    same = _same_nodes(ledger, data)
    kept: dict[int, ledger_store.Row] = {}
    status_of = ledger_store.status_of
    for row in rows:
        if planned.get(row[0]) in same:
            ledger.commands[row[0]] = status_of(row)
            kept[row[0]] = row
    if len(kept) == len(rows) == len(planned):
        ledger._stored = kept  # the rows on disk are these: a save writes what changes
    _take_small(ledger, data, reads or {}, same)
    ledger.duplicates = {int(k): v for k, v in data.get("duplicates", {}).items() if int(k) in kept}
    ledger.possible_duplicates = {
        int(k): v for k, v in data.get("possible_duplicates", {}).items() if int(k) in kept
    }


def _same_nodes(ledger: Ledger, data: dict[str, Any]) -> set[str]:
    """The nodes that hold the delivery the saved state is of."""
    saved = data.get("deliveries")
    if not isinstance(saved, dict):  # written for one delivery of every node
        saved = {node: data.get("delivery") for node in ledger.deliveries}
    return {n for n, delivery in ledger.deliveries.items() if saved.get(n) == delivery}


def _take_small(
    ledger: Ledger, data: dict[str, Any], reads: dict[tuple[str, int], Any], same: set[str]
) -> None:
    """What was saved of the nodes in `same` besides their commands."""
    ledger.reads = {
        key: WorkerRead.from_dict(value)
        for key, value in reads.items()
        if key[0] in same and value.get("delivery") == ledger.deliveries.get(key[0])
    }
    ledger.nodes = {
        name: NodeSeen(**seen) for name, seen in data.get("nodes", {}).items() if name in same
    }
    ledger.workers = {
        key: info for key, info in data.get("workers", {}).items() if key.rsplit("/", 1)[0] in same
    }
    ledger.duplicates = {int(k): v for k, v in data.get("duplicates", {}).items()}
    ledger.possible_duplicates = {int(k): v for k, v in data.get("possible_duplicates", {}).items()}


def _same_plan(meta: dict[str, Any], record: Deliveries) -> bool:
    """Whether the saved rows are of the record's plan as it is: the same delivery on every
    node, from the same commands files (Deliveries.write names a new file for a changed
    plan)."""
    files = plan_files(record)
    return all(files) and meta.get("plans") == files and meta.get("deliveries") == record.by_node


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
