"""Where the ledger lives: SQLite, in deliverables/<exp>/ledger.sqlite.

A monitor changes a few rows of a large record; SQLite writes just those, in one
transaction, so a killed monitor never leaves a torn file and the record does not grow into
a 100 MB text file rewritten whole on every look. WAL mode and a busy timeout let a reader
(`monitor --offline`) and a writer overlap. Each command is a row with its own columns; the
small rest (which delivery each node holds, what monitor saw of each node and worker, the
duplicates) is one JSON value. A ledger.json from earlier versions is read once, then kept
as ledger.json.imported.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from octopus.localfiles import local_file_errors, make_folder
from octopus.run.events import CommandState, CommandStatus

COLUMNS = (
    "id",
    "node",
    "worker",
    "command",
    "state",
    "exit_code",
    "started",
    "ended",
    "attempts",
    "log",
    "session",
)
Row = tuple[Any, ...]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS commands ({", ".join(COLUMNS)}, PRIMARY KEY (id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# How long a monitor waits for another one's transaction (the records lock usually spares it).
BUSY_TIMEOUT_MS = 30_000


class StoreDamaged(Exception):
    """The ledger file exists but cannot be read."""


def row_of(status: CommandStatus) -> Row:
    return (
        status.id,
        status.node,
        status.worker,
        status.command,
        status.state.value,
        status.exit_code,
        status.started,
        status.ended,
        status.attempts,
        status.log,
        status.session,
    )


# The columns are CommandStatus' fields in its own order; only the state needs converting.
_STATES = {state.value: state for state in CommandState}


def status_of(row: Row) -> CommandStatus:
    ident, node, worker, command, state, exit_code, started, ended, attempts, log, session = row
    return CommandStatus(
        ident, node, worker, command, _STATES[state], exit_code, started, ended, attempts, log,
        session,
    )  # fmt: skip


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses at most the last look
    db.executescript(_SCHEMA)
    return db


def read(path: Path) -> tuple[dict[str, Any], list[Row]] | None:
    """(the small part, every command's row), or None when there is no ledger yet."""
    if not path.is_file():
        return None
    try:
        db = _open(path)
        try:
            meta = {key: json.loads(value) for key, value in db.execute("SELECT * FROM meta")}
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM commands").fetchall()
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise StoreDamaged(f"{path} is damaged ({exc})") from None
    return meta, rows


def write(path: Path, meta: dict[str, Any], rows: Iterable[Row], *, every_row: bool) -> None:
    """Store the changed rows (all of them, replacing the table, with `every_row`) and the
    small part, in one transaction."""
    make_folder(path.parent)
    with local_file_errors(path):
        db = _open(path)
        try:
            db.execute("BEGIN IMMEDIATE")
            if every_row:
                db.execute("DELETE FROM commands")
            db.executemany(
                f"INSERT OR REPLACE INTO commands VALUES ({', '.join('?' * len(COLUMNS))})", rows
            )
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(key, json.dumps(value)) for key, value in meta.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
