"""What users see: tables on a terminal, plain text when piped or run from cron."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.table import Table

from octopus.results import NodeResult, Outcome

_STYLE = {
    Outcome.OK: "green",
    Outcome.FAILED: "red",
    Outcome.UNREACHABLE: "red",
    Outcome.SKIPPED: "yellow",
}


def console(stream: IO[str] | None = None) -> Console:
    """A console that uses colour only on a terminal and does not wrap tables in logs."""
    out = stream or sys.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    return Console(
        file=out, width=None if tty else 200, no_color=not tty, soft_wrap=not tty, highlight=False
    )


def outcome_text(result: NodeResult) -> str:
    style = _STYLE[result.outcome]
    return f"[{style}]{result.outcome}[/{style}]"


def summary_line(results: Sequence[NodeResult]) -> str:
    counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    parts = [f"{n} {o}" for o, n in counts.items() if n]
    return f"{len(results)} node(s): " + ", ".join(parts)


def table(title: str, columns: Sequence[str]) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    return t
