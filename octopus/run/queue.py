"""A worker's place in its node's shared queue: the peers whose commands it may take after
its own, in the order it goes to them.

Each worker runs its own commands first (the generator's split), then goes through its
peers' in the node's queue file, each peer's from its tail, starting with the next worker
by job id: a worker that runs out of work starts where its owner will arrive last, and two
idle workers begin at different tails, so two workers seldom reach for the same command,
and a claim lost costs one failed exclusive create.
"""

from __future__ import annotations

from collections.abc import Sequence

from octopus.run.workers import Worker


def queue_order(worker: Worker, listed: Sequence[Worker]) -> list[int]:
    """The job ids of the `listed` workers (those the node's queue file holds) that `worker`
    goes to once its own commands are done: those after it by job id, then those before."""
    others = sorted(w.job_id for w in listed if w.node == worker.node and w.job_id != worker.job_id)
    return [j for j in others if j > worker.job_id] + [j for j in others if j < worker.job_id]
