"""`inv start`: start the delivered workers, or resume, retry or rebalance them.

What each worker gets is decided by run/start_policy.py; this stage reads every node's state,
moves the work of unreachable nodes when asked, then writes, sends and starts the scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.errors import ConfigError, OctopusError
from octopus.launchers.registry import launcher_of, owed_scripts
from octopus.localfiles import make_folder, write_file
from octopus.node import Node
from octopus.output import StageOutput
from octopus.remote.archive import send_files
from octopus.remote.shell import quote_path
from octopus.results import NodeResult, Outcome, StageReport
from octopus.run.deliveries import Deliveries
from octopus.run.layout import CANCEL_FILE, script_name, worker_label
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan_model import WorkerPlan
from octopus.run.queue_start import clear_claims_command, queue_starts
from octopus.run.schedule import QUEUE
from octopus.run.start_policy import (
    StartOptions,
    WorkerStart,
    move_unfinished,
    refuse_if_running,
    worker_start,
)
from octopus.run.status import NodeStatus
from octopus.stages.engine import Fanout
from octopus.stages.facts import learn_recorded
from octopus.stages.monitor import ReadStatus
from octopus.stages.options import StageOptions
from octopus.stages.records import changes_records
from octopus.stages.steal import steal
from octopus.steps.base import Step
from octopus.steps.context import StepContext
from octopus.steps.venvs import venv_folder

if TYPE_CHECKING:
    from octopus.experiment import Experiment


@dataclass
class Started:
    """What start did on a node: the workers it started, the scheduler ids they got."""

    workers: list[str] = field(default_factory=list)
    submitted: dict[str, str] = field(default_factory=dict)


class _StartWorkers(Step):
    label = "start workers"

    def __init__(
        self,
        record: Deliveries,
        options: StartOptions,
        statuses: dict[str, NodeStatus],
        added: dict[str, list[WorkerPlan]],
        folder: Path,
    ) -> None:
        super().__init__()
        self.record = record
        self.options = options
        self.statuses = statuses
        self.added = added
        self.folder = folder

    def describe(self, ctx: StepContext) -> list[str]:
        manifest = self.record.of(ctx.name)
        launcher = launcher_of(manifest, ctx.name)
        return [
            launcher.start_command(manifest.run_dir, p.worker, script_name(p.worker.job_id))
            for p in manifest.workers_on(ctx.name)
        ]

    def execute(self, ctx: StepContext) -> Started:
        manifest = self.record.of(ctx.name)
        status = self.statuses[ctx.name]
        launcher = launcher_of(manifest, ctx.name)
        refuse_if_running(status, self.options)
        new = {p.worker.job_id for p in self.added.get(ctx.name, [])}
        decisions: list[WorkerStart] = []
        decided: list[WorkerStart] = []
        parts = [
            p
            for p in manifest.workers_on(ctx.name)
            if not self.options.steal or p.worker.job_id in new  # steal: the new ones only
        ]
        for part in parts:
            decision = worker_start(part, status, self.options, new=part.worker.job_id in new)
            decided.append(decision)
            if decision.note:
                ctx.say(decision.note)
            if decision.stop_first:
                ctx.run(
                    launcher.stop_one_command(manifest.run_dir, part.worker), show=False, warn=True
                )
            if decision.script is not None:
                decisions.append(decision)
        clear: list[int] | None = []
        if manifest.schedule == QUEUE:
            decisions, clear = queue_starts(parts, status, self.options, decided, new)
        owed = {d.script: d.owed for d in decisions if d.script is not None and d.owed is not None}
        scripts = owed_scripts(manifest, ctx.name, owed, datetime.now(timezone.utc))
        if scripts:
            self._upload(ctx, manifest, scripts)
        started = Started()
        if decisions:
            result = ctx.run(
                f'rm -f "$HOME"/{quote_path(manifest.run_dir)}/{CANCEL_FILE}; '
                + clear_claims_command(manifest.run_dir, clear)
                + self._venv(ctx)
                + " && ".join(
                    launcher.start_command(manifest.run_dir, d.worker, d.script or "")
                    for d in decisions
                ),
                show=False,
            )
            started.submitted = launcher.parse_started(result.stdout)
        started.workers = [
            worker_label(d.worker.job_id)
            + ("" if d.script == script_name(d.worker.job_id) else f" ({d.script})")
            for d in decisions
        ]
        ctx.say(f"started {', '.join(started.workers)}" if started.workers else "nothing to start")
        return started

    def _venv(self, ctx: StepContext) -> str:
        """Shell text exporting OCTOPUS_VENV when the experiment's venv is on the node."""
        folder, made_by_setup = venv_folder(ctx.experiment, ctx.node)
        path = (
            quote_path(folder) if folder.startswith(("/", "~")) else f'"$HOME"/{quote_path(folder)}'
        )
        if ctx.run(f"[ -f {path}/bin/activate ]", show=False, warn=True).ok:
            return f"OCTOPUS_VENV={path}; export OCTOPUS_VENV; "
        if made_by_setup:
            ctx.warn(f"no venv at ~/{folder}: the scripts run without it (run setup first?)")
        return ""

    def _upload(self, ctx: StepContext, manifest: Manifest, scripts: dict[str, str]) -> None:
        """Write the new scripts beside the delivered ones here, then send just those."""
        local = self.folder / ctx.name
        make_folder(local)
        for name, text in scripts.items():
            write_file(local / name, text, executable=True)
        send_files(ctx.connection(), local, manifest.run_dir, list(scripts), ctx.timeout)


@changes_records
def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> StageReport:
    """Start (or resume, retry, rebalance) the delivered workers on the nodes; each node's
    result carries what it started (`Started`)."""
    paths = experiment.paths
    if options.dry_run and not paths.manifest.is_file():
        output.note("start: nothing is delivered yet; after deliver, each worker script starts")
        return StageReport(
            "start", [NodeResult(n.name or "?", Outcome.OK, "nothing delivered") for n in nodes]
        )
    start = options.start
    record = Deliveries.read(paths.manifest)
    learn_recorded(nodes, record)  # how many workers a rebalance or steal may add
    unknown = [n.name for n in nodes if not record.holds(n.name or "")]
    if unknown and not start.rebalance:
        raise ConfigError(
            f"not part of the delivery: {', '.join(map(str, unknown))}; deliver to "
            f"{'it' if len(unknown) == 1 else 'them'} first"
        )
    ledger = Ledger.load(paths.ledger, record)
    output.detail(
        f"start: on {len(nodes)} node(s)"
        + (" (dry run: nothing is changed)" if options.dry_run else "")
    )
    added: dict[str, list[WorkerPlan]] = {}
    with Fanout(
        "start",
        nodes,
        experiment=experiment,
        output=output,
        parallel=options.parallel,
        dry_run=options.dry_run,
    ) as fan:
        fan.remote([ReadStatus(record, require_delivery=True)])
        statuses: dict[str, NodeStatus] = {
            name: data for name, data in fan.data().items() if isinstance(data, NodeStatus)
        }
        moving = start.rebalance or start.steal
        if (not start.rebalance or _rebalance(fan, record, ledger, nodes, statuses, added)) and (
            not start.steal
            or steal(fan, record, ledger, nodes, statuses, added, experiment.screens_per_node)
        ):
            fan.remote(
                [_StartWorkers(record, start, statuses, added, paths.deliverables)],
                first=(3 if start.steal else 2) if moving else 1,
            )
    report = fan.report()
    if not options.dry_run:
        for node, status in statuses.items():
            ledger.merge(node, status.commands)
            ledger.record_duplicates(node, status.duplicates, status.possible_duplicates)
            # The next monitor reads on from there, and asks after every worker again.
            ledger.record_reads(node, {job: r.unsettled() for job, r in status.reads.items()})
        if added:
            record.write(paths.manifest)
        ledger.save(paths.ledger)
    return report


def _rebalance(
    fan: Fanout,
    record: Deliveries,
    ledger: Ledger,
    nodes: list[Node],
    statuses: dict[str, NodeStatus],
    added: dict[str, list[WorkerPlan]],
) -> bool:
    """The work of the nodes that did not answer, to new workers on those that did; False
    (noted as a failed local step) when no node can take it."""
    label = "2 rebalance"
    if fan.dry_run:
        fan.output.note(f"local [{label}] would run: move the unfinished work of unreachable nodes")
        return True
    fan.output.note(f"local [{label}]")
    up = [n for n in nodes if n.name in statuses]
    down = {n.name or "?" for n in nodes if n.name not in statuses}
    moved_from = {s.id: s.node for s in ledger.statuses() if s.node in down}
    try:
        moved = move_unfinished(record.plan, ledger, up, down)
    except OctopusError as exc:
        fan.local_failures.append(f"[{label}] {exc}")
        return False
    for part in moved:
        for ident in part.ids:
            origin = moved_from.get(ident)
            if origin is not None and record.holds(origin):
                record.of(origin).moved.setdefault(origin, []).append(ident)
        node = part.worker.node
        record.of(node).plan.parts.append(part)  # new workers of the node's own delivery
        added.setdefault(node, []).append(part)
    return True
