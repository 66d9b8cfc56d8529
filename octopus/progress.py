"""The live view of a running stage on a terminal: each node and the step it is at."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


class StageProgress:
    """A live table on a terminal; silent when output is a pipe, a file or cron."""

    def __init__(self, console: Console, nodes: Sequence[str], enabled: bool = True) -> None:
        self.console = console
        self.current = dict.fromkeys(nodes, "waiting")
        self.enabled = enabled and console.is_terminal
        self._lock = threading.Lock()
        self._live: Live | None = None

    def _render(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for node, where in self.current.items():
            table.add_row(f"[bold]{node}[/bold]", where)
        return table

    def update(self, node: str, where: str) -> None:
        with self._lock:
            self.current[node] = where
            if self._live is not None:
                self._live.update(self._render())

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
