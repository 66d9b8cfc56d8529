"""Starting and stopping an experiment's workers: start, --resume, --retry-failed, --rebalance.

Nothing that finished successfully runs twice: a resumed worker gets a new script holding only
the commands it still owes, each keeping its id, so its events join the ones already recorded.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.delivery import script_name, send_files, worker_script
from octopus.errors import OctopusError
from octopus.jobs import CommandState
from octopus.launchers import WorkerLauncher, launcher_for
from octopus.ledger import LEDGER, Ledger
from octopus.manifest import MANIFEST, Manifest
from octopus.monitoring import NodeStatus, node_parts, read_status
from octopus.node import Node
from octopus.paths import safe_name
from octopus.scripts import Worker, WorkerPlan
from octopus.shell import quote_path
from octopus.steps.base import LocalStep, Step, StepContext

if TYPE_CHECKING:
    from octopus.engine import StageReport
    from octopus.experiment import Experiment
    from octopus.output import StageOutput


def _launchers(ctx: StepContext) -> list[WorkerLauncher]:
    """The node's own launcher, plus screen and process, whose checks are harmless anywhere
    (an experiment may have started workers both ways over its life)."""
    kinds = dict.fromkeys(["screen", "process", ctx.experiment.launcher_of(ctx.node)])
    return [launcher_for(kind, ctx.experiment.paths) for kind in kinds]


def running_workers(ctx: StepContext, run_root: str) -> str:
    """What of this experiment still runs on the node ('' when nothing does)."""
    command = "; ".join(launcher.running_command(run_root) for launcher in _launchers(ctx))
    lines = [
        line for line in ctx.run(command, show=False, warn=True).stdout.splitlines() if line.strip()
    ]
    return ", ".join(lines)


def stop_workers(ctx: StepContext, run_root: str) -> None:
    """Stop every worker of this experiment on the node, with all its processes."""
    command = "; ".join(launcher.stop_command(run_root) for launcher in _launchers(ctx))
    ctx.run(command, show=False, warn=True)


@dataclass
class StartOptions:
    resume: bool = False
    retry_failed: bool = False
    rebalance: bool = False
    force: bool = False

    @property
    def partial(self) -> bool:
        return self.resume or self.retry_failed or self.rebalance


@dataclass
class StartState:
    """What the steps of one start share: statuses read, work moved off down nodes."""

    manifest: Manifest
    options: StartOptions
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    extra: dict[str, list[WorkerPlan]] = field(default_factory=dict)
    started: dict[str, list[str]] = field(default_factory=dict)
    submitted: dict[str, dict[str, str]] = field(default_factory=dict)
    changed: bool = False


def wanted_states(options: StartOptions) -> set[CommandState]:
    states: set[CommandState] = set()
    if options.resume or options.rebalance:
        states |= {CommandState.PENDING, CommandState.LOST}
    if options.retry_failed:
        states.add(CommandState.FAILED)
    return states


class _ReadStatus(Step):
    label = "read worker state"

    def __init__(self, state: StartState) -> None:
        super().__init__()
        self.state = state

    def describe(self, ctx: StepContext) -> list[str]:
        return ["read the state of every worker and command"]

    def execute(self, ctx: StepContext) -> None:
        status = read_status(ctx.connection(), self.state.manifest, ctx.name)
        if status.delivery is None and node_parts(self.state.manifest, ctx.name):
            raise OctopusError(
                f"delivery {self.state.manifest.delivery} is not on this node: "
                "run `inv deliver` (again)"
            )
        self.state.statuses[ctx.name] = status


class _Rebalance(LocalStep):
    """Moves the unfinished commands of nodes that did not answer to new workers on the others."""

    label = "rebalance"

    def __init__(self, state: StartState, nodes: list[Node], ledger: Ledger) -> None:
        super().__init__()
        self.state = state
        self.nodes = nodes
        self.ledger = ledger

    def run(self) -> None:
        plan = self.state.manifest.plan
        up = [n for n in self.nodes if n.name in self.state.statuses]
        down = {n.name for n in self.nodes if n.name not in self.state.statuses}
        if not down:
            return
        if not up:
            raise OctopusError("no node is reachable to take over the work")
        moving = [
            s
            for s in self.ledger.statuses()
            if s.node in down
            and s.state is not CommandState.DONE
            and s.state is not CommandState.FAILED
        ]
        if not moving:
            return
        targets: list[WorkerPlan] = []
        for node in up:
            jobs = [p.worker.job_id for p in plan.parts if p.worker.node == node.name]
            next_job = max(jobs, default=-1) + 1
            for index in range(node.num_workers):
                worker = Worker(
                    node=node.name or "?",
                    index=len(jobs) + index,
                    job_id=next_job + index,
                    socket=node.available_sockets[index % len(node.available_sockets)],
                    hardware=node.hardware_desc,
                )
                targets.append(WorkerPlan(worker))
        moved_ids = {s.id for s in moving}
        for part in plan.parts:
            if part.worker.node in down:
                keep = [i for i, ident in enumerate(part.ids) if ident not in moved_ids]
                part.ids = [part.ids[i] for i in keep]
                part.commands = [part.commands[i] for i in keep]
                part.command_indices = [part.command_indices[i] for i in keep]
        by_id = {e.id: e for e in plan.entries}
        for status, target in zip(moving, itertools.cycle(targets), strict=False):
            target.ids.append(status.id)
            target.commands.append(status.command)
            target.command_indices.append(
                by_id[status.id].command_index if status.id in by_id else None
            )
            self.ledger.commands[status.id].node = target.worker.node
            self.ledger.commands[status.id].worker = target.worker.job_id
            self.ledger.commands[status.id].state = CommandState.PENDING
        for target in targets:
            if target.ids:
                plan.parts.append(target)
                self.state.extra.setdefault(target.worker.node, []).append(target)
                self.state.manifest.launchers.setdefault(
                    target.worker.node,
                    next(str(n.launcher) for n in up if n.name == target.worker.node),
                )
        self.state.changed = True


class _StartWorkers(Step):
    label = "start workers"

    def __init__(self, state: StartState, folder: Path) -> None:
        super().__init__()
        self.state = state
        self.folder = folder

    def describe(self, ctx: StepContext) -> list[str]:
        manifest = self.state.manifest
        launcher = launcher_for(
            manifest.launchers.get(ctx.name, "screen"), ctx.experiment.paths, manifest.settings
        )
        return [
            launcher.start_command(manifest.run_dir, p.worker, script_name(p.worker.job_id))
            for p in node_parts(manifest, ctx.name)
        ]

    def execute(self, ctx: StepContext) -> None:
        manifest = self.state.manifest
        options = self.state.options
        status = self.state.statuses[ctx.name]
        launcher = launcher_for(
            manifest.launchers[ctx.name], ctx.experiment.paths, manifest.settings
        )
        extra = {p.worker.job_id for p in self.state.extra.get(ctx.name, [])}
        wanted = wanted_states(options)
        if not options.partial and not options.force:
            running = [f"s{job}" for job, alive in sorted(status.alive.items()) if alive]
            if running:
                raise OctopusError(
                    f"{', '.join(running)} still running: refused "
                    "(--force restarts them, --resume leaves them be)"
                )
        scripts: dict[str, str] = {}
        to_start: list[tuple[Worker, str]] = []
        for part in node_parts(manifest, ctx.name):
            job = part.worker.job_id
            alive = status.alive.get(job, False)
            name = f"s{job}"
            if alive and not options.force:
                ctx.say(f"{name} is still running: left alone (--force restarts it)")
                continue
            if alive:
                self._stop_one(ctx, part.worker)
            events = status.events.get(job)
            if job in extra:
                scripts[script_name(job)] = worker_script(manifest, part)
                to_start.append((part.worker, script_name(job)))
                continue
            if not options.partial:
                if events is not None and events.runs and not options.force:
                    raise OctopusError(
                        f"worker {name} already ran: use --resume or "
                        "--retry-failed (or --force to run its script again)"
                    )
                to_start.append((part.worker, script_name(job)))
                continue
            states = {c.id: c.state for c in status.commands if c.worker == job}
            if alive:  # stopped just now: what was running is lost
                states = {
                    i: CommandState.LOST if s is CommandState.RUNNING else s
                    for i, s in states.items()
                }
            keep = [i for i, ident in enumerate(part.ids) if states.get(ident) in wanted]
            if not keep:
                continue
            owed = WorkerPlan(
                part.worker,
                [part.ids[i] for i in keep],
                [part.commands[i] for i in keep],
                [part.command_indices[i] for i in keep],
            )
            runs = (events.runs if events else 0) + 1
            script = script_name(job, f".run{runs}")
            scripts[script] = worker_script(manifest, owed)
            to_start.append((part.worker, script))
        if scripts:
            self._upload(ctx, scripts)
        if to_start:
            venv_env = self._venv(ctx)
            result = ctx.run(
                venv_env
                + " && ".join(
                    launcher.start_command(manifest.run_dir, worker, script)
                    for worker, script in to_start
                ),
                show=False,
            )
            for line in result.stdout.splitlines():
                words = line.split()
                if len(words) == 4 and words[:2] == ["@@octopus", "submitted"]:
                    self.state.submitted.setdefault(ctx.name, {})[words[2]] = words[3]
        started = [
            f"s{w.job_id}" + ("" if s == script_name(w.job_id) else f" ({s})") for w, s in to_start
        ]
        self.state.started[ctx.name] = started
        ctx.say(f"started {', '.join(started)}" if started else "nothing to start")

    def _venv(self, ctx: StepContext) -> str:
        """Shell text exporting OCTOPUS_VENV when the experiment's venv is on the node."""
        folder, made_by_setup = ctx.experiment.venv_folder(ctx.node)
        path = (
            quote_path(folder) if folder.startswith(("/", "~")) else f'"$HOME"/{quote_path(folder)}'
        )
        found = ctx.run(f"[ -f {path}/bin/activate ]", show=False, warn=True).ok
        if found:
            return f"OCTOPUS_VENV={path}; export OCTOPUS_VENV; "
        if made_by_setup:
            ctx.warn(f"no venv at ~/{folder}: the scripts run without it (run setup first?)")
        return ""

    def _stop_one(self, ctx: StepContext, worker: Worker) -> None:
        manifest = self.state.manifest
        launcher = launcher_for(
            manifest.launchers[ctx.name], ctx.experiment.paths, manifest.settings
        )
        ctx.run(launcher.stop_one_command(manifest.run_dir, worker), show=False, warn=True)

    def _upload(self, ctx: StepContext, scripts: dict[str, str]) -> None:
        """Write the new scripts beside the delivered ones here, then send just those."""
        local = self.folder / safe_name(ctx.name)
        local.mkdir(parents=True, exist_ok=True)
        for name, text in scripts.items():
            (local / name).write_text(text, newline="\n")
            (local / name).chmod(0o755)
        send_files(ctx, local, self.state.manifest.run_dir, names=list(scripts))


JOBS = "jobs.json"


def record_jobs(path: Path, delivery: str, submitted: dict[str, dict[str, str]]) -> None:
    """Keep the Slurm job ids beside the manifest: node -> worker -> every id it had."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    if data.get("delivery") != delivery:
        data = {"delivery": delivery, "nodes": {}}
    for node, jobs in submitted.items():
        for worker, job_id in jobs.items():
            data["nodes"].setdefault(node, {}).setdefault(worker, []).append(job_id)
    path.write_text(json.dumps(data, indent=1))


def start(
    experiment: Experiment,
    nodes: list[Node],
    options: StartOptions,
    *,
    output: StageOutput,
    parallel: int | None = None,
    dry_run: bool = False,
) -> StageReport:
    """Start (or resume, retry, rebalance) the delivered workers on the nodes."""
    from octopus.engine import run_stage

    root = experiment.paths.deliverables
    if dry_run and not (root / MANIFEST).is_file():
        from octopus.engine import StageReport
        from octopus.results import NodeResult, Outcome

        output.note("start: nothing is delivered yet; after deliver, each worker script starts")
        return StageReport(
            "start", [NodeResult(n.name or "?", Outcome.OK, "nothing delivered") for n in nodes]
        )
    manifest = Manifest.read(root / MANIFEST)
    known = {p.worker.node for p in manifest.plan.parts}
    unknown = [n.name for n in nodes if n.name not in known]
    if unknown and not options.rebalance:
        raise OctopusError(
            f"not part of the delivery: {', '.join(map(str, unknown))}; deliver to them first"
        )
    ledger = Ledger.load(root / LEDGER, manifest)
    state = StartState(manifest, options)
    steps: list[Step | LocalStep] = [_ReadStatus(state)]
    if options.rebalance:
        steps.append(_Rebalance(state, nodes, ledger))
    steps.append(_StartWorkers(state, root))
    report = run_stage(
        "start",
        steps,
        nodes,
        experiment=experiment,
        output=output,
        parallel=parallel,
        dry_run=dry_run,
    )
    if not dry_run:
        for node, status in state.statuses.items():
            ledger.merge(node, status.commands)
        if state.changed:
            manifest.write(root / MANIFEST)
        if state.submitted:
            record_jobs(root / JOBS, manifest.delivery, state.submitted)
        ledger.save(root / LEDGER)
    return report


class _StopWorkers(Step):
    label = "stop workers"

    def __init__(self, run_root: str) -> None:
        super().__init__()
        self.run_root = run_root

    def describe(self, ctx: StepContext) -> list[str]:
        return [f"stop this experiment's screen sessions and processes under ~/{self.run_root}"]

    def execute(self, ctx: StepContext) -> None:
        running = running_workers(ctx, self.run_root)
        stop_workers(ctx, self.run_root)
        ctx.say(f"stopped {running}" if running else "no worker was running")


def stop_step(experiment: Experiment) -> Step:
    """The step `inv purge` runs before the experiment's own purge steps."""
    return _StopWorkers(experiment.paths.remote_run_dir)
