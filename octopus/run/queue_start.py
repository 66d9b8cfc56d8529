"""What `inv start` does with a node whose workers share one queue (schedule "queue").

With the queue, a command of one worker's share may have been run (or lost) by another, so
`--resume` and `--retry-failed` look at the node as a whole: every command it still owes goes
to the workers being started, each first taking what its own share owes, and each may take
the others' as a queue. The claims of the commands that run again (lost, failed, cancelled:
their claimers are gone) are cleared first, so the new workers can take them; a pending
command keeps its claim, so a worker still running and a new one never both run it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from octopus.remote.shell import quote_path
from octopus.run.events import CommandState
from octopus.run.layout import CLAIMS_DIR, EARLIER_LOG, STREAMS, command_log_name, script_name
from octopus.run.plan_model import WorkerPlan
from octopus.run.start_policy import StartOptions, WorkerStart
from octopus.run.status import NodeStatus

RERUN_CLAIMED = (CommandState.LOST, CommandState.FAILED, CommandState.CANCELLED)


def queue_starts(
    parts: Sequence[WorkerPlan],
    status: NodeStatus,
    options: StartOptions,
    decided: Sequence[WorkerStart],
    new: set[int],
) -> tuple[list[WorkerStart], list[int] | None]:
    """The workers to start, each with the commands it owes first, and the claims to clear
    (None: all of them, as a plain start runs the delivered scripts from the beginning).

    `decided` holds start_policy's decision for each of the node's workers, `new` the job ids
    of workers made just now (rebalance, steal): they keep their commands.
    """
    if not options.partial:
        return [d for d in decided if d.script is not None], None
    stopping = {d.worker.job_id for d in decided if d.stop_first}
    states = {
        c.id: CommandState.LOST
        if c.state is CommandState.RUNNING and c.worker in stopping
        else c.state
        for c in status.commands
    }
    starting = [
        p for p, d in zip(parts, decided, strict=True) if not d.note and p.worker.job_id not in new
    ]
    owners = {p.worker.job_id for p in starting}
    owed = {p.worker.job_id: WorkerPlan(p.worker) for p in starting}
    orphans: list[tuple[int, str, int | None]] = []
    for part in parts:
        if part.worker.job_id in new:
            continue
        for ident, text, index in zip(part.ids, part.commands, part.command_indices, strict=True):
            if states.get(ident) not in options.wanted:
                continue
            if part.worker.job_id in owners:
                _add(owed[part.worker.job_id], ident, text, index)
            else:
                orphans.append((ident, text, index))
    if owed:
        for (ident, text, index), job in zip(orphans, itertools.cycle(owed), strict=False):
            _add(owed[job], ident, text, index)
    starts = []
    for part, decision in zip(parts, decided, strict=True):
        job = part.worker.job_id
        if job in new:
            starts.append(decision)
        elif job in owed and owed[job].ids:
            runs = (status.events[job].runs if job in status.events else 0) + 1
            starts.append(WorkerStart(part.worker, script_name(job, f".run{runs}"), owed[job]))
    clear = [i for w in owed.values() for i in w.ids if states.get(i) in RERUN_CLAIMED]
    # Commands moved here just now may hold an old claim of this node (moved off it before).
    clear += [i for p in parts if p.worker.job_id in new for i in p.ids]
    return starts, clear


def _add(plan: WorkerPlan, ident: int, text: str, index: int | None) -> None:
    plan.ids.append(ident)
    plan.commands.append(text)
    plan.command_indices.append(index)


def clear_claims_command(run_dir: str, ids: list[int] | None) -> str:
    """Shell text (ending in '; ') clearing these claims of the node's queue (None: all): each
    claim is the command's stdout file, so it moves aside with its stderr file (each appended
    to <name>.earlier: <id>.out.earlier, <id>.err.earlier) and the output of the earlier
    attempts stays readable."""
    folder = f'"$HOME"/{quote_path(run_dir)}/{CLAIMS_DIR}'
    if ids is None:
        names = " ".join(command_log_name("*", stream) for stream in STREAMS)
    elif ids:
        names = " ".join(command_log_name(i, stream) for i in ids for stream in STREAMS)
    else:
        return ""
    return (
        f"(cd {folder} 2>/dev/null && for f in {names}; do "
        f'[ -e "$f" ] && cat "$f" >> "$f{EARLIER_LOG}" && rm -f "$f"; done; true); '
    )
