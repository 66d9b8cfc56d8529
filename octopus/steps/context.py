"""What a step gets on one node: the node, the stage's connection, the experiment, the output."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from invoke.exceptions import CommandTimedOut
from invoke.runners import Result

from octopus.errors import OctopusError
from octopus.node import Node
from octopus.output import StageOutput, stderr_tail
from octopus.remote.connector import Connector
from octopus.remote.quick import QuickResult, QuickTimedOut

if TYPE_CHECKING:
    from octopus.experiment import Experiment


class StepFailed(OctopusError):
    """A step's command failed on a node; carries what the summary shows."""

    def __init__(self, message: str, exit_code: int | None = None, stderr_tail: str = "") -> None:
        self.code = exit_code
        self.stderr_tail = stderr_tail
        super().__init__(message)

    @classmethod
    def of(cls, result: Result | QuickResult, what: str = "") -> StepFailed:
        """From a command's result: its exit code and the last lines of its error output."""
        prefix = f"{what} " if what else ""
        return cls(
            f"{prefix}exited with {result.exited}",
            exit_code=result.exited,
            stderr_tail=stderr_tail(result.stderr),
        )


class StepContext:
    """One node's view of a stage; `experiment` is None for stages that have none (inv nodes)."""

    def __init__(
        self,
        node: Node,
        conn: Connector | None,
        experiment: Experiment | None,
        output: StageOutput,
        timeout: float | None = None,
    ) -> None:
        self.node = node
        self.conn = conn
        self._experiment = experiment
        self.output = output
        # The running step's limit for each command (None: none; steps may run for hours,
        # pip installs and downloads do, and a dead node is found by the connection anyway).
        self.timeout = timeout
        self.warnings: list[str] = []

    @property
    def name(self) -> str:
        return self.node.name or "?"

    @property
    def experiment(self) -> Experiment:
        if self._experiment is None:
            raise OctopusError("this step needs an experiment, and this stage has none")
        return self._experiment

    def connection(self) -> Connector:
        if self.conn is None:
            raise OctopusError("this step needs a connection, but none was opened (dry run?)")
        return self.conn

    def run(
        self, command: str, *, warn: bool = False, show: bool = True, timeout: float | None = None
    ) -> Result | QuickResult:
        """Run a command on the node, its output shown line by line (or, with show=False, kept
        for the caller only: `quick`); a failure raises StepFailed."""
        if not show:
            return self.quick(command, warn=warn, timeout=timeout)
        out = self.output.writer(self.name, "out")
        err = self.output.writer(self.name, "err")
        limit = timeout or self.timeout
        began = time.monotonic()
        try:
            result = self.connection().run(
                command,
                hide=not show,
                warn=True,
                out_stream=out if show else None,
                err_stream=err if show else None,
                timeout=limit,
            )
        except CommandTimedOut:
            raise StepFailed(f"timed out after {limit:g}s (the step's timeout)") from None
        finally:
            out.finish()
            err.finish()
        # Invoke says "timed out" only when its timer thread is done closing the channel; a
        # channel closed by it a moment earlier ends the command without an exit status.
        if limit and result.exited == -1 and time.monotonic() - began >= limit:
            raise StepFailed(f"timed out after {limit:g}s (the step's timeout)")
        if not result.ok and not warn:
            raise StepFailed.of(result)
        return result

    def quick(
        self, command: str, *, warn: bool = False, timeout: float | None = None
    ) -> QuickResult:
        """Run one of octopus' own commands (a check, a state read), its output kept and not
        shown, on a bare channel: a few ms where Invoke's runner takes 12–15 (remote/quick.py).
        A failure raises StepFailed unless `warn`, a timeout always does."""
        limit = timeout or self.timeout
        try:
            result = self.connection().quick(command, timeout=limit)
        except QuickTimedOut:
            raise StepFailed(f"timed out after {limit:g}s (the step's timeout)") from None
        if not result.ok and not warn:
            raise StepFailed.of(result)
        return result

    def say(self, text: str) -> None:
        self.output.line(self.name, text)

    def warn(self, text: str) -> None:
        """A line now, and a note in the stage summary for this node."""
        self.warnings.append(text)
        self.output.line(self.name, f"warning: {text}", "err")
