"""Remote output as users see it: whole lines prefixed with the node's name, and a log per run.

Many nodes write at once; lines are assembled per node and stream and printed under one lock,
so a line from one node is never cut by another's.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.text import Text

from octopus.report import console as make_console


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
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = log_path.open("a", encoding="utf-8")

    def line(self, node: str, text: str, stream: str = "out") -> None:
        """Print one whole line from a node (stream 'err' is shown in red on a terminal)."""
        with self._lock:
            if not self.quiet:
                label = Text(f"{node}: ", style="bold")
                body = Text(text, style="red" if stream == "err" else "")
                self.console.print(Text.assemble(label, body), soft_wrap=True)
            if self._log is not None:
                stamp = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]
                self._log.write(f"{stamp} {node} {stream}: {text}\n")
                self._log.flush()

    def note(self, text: str) -> None:
        """A line that belongs to no node (stage headers, local steps)."""
        with self._lock:
            if not self.quiet:
                self.console.print(Text(text), soft_wrap=True)
            if self._log is not None:
                self._log.write(f"{text}\n")
                self._log.flush()

    def writer(self, node: str, stream: str = "out") -> LineWriter:
        return LineWriter(self, node, stream)

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


class LineWriter:
    """A file-like sink for Invoke's out_stream/err_stream that emits whole lines only."""

    def __init__(self, output: StageOutput, node: str, stream: str) -> None:
        self.output = output
        self.node = node
        self.stream = stream
        self._buffer = ""

    def write(self, data: str) -> int:
        self._buffer += data
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self.output.line(self.node, line.rstrip("\r"), self.stream)
        return len(data)

    def flush(self) -> None:
        """Invoke flushes after every chunk; a partial line waits for its end (or finish())."""

    def finish(self) -> None:
        """Emit what is left once the command has ended."""
        if self._buffer:
            self.output.line(self.node, self._buffer.rstrip("\r"), self.stream)
            self._buffer = ""
