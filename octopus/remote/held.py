"""A command that stops halfway for the client's word, on the one channel it runs on.

Deliver uploads to every node first and makes a node's upload current only once every node
has its own (when workers still run somewhere, every upload is removed instead). Held on its
channel after the upload, the command waits on the node for that word: the switch then costs
no new channel and no new shell on each node. A client gone in between (killed, its
connection lost) leaves the command's stdin at its end, which it takes as no word at all.

`wait_for_word` is the node's side: it says READY on a line of its own and reads one line.
`hold_on_channel` (SSH) and `hold_process` (the local node) are the client's: they send the
command its stdin and return a `Held` once READY came, or the command's result when it ended
before (it found workers running, or the upload failed).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from typing import Protocol

import paramiko

from octopus.remote.quick import (
    QuickResult,
    QuickTimedOut,
    collect_output,
    decoded,
    exit_status,
    holds_line,
    send_stdin,
    time_left,
)

READY = "octopus-ready"
_READY_LINE = READY.encode() + b"\n"


def wait_for_word(cases: dict[str, str], otherwise: str) -> str:
    """Shell text that says READY, reads the client's word and runs its case (shell text per
    word); `otherwise` for any other word, and for none (the client went)."""
    branches = " ".join(f"{word}) {text};;" for word, text in cases.items())
    return (
        f"printf '%s\\n' {READY}; octopus_word=; read -r octopus_word; "
        f'case "$octopus_word" in {branches} *) {otherwise};; esac'
    )


class Held(Protocol):
    """A command waiting for its word; what it printed until then is kept."""

    stdout: str
    stderr: str

    def finish(self, word: str, timeout: float | None = None) -> QuickResult:
        """Send the word; the command's result, with everything it printed."""
        ...

    def abandon(self) -> None:
        """End the wait without a word (the command takes that as no word)."""
        ...


class HeldChannel:
    """A command held on an SSH channel."""

    def __init__(self, chan: paramiko.Channel, out: bytes, err: bytes) -> None:
        self._chan = chan
        self.stdout = decoded(out.replace(_READY_LINE, b"", 1))
        self.stderr = decoded(err)

    def finish(self, word: str, timeout: float | None = None) -> QuickResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        chan = self._chan
        try:
            send_stdin(chan, lambda write: write(word.encode() + b"\n"), deadline, timeout)
            out, err = collect_output(chan, deadline, timeout)
            status = exit_status(chan, deadline, timeout)
            return QuickResult(status, self.stdout + decoded(out), self.stderr + decoded(err))
        finally:
            chan.close()

    def abandon(self) -> None:
        self._chan.close()


def hold_on_channel(
    chan: paramiko.Channel, command: str, data: bytes, timeout: float | None
) -> QuickResult | HeldChannel:
    """Run `command` (ending in `wait_for_word`) on a fresh channel with `data` on its stdin;
    held once it said READY, else its result."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        chan.exec_command(command)
        send_stdin(chan, lambda write: write(data), deadline, timeout, end=False)
        out, err = collect_output(chan, deadline, timeout, until=READY.encode())
        if holds_line(out, READY.encode()):
            return HeldChannel(chan, out, err)
        result = QuickResult.of(exit_status(chan, deadline, timeout), out, err)
    except BaseException:
        chan.close()
        raise
    chan.close()
    return result


def end_session(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started in a session of its own, with everything it started."""
    with contextlib.suppress(ProcessLookupError):  # none of them is left
        os.killpg(proc.pid, signal.SIGKILL)


class HeldProcess:
    """A command held in a local process (the `local` node)."""

    def __init__(self, proc: subprocess.Popen[bytes], out: bytes, err: bytes) -> None:
        self._proc = proc
        self.stdout = decoded(out.replace(_READY_LINE, b"", 1))
        self.stderr = decoded(err)

    def finish(self, word: str, timeout: float | None = None) -> QuickResult:
        try:
            out, err = self._proc.communicate(word.encode() + b"\n", timeout)
        except subprocess.TimeoutExpired:
            end_session(self._proc)
            self._proc.communicate()
            raise QuickTimedOut(timeout or 0) from None
        code = self._proc.returncode
        return QuickResult(code, self.stdout + decoded(out), self.stderr + decoded(err))

    def abandon(self) -> None:
        self._proc.communicate(b"")


def hold_process(
    proc: subprocess.Popen[bytes], data: bytes, timeout: float | None
) -> QuickResult | HeldProcess:
    """`hold_on_channel` for a process started in a session of its own, with pipes for all
    three streams."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    stdin = proc.stdin

    def feed() -> None:  # beside the reads: neither side waits on a full pipe
        try:
            stdin.write(data)
            stdin.flush()
        except OSError:
            pass  # it ended early: its status says why

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    streams = {out_fd: bytearray(), err_fd: bytearray()}
    try:
        with selectors.DefaultSelector() as selector:
            for fd in streams:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map() and not holds_line(bytes(streams[out_fd]), READY.encode()):
                for key, _ in selector.select(time_left(deadline, timeout)):
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        streams[key.fd] += chunk
                    else:
                        selector.unregister(key.fd)
        out, err = bytes(streams[out_fd]), bytes(streams[err_fd])
        if holds_line(out, READY.encode()):
            return HeldProcess(proc, out, err)
        proc.wait(time_left(deadline, timeout))
    except BaseException:
        end_session(proc)
        proc.wait()
        raise
    finally:
        writer.join()
    return QuickResult.of(proc.returncode, out, err)
