"""Python's cyclic garbage collector, held off while octopus makes objects by the million.

The collector runs after every 700 new container objects, and its older generations walk every
object still alive. A first monitor of 320,000 commands makes millions of them (attempts,
statuses, rows), none of them part of a cycle, while millions more (the record's plans) are
alive: even run 100 times less often, the walks took more than half of the time spent reading
what the nodes said. Inside `bulk_work` the collector is off. Reference counting frees every
object as before; the few cycles made meanwhile (a connection's objects) are collected by the
collector's next run after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_HELD = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def bulk_work() -> Iterator[None]:
    """The cyclic collector off while inside (nested and threaded uses share one setting)."""
    global _depth, _was_enabled
    entered = False
    try:
        with _HELD:  # (inside the try: an interrupt here still gives the collector back)
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1
            entered = True
        yield
    finally:
        with _HELD:
            if entered:
                _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
