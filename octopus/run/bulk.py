"""Python's cyclic garbage collector, held back while octopus makes objects by the million.

The collector runs after every 700 new container objects, and its older generations walk every
object still alive. A first monitor of 320,000 commands makes millions of them (attempts,
statuses, rows), none of them part of a cycle, and those walks took half of its CPU time.
Inside `bulk_work` the collector runs 100 times less often; reference counting frees every
object as before, and cycles are still collected, only later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# New objects between two young-generation collections inside bulk_work (Python's is 700).
BULK_THRESHOLD = 70_000

_HELD = threading.Lock()
_depth = 0
_before: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def bulk_work() -> Iterator[None]:
    """Collect cycles less often while inside (nested and threaded uses share one setting)."""
    global _depth, _before
    with _HELD:
        if _depth == 0:
            _before = gc.get_threshold()
            gc.set_threshold(max(BULK_THRESHOLD, _before[0]), *_before[1:])
        _depth += 1
    try:
        yield
    finally:
        with _HELD:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_before)
