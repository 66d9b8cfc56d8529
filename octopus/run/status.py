"""One node's whole state in one round trip: the command that reads it and its pure parser.

The command prints the delivery id, the node's clock, what the launcher knows of each worker
(`probe`) and each worker's events file; `parse_status` turns that text into per-command states.
The launcher is passed in (anything with `probe_command` and `parse_probe`), so this module
stays below the launchers that build those commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from octopus.remote.shell import quote_path
from octopus.run.events import (
    CommandStatus,
    WorkerEvents,
    classify,
    finished_ids,
    parse_events,
    started_ids,
)
from octopus.run.layout import CANCEL_FILE, DELIVERY_ID_FILE, FENCE_FILE, MARK, events_file
from octopus.run.manifest import Manifest
from octopus.run.queue_status import classify_queue
from octopus.run.schedule import QUEUE
from octopus.run.workers import Worker


@dataclass
class WorkerProbe:
    """What a launcher learned about one worker: alive, and details such as a Slurm state."""

    alive: bool
    detail: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False


class Prober(Protocol):
    """The two launcher hooks a status read needs."""

    def probe_command(self, delivery_dir: str, workers: list[Worker]) -> str: ...

    def parse_probe(self, lines: list[str]) -> dict[int, WorkerProbe]: ...

    def session_name(self, job_id: int) -> str: ...


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
    # Commands moved off this fenced node that it still ran to the end.
    duplicates: list[int] = field(default_factory=list)
    # Moved commands it started but has no end of: they may have finished before a crash.
    possible_duplicates: list[int] = field(default_factory=list)
    # `inv purge` stopped this delivery's workers: what they left unfinished is cancelled.
    purged: bool = False


def status_command(manifest: Manifest, node: str, prober: Prober) -> str:
    """Shell text printing the delivery id, the node's clock, the launcher's probe of each
    worker and each worker's events: one round trip for the whole node."""
    run = manifest.run_dir
    parts = manifest.workers_on(node)
    lines = [
        f'cd "$HOME"/{quote_path(run)} 2>/dev/null || {{ echo "{MARK} none"; exit 0; }}',
        # A fenced node's workers stop before their next command; first, then read.
        *([f"touch {FENCE_FILE}"] if node in manifest.moved else []),
        f'echo "{MARK} delivery $(cat {DELIVERY_ID_FILE} 2>/dev/null)"',
        f'echo "{MARK} now $(date +%s)"',
        f'[ -e {CANCEL_FILE} ] && echo "{MARK} purged"',
        prober.probe_command(run, [p.worker for p in parts]),
    ]
    for part in parts:
        job = part.worker.job_id
        events = f'"$HOME"/{quote_path(run)}/{events_file(job)}'
        # The newline first: a last line a crash cut short must not swallow the marker.
        lines.append(f'printf "\\n{MARK} events {job}\\n"; cat {events} 2>/dev/null; true')
    # Read whole, the command exits 0: any other status is a read cut short (ReadStatus).
    lines.append("true")
    return "\n".join(lines)


def parse_status(manifest: Manifest, node: str, output: str, prober: Prober) -> NodeStatus:
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
            elif words[1] == "purged":
                status.purged = True
            elif words[1] == "events" and len(words) == 3:
                current = chunks.setdefault(int(words[2]), [])
            else:
                probe_lines.append(line)
            continue
        if current is not None:
            current.append(line)
    if status.delivery != manifest.delivery:
        status.delivery = None
    probes = prober.parse_probe(probe_lines)
    moved = set(manifest.moved.get(node, []))
    for part in manifest.workers_on(node):
        job = part.worker.job_id
        probe = probes.get(job)
        alive = bool(probe and probe.alive) and status.delivery is not None
        status.alive[job] = alive
        if probe and probe.detail:
            status.details[job] = probe.detail
        events = parse_events("\n".join(chunks.get(job, [])))
        status.events[job] = events
        finished = finished_ids(events)
        status.duplicates += sorted(finished & moved)
        status.possible_duplicates += sorted((started_ids(events) - finished) & moved)
        session = str(probe.detail.get("job_id", "")) if probe and probe.detail else ""
        status.commands += classify(
            part,
            events,
            alive,
            log_dir=manifest.run_dir,
            session=session or prober.session_name(job),
            cancelled=status.purged or bool(probe and probe.cancelled),
        )
    if manifest.schedule == QUEUE:  # the node's workers take from one queue: read together
        status.commands = classify_queue(manifest, node, status, probes, prober)
    return status
