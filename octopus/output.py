"""Where a stage's lines go: whole lines prefixed with the node's name, a log per run, and a
live view of each node's step on a terminal.

Many nodes write at once; lines are assembled per node and stream and printed under one lock,
so a line from one node is never cut by another's.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from octopus.localfiles import local_file_errors, make_folder
from octopus.stage_progress import StageProgress

# rich is imported where something is drawn, not with this module: a stage that prints
# nothing of its own (--json, cron) spends no time on it (0.04 s, a twentieth of a look).
if TYPE_CHECKING:
    from rich.console import Console, RenderableType

# How the machine octopus runs on is named in a stage's lines (a node may be named `local`).
HERE = "here"


# What tells rich that its output is a terminal (or not) whatever isatty says.
_TERMINAL_TOLD = ("FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE")


def counted(count: int, noun: str) -> str:
    """1 node, 3 nodes."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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
    """Where a stage's lines go: the console (unless quiet) and the stage's log file.

    The log holds everything: each node's lines, the notes, the tables. The console shows the
    notes and the tables; each node's lines only while `show_lines` holds (with --verbose,
    and for the stages whose lines are their point), so that a stage that went well is one
    line. The log file is made with its first line: a stage with nothing to say (a monitor
    from cron) leaves none.
    """

    def __init__(
        self,
        console: Console | None = None,
        log_path: Path | None = None,
        quiet: bool = False,
        *,
        verbose: bool = True,
        stream: IO[str] | None = None,
    ) -> None:
        self._console = console
        # Where a console made when first needed writes: stdout as it is now, not as it may
        # be then (printed_to sends stdout to this very output meanwhile).
        self._stream = stream or sys.stdout
        self.quiet = quiet
        self.verbose = verbose
        self.show_lines = verbose
        self.show_details = verbose
        self.log_path = log_path
        self._lock = threading.Lock()
        self._log: IO[str] | None = None
        self._closed = False

    @property
    def console(self) -> Console:
        """The console it prints to, made when first asked for."""
        if self._console is None:
            from octopus.console import make_console

            self._console = make_console(self._stream)
        return self._console

    def on_same_console(self, *, quiet: bool) -> StageOutput:
        """Another output to the same console (not made here if it was not yet), no log."""
        return StageOutput(self._console, quiet=quiet, stream=self._stream)

    @property
    def log_written(self) -> bool:
        """Whether the log file exists (something was written to it)."""
        return self._log is not None

    def line(self, node: str, text: str, stream: str = "out") -> None:
        """Print one whole line from a node (stream 'err' is shown in red on a terminal)."""
        self.lines(node, [text], stream)

    def lines(self, node: str, texts: list[str], stream: str = "out") -> None:
        """Print whole lines from a node in one go: a command's output arrives in chunks of
        many lines, and one print per chunk keeps up with the network. A step's header
        (stream "step") is shown as details are."""
        texts = [visible(text) for text in texts]
        shown = self.show_details if stream == "step" else self.show_lines
        with self._lock:
            if not self.quiet and shown:
                plain = self._plain()
                if plain is None:
                    from rich.text import Text

                    style = "red" if stream == "err" else ""
                    parts = [
                        piece
                        for text in texts
                        for piece in ((f"{node}: ", "bold"), (text, style), "\n")
                    ]
                    self.console.print(Text.assemble(*parts), soft_wrap=True, end="")
                else:  # a file, a pipe, cron: plain text, no rendering
                    plain.write("".join(f"{node}: {text}\n" for text in texts))
                    plain.flush()
            stamp = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            self._write_log("".join(f"{stamp} {node} {stream}: {text}\n" for text in texts))

    def note(self, text: str) -> None:
        """A line that belongs to no node and that the user must see (what a stage decided,
        a local step's result)."""
        text = visible(text)
        with self._lock:
            if not self.quiet:
                self._print_text(text)
            self._write_log(f"{text}\n")

    def detail(self, text: str) -> None:
        """A line that belongs to no node, shown with --verbose and in a dry run (a stage's
        plan, a local step's header); always in the log."""
        text = visible(text)
        with self._lock:
            if not self.quiet and self.show_details:
                self._print_text(text)
            self._write_log(f"{text}\n")

    def _plain(self) -> IO[str] | None:
        """The stream when it is no terminal (a file, a pipe, cron): text goes there as it is.
        None on a terminal. rich is loaded only where it must decide: the stream says it is a
        terminal, or one of the variables that tell rich otherwise is set."""
        if self._console is None and not any(name in os.environ for name in _TERMINAL_TOLD):
            try:
                if not self._stream.isatty():
                    return self._stream
            except (AttributeError, ValueError, OSError):
                pass
        return None if self.console.is_terminal else self.console.file

    def _print_text(self, text: str) -> None:
        plain = self._plain()
        if plain is not None:
            plain.write(f"{text}\n")
            plain.flush()
            return
        from rich.text import Text

        self.console.print(Text(text), soft_wrap=True)

    def record(self, text: str) -> None:
        """A line for the log alone (what the console shows in a table of its own)."""
        with self._lock:
            self._write_log(f"{visible(text)}\n")

    def show(self, renderable: RenderableType) -> None:
        """A table or other rich renderable: on the console (unless quiet) and, as plain
        text, in the log."""
        with self._lock:
            if not self.quiet:
                self.console.print(renderable)
            if self.log_path is not None and not self._closed:
                from octopus.console import OctopusConsole

                text = io.StringIO()
                log = OctopusConsole(file=text, width=200, no_color=True, soft_wrap=True)
                log.print(renderable)
                self._write_log(text.getvalue())

    def _write_log(self, text: str) -> None:
        if self.log_path is None or self._closed:
            return
        with local_file_errors(self.log_path):
            if self._log is None:
                make_folder(self.log_path.parent)
                self._log = self.log_path.open("a", encoding="utf-8")
            self._log.write(text)
            self._log.flush()

    def progress(self, nodes: Sequence[str], enabled: bool = True) -> StageProgress:
        """The live view of a stage's nodes on this output's console (silent when quiet)."""
        shown = enabled and not self.quiet and self._plain() is None
        return StageProgress(self.console if shown else None, nodes, enabled=shown)

    def writer(self, node: str, stream: str = "out") -> LineWriter:
        return LineWriter(self, node, stream)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._log is not None:
                self._log.close()


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


class _NoteWriter(io.TextIOBase):
    """A file whose whole lines become the output's notes."""

    def __init__(self, output: StageOutput) -> None:
        self.output = output
        self._buffer = ""

    def write(self, data: str) -> int:
        *lines, self._buffer = (self._buffer + data).split("\n")
        for line in lines:
            self.output.note(line)
        return len(data)

    def finish(self) -> None:
        if self._buffer:
            self.output.note(self._buffer)
            self._buffer = ""


@contextlib.contextmanager
def printed_to(output: StageOutput) -> Iterator[None]:
    """What the code inside prints (a local step, a user's function) goes to the output: the
    console as before, and the stage's log."""
    writer = _NoteWriter(output)
    try:
        with contextlib.redirect_stdout(writer):
            yield
    finally:
        writer.finish()
