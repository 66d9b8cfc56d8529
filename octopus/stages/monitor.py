"""`inv monitor`: every node's state in one remote command each, merged into the ledger."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from octopus.errors import ConfigError, OctopusError
from octopus.experiment_task import ExperimentTask
from octopus.launchers.registry import launcher_of
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import MonitorReport, StageReport
from octopus.run.bulk import bulk_work
from octopus.run.deliveries import Deliveries
from octopus.run.ledger import Ledger
from octopus.run.lock import holding_records
from octopus.run.status import NodeStatus, parse_status
from octopus.run.status_command import status_command
from octopus.run.worker_reads import where_to_read
from octopus.stages import steps
from octopus.stages.engine import Fanout
from octopus.stages.notify import notify_if_due, targets_for
from octopus.stages.options import StageOptions
from octopus.stages.steal import steal_work
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed
from octopus.views.monitor import print_json, print_json_error, print_monitor
from octopus.views.summary import results_of, summary_line
from octopus.views.tables import print_stage

if TYPE_CHECKING:
    from octopus.experiment import Experiment

# Reading a few state files is quick; a node that needs longer is in trouble.
STATUS_TIMEOUT = 60


@dataclass(frozen=True)
class StateText:
    """What a node's status command printed, for `ReadStatus.parse` after the fan-out."""

    text: str


class ReadStatus(Step):
    """Reads the node's whole state with one remote command; returns its NodeStatus (with
    `deferred`, the text, for `parse` once every node has answered).

    With `require_delivery`, a node the delivery went to but that does not have it fails.
    """

    label = "read worker state"

    def __init__(
        self,
        record: Deliveries,
        require_delivery: bool = False,
        ledger: Ledger | None = None,
        deferred: bool = False,
    ) -> None:
        super().__init__()
        self.record = record
        self.require_delivery = require_delivery
        # With the ledger, only the events after what it already read (run/worker_reads.py).
        self.ledger = ledger
        # Parsed in the node threads (32 under one GIL), 320,000 finished commands took 1.7 s
        # of CPU; parsed one node after another once all have answered, 1.1 s.
        self.deferred = deferred

    def describe(self, ctx: StepContext) -> list[str]:
        return ["read every worker's state file and whether it is alive (one command)"]

    def execute(self, ctx: StepContext) -> NodeStatus | StateText:
        manifest = self.record.of(ctx.name)
        launcher = launcher_of(manifest, ctx.name)
        reads = self.ledger.reads if self.ledger else {}
        offsets, settled = where_to_read(reads, ctx.name, manifest.delivery)
        command = status_command(manifest, ctx.name, launcher, offsets, settled)
        result = ctx.run(command, show=False, warn=True, timeout=STATUS_TIMEOUT)
        if not result.ok:
            # The read was cut (the connection lost mid-read, the command killed): half a
            # state would pass for the whole, its unread commands shown as never started.
            raise StepFailed.of(result, "reading the node's state")
        if self.deferred:
            return StateText(result.stdout)
        return self.parse(ctx.name, result.stdout)

    def parse(self, node: str, text: str) -> NodeStatus:
        """The node's state from what its status command printed."""
        manifest = self.record.of(node)
        status = parse_status(manifest, node, text, launcher_of(manifest, node), self.ledger)
        if self.require_delivery and status.delivery is None and manifest.workers_on(node):
            raise OctopusError(
                f"delivery {manifest.delivery} is not on this node: run `inv deliver` (again)"
            )
        return status


def monitor(
    experiment: Experiment,
    nodes: list[Node],
    *,
    output: StageOutput,
    parallel: int | None = None,
    offline: bool = False,
) -> MonitorReport:
    """Read all nodes at once, merge into the ledger, and return the whole picture; two
    monitors at once take turns (neither loses what the other merged)."""
    paths = experiment.paths
    if offline:
        return _from_ledger(experiment, nodes)
    with holding_records(paths), bulk_work():
        return _from_nodes(experiment, nodes, output, parallel)


def _undelivered(record: Deliveries, wanted: list[str]) -> dict[str, str]:
    return {
        name: f"did not take delivery {record.of(name).delivery}: it kept its previous one"
        for name in wanted
        if name in record.of(name).undelivered
    }


def _from_ledger(experiment: Experiment, nodes: list[Node]) -> MonitorReport:
    """The last known state, without connecting (--offline)."""
    paths = experiment.paths
    record = Deliveries.read(paths.manifest)
    ledger = Ledger.load(paths.ledger, record)
    if ledger.damaged:
        raise OctopusError(f"{ledger.damaged}: run `inv monitor` without --offline to read again")
    wanted = [n.name or "" for n in nodes if record.holds(n.name or "")]
    down = {
        name: seen.message
        for name, seen in ledger.nodes.items()
        if not seen.reachable and name in wanted
    }
    return MonitorReport(
        record, ledger, down, offline=True, undelivered=_undelivered(record, wanted), nodes=wanted
    )


def _from_nodes(
    experiment: Experiment, nodes: list[Node], output: StageOutput, parallel: int | None
) -> MonitorReport:
    paths = experiment.paths
    record = Deliveries.read(paths.manifest)
    if record.in_one_file:  # written by an earlier version: once in today's form
        record.write(paths.manifest)
    ledger = Ledger.load(paths.ledger, record)
    wanted = [n.name or "" for n in nodes if record.holds(n.name or "")]
    undelivered = _undelivered(record, wanted)
    chosen = [n for n in nodes if n.name in wanted and n.name not in undelivered]
    read = ReadStatus(record, ledger=ledger, deferred=True)
    with Fanout("monitor", chosen, experiment=experiment, output=output, parallel=parallel) as fan:
        fan.remote([read])
    results = fan.report().results
    # Every node parsed before any is merged, as when the nodes' threads parsed them.
    parsed = {
        r.node: read.parse(r.node, r.data.text)
        for r in results
        if r.ok and isinstance(r.data, StateText)
    }
    unreachable: dict[str, str] = {}
    found: dict[str, NodeStatus] = {}
    for result in results:
        status = parsed.pop(result.node, None)
        if status is None:
            unreachable[result.node] = result.message
            ledger.merge(result.node, None, result.message)
            continue
        found[result.node] = status
        if status.delivery is None:
            undelivered[result.node] = (
                f"does not have delivery {record.of(result.node).delivery} "
                "(its folder is gone or replaced)"
            )
        ledger.merge(result.node, status.commands)
        ledger.record_duplicates(result.node, status.duplicates, status.possible_duplicates)
        ledger.record_reads(result.node, status.reads)
        for job, detail in status.details.items():
            ledger.record_worker(result.node, job, detail)
    ledger.save(paths.ledger)
    now = max((s.now for s in found.values()), default=0.0)
    return MonitorReport(
        record,
        ledger,
        unreachable,
        now=now or time.time(),
        undelivered=undelivered,
        nodes=wanted,
        warnings=[f"{ledger.damaged}: rebuilt from what the nodes show"] if ledger.damaged else [],
    )


def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> MonitorReport | StageReport:
    """Show the state, then run the monitor steps. Before any delivery there is no state to
    show: an error (exit 2), so that cron never reads "all fine" into it; an experiment with
    no commands (steps only, as some written for the original are) runs its monitor steps."""
    no_commands = not experiment.experiment_commands
    if options.dry_run or (no_commands and not experiment.paths.manifest.is_file()):
        return steps.run(experiment, nodes, options, output, stage=ExperimentTask.MONITOR)
    if not experiment.paths.manifest.is_file():
        problem = (
            f"nothing is delivered for experiment '{experiment.name}' yet: "
            f"run `inv deliver --exp={experiment.name}` first"
        )
        if options.as_json:
            print_json_error(problem, ConfigError.exit_code)
        raise ConfigError(problem)
    if options.steal and not options.offline:  # idle nodes take from backlogged ones first
        steal_work(experiment, nodes, options, output.on_same_console(quiet=options.as_json))
    status = monitor(
        experiment,
        nodes,
        output=output.on_same_console(quiet=True),
        parallel=options.parallel,
        offline=options.offline,
    )
    for node, why in sorted({**status.unreachable, **status.undelivered}.items()):
        output.record(f"{node}: out of reach: {why}")
    if options.as_json:
        print_json(status)
    else:
        print_monitor(status, output.console)
    if experiment.monitor_steps and not options.offline:
        steps_report = steps.run(experiment, nodes, options, output, stage=ExperimentTask.MONITOR)
        if not options.as_json:
            print_stage(steps_report, output)
        if not steps_report.ok:
            status.steps_failed = True
    if not options.offline:
        said = StageOutput(stream=sys.stderr) if options.as_json else output
        notify_if_due(experiment, status, targets_for(experiment, options.notify), said)
    if status.finished and not options.as_json:  # the ledger's view, like the table: no log
        from rich.text import Text

        output.console.print(Text(summary_line(experiment.name, status, results_of(experiment))))
    return status
