"""How far monitor has read each worker's events file, and what that part said of the worker.

Events files only grow (run/events.py), so a monitor asks each node only for the bytes after
the offset it already read, and what is new says what changed. Kept in the ledger per node
and worker, with the delivery it was read from: a node that takes a new delivery is read from
the start again, and so is a file shorter than the offset (replaced or cut).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from octopus.run.events import WorkerEvents


@dataclass(frozen=True)
class WorkerFlags:
    """Everything but its commands' events that decides the state of a worker's commands
    (events.classify): when these stay as they were, only the commands with new events
    change."""

    runs: int = 0
    finished: bool = False
    stopped_on_error: bool = False
    fenced: bool = False
    alive: bool = False
    cancelled: bool = False
    session: str = ""

    @classmethod
    def of(cls, events: WorkerEvents, alive: bool, cancelled: bool, session: str) -> WorkerFlags:
        return cls(
            events.runs,
            events.finished,
            events.stopped_on_error,
            events.fenced,
            alive,
            cancelled,
            session,
        )

    def events(self) -> WorkerEvents:
        """What the part read so far said of the worker, to read the rest into."""
        return WorkerEvents(
            runs=self.runs,
            finished=self.finished,
            stopped_on_error=self.stopped_on_error,
            fenced=self.fenced,
        )


@dataclass(frozen=True)
class WorkerRead:
    """The worker's events file of `delivery` read up to `offset` bytes (whole lines)."""

    delivery: str
    offset: int
    flags: WorkerFlags = field(default_factory=WorkerFlags)

    def as_dict(self) -> dict[str, Any]:
        return {"delivery": self.delivery, "offset": self.offset, "flags": vars(self.flags)}

    def unsettled(self) -> WorkerRead:
        """The read as `inv start` leaves it: the worker may run again from now on (a Slurm
        job may wait in the queue a long while before it writes anything), so the next look
        asks its launcher whatever its file says (where_to_read)."""
        return replace(self, flags=replace(self.flags, alive=True))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerRead:
        return cls(str(data["delivery"]), int(data["offset"]), WorkerFlags(**data["flags"]))


def where_to_read(
    reads: Mapping[tuple[str, int], WorkerRead], node: str, delivery: str
) -> tuple[dict[int, int], set[int]]:
    """For the node's workers read from `delivery` before: job id -> the offset to read on
    from, and the job ids of those the last read saw ended and not alive (settled: their
    launcher is asked again only if their file grew, run/status_command.py)."""
    mine = {job: r for (name, job), r in reads.items() if name == node and r.delivery == delivery}
    offsets = {job: read.offset for job, read in mine.items()}
    settled = {job for job, read in mine.items() if read.flags.finished and not read.flags.alive}
    return offsets, settled
