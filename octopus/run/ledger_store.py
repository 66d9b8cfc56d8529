"""Where the ledger lives: SQLite, in deliverables/<exp>/ledger.sqlite.

A monitor changes a few rows of a large record; SQLite writes just those, in one
transaction, so a killed monitor never leaves a torn file and the record does not grow into
a 100 MB text file rewritten whole on every look. WAL mode and a busy timeout let a reader
(`monitor --offline`) and a writer overlap. Each command is a row with its own columns; the
small rest (which delivery each node holds, what monitor saw of each node and worker, the
duplicates) is one JSON value. A command's grid parameters (run/grid.py) are a JSON object in
the `params` table, and the `commands_params` view joins them to the commands, so that
`json_extract(params, '$.model') = 'gat'` picks commands in plain SQL. A ledger.json from
earlier versions is read once, then kept as ledger.json.imported.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from octopus.localfiles import local_file_errors, make_folder
from octopus.run import ledger_new
from octopus.run.events import LISTED, CommandState, CommandStatus

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
    "session",
    "host",
)
Row = tuple[Any, ...]
SELECT = f"SELECT {', '.join(COLUMNS)} FROM commands"

# The commands monitor lists one by one (the rest it counts).
IN_TROUBLE = f"state IN ({', '.join(repr(s.value) for s in CommandState if s in LISTED)})"
# What monitor shows is counted on these, never on the table: the counts per state and
# worker and the commands in one state (by_state, state first: the few in trouble are one
# range of it), each node's latest ends (its pace). Building an index reads the whole table:
# two rather than the three of earlier versions (counts by worker, a partial index of the
# commands in trouble) took 0.78 s against 1.13 s for 320,000 commands (our test machines).
INDEXES = """
CREATE INDEX IF NOT EXISTS commands_by_state ON commands (state, node, worker);
CREATE INDEX IF NOT EXISTS commands_by_end ON commands (node, ended);
"""
_INDEX_NAMES = ("commands_by_state", "commands_by_end")
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY, node TEXT, worker INTEGER, command TEXT, state TEXT,
    exit_code INTEGER, started REAL, ended REAL, attempts INTEGER, session TEXT, host TEXT);
DROP INDEX IF EXISTS commands_by_worker;
DROP INDEX IF EXISTS commands_in_trouble;
{INDEXES}
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reads (node TEXT, worker INTEGER, value TEXT NOT NULL,
                                  PRIMARY KEY (node, worker));
CREATE TABLE IF NOT EXISTS params (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tallies (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIEW IF NOT EXISTS commands_params AS
    SELECT commands.*, params.value AS params FROM commands LEFT JOIN params USING (id);
"""
# The tables' layout, kept in the file's user_version: a file of another one is rebuilt,
# but for those this one only adds tables to (2: before `tallies`), which it just takes on.
# (Indexes are not part of it: each open makes those above and drops the earlier ones.)
LAYOUT_VERSION = 3
EXTENDED_LAYOUTS = frozenset({2})
# What the writer counted of the commands in the transaction that wrote them: a look that
# changed nothing then reads these numbers rather than counting every row again.
_TALLY = "overview"
# SQLite's page cache (KiB) while a write of every row builds the indexes: with its default,
# 2 MB, writing 320,000 rows and their indexes took 1.65 s, with this 1.44 s (medians of 6).
INDEX_BUILD_CACHE_KB = 64 * 1024
# How long a monitor waits for another one's transaction (the records lock usually spares it).
BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


class StoreDamaged(Exception):
    """The ledger file exists but cannot be read."""


def row_of(status: CommandStatus) -> Row:
    """The command's row. Its log path is not kept: it follows from its delivery's folder and
    its id (run/layout.py), and kept it would make a third of the file."""
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
        status.session,
        status.host,
    )


# The columns are CommandStatus' fields in its own order, but its log; only the state needs
# converting.
_STATES = {state.value: state for state in CommandState}


def status_of(row: Row) -> CommandStatus:
    ident, node, worker, command, state, exit_code, started, ended, attempts, session, host = row
    return CommandStatus(
        ident, node, worker, command, _STATES[state], exit_code, started, ended, attempts, "",
        session, host or "",
    )  # fmt: skip


def _open(path: Path, *, replacing: bool = False, unseen: bool = False) -> sqlite3.Connection:
    """The ledger, its tables made when new. A file of another layout is damaged to a reader;
    a writer `replacing` every row starts it afresh. A file no one else sees yet (`unseen`,
    ledger_new.py) is written without a journal: it is made durable before it is linked."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if unseen:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
        else:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses at most a look
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
        known = version == LAYOUT_VERSION or version in EXTENDED_LAYOUTS
        if "commands" in tables and not known:
            if not replacing:
                raise sqlite3.DatabaseError(f"written in layout {version}, not {LAYOUT_VERSION}")
            db.executescript(
                "DROP TABLE IF EXISTS commands; DROP TABLE IF EXISTS reads;"
                " DROP TABLE IF EXISTS tallies;"
            )
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
    except BaseException:
        db.close()
        raise
    return db


def read_with(path: Path, read: Callable[[sqlite3.Connection], T]) -> T:
    """What `read` finds in the ledger; StoreDamaged when it cannot be read."""
    try:
        db = _open(path)
        try:
            return read(db)
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise StoreDamaged(f"{path} is damaged ({exc})") from None


def read(path: Path) -> tuple[dict[str, Any], list[Row]] | None:
    """(the small part, every command's row), or None when there is no ledger yet."""
    if not path.is_file():
        return None
    return read_with(path, lambda db: (_meta(db), db.execute(SELECT).fetchall()))


def read_small(path: Path) -> tuple[dict[str, Any], dict[tuple[str, int], Any], int] | None:
    """(the small part, what was read of each worker's events, how many commands), without
    the commands; None when there is no ledger yet."""
    if not path.is_file():
        return None

    def small(db: sqlite3.Connection) -> tuple[dict[str, Any], dict[tuple[str, int], Any], int]:
        reads = {
            (node, worker): json.loads(value)
            for node, worker, value in db.execute("SELECT node, worker, value FROM reads")
        }
        count = db.execute("SELECT COUNT(*) FROM commands").fetchone()[0]
        return _meta(db), reads, int(count)

    return read_with(path, small)


def _tallied(db: sqlite3.Connection) -> bool:
    """Whether the counts a writer kept (`write`) are still there."""
    return db.execute("SELECT 1 FROM tallies WHERE name = ?", (_TALLY,)).fetchone() is not None


def read_tally(db: sqlite3.Connection) -> Any:
    """What the last writer counted of the commands (see `write`), None when not counted."""
    found = db.execute("SELECT value FROM tallies WHERE name = ?", (_TALLY,)).fetchone()
    return None if found is None else json.loads(found[0])


def _meta(db: sqlite3.Connection) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in db.execute("SELECT * FROM meta")}


def write(
    path: Path,
    meta: dict[str, Any],
    rows: Iterable[Row],
    *,
    every_row: bool,
    reads: dict[tuple[str, int], Any] | None = None,
    params: Iterable[tuple[int, str]] | None = None,
    tally: Callable[[sqlite3.Connection], Any] | None = None,
) -> None:
    """Store the changed rows (all of them, replacing the table, with `every_row`), the small
    part, what was read of each worker (`reads`, replacing what was) and the commands' grid
    parameters (`params`: (id, JSON object), replacing what was), in one transaction.
    `tally(db)` counts the commands as written, for `read_tally`; counts kept from before
    are dropped whenever a row changes, so they never outlive the rows they counted.
    A ledger that is not there yet is built apart and linked into place (ledger_new.py)."""
    make_folder(path.parent)
    fill = _Fill(meta, rows, every_row, reads, params, tally)
    with local_file_errors(path):
        if every_row and ledger_new.is_new(path):
            # Kept, for the ledger that appeared meanwhile, if it did.
            fill.rows = list(fill.rows)
            fill.params = None if fill.params is None else list(fill.params)
            try:
                with ledger_new.building(path) as unseen:
                    _write_in(unseen, fill, unseen=True)
                return
            except ledger_new.LedgerAppeared:
                pass
        _write_in(path, fill)


@dataclass
class _Fill:
    """What one `write` stores."""

    meta: dict[str, Any]
    rows: Iterable[Row]
    every_row: bool
    reads: dict[tuple[str, int], Any] | None
    params: Iterable[tuple[int, str]] | None
    tally: Callable[[sqlite3.Connection], Any] | None


def _write_in(path: Path, fill: _Fill, *, unseen: bool = False) -> None:
    every_row = fill.every_row
    db = _open(path, replacing=every_row, unseen=unseen)
    try:
        if every_row:  # sorting every row into each index: in memory, not in a few pages
            db.execute(f"PRAGMA cache_size = -{INDEX_BUILD_CACHE_KB}")
        db.execute("BEGIN IMMEDIATE")
        if every_row:  # the indexes are built once after, not kept row by row
            db.execute("DELETE FROM commands")
            for name in _INDEX_NAMES:
                db.execute(f"DROP INDEX IF EXISTS {name}")
        unchanged = db.total_changes
        db.executemany(
            f"INSERT OR REPLACE INTO commands ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})",
            fill.rows,
        )
        if every_row:
            for statement in INDEXES.strip().splitlines():
                db.execute(statement)
        if every_row or db.total_changes != unchanged:
            db.execute("DELETE FROM tallies")
        if fill.tally is not None and not _tallied(db):
            db.execute("INSERT INTO tallies VALUES (?, ?)", (_TALLY, json.dumps(fill.tally(db))))
        db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in fill.meta.items()],
        )
        if fill.reads is not None:
            db.execute("DELETE FROM reads")
            db.executemany(
                "INSERT INTO reads VALUES (?, ?, ?)",
                [(node, job, json.dumps(value)) for (node, job), value in fill.reads.items()],
            )
        if fill.params is not None:
            db.execute("DELETE FROM params")
            db.executemany("INSERT INTO params VALUES (?, ?)", fill.params)
        db.execute("COMMIT")
        if unseen:  # readers open it in WAL mode, which the file itself keeps
            db.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
