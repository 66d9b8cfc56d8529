"""The experiment's commands as given, kept with a plan only when the plan cannot give them.

A plan's keys (command_keys.py) come from the experiment's commands as given, by index. The
plan itself holds each command's text by its index, and unless a placeholder was filled in
or a generator of the user's own changed a line, that text is the command as given. Then the
plans folder keeps just their count, and a million texts are neither encoded nor written a
second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octopus.run.plan_model import WorkerPlan


def from_plan(count: int, parts: Sequence[WorkerPlan]) -> list[str]:
    """The `count` commands as given, read back from a plan that holds each of them as
    given (`Plan.holds_sources`: the built-in generators place every command, and a text
    without brackets has no placeholder to fill)."""
    sources = [""] * count
    for part in parts:
        for index, text in zip(part.command_indices, part.commands, strict=True):
            if index is not None and 0 <= index < count:
                sources[index] = text
    return sources
