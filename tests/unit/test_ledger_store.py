"""The ledger in SQLite: written row by row where a monitor changed something, read back
whole, imported once from an earlier ledger.json, and a damaged file said to be damaged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from octopus.node import Node
from octopus.run import ledger_store
from octopus.run.events import CommandState, CommandStatus
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan


def manifest(count: int = 6) -> Manifest:
    nodes = [
        Node(test_connection=False, ssh_hostname=n, num_parallel_screens_or_jobs=1) for n in "ab"
    ]
    plan = build_plan([f"cmd {i}" for i in range(count)], "", nodes)
    return Manifest("e", "D1", plan, {"a": "screen", "b": "screen"}, ".octopus/e")


def done(status: CommandStatus) -> CommandStatus:
    return CommandStatus(
        status.id, status.node, status.worker, status.command, CommandState.DONE, 0, 1.0, 2.0, 1
    )


def test_a_save_writes_only_the_rows_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite"
    record = manifest()
    ledger = Ledger.load(path, record)
    ledger.save(path)  # the first save: every row
    again = Ledger.load(path, record)
    first_a = next(s for s in again.statuses() if s.node == "a")
    again.merge("a", [done(first_a)])
    writes: list[int] = []
    original = ledger_store.write

    def counting(
        path: Path, meta: dict[str, object], rows: list[tuple[object, ...]], **options: Any
    ) -> None:
        writes.append(len(rows))
        original(path, meta, rows, **options)

    monkeypatch.setattr(ledger_store, "write", counting)
    again.save(path)
    assert writes == [1]  # one command changed: one row written
    third = Ledger.load(path, record)
    assert third.commands[first_a.id].state is CommandState.DONE
    assert third.commands[first_a.id].ended == 2.0 and third.nodes["a"].reachable


def test_an_earlier_ledger_json_is_imported_once(tmp_path: Path) -> None:
    record = manifest()
    old = Ledger.fresh(record)
    first = old.statuses()[0]
    old.merge(first.node, [done(first)])
    data = old.as_dict()
    (tmp_path / "ledger.json").write_text(json.dumps(data))
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger.load(path, record)
    assert ledger.commands[first.id].state is CommandState.DONE
    ledger.save(path)
    assert not (tmp_path / "ledger.json").exists()
    assert (tmp_path / "ledger.json.imported").exists()
    assert Ledger.load(path, record).commands[first.id].state is CommandState.DONE


def test_a_damaged_file_is_said_to_be_damaged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database, just bytes " * 100)
    ledger = Ledger.load(path, manifest())
    assert "is damaged" in ledger.damaged and str(path) in ledger.damaged
    assert {s.state for s in ledger.statuses()} == {CommandState.PENDING}


def test_a_new_delivery_rewrites_the_table(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.load(path, manifest(6)).save(path)
    bigger = manifest(9)
    bigger.delivery = "D2"
    Ledger.load(path, bigger).save(path)
    stored = ledger_store.read(path)
    assert stored is not None and len(stored[1]) == 9


def test_a_file_of_another_layout_is_damaged_then_rebuilt(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE commands (id, node, worker, command, state, log)")
    db.commit()
    db.close()
    record = manifest()
    ledger = Ledger.load(path, record)
    assert "layout" in ledger.damaged
    first = ledger.statuses()[0]
    ledger.merge(first.node, [done(first)])
    ledger.save(path)
    again = Ledger.load(path, record)
    assert not again.damaged and again.commands[first.id].state is CommandState.DONE


def test_before_the_first_save_a_merge_still_never_goes_back(tmp_path: Path) -> None:
    """Nothing is compared for a command a first look sees started or ended; one merged
    already in this look (two nodes, a steal) or still pending is compared as before."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger.load(path, manifest(6))
    first, second = ledger.node_statuses("a")[:2]
    ledger.merge("a", [done(first), second])  # the pending one is as the plan has it
    assert ledger.known([first.id, second.id]) == {first.id: done(first), second.id: second}
    ledger.merge("a", [first])  # pending again: fewer attempts than the ledger knows
    assert ledger.known([first.id])[first.id] == done(first)
    assert "no longer shows" in ledger.state_lost["a"]
    ledger.save(path)
    states = {s.id: s.state for s in Ledger.load(path, manifest(6)).statuses()}
    assert states[first.id] is CommandState.DONE and states[second.id] is CommandState.PENDING


def test_a_first_look_makes_no_status_for_what_it_did_not_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the first save, what no node said is pending where the plan put it, made only
    when asked for; the save stores every row, and then the file answers."""
    path = tmp_path / "ledger.sqlite"
    record = manifest(6)
    first_a = Ledger.load(path, record).node_statuses("a")[0]
    assert first_a.state is CommandState.PENDING
    seen = done(first_a)
    made: list[int] = []
    original = CommandStatus.__init__

    def counting(self: CommandStatus, *args: Any, **kwargs: Any) -> None:
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(CommandStatus, "__init__", counting)
    ledger = Ledger.load(path, record)
    ledger.merge("a", [seen])
    ledger.save(path)
    overview = ledger.overview()
    monkeypatch.setattr(CommandStatus, "__init__", original)
    assert not made  # a command no longer pending is a change: nothing to compare it with
    assert overview.totals["done"] == 1 and overview.totals["pending"] == 5
    stored = ledger_store.read(path)
    assert stored is not None and len(stored[1]) == 6
    assert Ledger.load(path, record).commands[first_a.id].state is CommandState.DONE


def test_a_ledger_with_the_earlier_indexes_takes_the_new_ones(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite"
    record = manifest()
    ledger = Ledger.load(path, record)
    ledger.save(path)
    db = sqlite3.connect(path)  # as earlier versions left it
    db.executescript(
        "DROP INDEX commands_by_state;"
        "CREATE INDEX commands_by_worker ON commands (node, worker, state);"
        f"CREATE INDEX commands_in_trouble ON commands (state) WHERE {ledger_store.IN_TROUBLE};"
    )
    db.close()
    again = Ledger.load(path, record)
    assert [s.state for s in again.statuses()] == [CommandState.PENDING] * 6
    db = sqlite3.connect(path)
    indexes = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(ledger_store._INDEX_NAMES) <= indexes
    assert not indexes & {"commands_by_worker", "commands_in_trouble"}
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_what_monitor_counts_and_lists_is_read_from_the_indexes(tmp_path: Path) -> None:
    import sqlite3

    from octopus.run import ledger_overview

    path = tmp_path / "ledger.sqlite"
    Ledger.load(path, manifest()).save(path)
    db = sqlite3.connect(path)

    def plan(sql: str, *args: str) -> str:
        return " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args))

    assert "COVERING INDEX commands_by_state" in plan(ledger_overview._COUNTS)
    assert "INDEX commands_by_state (state=?)" in plan(ledger_overview._NOTABLE)
    assert "INDEX commands_by_end (node=?" in plan(ledger_overview._PACE, "a")
    db.close()
