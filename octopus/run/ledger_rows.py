"""Rows of the ledger read by what they are asked for (some commands by id, one node's, the
span of time they ran in, the grid parameters), rather than all of them (ledger_store.read).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from octopus.run.ledger_store import SELECT, Row, read_with

# SQLite's default limit of parameters in one statement.
_MAX_PARAMETERS = 999


def read_params(path: Path) -> dict[int, dict[str, Any]]:
    """id -> grid parameters, of the commands that have them."""
    if not path.is_file():
        return {}
    found = read_with(path, lambda db: db.execute("SELECT id, value FROM params").fetchall())
    return {ident: json.loads(value) for ident, value in found}


def rows_by_id(path: Path, ids: list[int]) -> list[Row]:
    """The rows of these commands (those the ledger has)."""

    def by_id(db: sqlite3.Connection) -> list[Row]:
        rows: list[Row] = []
        for first in range(0, len(ids), _MAX_PARAMETERS):
            chunk = ids[first : first + _MAX_PARAMETERS]
            marks = ", ".join("?" * len(chunk))
            rows += db.execute(f"{SELECT} WHERE id IN ({marks})", chunk).fetchall()
        return rows

    return read_with(path, by_id) if ids else []


def rows_of_node(path: Path, node: str) -> list[Row]:
    """The rows of one node's commands, by id."""
    return read_with(
        path, lambda db: db.execute(f"{SELECT} WHERE node = ? ORDER BY id", (node,)).fetchall()
    )


def span(path: Path, nodes: list[str] | None) -> tuple[float | None, float | None]:
    """When the first command of these nodes (None: all) started, and the last one ended."""
    where, args = "", tuple(nodes or ())
    if nodes is not None:
        where = f"WHERE node IN ({', '.join('?' * len(args))})"
    sql = f"SELECT MIN(started), MAX(ended) FROM commands {where}"
    first, last = read_with(path, lambda db: db.execute(sql, args).fetchone())
    return first, last
