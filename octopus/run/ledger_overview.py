"""What monitor shows of the ledger: counts per worker, the commands that need a look
(failed, running, lost) and the pace so far, asked of SQLite.

A picture of 320,000 commands needs a few hundred numbers and the commands in trouble: SQLite
counts them where they are, and Python never builds an object per command. A ledger not yet
on disk (an offline look before any monitor) is counted the same way in memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octopus.run import ledger_store
from octopus.run.events import STATES, CommandState, CommandStatus
from octopus.run.ledger_store import COLUMNS, IN_TROUBLE, Row

# Each node's pace is that of its last PACE_SAMPLE finished commands: the recent pace is the
# better guess of what is left, and it is read from an index, not from every row.
PACE_SAMPLE = 1000

# (grouped in the order of commands_by_state, which holds every column it reads)
_COUNTS = """SELECT node, worker, state, COUNT(*) FROM commands
             GROUP BY state, node, worker ORDER BY node, worker, state"""
_NOTABLE = f"""SELECT {", ".join(COLUMNS)} FROM commands WHERE {IN_TROUBLE} ORDER BY id"""
# One node's pace, from the index on (node, ended): its latest finished commands only.
_PACE = f"""SELECT COUNT(*), SUM(ended - started) FROM (
              SELECT started, ended FROM commands WHERE node = ? AND ended IS NOT NULL
              ORDER BY ended DESC LIMIT {PACE_SAMPLE})
            WHERE started IS NOT NULL"""
Ask = Callable[[str, tuple[object, ...]], list[Row]]
# {"counts": [[node, worker, state, count], ...], "pace": [[node, count, seconds], ...]}
Tallies = dict[str, list[list[Any]]]


@dataclass
class WorkerOverview:
    """One worker's commands counted by state."""

    counts: dict[str, int] = field(default_factory=lambda: {str(s): 0 for s in STATES})
    session: str = ""
    running_since: float | None = None  # when its longest-running command started


@dataclass
class Overview:
    """The experiment's picture without its commands one by one."""

    workers: dict[tuple[str, int], WorkerOverview] = field(default_factory=dict)
    notable: list[CommandStatus] = field(default_factory=list)  # failed, running, lost
    # node -> (its latest finished commands with both times, the seconds they took in all)
    pace: dict[str, tuple[int, float]] = field(default_factory=dict)

    def only(self, nodes: Iterable[str] | None) -> Overview:
        """The part of these nodes (None: all)."""
        if nodes is None:
            return self
        shown = set(nodes)
        return Overview(
            {key: w for key, w in self.workers.items() if key[0] in shown},
            [s for s in self.notable if s.node in shown],
            {node: pace for node, pace in self.pace.items() if node in shown},
        )

    @property
    def totals(self) -> dict[str, int]:
        counts = {str(s): 0 for s in STATES}
        for worker in self.workers.values():
            for state, count in worker.counts.items():
                counts[state] += count
        return counts

    def in_state(self, *states: CommandState) -> list[CommandStatus]:
        return [s for s in self.notable if s.state in states]

    def eta_seconds(self) -> float | None:
        """Remaining time if the running workers keep their pace so far; None when unknown."""
        finished = sum(count for count, _ in self.pace.values())
        seconds = sum(took for _, took in self.pace.values())
        counts = self.totals
        running = counts[str(CommandState.RUNNING)]
        remaining = counts[str(CommandState.PENDING)] + running
        if not finished or not running or not remaining:
            return None
        return seconds / finished * remaining / running


def tallies(db: sqlite3.Connection) -> Tallies:
    """The counts and paces of a ledger's commands, which its writer keeps beside them
    (ledger_store.write): a repeat look that changed nothing reads them, not 320,000 rows."""
    return _tallies(lambda sql, args: db.execute(sql, args).fetchall())


def _tallies(ask: Ask) -> Tallies:
    counts = [list(row) for row in ask(_COUNTS, ())]
    nodes = dict.fromkeys(node for node, *_ in counts)
    paces = [[node, *ask(_PACE, (node,))[0]] for node in nodes]
    return {"counts": counts, "pace": paces}


def overview_of_file(path: Path, sessions: dict[tuple[str, int], str]) -> Overview:
    """The overview of a saved ledger, counted by SQLite (or as its writer counted it);
    `sessions`: each worker's session as its last read said (run/worker_reads.py)."""

    def counted(db: sqlite3.Connection) -> Overview:
        db.execute("BEGIN")  # one snapshot: a monitor saving meanwhile is seen whole or not
        try:
            ask: Ask = lambda sql, args: db.execute(sql, args).fetchall()  # noqa: E731
            return _overview(ask, sessions, ledger_store.read_tally(db) or _tallies(ask))
        finally:
            db.execute("COMMIT")

    return ledger_store.read_with(path, counted)


def overview_of_rows(
    rows: Iterable[Row], sessions: dict[tuple[str, int], str] | None = None
) -> Overview:
    """The overview of rows in memory (a ledger not on disk), counted the same way."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(ledger_store.SCHEMA)
        db.executemany(f"INSERT INTO commands VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        ask: Ask = lambda sql, args: db.execute(sql, args).fetchall()  # noqa: E731
        return _overview(ask, sessions or {}, _tallies(ask))
    finally:
        db.close()


def _overview(ask: Ask, sessions: dict[tuple[str, int], str], tallied: Tallies) -> Overview:
    overview = Overview()
    for node, worker, state, count in tallied["counts"]:
        counted = overview.workers.setdefault((node, worker), WorkerOverview())
        counted.counts[state] = count
        counted.session = sessions.get((node, worker), "")
    overview.notable = [ledger_store.status_of(row) for row in ask(_NOTABLE, ())]
    for status in overview.notable:
        if status.state is CommandState.RUNNING and status.started is not None:
            worker = overview.workers[(status.node, status.worker)]
            since = worker.running_since
            worker.running_since = status.started if since is None else min(since, status.started)
    for node, count, seconds in tallied["pace"]:
        if count:
            overview.pace[node] = (count, seconds or 0.0)
    overview.workers = dict(sorted(overview.workers.items()))
    return overview
