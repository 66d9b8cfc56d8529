"""How `inv nodes` shows what each node has: a table, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console

from octopus.facts import NodeFacts
from octopus.node import Node
from octopus.results import NodeResult
from octopus.views.tables import outcome_text, plain, summary_line, table


def nodes_json(results: Sequence[NodeResult]) -> str:
    return json.dumps(
        {
            "nodes": [
                {
                    "node": r.node,
                    "outcome": str(r.outcome),
                    "message": r.message,
                    "facts": r.data.as_dict() if isinstance(r.data, NodeFacts) else None,
                }
                for r in results
            ],
        },
        indent=2,
    )


def print_nodes(results: Sequence[NodeResult], nodes: Sequence[Node], console: Console) -> None:
    t = table(
        "nodes", ["node", "status", "host", "launcher", "cpus", "numa", "gpus", "python", "notes"]
    )
    by_name = {n.name: n for n in nodes}
    for r in results:
        facts = r.data if isinstance(r.data, NodeFacts) else None
        notes = r.message if not facts else "; ".join(facts.problems + facts.warnings)
        t.add_row(
            plain(r.node),
            outcome_text(r),
            plain(facts.hostname if facts else ""),
            str(by_name[r.node].launcher),
            str(facts.cpus) if facts else "",
            str(facts.numa_sockets) if facts else "",
            str(facts.gpus) if facts else "",
            plain(facts.python_version if facts else ""),
            plain(notes),
        )
    console.print(t)
    console.print(summary_line(results))
