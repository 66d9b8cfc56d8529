"""Ctrl-C during a stage: the first stops it promptly and says what it stopped, the second
quits at once.

The first SIGINT starts no new step anywhere and closes every connection the stage holds:
each running remote command ends with its channel (remote/shell.ends_with_channel), each
node still going is reported as interrupted, and the task exits 130 once the summary is
printed. Threads still waiting for a node (a connect underway) are not waited for: they are
daemon threads, and the stage returns within GRACE_SECONDS. A second SIGINT exits at once,
as a user pressing it twice expects. Deliveries stay atomic: a node switches to a new
delivery with one rename or not at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from octopus.errors import INTERRUPTED_EXIT, OctopusError
from octopus.remote.connector import Connector

# How long the nodes get to notice their closed connections and report, after Ctrl-C.
GRACE_SECONDS = 1.0


class Interrupted(OctopusError):
    """The stage was stopped by Ctrl-C; its summary has been printed."""

    exit_code = INTERRUPTED_EXIT


class StageInterrupt:
    """The process' record of a Ctrl-C, and the connections it closes."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[Connector] = set()
        self._notify: Callable[[str], None] | None = None

    def hold(self, conn: Connector) -> None:
        """A connection the stage uses: closed on Ctrl-C (at once, if that came already)."""
        with self._lock:
            self._connections.add(conn)
        if self.requested.is_set():
            self._close(conn)

    def release(self, conn: Connector) -> None:
        with self._lock:
            self._connections.discard(conn)

    def trip(self) -> None:
        """What the first Ctrl-C does: note it, and close every held connection."""
        self.requested.set()
        if self._notify is not None:
            self._notify("interrupted: stopping every node's step (Ctrl-C again to quit at once)")
        with self._lock:
            held = list(self._connections)
        # Closing waits for each transport's thread: off the signal handler's thread.
        threading.Thread(target=lambda: [self._close(c) for c in held], daemon=True).start()

    @staticmethod
    def _close(conn: Connector) -> None:
        with contextlib.suppress(Exception):
            conn.close()

    @contextlib.contextmanager
    def catching(self, notify: Callable[[str], None]) -> Iterator[None]:
        """Handle SIGINT this way while a stage runs (in the main thread only: elsewhere,
        Python delivers no signals, and the caller's handling stays as it was)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._notify = notify

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.requested.is_set():
                sys.stderr.write("\noctopus: interrupted twice; quitting at once\n")
                sys.stderr.flush()
                os._exit(INTERRUPTED_EXIT)
            self.trip()

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            self._notify = None


# One per process: a signal is the process', and every stage of it shares what it means.
INTERRUPT = StageInterrupt()
