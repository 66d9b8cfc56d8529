"""octopus' own short commands (state reads, checks, uploads) straight on an SSH channel.

Invoke's Runner starts threads for stdout, stderr and the timer of every command and joins
them at the end: on an open connection that costs 12–15 ms a command, where the command
itself takes 2.5 ms (docs/ssh.md). A stage of many nodes runs several of these per node, and
it is what `inv run` repeats while it waits. Here one thread reads both streams of one
channel as they come (neither can fill the channel's window while the other is read), the
caller's deadline bounds the whole command, and a channel closed early (timeout, Ctrl-C, a
lost connection) gives exit status -1 as Invoke's runner does.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko

# Bytes read or sent per call: a few SSH packets.
CHUNK = 64 * 1024

# A command that feeds the node's stdin gets a function to write with, and sends through it.
Feed = Callable[[Callable[[bytes], object]], object]


@dataclass(frozen=True)
class QuickResult:
    """What a short command left: its exit status (-1: ended without one) and its output."""

    exited: int
    stdout: str
    stderr: str

    @classmethod
    def of(cls, exited: int, out: bytes, err: bytes) -> QuickResult:
        """The result of a command that printed these bytes."""
        return cls(exited, decoded(out), decoded(err))

    @property
    def ok(self) -> bool:
        return self.exited == 0

    @property
    def failed(self) -> bool:
        return not self.ok


class QuickTimedOut(TimeoutError):
    """The command did not finish within its timeout; its channel (or process) was closed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"command timed out after {timeout:g}s")


def decoded(data: bytes) -> str:
    """A command's output as text: bytes that are not UTF-8 become U+FFFD, never an error."""
    return data.decode("utf-8", "replace")


def time_left(deadline: float | None, timeout: float | None) -> float | None:
    """Seconds until the deadline (None: no deadline); QuickTimedOut once it passed."""
    if deadline is None or timeout is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise QuickTimedOut(timeout)
    return left


def run_on_channel(
    chan: paramiko.Channel, command: str, timeout: float | None, feed: Feed | None = None
) -> QuickResult:
    """Run `command` on a fresh session channel and close it; `feed` writes the command's
    stdin (then closed), without it the stdin stays open, so `ends_with_channel` still ends
    the command when the channel closes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        chan.exec_command(command)
        if feed is not None:
            send_stdin(chan, feed, deadline, timeout)
        out, err = collect_output(chan, deadline, timeout)
        return QuickResult.of(exit_status(chan, deadline, timeout), out, err)
    finally:
        chan.close()


def exit_status(chan: paramiko.Channel, deadline: float | None, timeout: float | None) -> int:
    """The command's exit status once the node sent it; QuickTimedOut when it did not in time."""
    chan.status_event.wait(time_left(deadline, timeout))
    if not chan.status_event.is_set():
        raise QuickTimedOut(timeout or 0)
    return chan.exit_status


def send_stdin(
    chan: paramiko.Channel,
    feed: Feed,
    deadline: float | None,
    timeout: float | None,
    end: bool = True,
) -> None:
    """Write what `feed` produces to the command's stdin, then end it (unless not `end`: more
    follows). A command that ended early (it failed before reading everything) closes the
    channel: the rest is dropped and its exit status tells. A lost connection raises."""

    def write(data: bytes) -> None:
        done = 0
        while done < len(data) and not chan.closed:
            chan.settimeout(time_left(deadline, timeout))
            try:
                sent = chan.send(data[done : done + CHUNK])
            except TimeoutError:
                raise QuickTimedOut(timeout or 0) from None
            except OSError:
                sent = 0
            if not sent:
                transport = chan.get_transport()
                if transport is None or not transport.is_active():
                    raise ConnectionError("connection lost while sending")
                return  # the command closed its end: its status says why
            done += sent

    feed(write)
    if end and not chan.closed:
        chan.shutdown_write()


def collect_output(
    chan: paramiko.Channel,
    deadline: float | None,
    timeout: float | None,
    until: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Both output streams until the node closed them (or the channel went), or until the
    stdout holds the line `until`."""
    out: list[bytes] = []
    err: list[bytes] = []
    while True:
        while chan.recv_ready():
            out.append(chan.recv(CHUNK))
        while chan.recv_stderr_ready():
            err.append(chan.recv_stderr(CHUNK))
        if until is not None and holds_line(b"".join(out), until):
            return b"".join(out), b"".join(err)
        if (chan.eof_received or chan.closed) and not (
            chan.recv_ready() or chan.recv_stderr_ready()
        ):
            return b"".join(out), b"".join(err)
        left = time_left(deadline, timeout)
        # The channel's pipe wakes us for data on either stream and for its end; the cap
        # only bounds a wake-up missed between the checks above and the wait.
        select.select([chan], [], [], min(left, 1.0) if left is not None else 1.0)


def holds_line(output: bytes, line: bytes) -> bool:
    """Whether `output` has `line` as a whole line of its own."""
    return output.startswith(line + b"\n") or b"\n" + line + b"\n" in output
