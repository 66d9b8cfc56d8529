"""Runs work on many nodes at once: one connection and one result per node.

Each node is handled by its own thread with its own connection; whatever goes wrong there
(unreachable, refused host key, a failing command, a bug) becomes that node's NodeResult.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from invoke.exceptions import UnexpectedExit

from octopus.connection import AnyConnection, NodeUnreachable, open_connection
from octopus.node import Node
from octopus.results import NodeResult, Outcome

# Threads mostly wait on the network; 32 keeps a 100-node fan-out to about three rounds of
# logins without making the test hosts' sshd (which shares our CPUs here) the bottleneck.
DEFAULT_PARALLEL = 32

NodeWork = Callable[[Node, AnyConnection], Any]


def stderr_tail(text: str, lines: int = 5) -> str:
    """The last few non-empty lines of a command's error output."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_on_node(node: Node, work: NodeWork) -> NodeResult:
    """Open the node's connection, do the work, and describe how it went; never raises."""
    started = time.monotonic()
    name = node.name or "?"
    try:
        conn = open_connection(node)
    except NodeUnreachable as exc:
        return NodeResult(
            name, Outcome.UNREACHABLE, exc.reason, duration=time.monotonic() - started
        )
    try:
        data = work(node, conn)
        return NodeResult(name, Outcome.OK, data=data, duration=time.monotonic() - started)
    except UnexpectedExit as exc:
        result = exc.result
        return NodeResult(
            name,
            Outcome.FAILED,
            f"command exited with {result.exited}",
            exit_code=result.exited,
            stderr_tail=stderr_tail(result.stderr),
            duration=time.monotonic() - started,
        )
    except Exception as exc:  # a node's failure must never stop the others
        return NodeResult(
            name,
            Outcome.FAILED,
            f"{type(exc).__name__}: {exc}",
            duration=time.monotonic() - started,
        )
    finally:
        conn.close()


def for_each_node(
    nodes: Sequence[Node], work: NodeWork, parallel: int | None = None
) -> list[NodeResult]:
    """Do `work` on every node at once (at most `parallel` at a time); results in node order."""
    if not nodes:
        return []
    workers = max(1, min(len(nodes), parallel or DEFAULT_PARALLEL))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="octopus-node") as pool:
        return list(pool.map(lambda node: run_on_node(node, work), nodes))
