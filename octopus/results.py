"""What a stage returns: per-node outcomes and the experiment's state, as values.

Values, never exceptions, so one node cannot stop the others; the views render them and the
tasks turn them into exit codes.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandStatus
from octopus.run.layout import command_log
from octopus.run.ledger import Ledger
from octopus.run.ledger_overview import Overview


class Outcome(str, Enum):
    """How a node ended a stage; unreachable is kept apart from failed, as ansible does."""

    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    WARNING = "warning"  # a step failed and the node went on (ignore_errors, purge, check-errors)
    INTERRUPTED = "interrupted"  # Ctrl-C stopped it

    def __str__(self) -> str:
        return self.value


@dataclass
class NodeResult:
    """What happened on one node: the outcome, where it stopped and why, and the value the
    stage's steps returned there (`data`)."""

    node: str
    outcome: Outcome
    message: str = ""
    step: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    duration: float = 0.0
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.SKIPPED, Outcome.WARNING)

    @property
    def failed(self) -> bool:
        return not self.ok


def exit_code_for(results: list[NodeResult]) -> int:
    """0 when every node is fine (or skipped), 1 otherwise."""
    return 0 if all(r.ok for r in results) else 1


@dataclass
class StageReport:
    """One stage's outcome: a result per node and whatever local steps failed."""

    stage: str
    results: list[NodeResult]
    local_failures: list[str] = field(default_factory=list)
    log_path: Path | None = None
    duration: float = 0.0
    local_warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.local_failures and all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def data(self) -> dict[str, Any]:
        """node -> the value its steps returned, for the nodes that returned one."""
        return {r.node: r.data for r in self.results if r.data is not None}


@dataclass
class MonitorReport:
    """The experiment's state after a monitor run: the ledger plus what this run could reach."""

    record: Deliveries
    ledger: Ledger
    unreachable: dict[str, str]
    now: float = field(default_factory=time.time)
    offline: bool = False
    steps_failed: bool = False
    # Nodes of the delivery that do not have it: they kept their previous delivery, or lost it.
    undelivered: dict[str, str] = field(default_factory=dict)
    # The nodes shown (None: every node of the record); another Experiment of the same name
    # on other nodes is not part of this one's picture.
    nodes: list[str] | None = None
    # Troubles of the record itself (a damaged ledger rebuilt from the nodes).
    warnings: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> list[CommandStatus]:
        """Every shown command's status (all of them read: the views use `overview`)."""
        statuses = self.ledger.statuses()
        if self.nodes is None:
            return statuses
        shown = set(self.nodes)
        return [s for s in statuses if s.node in shown]

    @functools.cached_property
    def overview(self) -> Overview:
        """The shown nodes' counts per worker, commands in trouble (with their logs) and pace."""
        overview = self.ledger.overview().only(self.nodes)
        for status in overview.notable:
            if not status.log and self.record.holds(status.node):
                status.log = f"{self.record.of(status.node).run_dir}/{command_log(status.id)}"
        return overview

    @property
    def deliveries(self) -> dict[str, str]:
        """node -> the delivery it holds, for the nodes shown."""
        held = self.record.by_node
        return {n: held[n] for n in (self.nodes if self.nodes is not None else held) if n in held}

    @property
    def totals(self) -> dict[str, int]:
        return self.overview.totals

    @property
    def state_lost(self) -> dict[str, str]:
        """Nodes whose record went backwards (a deleted delivery folder, a reinstalled node)."""
        return {n: why for n, why in self.ledger.state_lost.items() if self._shown(n)}

    @property
    def duplicates(self) -> dict[int, list[str]]:
        """Commands that ran twice: on a fenced node after a rebalance moved them elsewhere."""
        return {i: on for i, on in self.ledger.duplicates.items() if any(map(self._shown, on))}

    @property
    def possible_duplicates(self) -> dict[int, list[str]]:
        """Moved commands a node started with no end on record: they may have run twice."""
        return {
            i: on for i, on in self.ledger.possible_duplicates.items() if any(map(self._shown, on))
        }

    def _shown(self, node: str) -> bool:
        return self.nodes is None or node in self.nodes

    @property
    def exit_code(self) -> int:
        counts = self.totals
        trouble = (
            counts["failed"]
            or counts["lost"]
            or self.unreachable
            or self.steps_failed
            or self.state_lost
            or self.undelivered
            or self.duplicates
            or self.possible_duplicates
            or self.warnings
        )
        return 1 if trouble else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def finished(self) -> bool:
        """Nothing is running or waiting to run any more."""
        counts = self.totals
        return not counts["running"] and not counts["pending"]


@dataclass
class RunReport:
    """A whole `inv run`: each stage's report in the order they ran, the experiment's state
    once waiting ended (None: a dry run, or a run that stopped before it waited), and the
    exit code of the whole (1 when any node failed or dropped out, 2 never: bad input raises)."""

    stages: list[StageReport] = field(default_factory=list)
    status: MonitorReport | None = None
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def add(self, report: StageReport | MonitorReport | None) -> StageReport | MonitorReport | None:
        """Keep a stage's report (a stage that reports per node); returns it as it was."""
        if isinstance(report, StageReport):
            self.stages.append(report)
        return report

    def stage(self, name: str) -> StageReport | None:
        """The last report of the stage of this name (setup, deliver, ...), if it ran."""
        return next((r for r in reversed(self.stages) if r.stage == name), None)
