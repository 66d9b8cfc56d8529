"""The Invoke collection: thin tasks that parse options, call a stage and report.

Use it from a project's tasks.py with ``from octopus.tasks import ns`` (and add tasks to it or
compose it into a bigger Collection, as with any Invoke collection). This module declares
the tasks only: what they do is in `options.Common`, loaded when a task runs, so that
`inv --list` and `inv --help` load no stage, node or SSH code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Task, task

from octopus.cli import completion, process_end  # noqa: F401 (registers the exit)
from octopus.cli.arguments import OctopusTask, show_value_placeholders
from octopus.cli.config import invoke_config_error
from octopus.cli.help_texts import COMMON_HELP
from octopus.cli.init import init
from octopus.cli.octopus_task import common, octopus_task
from octopus.cli.one_line import one_line
from octopus.errors import one_line_errors
from octopus.experiment_task import ExperimentTask
from octopus.run.layout import INVENTORY_FILE

if TYPE_CHECKING:
    from octopus.cli.options import Common


NOTIFY_HELP = (
    "say when it ends or first fails, besides the experiment's notify: "
    "a webhook URL, an e-mail address or a command (may repeat)"
)


def _steps_task(stage: ExperimentTask, doc: str, name: str | None = None) -> Task[Any]:
    def body(c: Context, common: Common) -> int:
        return common.stage(stage)

    body.__doc__ = doc
    body.__name__ = str(stage)
    return octopus_task(name=name)(body)


setup = _steps_task(ExperimentTask.SETUP, "Run the experiment's setup steps on its nodes.")
check_errors = _steps_task(ExperimentTask.CHECK_ERRORS, "Run the experiment's check-error steps.")
pickup = _steps_task(
    ExperimentTask.PICKUP, "Run the experiment's pickup steps (bring results home)."
)
purge = _steps_task(
    ExperimentTask.PURGE,
    "Stop this experiment's workers and their processes, then its purge steps.",
)
select_nodes_task = _steps_task(
    ExperimentTask.SELECT_RUNEXP_NODES,
    "List run_exp reservations: which nodes are free for this experiment.",
    name="select-nodes",
)


@octopus_task(help={"json": "print the facts as JSON instead of a table"}, exp=False)
def nodes(c: Context, common: Common, json_: bool = False) -> int:
    """Check the selected nodes: reachable, host keys, tools, CPUs, GPUs, memory, disk, load."""
    return common.probe_nodes(json_)


@octopus_task(
    help={
        "force": "stop this experiment's running workers first",
        "replan": "plan every command over the chosen nodes, leaving out the delivery's others",
    }
)
def deliver(c: Context, common: Common, force: bool = False, replan: bool = False) -> int:
    """Write one script per worker under deliverables/<exp>/ and send each node its scripts."""
    return common.stage(ExperimentTask.DELIVER_SCRIPTS, force=force, replan=replan)


@octopus_task(
    help={
        "resume": "run only the commands not finished yet (pending, or lost with their worker)",
        "retry_failed": "run the failed commands again",
        "rebalance": "give the unfinished commands of unreachable nodes to the reachable ones",
        "force": "stop and restart workers that are still running",
    }
)
def start(
    c: Context,
    common: Common,
    resume: bool = False,
    retry_failed: bool = False,
    rebalance: bool = False,
    force: bool = False,
) -> int:
    """Start the delivered worker scripts (screen, process, ...), or resume them."""
    return common.stage(
        ExperimentTask.START,
        resume=resume,
        retry_failed=retry_failed,
        rebalance=rebalance,
        force=force,
    )


@octopus_task(
    help={
        "json": "print one JSON object (totals, nodes) instead of tables",
        "offline": "show the ledger of the last monitor runs without connecting",
        "steal": "first let idle nodes take unclaimed commands from nodes with a backlog",
        "notify": NOTIFY_HELP,
    },
)
def monitor(
    c: Context,
    common: Common,
    json_: bool = False,
    offline: bool = False,
    steal: bool = False,
    notify: list[str] | None = None,
) -> int:
    """Show every worker's commands: done, failed, running, pending, lost. Exit 1 on trouble.

    Made for cron too: no prompts, plain text when not on a terminal, exit 0 when nothing
    failed or was lost, 1 when something did, 2 on bad input.
    """
    return common.stage(
        ExperimentTask.MONITOR,
        offline=offline,
        as_json=json_,
        steal=steal,
        notify=tuple(notify or ()),
    )


@octopus_task(
    help={
        "interval": "seconds between looks at the nodes while waiting",
        "timeout": "give up waiting after this many seconds (0: never)",
        "strict": "stop the run at the first node that fails or cannot be reached",
        "steal": "while waiting, idle nodes take unclaimed commands of others (--no-steal: not)",
        "notify": NOTIFY_HELP,
        "fresh": "run every command again (default: only those new, edited or not succeeded)",
        "force": "stop this experiment's running workers before delivering, as deliver does",
        "resume": "start only the commands not finished yet, as start does",
        "retry_failed": "start the failed commands again too, as start does",
    },
)
def run(
    c: Context,
    common: Common,
    interval: float = 2.0,
    timeout: float = 0.0,
    strict: bool = False,
    steal: bool = True,
    notify: list[str] | None = None,
    fresh: bool = False,
    force: bool = False,
    resume: bool = False,
    retry_failed: bool = False,
) -> int:
    """The whole lifecycle: setup, deliver, start, wait, check-errors, pickup.

    What succeeded before is kept (--fresh runs it again).
    """
    return common.run_all(
        interval,
        timeout,
        strict,
        steal,
        tuple(notify or ()),
        fresh,
        force=force,
        resume=resume,
        retry_failed=retry_failed,
    )


@octopus_task(
    help={
        "id": "the command id(s) whose logs to print: 17, or 17,940 (default: the failed)",
        "failed": "the failed and lost commands too (as the last monitor saw them)",
        "node": "only the commands of this node",
        "tail": "only the last N lines of each log (0: whole)",
    },
)
def logs(
    c: Context,
    common: Common,
    id: str = "",  # an option: Invoke's positional arguments cannot be left out  # noqa: A002
    failed: bool = False,
    node: str = "",
    tail: int = 0,
) -> int:
    """Print commands' logs from their nodes, each under a header (default: the failed ones)."""
    return common.logs(id, failed, node or None, tail)


@octopus_task(
    help={
        "open": "open the report in the browser",
        "joblog": "also write report/joblog.tsv, a GNU parallel joblog of the commands",
        "where": "only the commands whose grid parameters match: model=gat (may repeat)",
    },
)
def report(
    c: Context,
    common: Common,
    open_: bool = False,
    joblog: bool = False,
    where: list[str] | None = None,
) -> int:
    """Write deliverables/<exp>/report/index.html: failures, timeline, durations, deliveries."""
    return common.report(open_, joblog, where or [])


@task(help={"exp": COMMON_HELP["exp"]}, klass=OctopusTask)
def print_(c: Context, exp: str | None = None) -> None:
    """Print the experiment's commands, one per line."""
    one_line(lambda: common(c.config, {"exp": exp}).print_commands())


# `inv` loads a project's invoke.yaml after importing its tasks.py (and so this module) and
# before any task runs: a file it cannot parse or merge can only be caught on the way out.
one_line_errors(invoke_config_error)
# `--help` shows every option's kind, and shell completion completes experiment and node names,
# in `inv` as in `octopus` (Invoke's own parser and completion, where it has no hook for them).
show_value_placeholders()
completion.complete_option_values()

ns = Collection(
    init,
    nodes,
    select_nodes_task,
    setup,
    deliver,
    start,
    monitor,
    purge,
    check_errors,
    pickup,
    run,
    logs,
    report,
)
ns.add_task(print_, name="print")
ns.configure({"octopus": {"exp": None, "inventory": INVENTORY_FILE, "parallel": 0}})
