"""`inv nodes`: can each selected node be used, and what does it have?"""

from __future__ import annotations

from collections.abc import Sequence

from octopus.facts import NodeFacts
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import NodeResult, Outcome
from octopus.stages.engine import run_stage
from octopus.stages.facts import GatherFacts


def probe_nodes(
    nodes: Sequence[Node], parallel: int | None = None, output: StageOutput | None = None
) -> list[NodeResult]:
    """Check every node at once; a node lacking what its launcher needs is FAILED."""
    report = run_stage(
        "nodes",
        [GatherFacts()],
        nodes,
        experiment=None,
        output=output or StageOutput(quiet=True),
        parallel=parallel,
    )
    for result in report.results:
        facts = result.data
        if result.outcome is Outcome.OK and isinstance(facts, NodeFacts) and not facts.usable:
            result.outcome = Outcome.FAILED
            result.message = "; ".join(facts.problems)
    return report.results
