"""A worker's place in its node's shared queue: the commands it may take after its own.

Each worker lists its own commands first (the generator's split), then the other workers'
from their tails, taking turns between them: a worker that runs out of work starts where the
others will arrive last, so two workers seldom reach for the same command, and a claim lost
costs one failed exclusive create.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from octopus.run.plan_model import WorkerPlan


def queue_of(part: WorkerPlan, peers: Sequence[WorkerPlan]) -> list[tuple[int, str]]:
    """The (id, command) pairs `part`'s worker may take once its own are done: the other
    `peers` of its node, each from its last command back, one of each in turn."""
    others = [p for p in peers if p.worker != part.worker and p.worker.node == part.worker.node]
    # Starting with the next worker, so that two idle workers begin at different tails.
    after = [p for p in others if p.worker.job_id > part.worker.job_id]
    before = [p for p in others if p.worker.job_id < part.worker.job_id]
    tails = [list(zip(reversed(p.ids), reversed(p.commands), strict=True)) for p in after + before]
    return [pair for row in itertools.zip_longest(*tails) for pair in row if pair is not None]
