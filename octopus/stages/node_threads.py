"""The threads a stage's nodes run on: a bounded set of daemon threads that a Ctrl-C does not
have to wait for.

concurrent.futures' pool joins its threads at exit, so one node stuck in a connect would hold
an interrupted task until its connect timeout. These threads are daemons, and `run_each`
returns once the work is done, or GRACE after the stop event, whichever comes first.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# How often the waiting thread looks at the stop event (it also wakes on every finished item).
POLL_SECONDS = 0.1


def run_each(
    items: Sequence[T],
    work: Callable[[T], None],
    workers: int,
    stop: threading.Event,
    grace: float,
) -> list[T]:
    """work(item) for every item, at most `workers` at once; returns the items that did not
    finish: those not begun when `stop` was set, and those still running `grace` seconds
    later. An exception from `work` is raised here once every thread is done with it."""
    queue = collections.deque(range(len(items)))
    finished: set[int] = set()
    running: set[int] = set()
    errors: list[BaseException] = []
    changed = threading.Condition()

    def worker() -> None:
        while True:
            with changed:
                if stop.is_set() or not queue:
                    changed.notify_all()
                    return
                index = queue.popleft()
                running.add(index)
            try:
                work(items[index])
            except BaseException as exc:  # handed to the waiting thread
                errors.append(exc)
            finally:
                with changed:
                    running.discard(index)
                    finished.add(index)
                    changed.notify_all()

    for number in range(max(1, min(workers, len(items)))):
        threading.Thread(target=worker, name=f"octopus-node-{number}", daemon=True).start()
    deadline: float | None = None
    with changed:
        while len(finished) < len(items):
            if stop.is_set():
                deadline = deadline or time.monotonic() + grace
                if not running or time.monotonic() >= deadline:
                    break
            changed.wait(POLL_SECONDS)
    if errors and not stop.is_set():
        raise errors[0]
    return [items[i] for i in range(len(items)) if i not in finished]
