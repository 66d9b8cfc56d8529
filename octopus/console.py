"""The console octopus prints to: colours as rich decides them (a terminal has them;
NO_COLOR and FORCE_COLOR are obeyed), and tables in plain ASCII off a terminal (mail from
cron, a file for grep) and with --plain."""

from __future__ import annotations

import sys
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.table import Table


class OctopusConsole(Console):
    """A rich console that knows whether its tables are drawn in plain ASCII: off a terminal
    (mail from cron, a file for grep) and with --plain."""

    plain = False

    @property
    def ascii_tables(self) -> bool:
        return self.plain or not self.is_terminal

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Console.print, with the tables among `objects` drawn in ASCII where wanted."""
        if self.ascii_tables:
            for table in objects:
                if isinstance(table, Table):
                    table.box = box.ASCII
        super().print(*objects, **kwargs)


_PLAIN = [False]


def plain_tables(plain: bool) -> None:
    """Whether the consoles made from now on draw tables in ASCII (--plain)."""
    _PLAIN[0] = plain


def make_console(stream: IO[str] | None = None) -> OctopusConsole:
    """A console whose colours rich decides (a terminal has them; NO_COLOR and FORCE_COLOR
    are obeyed), that does not wrap tables in logs and pipes."""
    console = OctopusConsole(file=stream or sys.stdout, highlight=False)
    console.plain = _PLAIN[0]
    if not console.is_terminal:
        console.width = 200
        console.soft_wrap = True
    return console
