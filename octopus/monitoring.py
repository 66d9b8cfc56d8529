"""Reading every worker's and command's state from a node in one remote command."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from octopus.connection import AnyConnection
from octopus.jobs import CommandStatus, WorkerEvents, classify, parse_events, totals
from octopus.launchers import launcher_for
from octopus.ledger import LEDGER, Ledger
from octopus.manifest import MANIFEST, Manifest
from octopus.node import Node
from octopus.paths import ExperimentPaths
from octopus.scripts import WorkerPlan
from octopus.shell import quote_path
from octopus.steps.base import Step, StepContext

if TYPE_CHECKING:
    from octopus.experiment import Experiment
    from octopus.output import StageOutput

MARK = "@@octopus"
# Reading a few state files is quick; a node that needs longer is in trouble.
STATUS_TIMEOUT = 60


@dataclass
class NodeStatus:
    """One node's view of the experiment at one moment (its own clock in `now`)."""

    node: str
    delivery: str | None
    now: float
    alive: dict[int, bool] = field(default_factory=dict)
    details: dict[int, dict[str, object]] = field(default_factory=dict)
    events: dict[int, WorkerEvents] = field(default_factory=dict)
    commands: list[CommandStatus] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.delivery is not None


def node_parts(manifest: Manifest, node: str) -> list[WorkerPlan]:
    return [p for p in manifest.plan.parts if p.worker.node == node]


def status_command(manifest: Manifest, node: str) -> str:
    """Shell text printing the delivery id, the node's clock, what the launcher knows of each
    worker (alive, Slurm state), and each worker's events: one round trip for the whole node."""
    paths = ExperimentPaths(manifest.experiment)
    launcher = launcher_for(manifest.launchers[node], paths, manifest.settings)
    run = manifest.run_dir
    parts = node_parts(manifest, node)
    lines = [
        f'cd "$HOME"/{quote_path(run)} 2>/dev/null || {{ echo "{MARK} none"; exit 0; }}',
        f'echo "{MARK} delivery $(cat DELIVERY 2>/dev/null)"',
        f'echo "{MARK} now $(date +%s)"',
        launcher.probe_command(run, [p.worker for p in parts]),
    ]
    for part in parts:
        job = part.worker.job_id
        events = f'"$HOME"/{quote_path(run)}/state/s{job}.events'
        lines.append(f'echo "{MARK} events {job}"; cat {events} 2>/dev/null; true')
    return "\n".join(lines)


def parse_status(manifest: Manifest, node: str, output: str) -> NodeStatus:
    """Turn status_command output into per-command states (pure)."""
    status = NodeStatus(node=node, delivery=None, now=0.0)
    chunks: dict[int, list[str]] = {}
    probe_lines: list[str] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            words = line.split()
            if words[1] == "delivery" and len(words) > 2:
                status.delivery = words[2]
            elif words[1] == "now" and len(words) > 2:
                status.now = float(words[2])
            elif words[1] == "events" and len(words) == 3:
                current = chunks.setdefault(int(words[2]), [])
            else:
                probe_lines.append(line)
            continue
        if current is not None:
            current.append(line)
    if status.delivery != manifest.delivery:
        status.delivery = None
    paths = ExperimentPaths(manifest.experiment)
    launcher = launcher_for(manifest.launchers[node], paths, manifest.settings)
    probes = launcher.parse_probe(probe_lines)
    for part in node_parts(manifest, node):
        job = part.worker.job_id
        probe = probes.get(job)
        alive = bool(probe and probe.alive) and status.delivery is not None
        status.alive[job] = alive
        if probe and probe.detail:
            status.details[job] = probe.detail
        events = parse_events("\n".join(chunks.get(job, [])))
        status.events[job] = events
        session = str(probe.detail.get("job_id", "")) if probe and probe.detail else ""
        status.commands += classify(
            part,
            events,
            alive,
            log_dir=manifest.run_dir,
            session=session or paths.worker_session(job),
            cancelled=bool(probe and probe.cancelled),
        )
    return status


def read_status(conn: AnyConnection, manifest: Manifest, node: str) -> NodeStatus:
    result = conn.run(status_command(manifest, node), hide=True, warn=True, timeout=STATUS_TIMEOUT)
    return parse_status(manifest, node, result.stdout)


class _CollectStatus(Step):
    """Reads the node's state with one remote command and keeps it for the report."""

    label = "read worker state"

    def __init__(self, manifest: Manifest, into: dict[str, NodeStatus]) -> None:
        super().__init__()
        self.manifest = manifest
        self.into = into

    def describe(self, ctx: StepContext) -> list[str]:
        return ["read every worker's state file and whether it is alive (one command)"]

    def execute(self, ctx: StepContext) -> None:
        self.into[ctx.name] = read_status(ctx.connection(), self.manifest, ctx.name)


@dataclass
class MonitorReport:
    """The experiment's state after a monitor run: the ledger plus what this run could reach."""

    manifest: Manifest
    ledger: Ledger
    unreachable: dict[str, str]
    now: float
    offline: bool = False
    steps_failed: bool = False

    @property
    def statuses(self) -> list[CommandStatus]:
        return self.ledger.statuses()

    @property
    def totals(self) -> dict[str, int]:
        return totals(self.statuses)

    @property
    def exit_code(self) -> int:
        counts = self.totals
        trouble = counts["failed"] or counts["lost"] or self.unreachable or self.steps_failed
        return 1 if trouble else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def finished(self) -> bool:
        """Nothing is running or waiting to run any more."""
        counts = self.totals
        return not counts["running"] and not counts["pending"]


def monitor(
    experiment: Experiment,
    nodes: list[Node],
    *,
    output: StageOutput,
    parallel: int | None = None,
    offline: bool = False,
) -> MonitorReport:
    """Read all nodes at once, merge into the ledger, and return the whole picture."""
    from octopus.engine import run_stage

    root = experiment.paths.deliverables
    manifest = Manifest.read(root / MANIFEST)
    ledger = Ledger.load(root / LEDGER, manifest)
    wanted = {n.name for n in nodes}
    if offline:
        down = {
            name: seen.message
            for name, seen in ledger.nodes.items()
            if not seen.reachable and name in wanted
        }
        return MonitorReport(manifest, ledger, down, time.time(), offline=True)
    delivered = {p.worker.node for p in manifest.plan.parts}
    chosen = [n for n in nodes if n.name in delivered]
    found: dict[str, NodeStatus] = {}
    report = run_stage(
        "monitor",
        [_CollectStatus(manifest, found)],
        chosen,
        experiment=experiment,
        output=output,
        parallel=parallel,
    )
    unreachable: dict[str, str] = {}
    for result in report.results:
        status = found.get(result.node)
        if status is None:
            unreachable[result.node] = result.message
            ledger.merge(result.node, None, result.message)
        else:
            ledger.merge(result.node, status.commands)
            for job, detail in status.details.items():
                ledger.workers[f"{result.node}/s{job}"] = dict(detail)
    ledger.save(root / LEDGER)
    now = max((s.now for s in found.values()), default=0.0) or time.time()
    return MonitorReport(manifest, ledger, unreachable, now)
