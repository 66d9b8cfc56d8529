"""The facts command as a step: `inv nodes` shows what it finds, and `inv deliver` counts the
workers of nodes whose workers follow their CPUs or GPUs (`auto`, `gpus_per_worker`).

Deliver keeps each node's count in the delivery's record, so the stages after it (start's
rebalance and steal) know how many workers the node runs without asking it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from octopus.errors import ConfigError
from octopus.facts import NodeFacts, facts_command, parse_facts
from octopus.hardware import Hardware
from octopus.node import Node
from octopus.run.deliveries import Deliveries
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed

# A facts command that takes longer than this means the node is too overloaded to use.
FACTS_TIMEOUT = 30


class GatherFacts(Step):
    """Everything the facts command finds (NodeFacts)."""

    label = "gather facts"

    def commands(self, ctx: StepContext) -> list[str]:
        return [facts_command(ctx.node)]

    def execute(self, ctx: StepContext) -> NodeFacts:
        result = ctx.run(facts_command(ctx.node), show=False, warn=True, timeout=FACTS_TIMEOUT)
        return parse_facts(ctx.node, result.stdout)


class CountHardware(GatherFacts):
    """The node's CPUs and GPUs, kept on the node (its workers follow them); a node with fewer
    GPUs than one worker asks for fails here, named. Returns the Hardware."""

    label = "count CPUs and GPUs"

    def execute(self, ctx: StepContext) -> Hardware:  # type: ignore[override]
        found = super().execute(ctx).hardware
        try:
            ctx.node.learn_hardware(found)
        except ConfigError as exc:
            raise StepFailed(str(exc)) from None
        ctx.say(f"{found.cpus} CPU(s), {found.gpus} GPU(s): {ctx.node.num_workers} worker(s)")
        return found


def learn_recorded(nodes: Sequence[Node], record: Deliveries) -> None:
    """Nodes that still need their CPUs and GPUs take them from the delivery they hold."""
    for node in nodes:
        if node.needs_hardware and node.found_hardware is None and record.holds(node.name or ""):
            found = record.of(node.name or "").hardware.get(node.name or "")
            if found is not None:
                node.learn_hardware(Hardware.from_dict(found), check=False)
