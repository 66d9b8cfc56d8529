"""Fabric's ThreadingGroup shape on the stage engine: a Python function on every node at once,
one result per node, so even ad-hoc work gets the engine's failure handling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from octopus.node import Node
from octopus.output import StageOutput
from octopus.remote.connector import Connector
from octopus.results import NodeResult
from octopus.stages.engine import run_stage
from octopus.steps.base import Step
from octopus.steps.context import StepContext


class _Work(Step):
    """A Python function as the one step of a fan-out."""

    label = "work"

    def __init__(self, work: Callable[[Node, Connector], Any]) -> None:
        super().__init__()
        self.work = work

    def execute(self, ctx: StepContext) -> Any:
        return self.work(ctx.node, ctx.connection())


def for_each_node(
    nodes: Sequence[Node],
    work: Callable[[Node, Connector], Any],
    parallel: int | None = None,
    output: StageOutput | None = None,
) -> list[NodeResult]:
    """`work(node, connection)` on every node at once: one result per node, in node order,
    with what `work` returned as its data."""
    out = output or StageOutput(quiet=True)
    return run_stage(
        "work", [_Work(work)], nodes, experiment=None, output=out, parallel=parallel
    ).results
