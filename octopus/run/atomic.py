"""Local record files written whole or not at all, and one writer at a time.

A record (manifest, ledger) is written to a temporary file of its own beside it, then renamed
over it: a reader sees the old file or the new one, never half of one, even when the writer
is killed midway or the disk fills. Two processes that read, change and write a record (two
monitors from cron) hold its lock, so neither loses what the other merged.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from octopus.run.layout import ExperimentPaths


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename (the data on disk before the rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) while the block runs; another
    process asking for it waits (`on_wait` is called first, to say so). The kernel drops the
    lock when its holder dies, kill -9 included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
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
