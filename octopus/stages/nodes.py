"""`inv nodes`: can each selected node be used, and what does it have?"""

from __future__ import annotations

from collections.abc import Sequence

from octopus.facts import NodeFacts, facts_command, parse_facts
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import NodeResult, Outcome
from octopus.stages.engine import run_stage
from octopus.steps.base import Step
from octopus.steps.context import StepContext

# A facts command that takes longer than this means the node is too overloaded to use.
FACTS_TIMEOUT = 30


class _GatherFacts(Step):
    label = "gather facts"

    def commands(self, ctx: StepContext) -> list[str]:
        return [facts_command(ctx.node)]

    def execute(self, ctx: StepContext) -> NodeFacts:
        result = ctx.run(facts_command(ctx.node), show=False, warn=True, timeout=FACTS_TIMEOUT)
        return parse_facts(ctx.node, result.stdout)


def probe_nodes(
    nodes: Sequence[Node], parallel: int | None = None, output: StageOutput | None = None
) -> list[NodeResult]:
    """Check every node at once; a node lacking what its launcher needs is FAILED."""
    report = run_stage(
        "nodes",
        [_GatherFacts()],
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
