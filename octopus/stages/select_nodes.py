"""`inv select-nodes`: which run_exp nodes are free for this experiment (the seed's
SELECT_RUNEXP_NODES stage). `run_exp` without arguments lists a node's reservations; a node
without the tool fails, and one line names every such node and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from octopus.launchers.run_exp import Availability, judge_reservations
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import Outcome, StageReport
from octopus.stages.engine import run_stage
from octopus.stages.options import StageOptions
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed

if TYPE_CHECKING:
    from octopus.experiment import Experiment


# What a shell answers for a program it cannot find (POSIX: 127, "command not found").
COMMAND_NOT_FOUND = 127
NOT_INSTALLED = "run_exp is not installed"


class _ReadReservations(Step):
    label = "list run_exp reservations"

    def __init__(self, whitelist: list[str]) -> None:
        super().__init__()
        self.whitelist = whitelist

    def commands(self, ctx: StepContext) -> list[str]:
        return ["run_exp"]

    def execute(self, ctx: StepContext) -> Availability:
        listing = ctx.run("run_exp", show=False, warn=True)
        if listing.exited == COMMAND_NOT_FOUND:
            raise StepFailed(NOT_INSTALLED, exit_code=COMMAND_NOT_FOUND)  # said once, in run()
        if not listing.ok:
            raise StepFailed.of(listing)
        user = ctx.node.ssh_username or ctx.connection().user
        verdict = judge_reservations(listing.stdout, self.whitelist, user)
        ctx.say(
            ("available: " if verdict.available else "not available: ")
            + verdict.reason
            + ("; your own experiment is running here" if verdict.own_running else "")
        )
        return verdict


def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> tuple[list[Node], StageReport]:
    """The nodes to use: free ones, or none when the user's own experiment already runs."""
    report = run_stage(
        "select-nodes",
        [_ReadReservations(experiment.run_exp_white_list_users)],
        nodes,
        experiment=experiment,
        output=output,
        parallel=options.parallel,
        dry_run=options.dry_run,
    )
    found = {
        name: verdict
        for name, verdict in report.data().items()
        if isinstance(verdict, Availability)
    }
    available = [n for n in nodes if n.name in found and found[n.name].available]
    own = sorted(name for name, verdict in found.items() if verdict.own_running)
    unreachable = [r.node for r in report.results if r.outcome is Outcome.UNREACHABLE]
    if unreachable:
        output.note(f"unreachable: {', '.join(unreachable)}")
    missing = [r.node for r in report.results if r.message == NOT_INSTALLED]
    if missing:
        output.note(
            f"select-nodes: {NOT_INSTALLED} on {', '.join(missing)}: install the lab's "
            "reservation tool or use launcher screen"
        )
    if own:
        output.note(f"your own experiment already runs on {', '.join(own)}: no node selected")
        return [], report
    names = ",".join(n.name or "" for n in available)
    output.note(
        f"available nodes: {names or 'none'}"
        + (f"  (use them with --nodes {names})" if names else "")
    )
    return available, report
