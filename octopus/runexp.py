"""`inv select-nodes`: which run_exp nodes are free for this experiment (the seed's
SELECT_RUNEXP_NODES stage). `run_exp` without arguments lists a node's reservations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octopus.node import Node
from octopus.results import Outcome
from octopus.steps.base import Step, StepContext

if TYPE_CHECKING:
    from octopus.engine import StageReport
    from octopus.experiment import Experiment
    from octopus.output import StageOutput


@dataclass
class Availability:
    available: bool
    reason: str
    own_running: bool = False


def judge_reservations(listing: str, whitelist: list[str], username: str | None) -> Availability:
    """Free unless someone holds the node exclusively or a non-whitelisted user shares it."""
    lines = [line for line in listing.splitlines() if line.strip()]
    own = bool(username) and any("Start:" in line and username in line.split() for line in lines)
    if any("EXCLUSIVE" in line for line in lines):
        return Availability(False, "taken exclusively", own)
    foreign = [
        line
        for line in lines
        if "Start:" in line
        and not (username and username in line.split())
        and not any(user in line for user in whitelist)
    ]
    if foreign:
        return Availability(
            False,
            f"shared with users not in run_exp_white_list_users: {foreign[0].strip()[:60]}",
            own,
        )
    return Availability(True, "free" if not lines else "shared with whitelisted users", own)


class _ReadReservations(Step):
    label = "list run_exp reservations"

    def __init__(self, found: dict[str, Availability], whitelist: list[str]) -> None:
        super().__init__()
        self.found = found
        self.whitelist = whitelist

    def commands(self, ctx: StepContext) -> list[str]:
        return ["run_exp"]

    def execute(self, ctx: StepContext) -> None:
        listing = ctx.run("run_exp", show=False).stdout
        user = ctx.node.ssh_username or getattr(ctx.connection(), "user", None)
        verdict = judge_reservations(listing, self.whitelist, user)
        self.found[ctx.name] = verdict
        ctx.say(
            ("available: " if verdict.available else "not available: ")
            + verdict.reason
            + ("; your own experiment is running here" if verdict.own_running else "")
        )


def select_runexp_nodes(
    experiment: Experiment, nodes: list[Node], *, output: StageOutput, parallel: int | None = None
) -> tuple[list[Node], StageReport]:
    """The nodes to use: free ones, or none when the user's own experiment already runs."""
    from octopus.engine import run_stage

    found: dict[str, Availability] = {}
    report = run_stage(
        "select-nodes",
        [_ReadReservations(found, experiment.run_exp_white_list_users)],
        nodes,
        experiment=experiment,
        output=output,
        parallel=parallel,
    )
    available = [n for n in nodes if n.name in found and found[n.name].available]
    own = sorted(name for name, verdict in found.items() if verdict.own_running)
    unreachable = [r.node for r in report.results if r.outcome is Outcome.UNREACHABLE]
    if unreachable:
        output.note(f"unreachable: {', '.join(unreachable)}")
    if own:
        output.note(f"your own experiment already runs on {', '.join(own)}: no node selected")
        return [], report
    names = ",".join(n.name or "" for n in available)
    output.note(
        f"available nodes: {names or 'none'}"
        + (f"  (use them with --nodes {names})" if names else "")
    )
    return available, report
