"""How `inv nodes` shows what each node has and how busy it is: a table, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from octopus.facts import NodeFacts
from octopus.node import Node
from octopus.results import NodeResult
from octopus.views.tables import outcome_text, plain, summary_line, table

if TYPE_CHECKING:
    from rich.console import Console


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


def share_text(free_kb: int, total_kb: int) -> str:
    """`21.3/23.5G`: free of total, in GiB (one decimal under 100); "" when unknown."""
    if not total_kb:
        return ""

    def gib(kb: int) -> str:
        value = kb / 1024**2
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"

    return f"{gib(free_kb)}/{gib(total_kb)}G"


def users_text(users: Sequence[str], shown: int = 3) -> str:
    """`2: alice, bob`, the first few names of a longer list and how many more."""
    if not users:
        return "0"
    names = ", ".join(users[:shown]) + (f", +{len(users) - shown}" if len(users) > shown else "")
    return f"{len(users)}: {names}"


def print_nodes(results: Sequence[NodeResult], nodes: Sequence[Node], console: Console) -> None:
    t = table(
        "nodes",
        [
            "node",
            "status",
            "host",
            "launcher",
            "cpus",
            "numa",
            "gpus",
            "workers",
            "mem free",
            "home free",
            "load",
            "users",
            "python",
            "notes",
        ],
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
            str(facts.workers) if facts else "",
            share_text(facts.mem_free_kb, facts.mem_total_kb) if facts else "",
            share_text(facts.home_free_kb, facts.home_total_kb) if facts else "",
            " ".join(f"{x:.2f}" for x in facts.load) if facts else "",
            plain(users_text(facts.users)) if facts else "",
            plain(facts.python_version if facts else ""),
            plain(notes),
        )
    console.print(t)
    console.print(summary_line(results))
