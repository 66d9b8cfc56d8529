"""The live view of a stage's nodes on a terminal: each node's step as it goes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is loaded when the view is shown (output.py says why)
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table


class StageProgress:
    """A live table on a terminal; silent when output is a pipe, a file or cron."""

    def __init__(self, console: Console | None, nodes: Sequence[str], enabled: bool = True) -> None:
        self.console = console
        self.current = dict.fromkeys(nodes, "waiting")
        self.enabled = enabled and console is not None and console.is_terminal
        self._lock = threading.Lock()
        self._live: Live | None = None

    def _render(self) -> Table:
        from rich.table import Table

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
        if self.enabled and self._live is None:  # (shown once, however often entered)
            from rich.live import Live

            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
