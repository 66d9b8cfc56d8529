"""One node's walk through a stage, and how a step's exception ends it (failed or unreachable)."""

from __future__ import annotations

import threading
import time
from typing import Any

from invoke.exceptions import UnexpectedExit

from octopus.errors import error_text
from octopus.node import Node
from octopus.output import counted, stderr_tail
from octopus.remote.connection import NodeUnreachable
from octopus.remote.connector import Connector
from octopus.results import NodeResult, Outcome
from octopus.steps.context import StepFailed


class NodeRun:
    """A node's walk through a stage: its connection, where it is, how it has fared so far."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.conn: Connector | None = None
        self.result: NodeResult | None = None  # set once the node stopped (failed/unreachable)
        self.ran = 0
        self.skipped = 0
        self.warnings: list[str] = []
        self.failed_steps: list[str] = []  # failures it went on after (ignore_errors, ...)
        self.data: Any = None
        self.started = time.monotonic()
        self._ending = threading.Lock()

    @property
    def name(self) -> str:
        return self.node.name or "?"

    def stop(
        self,
        outcome: Outcome,
        message: str,
        step: str | None = None,
        exit_code: int | None = None,
        stderr: str = "",
    ) -> None:
        """End the node's walk here; the first end counts (the main thread may give up on a
        node after Ctrl-C while its thread still finishes)."""
        with self._ending:
            if self.result is None:
                self.result = self._result(outcome, message, step, exit_code, stderr)

    def _result(
        self, outcome: Outcome, message: str, step: str | None, exit_code: int | None, stderr: str
    ) -> NodeResult:
        return NodeResult(
            self.name,
            outcome,
            message,
            step=step,
            exit_code=exit_code,
            stderr_tail=stderr,
            duration=time.monotonic() - self.started,
            data=self.data,
        )

    def final(self) -> NodeResult:
        if self.result is not None:
            return self.result
        outcome = Outcome.SKIPPED if self.ran == 0 and self.skipped else Outcome.OK
        if self.failed_steps:
            outcome = Outcome.WARNING
        message = "; ".join(
            [*self.failed_steps, *self.warnings, f"{counted(self.ran, 'step')} run"]
        ) + (f", {self.skipped} skipped by tags" if self.skipped else "")
        return NodeResult(
            self.name, outcome, message, duration=time.monotonic() - self.started, data=self.data
        )


def classify_failure(
    exc: BaseException, conn: Connector | None
) -> tuple[Outcome, str, int | None, str]:
    """How a step's exception ends the node: (outcome, message, exit code, stderr tail).

    A command that failed is FAILED; a connection that is gone, however it showed, is
    UNREACHABLE, as ansible keeps unreachable apart from failed.
    """
    lost = conn is not None and not conn.is_active()
    if isinstance(exc, NodeUnreachable):
        return Outcome.UNREACHABLE, exc.reason, None, ""
    if isinstance(exc, StepFailed):
        if lost:
            return Outcome.UNREACHABLE, "connection lost", None, ""
        return Outcome.FAILED, str(exc), exc.code, exc.stderr_tail
    if isinstance(exc, UnexpectedExit):
        result = exc.result
        return (
            Outcome.FAILED,
            f"command exited with {result.exited}",
            result.exited,
            stderr_tail(result.stderr),
        )
    if lost or isinstance(exc, (EOFError, ConnectionError)):
        return Outcome.UNREACHABLE, f"connection lost ({type(exc).__name__})", None, ""
    return Outcome.FAILED, error_text(exc), None, ""
