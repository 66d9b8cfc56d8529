"""Runs work on many nodes at once: one connection and one result per node.

Each node is handled by its own thread with its own connection; whatever goes wrong there
(unreachable, refused host key, a failing command, a bug) becomes that node's NodeResult.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.exceptions import UnexpectedExit
from rich.console import Console
from rich.text import Text

from octopus.connection import AnyConnection, NodeUnreachable, open_connection
from octopus.node import Node
from octopus.output import StageOutput
from octopus.progress import StageProgress
from octopus.report import outcome_text, summary_line, table
from octopus.results import NodeResult, Outcome
from octopus.steps.base import AnyStep, LocalStep, Step, StepContext, StepFailed

if TYPE_CHECKING:
    from octopus.experiment import Experiment

# Threads mostly wait on the network; 32 keeps a 100-node fan-out to about three rounds of
# logins without making the test hosts' sshd (which shares our CPUs here) the bottleneck.
DEFAULT_PARALLEL = 32

NodeWork = Callable[[Node, AnyConnection], Any]


def stderr_tail(text: str, lines: int = 5) -> str:
    """The last few non-empty lines of a command's error output."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_on_node(node: Node, work: NodeWork) -> NodeResult:
    """Open the node's connection, do the work, and describe how it went; never raises."""
    started = time.monotonic()
    name = node.name or "?"
    try:
        conn = open_connection(node)
    except NodeUnreachable as exc:
        return NodeResult(
            name, Outcome.UNREACHABLE, exc.reason, duration=time.monotonic() - started
        )
    try:
        data = work(node, conn)
        return NodeResult(name, Outcome.OK, data=data, duration=time.monotonic() - started)
    except UnexpectedExit as exc:
        result = exc.result
        return NodeResult(
            name,
            Outcome.FAILED,
            f"command exited with {result.exited}",
            exit_code=result.exited,
            stderr_tail=stderr_tail(result.stderr),
            duration=time.monotonic() - started,
        )
    except Exception as exc:  # a node's failure must never stop the others
        return NodeResult(
            name,
            Outcome.FAILED,
            f"{type(exc).__name__}: {exc}",
            duration=time.monotonic() - started,
        )
    finally:
        conn.close()


def for_each_node(
    nodes: Sequence[Node], work: NodeWork, parallel: int | None = None
) -> list[NodeResult]:
    """Do `work` on every node at once (at most `parallel` at a time); results in node order."""
    if not nodes:
        return []
    workers = max(1, min(len(nodes), parallel or DEFAULT_PARALLEL))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="octopus-node") as pool:
        return list(pool.map(lambda node: run_on_node(node, work), nodes))


# --- stages -------------------------------------------------------------------------------


@dataclass
class StageReport:
    """One stage's outcome: a result per node and whatever local steps failed."""

    stage: str
    results: list[NodeResult]
    local_failures: list[str] = field(default_factory=list)
    log_path: Path | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.local_failures and all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def print_summary(self, console: Console) -> None:
        t = table(
            f"{self.stage}: {summary_line(self.results)}",
            ["node", "status", "at step", "exit", "time", "details"],
        )
        for r in self.results:
            details = r.message
            if r.stderr_tail:
                details = f"{details}\n{r.stderr_tail}" if details else r.stderr_tail
            t.add_row(
                r.node,
                outcome_text(r),
                r.step or "",
                "" if r.exit_code is None else str(r.exit_code),
                f"{r.duration:.1f}s",
                details,
            )
        console.print(t)
        for failure in self.local_failures:
            console.print(Text(f"local step failed: {failure}", style="red"))
        if self.log_path is not None:
            console.print(Text(f"log: {self.log_path}"))


class _NodeState:
    """A node's walk through a stage: its connection, where it is, how it has fared so far."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.conn: AnyConnection | None = None
        self.result: NodeResult | None = None  # set once the node stopped (failed/unreachable)
        self.ran = 0
        self.skipped = 0
        self.warnings: list[str] = []
        self.started = time.monotonic()

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
        self.result = NodeResult(
            self.name,
            outcome,
            message,
            step=step,
            exit_code=exit_code,
            stderr_tail=stderr,
            duration=time.monotonic() - self.started,
        )

    def final(self) -> NodeResult:
        if self.result is not None:
            return self.result
        outcome = Outcome.SKIPPED if self.ran == 0 and self.skipped else Outcome.OK
        message = "; ".join([*self.warnings, f"{self.ran} step(s) run"]) + (
            f", {self.skipped} skipped by tags" if self.skipped else ""
        )
        return NodeResult(self.name, outcome, message, duration=time.monotonic() - self.started)


def _segments(steps: Sequence[AnyStep]) -> list[tuple[int, list[AnyStep]]]:
    """Split a stage at its local steps: (index of first step, steps) runs of one kind."""
    segments: list[tuple[int, list[AnyStep]]] = []
    for index, step in enumerate(steps):
        local = isinstance(step, LocalStep)
        if segments and not local and not isinstance(segments[-1][1][0], LocalStep):
            segments[-1][1].append(step)
        else:
            segments.append((index, [step]))
    return segments


def _connection_lost(conn: AnyConnection | None) -> bool:
    transport = getattr(conn, "transport", None)
    return transport is not None and not transport.is_active()


def _run_remote_steps(
    state: _NodeState,
    first: int,
    steps: list[AnyStep],
    experiment: Experiment,
    output: StageOutput,
    dry_run: bool,
    progress: Callable[[str, str], None],
) -> None:
    node = state.node
    if (
        state.conn is None
        and not dry_run
        and any(isinstance(s, Step) and s.applies_to(node) for s in steps)
    ):
        progress(state.name, "connecting")
        try:
            state.conn = open_connection(node)
        except NodeUnreachable as exc:
            state.stop(Outcome.UNREACHABLE, exc.reason)
            return
    ctx = StepContext(node, state.conn, experiment, output)
    ctx.warnings = state.warnings
    for offset, step in enumerate(steps):
        assert isinstance(step, Step)
        label = f"{first + offset + 1} {step.step_name}"
        if not step.applies_to(node):
            state.skipped += 1
            output.line(
                state.name, f"[{label}] skipped: node has none of tags {sorted(step.tags or [])}"
            )
            continue
        progress(state.name, label)
        if dry_run:
            for line in step.describe(ctx):
                output.line(state.name, f"[{label}] would run: {line}")
            state.ran += 1
            continue
        output.line(state.name, f"[{label}]")
        try:
            step.execute(ctx)
        except StepFailed as exc:
            if _connection_lost(state.conn):
                state.stop(Outcome.UNREACHABLE, "connection lost", step=label)
            else:
                state.stop(
                    Outcome.FAILED,
                    str(exc),
                    step=label,
                    exit_code=exc.code,
                    stderr=exc.stderr_tail,
                )
            return
        except NodeUnreachable as exc:
            state.stop(Outcome.UNREACHABLE, exc.reason, step=label)
            return
        except Exception as exc:  # one node's trouble never stops the others
            if _connection_lost(state.conn) or isinstance(exc, (EOFError, ConnectionError)):
                state.stop(
                    Outcome.UNREACHABLE, f"connection lost ({type(exc).__name__})", step=label
                )
            else:
                state.stop(Outcome.FAILED, f"{type(exc).__name__}: {exc}", step=label)
            return
        state.ran += 1


def run_stage(
    stage: str,
    steps: Sequence[AnyStep],
    nodes: Sequence[Node],
    *,
    experiment: Experiment,
    output: StageOutput,
    parallel: int | None = None,
    dry_run: bool = False,
) -> StageReport:
    """Run a stage's steps on every node: each node walks its own list, local steps are barriers.

    One connection per node serves the whole stage; a node that fails or is unreachable stops
    there while the others go on.
    """
    began = time.monotonic()
    states = [_NodeState(n) for n in nodes]
    local_failures: list[str] = []
    workers = max(1, min(len(states) or 1, parallel or DEFAULT_PARALLEL))
    output.note(
        f"{stage}: {len(steps)} step(s) on {len(states)} node(s)"
        + (" (dry run: nothing is changed)" if dry_run else "")
    )
    with (
        StageProgress(output.console, [s.name for s in states], enabled=not dry_run) as progress,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="octopus-node") as pool,
    ):
        for first, segment in _segments(steps):
            if isinstance(segment[0], LocalStep):
                local = segment[0]
                label = f"{first + 1} {local.step_name}"
                if dry_run:
                    for line in local.describe():
                        output.note(f"local [{label}] would run: {line}")
                    continue
                output.note(f"local [{label}]")
                try:
                    local.run()
                except Exception as exc:  # reported, and the rest of the stage is not run
                    local_failures.append(f"[{label}] {type(exc).__name__}: {exc}")
                    break
                continue
            alive = [s for s in states if s.result is None]
            list(
                pool.map(
                    lambda s, first=first, segment=segment: _run_remote_steps(
                        s, first, segment, experiment, output, dry_run, progress.update
                    ),
                    alive,
                )
            )
            for s in alive:
                progress.update(s.name, "done" if s.result is None else str(s.result.outcome))
    for state in states:
        if state.conn is not None:
            state.conn.close()
    results = [s.final() for s in states]
    return StageReport(stage, results, local_failures, output.log_path, time.monotonic() - began)
