"""`inv nodes`: can each selected node be used, and what does it have?"""

from __future__ import annotations

from collections.abc import Sequence

from octopus.connection import AnyConnection
from octopus.engine import for_each_node
from octopus.facts import NodeFacts, facts_command, parse_facts
from octopus.node import Node
from octopus.results import NodeResult, Outcome

# A facts command that takes longer than this means the node is too overloaded to use.
FACTS_TIMEOUT = 30


def _gather(node: Node, conn: AnyConnection) -> NodeFacts:
    result = conn.run(facts_command(node), hide=True, warn=True, timeout=FACTS_TIMEOUT)
    return parse_facts(node, result.stdout)


def probe_nodes(nodes: Sequence[Node], parallel: int | None = None) -> list[NodeResult]:
    """Check every node at once; a node lacking what its launcher needs is FAILED."""
    results = for_each_node(nodes, _gather, parallel)
    for result in results:
        facts = result.data
        if result.outcome is Outcome.OK and isinstance(facts, NodeFacts) and not facts.usable:
            result.outcome = Outcome.FAILED
            result.message = "; ".join(facts.problems)
    return results
