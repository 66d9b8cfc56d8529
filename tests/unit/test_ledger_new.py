"""A ledger that is not there yet is built apart and linked into place: the result is an
ordinary WAL ledger, nothing of the build is left, a build that fails leaves no ledger, and a
ledger that appeared meanwhile is written into instead."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from octopus.run import ledger_new, ledger_store
from octopus.run.ledger import Ledger
from tests.unit.test_ledger_store import manifest


def row(ident: int, node: str = "a") -> ledger_store.Row:
    return (ident, node, 1, f"cmd {ident}", "done", 0, 1.0, 2.0, 1, "s1", node)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", "-journal")))


def test_a_first_save_builds_an_ordinary_wal_ledger_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    record = manifest(6)
    Ledger.load(path, record).save(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert set(ledger_store._INDEX_NAMES) <= names
    db.close()
    assert leftovers(tmp_path) == []
    again = Ledger.load(path, record)
    assert len(again.statuses()) == 6 and not again.damaged


def test_a_build_that_fails_leaves_no_ledger_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"

    def failing(db: sqlite3.Connection) -> object:
        raise RuntimeError("the writer failed midway")

    with pytest.raises(RuntimeError):
        ledger_store.write(path, {}, [row(1), row(2)], every_row=True, tally=failing)
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_a_ledger_that_appeared_during_the_build_is_written_into(tmp_path: Path) -> None:
    """A writer that does not hold the records lock makes the ledger while this one builds:
    the link fails, and this writer's rows replace the other's in the ledger that is there."""
    path = tmp_path / "ledger.sqlite"

    def another_writer_first(db: sqlite3.Connection) -> object:
        if not path.exists():
            ledger_store.write(path, {"by": "other"}, [row(7, "b")], every_row=True)
        return None

    ledger_store.write(
        path, {"by": "this"}, [row(1), row(2)], every_row=True, tally=another_writer_first
    )
    meta, rows = ledger_store.read(path) or ({}, [])
    assert meta == {"by": "this"}
    assert sorted(r[0] for r in rows) == [1, 2]
    assert leftovers(tmp_path) == []


def test_a_temporary_file_a_killed_writer_left_is_removed_by_a_later_build(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    stale = tmp_path / ".ledger.sqlite.killed.tmp"
    recent = tmp_path / ".ledger.sqlite.building.tmp"  # another writer's, still at work
    for left in (stale, recent):
        left.write_bytes(b"half a ledger")
    hour_ago = time.time() - ledger_new.STALE_SECONDS - 60
    os.utime(stale, (hour_ago, hour_ago))
    ledger_store.write(path, {}, [row(1)], every_row=True)
    assert not stale.exists() and recent.exists()
    assert ledger_store.read(path) is not None


def test_a_ledger_already_there_is_written_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger_store.write(path, {}, [row(1)], every_row=True)
    inode = path.stat().st_ino
    ledger_store.write(path, {}, [row(1), row(2)], every_row=True)
    assert path.stat().st_ino == inode  # readers that have it open keep seeing it
    assert not ledger_new.is_new(path)


def test_a_built_ledger_has_the_mode_sqlite_gives_a_new_file(tmp_path: Path) -> None:
    built, made = tmp_path / "built.sqlite", tmp_path / "made.sqlite"
    ledger_store.write(built, {}, [row(1)], every_row=True)
    sqlite3.connect(made).close()
    assert built.stat().st_mode == made.stat().st_mode
