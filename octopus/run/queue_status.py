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
from typing import TYPE_CHECKING, Protocol

from octopus.run.events import Attempt, CommandState, CommandStatus
from octopus.run.layout import command_log

if TYPE_CHECKING:
    from octopus.run.manifest import Manifest
    from octopus.run.status import NodeStatus


class _Probe(Protocol):
    cancelled: bool


class _Sessions(Protocol):
    def session_name(self, job_id: int) -> str: ...


def _runs(status: NodeStatus) -> dict[int, tuple[int, list[Attempt]]]:
    """id -> (the worker that started it last, every attempt of it on any worker)."""
    found: dict[int, tuple[int, list[Attempt]]] = {}
    for job, events in status.events.items():
        for ident, attempts in events.attempts.items():
            if not attempts:
                continue
            if ident not in found:
                found[ident] = (job, list(attempts))
                continue
            runner, known = found[ident]
            merged = sorted([*known, *attempts], key=lambda a: a.started or 0.0)
            last = job if (attempts[-1].started or 0.0) >= (known[-1].started or 0.0) else runner
            found[ident] = (last, merged)
    return found


def classify_queue(
    manifest: Manifest,
    node: str,
    status: NodeStatus,
    probes: Mapping[int, _Probe],
    sessions: _Sessions,
) -> list[CommandStatus]:
    """Every command of the node's workers, read as one queue (see the module's doc)."""
    parts = manifest.workers_on(node)
    cancelled = {
        p.worker.job_id: status.purged
        or bool(probes.get(p.worker.job_id) and probes[p.worker.job_id].cancelled)
        for p in parts
    }
    alive = {p.worker.job_id: status.alive.get(p.worker.job_id, False) for p in parts}
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
    runs = _runs(status)
    statuses = []
    for part in parts:
        for ident, command in zip(part.ids, part.commands, strict=True):
            job, attempts = runs.get(ident, (part.worker.job_id, []))
            last = attempts[-1] if attempts else None
            if last is None:
                state = unstarted
            elif last.ended is not None:
                state = CommandState.DONE if last.exit_code == 0 else CommandState.FAILED
            elif alive.get(job, False):
                state = CommandState.RUNNING
            else:
                state = CommandState.CANCELLED if cancelled.get(job) else CommandState.LOST
            detail = status.details.get(job, {})
            statuses.append(
                CommandStatus(
                    id=ident,
                    node=node,
                    worker=job,
                    command=command,
                    state=state,
                    exit_code=last.exit_code if last else None,
                    started=last.started if last else None,
                    ended=last.ended if last else None,
                    attempts=len(attempts),
                    log=f"{manifest.run_dir}/{command_log(ident)}",
                    session=str(detail.get("job_id", "")) or sessions.session_name(job),
                )
            )
    return statuses
