"""A share of local work done by a forked copy of this process, beside the caller's own share.

Writing a delivery of a million commands is Python work (each command quoted into its
worker's script, the records encoded) that takes one core seconds. A forked child starts with
the caller's memory as it is (the plan, copied only where either side writes), so nothing is
sent to it: it writes its files, says how it ended, and exits without running the caller's
exit handlers. Forking is safe only while no other thread runs (a lock held by one would stay
held in the child for good), so with other threads alive, on one core, or where there is no
fork, the work runs in the caller when it waits for it, as it always did.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import TracebackType

from octopus.errors import OctopusError, error_text


class ForkedWorkFailed(OctopusError):
    """The child's share failed: its one-line error, with the exit code it would have had."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether a child would run beside this process: fork exists, no other thread runs, and
    more than one core is there to run it on."""
    return hasattr(os, "fork") and threading.active_count() == 1 and _cores() > 1


class Beside:
    """`work()` in a forked child (when `worth_it` and `can_fork()`), else later, in `wait`.

    Used as a context: the caller does its own share inside the block, then `wait()`s. When
    the block ends by an error (a Ctrl-C included), the child is stopped and reaped."""

    def __init__(self, work: Callable[[], None], *, worth_it: bool = True) -> None:
        self._work: Callable[[], None] | None = work
        self._pid = 0
        self._pipe = -1
        if worth_it and can_fork():
            self._start(work)

    def _start(self, work: Callable[[], None]) -> None:
        """Fork; when the fork fails (no memory for it), the work stays for `wait`."""
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: never back into the caller's code, whatever happens
            said, code = b"", 1
            try:
                # Ctrl-C reaches the whole process group: the caller alone handles it, and
                # stops this child if it must.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                os.close(read_end)
                work()
                code = 0
            except BaseException as exc:
                code = exc.exit_code if isinstance(exc, OctopusError) else 1
                said = error_text(exc).encode("utf-8", "replace")
            finally:
                try:
                    os.write(write_end, f"{code}\n".encode() + said)
                finally:
                    os._exit(code)
        os.close(write_end)
        self._pid, self._pipe, self._work = pid, read_end, None

    @property
    def forked(self) -> bool:
        return self._pid != 0

    def wait(self) -> None:
        """Wait for the child (or do the work here); ForkedWorkFailed when it failed."""
        if self._work is not None:
            work, self._work = self._work, None
            work()
            return
        if not self._pid:
            return
        with os.fdopen(self._pipe, "rb") as pipe:
            self._pipe = -1
            told = pipe.read()  # all of it once the child has exited
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        head, _, message = told.partition(b"\n")
        code = os.waitstatus_to_exitcode(status)
        if code != 0 or head.strip() not in (b"", b"0"):
            text = message.decode("utf-8", "replace") or f"a forked writer ended with {code}"
            raise ForkedWorkFailed(text, int(head) if head.strip().isdigit() else 1)

    def __enter__(self) -> Beside:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if exc is None:
            self.wait()
            return
        self._work = None  # the caller failed: its child's share is not wanted any more
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1
