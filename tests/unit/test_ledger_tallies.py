"""The counts a ledger's writer keeps beside its commands: read by a look that changed
nothing, dropped whenever a row changes, and the same as counting the rows again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from octopus.run import ledger_store
from octopus.run.events import CommandState, CommandStatus
from octopus.run.ledger import Ledger
from octopus.run.ledger_overview import Overview, overview_of_file, tallies
from tests.unit.test_ledger_store import done, manifest


def kept(path: Path) -> object:
    return ledger_store.read_with(path, ledger_store.read_tally)


def counted_afresh(path: Path) -> Overview:
    """The overview with the kept counts taken away: SQLite counts every row."""
    db = sqlite3.connect(path)
    db.execute("DELETE FROM tallies")
    db.commit()
    db.close()
    return overview_of_file(path, {})


def ran(ledger: Ledger, node: str) -> CommandStatus:
    first = next(s for s in ledger.statuses() if s.node == node)
    finished = done(first)
    ledger.merge(node, [finished])
    return finished


def saved_with_one_done(path: Path) -> None:
    """A ledger of 6 commands over nodes a and b, the first of a's done, saved."""
    ledger = Ledger.load(path, manifest(6))
    ran(ledger, "a")
    ledger.save(path)


def test_a_save_keeps_the_counts_of_what_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    saved_with_one_done(path)
    tally = kept(path)
    assert isinstance(tally, dict)
    states = {(node, worker, state): n for node, worker, state, n in tally["counts"]}
    assert states[("a", 0, "done")] == 1 and states[("a", 0, "pending")] == 2
    assert states[("b", 0, "pending")] == 3
    assert [node for node, *_ in tally["pace"]] == ["a", "b"]
    from_tally = overview_of_file(path, {})
    afresh = counted_afresh(path)
    assert from_tally.totals == afresh.totals == {**dict.fromkeys(map(str, CommandState), 0),
                                                  "done": 1, "pending": 5}  # fmt: skip
    assert from_tally.pace == afresh.pace == {"a": (1, 1.0)}
    assert {k: w.counts for k, w in from_tally.workers.items()} == {
        k: w.counts for k, w in afresh.workers.items()
    }


def test_a_look_that_changed_nothing_reads_the_kept_counts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    record = manifest(6)
    Ledger.load(path, record).save(path)
    again = Ledger.load(path, record)
    again.save(path)  # nothing merged: no row written, the counts stay
    db = sqlite3.connect(path)
    marked = {"counts": [["a", 0, "done", 41]], "pace": [["a", 41, 82.0]]}
    db.execute("UPDATE tallies SET value = ?", (json.dumps(marked),))
    db.commit()
    db.close()
    overview = overview_of_file(path, {})
    assert overview.totals["done"] == 41 and overview.pace == {"a": (41, 82.0)}


def test_counts_never_outlive_the_rows_they_counted(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    record = manifest(6)
    Ledger.load(path, record).save(path)
    again = Ledger.load(path, record)
    finished = ran(again, "b")
    again.save(path)
    tally = kept(path)
    assert isinstance(tally, dict) and ["b", 0, "done", 1] in tally["counts"]
    # A writer that counts nothing still drops the counts of rows it changed.
    row = ledger_store.row_of(finished)
    ledger_store.write(path, {}, [(*row[:4], "failed", 1, *row[6:])], every_row=False)
    assert kept(path) is None
    assert Ledger.load(path, record).overview().totals["failed"] == 1
    ledger_store.write(path, {}, [], every_row=False, tally=tallies)
    assert kept(path) is not None  # counted again by the next writer that counts


def test_a_ledger_of_the_layout_before_tallies_is_taken_on(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    saved_with_one_done(path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE tallies")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    again = Ledger.load(path, manifest(6))
    assert not again.damaged
    assert again.overview().totals["done"] == 1
    again.save(path)
    assert isinstance(kept(path), dict)
    assert (
        ledger_store.read_with(path, lambda db: db.execute("PRAGMA user_version").fetchone())[0]
        == ledger_store.LAYOUT_VERSION
    )
