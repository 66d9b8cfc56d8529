"""How a node's workers share its commands: `fixed` (each runs the share the generator gave
it) or `queue` (each takes the next unclaimed command of the node, so none idles while
another has a backlog).

A YAML experiment, or a Python one without a generator of its own, uses the queue; a Python
experiment that passes `exp_script_gen` keeps the split it asked for unless it sets
`schedule="queue"`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from octopus.errors import ConfigError

FIXED = "fixed"
QUEUE = "queue"
SCHEDULES = (FIXED, QUEUE)


def check_schedule(value: Any, generator: Callable[..., Any] | None) -> str:
    """The schedule an experiment uses: `value`, or its default when None."""
    if value is None:
        return FIXED if generator is not None else QUEUE
    if value not in SCHEDULES:
        raise ConfigError(
            f"schedule must be 'queue' or 'fixed', not {value!r}: write `schedule: queue` "
            "(one queue per node) or `schedule: fixed` (each worker its own share)",
            key="schedule",
        )
    return str(value)
