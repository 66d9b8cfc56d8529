"""The stage engine: every node walks its own step list over one connection, all at once.

Each node is handled by its own thread with its own connection; whatever goes wrong there
(unreachable, refused host key, a failing command, a bug) becomes that node's NodeResult, and
what its steps return becomes the result's `data`. A local step is a barrier: the remote
steps before it finish on every node first. Every stage and `inv nodes` go through here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from octopus.errors import error_text
from octopus.node import Node
from octopus.output import HERE, StageOutput, counted, printed_to
from octopus.remote.connection import NodeUnreachable, open_connection
from octopus.results import Outcome, StageReport
from octopus.stage_progress import StageProgress
from octopus.stages.connection_pool import kept_pool
from octopus.stages.interrupt import GRACE_SECONDS, INTERRUPT
from octopus.stages.node_run import NodeRun, classify_failure
from octopus.stages.node_threads import run_each
from octopus.steps.base import AnyStep, LocalStep, Step
from octopus.steps.context import StepContext

if TYPE_CHECKING:
    from octopus.experiment import Experiment

# Outcomes after which a kept connection is not trusted for the next stage.
LOST_CONNECTION = (Outcome.UNREACHABLE, Outcome.INTERRUPTED)

# Threads mostly wait on the network; 32 keeps a 100-node fan-out to about three rounds of
# logins without making the test hosts' sshd (which shares our CPUs here) the bottleneck.
DEFAULT_PARALLEL = 32


class Fanout:
    """One stage on many nodes: a connection per node, kept for every step of the stage.

    A stage module calls `remote` for runs of remote steps and decides in Python between them
    (deliver refuses when workers run, start rebalances); `report` gives the per-node results.
    """

    def __init__(
        self,
        stage: str,
        nodes: Sequence[Node],
        *,
        experiment: Experiment | None,
        output: StageOutput,
        parallel: int | None = None,
        dry_run: bool = False,
        keep_going: bool = False,
    ) -> None:
        self.stage = stage
        # A failing step is reported and the node's next steps run anyway (purge, check-errors).
        self.keep_going = keep_going
        self.runs = [NodeRun(n) for n in nodes]
        self.experiment = experiment
        self.output = output
        self.dry_run = dry_run
        self.local_failures: list[str] = []
        self.local_warnings: list[str] = []
        self._began = time.monotonic()
        self._workers = max(1, min(len(self.runs) or 1, parallel or DEFAULT_PARALLEL))
        self._progress: StageProgress = output.progress(
            [r.name for r in self.runs], enabled=not dry_run
        )
        self._signals = contextlib.ExitStack()
        # Inside `inv run`, connections outlive the stage (connection_pool.py).
        self._kept = kept_pool()

    def __enter__(self) -> Fanout:
        INTERRUPT.requested.clear()  # a new stage: an earlier Ctrl-C was handled
        self._signals.enter_context(INTERRUPT.catching(self.output.note))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._signals.close()
        for run in self.runs:
            if run.conn is None:
                continue
            if self._kept is None:
                INTERRUPT.release(run.conn)
                run.conn.close()
            elif run.result is not None and run.result.outcome in LOST_CONNECTION:
                self._kept.drop(run.node)  # the next stage connects again, once
        self._progress.__exit__(kind, exc, tb)

    @property
    def interrupted(self) -> bool:
        return INTERRUPT.requested.is_set()

    @property
    def alive(self) -> list[NodeRun]:
        """The nodes that have not stopped (failed or unreachable) so far."""
        return [r for r in self.runs if r.result is None]

    def data(self) -> dict[str, Any]:
        """node -> the last value its steps returned, for the nodes still going."""
        return {r.name: r.data for r in self.alive}

    def refuse(self, node: str, message: str) -> None:
        """Stop one node here, as failed, for a reason the stage found (nothing more runs there)."""
        for run in self.alive:
            if run.name == node:
                run.stop(Outcome.FAILED, message)

    def remote(
        self, steps: Sequence[Step], first: int = 0, only: Collection[str] | None = None
    ) -> None:
        """Run these remote steps on every node still going (of those named in `only`), each
        node at its own pace. After Ctrl-C, nodes that have not finished within the grace time
        are interrupted."""
        alive = [r for r in self.alive if only is None or r.name in only]
        # Shown from the first remote step on: its refresh thread would keep a stage's local
        # work before it (deliver's writing) from forking (forked.py).
        self._progress.__enter__()
        unfinished = run_each(
            alive,
            lambda run: self._walk(run, steps, first),
            self._workers,
            INTERRUPT.requested,
            GRACE_SECONDS,
        )
        for run in unfinished:
            run.stop(Outcome.INTERRUPTED, "interrupted (Ctrl-C)")
        for run in alive:
            self._progress.update(
                run.name, "done" if run.result is None else str(run.result.outcome)
            )

    def local(self, step: LocalStep, index: int) -> bool:
        """Run a local step once, here; False (and the failure noted) when it raised."""
        label = f"{index + 1} {step.step_name}"
        if self.interrupted:
            self.local_failures.append(f"[{label}] not run: interrupted (Ctrl-C)")
            return False
        try:
            if self.dry_run:
                for line in step.describe():
                    self.output.note(f"{HERE}: [{label}] would run: {line}")
                return True
            self.output.detail(f"{HERE}: [{label}]")
            with printed_to(self.output):  # a user's function prints: into the log too
                step.run()
        except Exception as exc:  # reported; the rest of the stage runs only when told to
            problem = f"[{label}] {error_text(exc)}"
            if step.ignore_errors or self.keep_going:
                self.local_warnings.append(problem)
                return True
            self.local_failures.append(problem)
            return False
        return True

    def report(self) -> StageReport:
        return StageReport(
            self.stage,
            [r.final() for r in self.runs],
            self.local_failures,
            self.output.log_path,
            time.monotonic() - self._began,
            self.local_warnings,
        )

    def _connect(self, run: NodeRun, steps: Sequence[Step]) -> bool:
        """Open the node's connection on first need; False when the node is unreachable."""
        if run.conn is not None or self.dry_run or not any(s.applies_to(run.node) for s in steps):
            return True
        self._progress.update(run.name, "connecting")
        try:
            if self._kept is not None:
                run.conn = self._kept.connect(run.node)
                return True
            run.conn = open_connection(run.node)
        except NodeUnreachable as exc:
            run.stop(*self._unless_interrupted(Outcome.UNREACHABLE, exc.reason))
            return False
        INTERRUPT.hold(run.conn)
        return True

    def _unless_interrupted(self, outcome: Outcome, message: str) -> tuple[Outcome, str]:
        """What a node's trouble means: after Ctrl-C, whatever ended it is the interrupt."""
        if self.interrupted:
            return Outcome.INTERRUPTED, "interrupted (Ctrl-C)"
        return outcome, message

    def _step(self, node: str, label: str, step: Step, ctx: StepContext) -> Any:
        """Run one step on a node, or in a dry run print what it would run there."""
        if self.dry_run:
            for line in step.describe(ctx):
                self.output.line(node, f"[{label}] would run: {line}")
            return None
        self.output.line(node, f"[{label}]", "step")
        ctx.timeout = step.timeout
        return step.execute(ctx)

    def _walk(self, run: NodeRun, steps: Sequence[Step], first: int) -> None:
        if not self._connect(run, steps):
            return
        ctx = StepContext(run.node, run.conn, self.experiment, self.output)
        ctx.warnings = run.warnings
        for offset, step in enumerate(steps):
            label = f"{first + offset + 1} {step.step_name}"
            if self.interrupted:
                run.stop(Outcome.INTERRUPTED, "interrupted (Ctrl-C) before this step", step=label)
                return
            if not step.applies_to(run.node):
                run.skipped += 1
                tags = sorted(step.tags or [])
                self.output.line(run.name, f"[{label}] skipped: node has none of tags {tags}")
                continue
            self._progress.update(run.name, label)
            try:
                value = self._step(run.name, label, step, ctx)
            except Exception as exc:  # one node's trouble never stops the others
                outcome, message, code, tail = classify_failure(exc, run.conn)
                outcome, message = self._unless_interrupted(outcome, message)
                going_on = step.ignore_errors or self.keep_going
                if outcome is Outcome.FAILED and going_on:
                    run.failed_steps.append(f"[{label}] failed: {message}")
                    self.output.line(run.name, f"[{label}] failed: {message}; going on", "err")
                    continue
                run.stop(outcome, message, step=label, exit_code=code, stderr=tail)
                return
            if value is not None:
                run.data = value
            run.ran += 1


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


def run_stage(
    stage: str,
    steps: Sequence[AnyStep],
    nodes: Sequence[Node],
    *,
    experiment: Experiment | None,
    output: StageOutput,
    parallel: int | None = None,
    dry_run: bool = False,
    keep_going: bool = False,
    before: Callable[[Fanout], None] | None = None,
) -> StageReport:
    """Run a stage's steps on every node: each node walks its own list, local steps are barriers.

    One connection per node serves the whole stage; a node that fails or is unreachable stops
    there while the others go on. `before` looks at every node first, on the same connections
    (pickup's check that no two nodes write one file).
    """
    remote = sum(1 for s in steps if not isinstance(s, LocalStep))
    here = len(steps) - remote
    output.detail(
        f"{stage}: {counted(remote, 'step')} on {counted(len(nodes), 'node')}"
        + (f", {counted(here, 'step')} {HERE}" if here else "")
        + (" (dry run: nothing is changed)" if dry_run else "")
    )
    with Fanout(
        stage,
        nodes,
        experiment=experiment,
        output=output,
        parallel=parallel,
        dry_run=dry_run,
        keep_going=keep_going,
    ) as fan:
        if before is not None:
            before(fan)
        walk(fan, steps)
    return fan.report()


def walk(fan: Fanout, steps: Sequence[AnyStep]) -> None:
    """The stage's steps in order: runs of remote steps on every node, local ones between."""
    for first, segment in _segments(steps):
        head = segment[0]
        if isinstance(head, LocalStep):
            if not fan.local(head, first):
                break
            continue
        fan.remote([s for s in segment if isinstance(s, Step)], first)
