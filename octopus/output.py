"""Where a stage's lines go: whole lines prefixed with the node's name, a log per run, and a
live view of each node's step on a terminal.

Many nodes write at once; lines are assembled per node and stream and printed under one lock,
so a line from one node is never cut by another's.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from octopus.localfiles import local_file_errors, make_folder


def make_console(stream: IO[str] | None = None) -> Console:
    """A console that uses colour only on a terminal and does not wrap tables in logs."""
    out = stream or sys.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    return Console(
        file=out, width=None if tty else 200, no_color=not tty, soft_wrap=not tty, highlight=False
    )


# C0 and C1 control characters but the tab: what a terminal would act on.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """Text from a node as plain characters: control sequences (terminal escapes, carriage
    returns, NUL) shown as `\\x1b`-style escapes instead of acting on the terminal or the log.
    Tabs stay."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def stderr_tail(text: str, lines: int = 5) -> str:
    """The last few non-empty lines of a command's error output."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


class StageOutput:
    """Where a stage's lines go: the console (unless quiet) and the stage's log file."""

    def __init__(
        self, console: Console | None = None, log_path: Path | None = None, quiet: bool = False
    ) -> None:
        self.console = console or make_console()
        self.quiet = quiet
        self.log_path = log_path
        self._lock = threading.Lock()
        self._log: IO[str] | None = None
        if log_path is not None:
            make_folder(log_path.parent)
            with local_file_errors(log_path):
                self._log = log_path.open("a", encoding="utf-8")

    def line(self, node: str, text: str, stream: str = "out") -> None:
        """Print one whole line from a node (stream 'err' is shown in red on a terminal)."""
        self.lines(node, [text], stream)

    def lines(self, node: str, texts: list[str], stream: str = "out") -> None:
        """Print whole lines from a node in one go: a command's output arrives in chunks of
        many lines, and one print per chunk keeps up with the network."""
        texts = [visible(text) for text in texts]
        with self._lock:
            if not self.quiet:
                if self.console.is_terminal:
                    style = "red" if stream == "err" else ""
                    parts = [
                        piece
                        for text in texts
                        for piece in ((f"{node}: ", "bold"), (text, style), "\n")
                    ]
                    self.console.print(Text.assemble(*parts), soft_wrap=True, end="")
                else:  # a file, a pipe, cron: plain text, no rendering
                    self.console.file.write("".join(f"{node}: {text}\n" for text in texts))
                    self.console.file.flush()
            stamp = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            self._write_log("".join(f"{stamp} {node} {stream}: {text}\n" for text in texts))

    def note(self, text: str) -> None:
        """A line that belongs to no node (stage headers, local steps)."""
        text = visible(text)
        with self._lock:
            if not self.quiet:
                self.console.print(Text(text), soft_wrap=True)
            self._write_log(f"{text}\n")

    def _write_log(self, text: str) -> None:
        if self._log is not None:
            with local_file_errors(self.log_path):
                self._log.write(text)
                self._log.flush()

    def progress(self, nodes: Sequence[str], enabled: bool = True) -> StageProgress:
        """The live view of a stage's nodes on this output's console (silent when quiet)."""
        return StageProgress(self.console, nodes, enabled=enabled and not self.quiet)

    def writer(self, node: str, stream: str = "out") -> LineWriter:
        return LineWriter(self, node, stream)

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


# A line longer than this is shown in pieces, so memory stays bounded without newlines.
LONGEST_LINE = 64 * 1024


class LineWriter:
    """A file-like sink for Invoke's out_stream/err_stream that emits whole lines only."""

    def __init__(self, output: StageOutput, node: str, stream: str) -> None:
        self.output = output
        self.node = node
        self.stream = stream
        self._buffer = ""

    def write(self, data: str) -> int:
        self._buffer += data
        if "\n" in data:
            *lines, self._buffer = self._buffer.split("\n")
            self.output.lines(self.node, [line.rstrip("\r") for line in lines], self.stream)
        elif len(self._buffer) > LONGEST_LINE:  # no newline in sight: show it in pieces
            self.output.line(self.node, self._buffer, self.stream)
            self._buffer = ""
        return len(data)

    def flush(self) -> None:
        """Invoke flushes after every chunk; a partial line waits for its end (or finish())."""

    def finish(self) -> None:
        """Emit what is left once the command has ended."""
        if self._buffer:
            self.output.line(self.node, self._buffer.rstrip("\r"), self.stream)
            self._buffer = ""


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
