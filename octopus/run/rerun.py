"""Re-runs: a new delivery of an experiment that already ran keeps what succeeded.

Every command keeps its id from one delivery to the next while its text stays the same (its
key, command_keys.py); a new or edited command gets an id no command of the record had. With
`keep_done` (`inv run`, unless --fresh) a command whose earlier run succeeded is not run
again: it stays in the plan, first on the worker that ran it when that worker is planned
again, with its earlier start and end written into that worker's events file before the
delivery goes out. Monitor, the report and the joblog then read it as done, from its own
node, like any other command, and `start --resume` never runs it again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from octopus.run.command_keys import base_key, hashed_key, planned_keys
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus, event_lines
from octopus.run.ledger import Ledger
from octopus.run.plan_model import Plan, WorkerPlan


@dataclass
class Earlier:
    """What the deliveries a new one replaces planned and what of it succeeded."""

    # key -> id (copies of one command planned more than once add ".<copy>" to the key)
    ids: dict[str, int] = field(default_factory=dict)
    # experiment command key -> the statuses of its runs, when each of them succeeded
    done: dict[str, list[CommandStatus]] = field(default_factory=dict)
    # past every id the record holds: a new command's id was never any other's
    next_id: int = 0
    # the keys are in the form of records written before keys were texts (command_keys.py)
    hashed: bool = False


def _succeeded(status: CommandStatus) -> bool:
    return (
        status.state is CommandState.DONE
        and status.exit_code == 0
        and status.started is not None
        and status.ended is not None
    )


def earlier_runs(record: Deliveries, ledger: Ledger | None, replacing: Iterable[str]) -> Earlier:
    """What the record's deliveries to any of the `replacing` nodes planned, and (with a
    `ledger`, as of its last monitor) which of their commands succeeded."""
    gone = set(replacing)
    plans = [m.plan for m in record.manifests if gone & set(m.launchers) and m.plan.keys]
    hashed = any(plan.hashed for plan in plans)  # then every key takes that form
    ids: dict[str, int] = {}
    for plan in plans:
        keyed = planned_keys(plan, plan.keys, hashed=plan.hashed)
        if hashed and not plan.hashed:
            keyed = {ident: hashed_key(key) for ident, key in keyed.items()}
        ids.update((key, ident) for ident, key in keyed.items())
    done: dict[str, list[CommandStatus]] = {}
    if ledger is not None and ids:
        known = ledger.known(sorted(ids.values()))
        runs: dict[str, list[CommandStatus | None]] = {}
        for key, ident in ids.items():
            runs.setdefault(base_key(key, hashed=hashed), []).append(known.get(ident))
        done = {
            key: [s for s in statuses if s is not None]
            for key, statuses in runs.items()
            if all(s is not None and _succeeded(s) for s in statuses)
        }
    return Earlier(ids, done, record.next_id(()), hashed)


def chosen_indices(
    keys: Sequence[str], earlier: Earlier
) -> tuple[list[int], dict[int, list[CommandStatus]]]:
    """The experiment commands to run (their indices) and those kept: index -> earlier runs."""
    kept = {i: earlier.done[key] for i, key in enumerate(keys) if key in earlier.done}
    return [i for i in range(len(keys)) if i not in kept], kept


def number(plan: Plan, chosen: Sequence[int] | None, earlier: Earlier, keys: Sequence[str]) -> None:
    """Give a plan made of the `chosen` experiment commands (indices into that list, ids
    from 0; None: all of them) their experiment indices and their ids: the earlier id of
    the same key (`keys`, the experiment commands' keys), else a new one."""
    if chosen is not None:
        for part in plan.parts:
            part.command_indices = [None if i is None else chosen[i] for i in part.command_indices]
    if not earlier.ids:  # nothing to keep an id from: new ids, in plan order
        plan.start_ids_at(earlier.next_id)
        return
    by_id = planned_keys(plan, keys, hashed=earlier.hashed)
    fresh = itertools.count(earlier.next_id)
    taken: set[int] = set()
    for part in plan.parts:
        numbered = []
        for ident in part.ids:
            new = earlier.ids.get(by_id[ident])
            if new is None or new in taken:
                new = next(fresh)
            taken.add(new)
            numbered.append(new)
        part.ids = numbered


def add_kept(plan: Plan, kept: dict[int, list[CommandStatus]]) -> dict[int, CommandStatus]:
    """Put the kept commands first on their workers (the one that ran each, when planned
    again; else the workers in turn); id -> its earlier status."""
    places = {(p.worker.node, p.worker.job_id): i for i, p in enumerate(plan.parts)}
    ahead: dict[int, list[tuple[int, CommandStatus]]] = {}
    turn = itertools.cycle(range(len(plan.parts))) if plan.parts else None
    statuses: dict[int, CommandStatus] = {}
    for index, runs in sorted(kept.items()):
        for status in runs:
            place = places.get((status.node, status.worker))
            if place is None and turn is not None:
                place = next(turn)
            if place is None:
                continue
            ahead.setdefault(place, []).append((index, status))
            statuses[status.id] = status
    for place, entries in ahead.items():
        part = plan.parts[place]
        indices: list[int | None] = [i for i, _ in entries]
        plan.parts[place] = WorkerPlan(
            part.worker,
            [s.id for _, s in entries] + part.ids,
            [s.command for _, s in entries] + part.commands,
            indices + part.command_indices,
            kept=len(entries),
        )
    return statuses


def kept_events(part: WorkerPlan, statuses: dict[int, CommandStatus]) -> str:
    """The events file a worker starts with: the earlier start and end of its kept commands."""
    return "".join(event_lines(statuses[i]) for i in part.ids[: part.kept] if i in statuses)
