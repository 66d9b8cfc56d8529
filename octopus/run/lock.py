"""One process at a time changes an experiment's local records.

Records are written whole (localfiles.write_atomically), but two processes that read, change
and write them (two monitors from cron, a monitor during a deliver) would each write what
they read plus their own news, and the later one would drop the other's: so they hold the
experiment's lock, and take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from octopus.localfiles import local_file_errors, make_folder
from octopus.run.layout import ExperimentPaths


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) while the block runs; another
    process asking for it waits (`on_wait` is called first, to say so). The kernel drops the
    lock when its holder dies, kill -9 included."""
    make_folder(path.parent)
    with local_file_errors(path):
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed by the block below)
    with handle as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def holding_records(paths: ExperimentPaths) -> contextlib.AbstractContextManager[None]:
    """The lock of an experiment's manifest and ledger, saying on stderr when it must wait."""

    def waiting() -> None:
        print(
            f"octopus: waiting for another octopus run using {paths.deliverables}", file=sys.stderr
        )

    return locked(paths.records_lock, on_wait=waiting)
