"""Per-node outcomes of a task: values, never exceptions, so one node cannot stop the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    """How a node ended a stage; unreachable is kept apart from failed, as ansible does."""

    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


@dataclass
class NodeResult:
    """What happened on one node: the outcome, where it stopped and why, and any data gathered."""

    node: str
    outcome: Outcome
    message: str = ""
    step: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    duration: float = 0.0
    data: Any = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.SKIPPED)

    @property
    def failed(self) -> bool:
        return not self.ok


def exit_code_for(results: list[NodeResult]) -> int:
    """0 when every node is fine (or skipped), 1 otherwise."""
    return 0 if all(r.ok for r in results) else 1
