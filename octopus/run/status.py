"""One node's whole state in one round trip: the command that reads it and its pure parser.

The command prints the delivery id, the node's clock, what the launcher knows of each worker
(`probe`) and each worker's events file; `parse_status` turns that text into per-command states.
The launcher is passed in (anything with `probe_command` and `parse_probe`), so this module
stays below the launchers that build those commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from octopus.run.events import (
    CommandStatus,
    WorkerEvents,
    classify,
    complete_lines,
    finished_ids,
    known_attempts,
    parse_events,
    started_ids,
)
from octopus.run.layout import MARK
from octopus.run.manifest import Manifest
from octopus.run.plan_model import WorkerPlan
from octopus.run.queue_status import classify_queue, queue_runs
from octopus.run.schedule import QUEUE
from octopus.run.worker_reads import WorkerFlags, WorkerRead
from octopus.run.workers import Worker


@dataclass
class WorkerProbe:
    """What a launcher learned about one worker: alive, and details such as a Slurm state."""

    alive: bool
    detail: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False


class Prober(Protocol):
    """The launcher hooks a status read needs: the probe its command runs
    (status_command.py), and what the parse asks of what it printed."""

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
    # How far each worker's events are read now (none when the delivery is not there).
    reads: dict[int, WorkerRead] = field(default_factory=dict)


class Known(Protocol):
    """What a status read asks the ledger (run/ledger.py) when it reads only new events."""

    reads: dict[tuple[str, int], WorkerRead]

    def known(self, ids: list[int]) -> dict[int, CommandStatus]: ...

    def node_statuses(self, node: str) -> list[CommandStatus]: ...


_MARKED = re.compile(rf"^{re.escape(MARK)} [^\n]*$", re.MULTILINE)


def _split(output: str) -> tuple[list[str], dict[int, tuple[int, str]]]:
    """(the marked lines outside the events, job id -> (offset read from, its events text)).

    An events text runs from its marker line to the next marked line, less the newline
    status_command prints before the next events marker (the text itself is the file's
    bytes: a last line without its newline is kept so, and left for the next read)."""
    marked: list[str] = []
    chunks: dict[int, tuple[int, str]] = {}
    open_chunk: tuple[int, int, int] | None = None  # job, offset, where its text starts
    for match in _MARKED.finditer(output):
        words = match.group(0).split()
        is_events = len(words) in (3, 4) and words[1] == "events" and words[2].isdigit()
        if open_chunk is not None:
            job, offset, start = open_chunk
            end = match.start()
            if is_events and output[start:end].endswith("\n"):
                end -= 1
            chunks[job] = (offset, output[start:end])
            open_chunk = None
        if is_events:
            offset = int(words[3]) if len(words) == 4 and words[3].isdigit() else 0
            open_chunk = (int(words[2]), offset, min(match.end() + 1, len(output)))
        else:
            marked.append(match.group(0))
    if open_chunk is not None:
        job, offset, start = open_chunk
        chunks[job] = (offset, output[start:])
    return marked, chunks


def parse_status(
    manifest: Manifest, node: str, output: str, prober: Prober, known: Known | None = None
) -> NodeStatus:
    """Turn status_command output into per-command states (pure, but for `known`).

    With `known` (the ledger), a worker read from where its last read ended says only what
    changed: the commands with new events, or all of the worker's when the worker itself
    changed (it started, ended, died). Its new offset goes to `reads`."""
    status = NodeStatus(node=node, delivery=None, now=0.0)
    marked, chunks = _split(output)
    probe_lines: list[str] = []
    for line in marked:
        words = line.split()
        if words[1] == "delivery" and len(words) > 2:
            status.delivery = words[2]
        elif words[1] == "now" and len(words) > 2:
            status.now = float(words[2])
        elif words[1] == "purged":
            status.purged = True
        else:
            probe_lines.append(line)
    if status.delivery != manifest.delivery:
        status.delivery = None
    probes = prober.parse_probe(probe_lines)
    moved = set(manifest.moved.get(node, []))
    queue = manifest.schedule == QUEUE  # read together after the loop (queue_status.py)
    priors: dict[int, WorkerRead | None] = {}
    unread: set[int] = set()
    for worker in manifest.workers_of(node):
        job = worker.job_id
        probe = probes.get(job)
        alive = bool(probe and probe.alive) and status.delivery is not None
        status.alive[job] = alive
        if probe and probe.detail:
            status.details[job] = probe.detail
        session = str(probe.detail.get("job_id", "")) if probe and probe.detail else ""
        prior = known.reads.get((node, job)) if known is not None else None
        if probe is None and prior is not None:  # not asked this look (it had ended): as it was
            session = session or prior.flags.session
        session = session or prober.session_name(job)
        cancelled = status.purged or bool(probe and probe.cancelled)
        offset, text = chunks.get(job, (0, ""))
        text = complete_lines(text)
        if prior is not None and (prior.delivery, prior.offset) != (status.delivery, offset):
            prior = None
        if queue and prior is None and known is not None and (node, job) not in known.reads:
            unread.add(job)  # never read: a worker a rebalance or a steal just made
        priors[job] = prior
        if queue:
            events = parse_events(text, prior.flags.events() if prior is not None else None)
            flags, parts = WorkerFlags.of(events, alive, cancelled, session), []
        elif prior is None or known is None:
            events = parse_events(text)
            flags = WorkerFlags.of(events, alive, cancelled, session)
            parts = [p for p in manifest.workers_on(node) if p.worker.job_id == job]
        else:
            events, flags, parts = read_on(
                known, worker, prior.flags, text, alive, cancelled, session
            )
        status.events[job] = events
        if moved:  # (a node nothing was moved off has no duplicates to look for)
            finished = finished_ids(events)
            status.duplicates += sorted(finished & moved)
            status.possible_duplicates += sorted((started_ids(events) - finished) & moved)
        for part in parts:
            status.commands += classify(
                part, events, alive, log_dir=manifest.run_dir, session=session, cancelled=cancelled
            )
        if status.delivery is not None and "\ufffd" not in text:  # else: read it all again
            read_to = offset + len(text.encode("utf-8"))
            status.reads[job] = WorkerRead(status.delivery, read_to, flags)
    if queue:
        _read_queue(manifest, status, probes, prober, priors, unread, known)
    return status


def _read_queue(
    manifest: Manifest,
    status: NodeStatus,
    probes: dict[int, WorkerProbe],
    prober: Prober,
    priors: dict[int, WorkerRead | None],
    unread: set[int],
    known: Known | None,
) -> None:
    """The states of a queue node's commands (queue_status.py): any worker may run any of
    them, so its workers are read together. When every worker was read on from its last
    offset (a worker never read before, from 0: one a rebalance or a steal just made), the
    commands with new events change (all of the node's, if a worker started, ended or died),
    on top of what the ledger knows; when none was, all are read whole. A node with some of
    each (a file cut or replaced meanwhile) is read whole next time."""
    node = status.node
    if known is None or all(p is None for p in priors.values()):
        scope = [
            (ident, text, part.worker.job_id)
            for part in manifest.workers_on(node)
            for ident, text in zip(part.ids, part.commands, strict=True)
        ]
        runs = queue_runs(status.events, {})
    elif any(p is None and job not in unread for job, p in priors.items()):
        status.reads = {}
        return
    else:
        flags = {job: read.flags for job, read in status.reads.items()}
        if unread or any(flags.get(job) != p.flags for job, p in priors.items() if p):
            rows = {s.id: s for s in known.node_statuses(node)}
        else:
            ids = sorted({i for events in status.events.values() for i in events.attempts})
            rows = {i: s for i, s in known.known(ids).items() if s.node == node}
        scope = [(s.id, s.command, s.worker) for s in rows.values()]
        runs = queue_runs(status.events, rows)
    status.commands = classify_queue(manifest, node, status, probes, prober, scope, runs)


def read_on(
    known: Known,
    worker: Worker,
    before: WorkerFlags,
    text: str,
    alive: bool,
    cancelled: bool,
    session: str,
) -> tuple[WorkerEvents, WorkerFlags, list[WorkerPlan]]:
    """The events appended since the last read, on top of what the ledger knows: the worker's
    events (its commands' earlier attempts taken from the ledger), its flags, and the
    commands whose state may have changed, as a part to classify."""
    node, job = worker.node, worker.job_id
    ids = sorted({int(i) for i in _IDS.findall(text)})
    mine = {i: s for i, s in known.known(ids).items() if s.node == node and s.worker == job}
    events = parse_events(text, before.events(), lambda i: known_attempts(mine.get(i)))
    flags = WorkerFlags.of(events, alive, cancelled, session)
    if flags != before:  # the worker started, ended or died: each of its commands may change
        statuses = [s for s in known.node_statuses(node) if s.worker == job]
        for s in statuses:
            events.attempts.setdefault(s.id, known_attempts(s))
    else:
        statuses = [mine[i] for i in ids if i in mine]
    if not statuses:
        return events, flags, []
    part = WorkerPlan(worker, [s.id for s in statuses], [s.command for s in statuses])
    part.command_indices = [None] * len(statuses)
    return events, flags, [part]


_IDS = re.compile(r"^(?:start|end)\t(\d+)\t", re.MULTILINE)
