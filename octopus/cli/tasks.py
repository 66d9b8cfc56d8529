"""The Invoke collection: thin tasks that parse options, call a stage and report.

Use it from a project's tasks.py with ``from octopus.tasks import ns`` (and add tasks to it or
compose it into a bigger Collection, as with any Invoke collection). This module declares
the tasks only: what they do is in `options.Common`, loaded when a task runs, so that
`inv --list` and `inv --help` load no stage, node or SSH code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from octopus.cli.config import invoke_config_error
from octopus.cli.help_texts import COMMON_HELP
from octopus.cli.init import init
from octopus.cli.one_line import one_line
from octopus.errors import one_line_errors
from octopus.experiment_task import ExperimentTask
from octopus.run.layout import INVENTORY_FILE

if TYPE_CHECKING:
    from octopus.cli.options import Common

_COMMON = [
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
    for name, default in (
        ("exp", None),
        ("inventory", None),
        ("nodes", None),
        ("tags", None),
        ("parallel", 0),
        ("dry_run", False),
        ("verbose", False),
        ("plain", False),
    )
]


def _common(config: Any, values: dict[str, Any]) -> Common:
    # Loaded when a task runs (module docstring): the stages, nodes and SSH come with it.
    from octopus.cli.options import Common

    return Common(config, **values)


NOTIFY_HELP = (
    "say when it ends or first fails, besides the experiment's notify: "
    "a webhook URL, an e-mail address or a command (may repeat)"
)


def octopus_task(
    help: dict[str, str] | None = None,
    name: str | None = None,
    exp: bool = True,
    iterable: list[str] | None = None,
) -> Callable[[Callable[..., int | None]], Task[Any]]:
    """An Invoke task from `body(c, common, **own options)`: the common options are added to
    its command line, octopus' errors become one line and their exit code (2 for bad input;
    a local file that cannot be written is one too), and the body's return value is the exit
    code."""
    common_params = [p for p in _COMMON if exp or p.name != "exp"]

    def decorate(body: Callable[..., int | None]) -> Task[Any]:
        own = list(inspect.signature(body).parameters.values())[2:]

        @functools.wraps(body)
        def wrapper(c: Context, **kwargs: Any) -> None:
            values = {p.name: kwargs.pop(p.name) for p in common_params}
            code = one_line(lambda: body(c, _common(c.config, values), **kwargs))
            if code:
                raise Exit(code=code)

        context = inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [context, *common_params, *own]
        )
        del wrapper.__wrapped__  # inspect.signature would follow it back to body
        names = {p.name for p in common_params}
        texts = {k: v for k, v in COMMON_HELP.items() if k in names}
        made = task(
            wrapper,
            name=name or body.__name__.rstrip("_").replace("_", "-"),
            help={**texts, **(help or {})},
            iterable=iterable or [],
        )
        return cast(Task[Any], made)

    return decorate


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
    """Check the selected nodes: reachable, host key accepted, tools, CPUs, sockets, GPUs."""
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
    iterable=["notify"],
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
    },
    iterable=["notify"],
)
def run(
    c: Context,
    common: Common,
    interval: float = 2.0,
    timeout: float = 0,
    strict: bool = False,
    steal: bool = True,
    notify: list[str] | None = None,
    fresh: bool = False,
) -> int:
    """The whole lifecycle: setup, deliver, start, wait, check-errors, pickup (again: the rest)."""
    return common.run_all(interval, timeout, strict, steal, tuple(notify or ()), fresh)


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
    iterable=["where"],
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


@task(help={"exp": COMMON_HELP["exp"]})
def print_(c: Context, exp: str | None = None) -> None:
    """Print the experiment's commands, one per line."""
    one_line(lambda: _common(c.config, {"exp": exp}).print_commands())


# `inv` loads a project's invoke.yaml after importing its tasks.py (and so this module) and
# before any task runs: a file it cannot parse or merge can only be caught on the way out.
one_line_errors(invoke_config_error)

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
ns.configure({"octopus": {"inventory": INVENTORY_FILE, "parallel": 0}})
