"""Command states of a node whose workers share one queue (schedule "queue").

With the queue, which worker runs a command is known only from the events: any worker of the
node may have taken it. So the node's workers are read together: a command's attempts come
from whichever worker's events hold them, and its row names the worker that ran it last. A
command no worker started is pending while any worker of the node is alive (or none has
started yet): a live worker may still take it. Once every worker is gone it is lost when one
of them died underway, and cancelled when they were stopped on purpose (purge, scancel).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from octopus.run.events import (
    Attempt,
    CommandState,
    CommandStatus,
    WorkerEvents,
    known_attempts,
    status_of_attempts,
)

if TYPE_CHECKING:
    from octopus.run.manifest import Manifest
    from octopus.run.status import NodeStatus


class _Probe(Protocol):
    cancelled: bool


class _Sessions(Protocol):
    def session_name(self, job_id: int) -> str: ...


def queue_runs(
    events: Mapping[int, WorkerEvents], known: Mapping[int, CommandStatus]
) -> dict[int, tuple[int, list[Attempt]]]:
    """id -> (the worker that started it last, every attempt of it on any worker).

    `known`: what the ledger holds of commands whose earlier events were read at an earlier
    look (`events` then holds only what was appended since): their attempts go on from there,
    and an end whose start was read before closes that attempt."""
    found: dict[int, tuple[int, list[Attempt]]] = {
        ident: (status.worker, known_attempts(status))
        for ident, status in known.items()
        if status.attempts
    }
    for job, worker_events in events.items():
        for ident, attempts in worker_events.attempts.items():
            if not attempts:
                continue
            if ident not in found:  # first met here: this worker's attempts, as they are
                one = len(attempts) == 1
                found[ident] = (job, attempts if one else sorted(attempts, key=_started))
                continue
            runner, known_before = found[ident]
            have = list(known_before)
            for attempt in attempts:
                if attempt.started is None and have and have[-1].ended is None:
                    have[-1] = replace(have[-1], ended=attempt.ended, exit_code=attempt.exit_code)
                else:
                    have.append(attempt)
            newest = max((a.started for a in attempts if a.started is not None), default=None)
            before = max((a.started for a in known_before if a.started is not None), default=None)
            if newest is not None and (before is None or newest >= before):
                runner = job
            found[ident] = (runner, sorted(have, key=_started))
    return found


def _started(attempt: Attempt) -> float:
    return attempt.started or 0.0


def classify_queue(
    manifest: Manifest,
    node: str,
    status: NodeStatus,
    probes: Mapping[int, _Probe],
    sessions: _Sessions,
    scope: list[tuple[int, str, int]],
    runs: Mapping[int, tuple[int, list[Attempt]]],
) -> list[CommandStatus]:
    """The state of each command in `scope` (id, text, the worker it was planned on) of the
    node's queue, from `runs` (queue_runs) and the node's workers (see the module's doc)."""
    parts = manifest.workers_of(node)
    cancelled = {
        w.job_id: status.purged or bool(probes.get(w.job_id) and probes[w.job_id].cancelled)
        for w in parts
    }
    alive = {w.job_id: status.alive.get(w.job_id, False) for w in parts}
    events = status.events
    started = any(e.runs for e in events.values())
    died = any(
        e.runs and not e.finished and not alive.get(job, False) and not cancelled.get(job, False)
        for job, e in events.items()
    )
    stopped = any(cancelled.get(job, False) and not events[job].finished for job in events)
    if any(alive.values()) or not started:
        unstarted = CommandState.PENDING
    elif died:
        unstarted = CommandState.LOST
    elif stopped:
        unstarted = CommandState.CANCELLED
    else:
        unstarted = CommandState.PENDING  # all ended on purpose (stop_on_error)
    sessions_of = {
        job: str(status.details.get(job, {}).get("job_id", "")) or sessions.session_name(job)
        for job in {*alive, *events}
    }
    statuses = []
    run_dir = manifest.run_dir
    for ident, command, planned in scope:
        job, attempts = runs.get(ident, (planned, []))
        last = attempts[-1] if attempts else None
        if last is None:
            state = unstarted
        elif last.ended is not None:
            state = CommandState.DONE if last.exit_code == 0 else CommandState.FAILED
        elif alive.get(job, False):
            state = CommandState.RUNNING
        else:
            state = CommandState.CANCELLED if cancelled.get(job) else CommandState.LOST
        session = sessions_of.get(job) or sessions.session_name(job)
        statuses.append(
            status_of_attempts(ident, node, job, command, state, attempts, run_dir, session)
        )
    return statuses
