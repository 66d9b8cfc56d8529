"""Command state: what the nodes recorded, and what it means (done, failed, running, ...).

Worker scripts append tab-separated events to state/s<job_id>.events on the node:
`worker-start - <time> <pid>`, `start <id> <time> <host>`, `end <id> <time> <exit code>`,
`worker-end - <time> done|stopped|fenced`. Appends survive crashes and reboots; the parsers here
are pure functions over that text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from octopus.run.layout import command_log
from octopus.run.plan_model import WorkerPlan


class CommandState(str, Enum):
    DONE = "done"
    FAILED = "failed"
    RUNNING = "running"
    PENDING = "pending"
    LOST = "lost"
    CANCELLED = "cancelled"  # stopped on purpose (purge, scancel) before it finished

    def __str__(self) -> str:
        return self.value


STATES = tuple(CommandState)
# The states monitor lists command by command (the others it counts).
LISTED = frozenset({CommandState.FAILED, CommandState.RUNNING, CommandState.LOST})


@dataclass(slots=True)
class Attempt:
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    host: str = ""


@dataclass
class WorkerEvents:
    """What one worker's state file says."""

    attempts: dict[int, list[Attempt]] = field(default_factory=dict)
    runs: int = 0  # worker-start events: 1 per start, more after resumes
    finished: bool = False  # the last run wrote worker-end
    stopped_on_error: bool = False
    fenced: bool = False  # it stopped because its work was moved to other nodes


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_events(
    text: str,
    into: WorkerEvents | None = None,
    seed: Callable[[int], list[Attempt]] | None = None,
) -> WorkerEvents:
    """Read a state file; damaged or partial lines (a crash mid-write) are skipped.

    To read only what was appended since the last look: `into` holds what the earlier part
    said of the worker, and `seed(id)` what it said of a command first met here."""
    events = into if into is not None else WorkerEvents()
    attempts_of = events.attempts
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 4:
            continue
        kind, ident, when, detail = fields
        if kind == "start" or kind == "end":  # nearly every line: first, and in one pass
            if not ident.isdigit():
                continue
            number = int(ident)
            attempts = attempts_of.get(number)
            if attempts is None:
                attempts = attempts_of[number] = seed(number) if seed else []
            if kind == "start":
                attempts.append(Attempt(_float(when), None, None, detail))
            elif detail.lstrip("-").isdigit():  # an end cut before its exit code is no end
                if not attempts or attempts[-1].ended is not None:
                    attempts.append(Attempt())
                last = attempts[-1]
                last.ended = _float(when)
                last.exit_code = int(detail)
        elif kind == "worker-start":
            events.runs += 1
            events.finished = False
            events.stopped_on_error = False
            events.fenced = False
        elif kind == "worker-end":
            events.finished = True
            events.stopped_on_error = detail == "stopped"
            events.fenced = detail == "fenced"
    return events


def event_lines(status: CommandStatus) -> str:
    """A finished command's last attempt as the worker script records it (its start, with
    the host, and its end, with the exit code): what a re-run writes for a command it keeps."""
    return (
        f"start\t{status.id}\t{status.started!r}\t{status.host}\n"
        f"end\t{status.id}\t{status.ended!r}\t{status.exit_code}\n"
    )


def known_attempts(status: CommandStatus | None) -> list[Attempt]:
    """A command's attempts as far as a status of it tells: how many, and the last one (to
    read the events appended since on top of)."""
    if status is None or not status.attempts:
        return []
    last = Attempt(status.started, status.ended, status.exit_code, status.host)
    return [Attempt() for _ in range(status.attempts - 1)] + [last]


def complete_lines(text: str) -> str:
    """The text up to its last newline: a last line without one may still be being written."""
    return text[: text.rfind("\n") + 1]


@dataclass(slots=True)
class CommandStatus:
    """One command's state as of the last look, with where to find its output."""

    id: int
    node: str
    worker: int
    command: str
    state: CommandState
    exit_code: int | None = None
    started: float | None = None
    ended: float | None = None
    attempts: int = 0
    log: str = ""
    session: str = ""
    host: str = ""  # where its last attempt ran, as the node named itself

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommandStatus:
        return cls(**{**data, "state": CommandState(data["state"])})


def status_of_attempts(
    ident: int,
    node: str,
    worker: int,
    command: str,
    state: CommandState,
    attempts: list[Attempt],
    log_dir: str,
    session: str,
) -> CommandStatus:
    """A command's status in `state`, with what its last attempt says (none: never started).
    Its log path only when monitor lists it (`log_dir`: the delivery's folder): the ledger
    keeps none, and a look at a million commands would build a million. (Made with its fields
    in order, no keywords: a first look makes one per command.)"""
    listed = bool(log_dir) and state is not _DONE and state in LISTED
    log = f"{log_dir}/{command_log(ident)}" if listed else ""
    if not attempts:
        return CommandStatus(ident, node, worker, command, state, None, None, None, 0, log, session)
    last = attempts[-1]
    return CommandStatus(
        ident, node, worker, command, state, last.exit_code, last.started, last.ended,
        len(attempts), log, session, last.host,
    )  # fmt: skip


_DONE = CommandState.DONE


def classify(
    part: WorkerPlan,
    events: WorkerEvents,
    alive: bool,
    *,
    log_dir: str = "",
    session: str = "",
    cancelled: bool = False,
) -> list[CommandStatus]:
    """The state of each of a worker's commands.

    Finished commands are done or failed by exit code. A started command is running while
    its worker lives and lost once it is gone. A command never started is pending while
    the worker lives, was never started, or ended on purpose (stop_on_error); it is lost
    when its worker died underway. A worker stopped on purpose (`inv purge`, a cancelled
    Slurm job) leaves what it had not finished cancelled: not a failure, and --resume runs it.
    """
    stopped = cancelled and not alive and not events.finished
    worker_died = events.runs > 0 and not events.finished and not alive and not cancelled
    statuses = []
    for ident, command in zip(part.ids, part.commands, strict=True):
        attempts = events.attempts.get(ident, [])
        last = attempts[-1] if attempts else None
        if last is not None and last.ended is not None:
            state = CommandState.DONE if last.exit_code == 0 else CommandState.FAILED
        elif last is not None:
            if alive:
                state = CommandState.RUNNING
            else:
                state = CommandState.CANCELLED if cancelled else CommandState.LOST
        elif stopped:
            state = CommandState.CANCELLED
        else:
            state = CommandState.LOST if worker_died else CommandState.PENDING
        worker = part.worker
        statuses.append(
            status_of_attempts(
                ident, worker.node, worker.job_id, command, state, attempts, log_dir, session
            )
        )
    return statuses


def progress(counts: dict[str, int]) -> float:
    """The share of commands that have ended (done or failed); 1.0 when there are none."""
    total = sum(counts.values())
    return (counts["done"] + counts["failed"]) / total if total else 1.0


def started_ids(events: WorkerEvents) -> set[int]:
    """The commands this worker started, on any attempt."""
    return set(events.attempts)


def finished_ids(events: WorkerEvents) -> set[int]:
    """The commands this worker ran to the end (any exit code), on any attempt."""
    return {
        ident
        for ident, attempts in events.attempts.items()
        if any(a.ended is not None for a in attempts)
    }
