"""The Invoke collection: thin tasks that parse options, call octopus' functions and report.

Use it from a project's tasks.py with ``from octopus.tasks import ns`` (and add tasks to it or
compose it into a bigger Collection, as with any Invoke collection).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from invoke import Collection, Context, task
from invoke.exceptions import Exit

from octopus.errors import ConfigError, OctopusError
from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.facts import facts_command
from octopus.inventory import DEFAULT_INVENTORY
from octopus.loader import load_experiment
from octopus.options import COMMON_HELP, inventory_path, parallel_option, selected_nodes
from octopus.probe import probe_nodes
from octopus.report import console, outcome_text, summary_line, table
from octopus.results import exit_code_for

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Turn octopus' own errors into a one-line message and its exit code (2 for bad input)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OctopusError as exc:
            raise Exit(f"octopus: {exc}", code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@task(help={**COMMON_HELP, "json": "print the facts as JSON instead of a table"})
@reports_errors
def nodes(
    c: Context,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    dry_run: bool = False,
    json_: bool = False,
) -> None:
    """Check the selected nodes: reachable, host key accepted, tools, CPUs, sockets, GPUs."""
    chosen = selected_nodes(c.config, inventory, nodes, tags)
    out = console()
    if dry_run:
        for node in chosen:
            where = "locally" if node.local else f"on {node.ssh_hostname}"
            out.print(
                f"[bold]{node.name}[/bold]: would run {where}: {facts_command(node)}",
                markup=True,
                soft_wrap=True,
            )
        return
    results = probe_nodes(chosen, parallel_option(c.config, parallel))
    if json_:
        print(
            json.dumps(
                {
                    "nodes": [
                        {
                            "node": r.node,
                            "outcome": str(r.outcome),
                            "message": r.message,
                            "facts": r.data.as_dict() if r.data is not None else None,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    else:
        t = table(
            "nodes",
            ["node", "status", "host", "launcher", "cpus", "numa", "gpus", "python", "notes"],
        )
        by_name = {n.name: n for n in chosen}
        for r in results:
            node = by_name[r.node]
            facts = r.data
            notes = r.message if not facts else "; ".join(facts.problems + facts.warnings)
            t.add_row(
                r.node,
                outcome_text(r),
                facts.hostname if facts else "",
                str(node.launcher),
                str(facts.cpus) if facts else "",
                str(facts.numa_sockets) if facts else "",
                str(facts.gpus) if facts else "",
                facts.python_version if facts else "",
                notes,
            )
        out.print(t)
        out.print(summary_line(results))
    code = exit_code_for(results)
    if code:
        raise Exit(code=code)


STAGE_HELP = {**COMMON_HELP, "exp": "experiment: a name in experiments/ or a path to .py/.yaml"}


def _experiment(exp: str | None) -> Experiment:
    if not exp:
        raise ConfigError("which experiment? pass --exp NAME (a file in experiments/) or a path")
    return load_experiment(exp)


def _stage(
    c: Context,
    stage: ExperimentTask,
    exp: str | None,
    inventory: str | None,
    nodes: str | None,
    tags: str | None,
    parallel: int,
    dry_run: bool,
    **options: Any,
) -> None:
    """Load the experiment, run one stage, exit with its code."""
    report = _experiment(exp).run_task(
        stage,
        nodes=nodes,
        tags=tags,
        inventory=inventory_path(c.config, inventory),
        parallel=parallel_option(c.config, parallel),
        dry_run=dry_run,
        **options,
    )
    if report is not None and not report.ok:
        raise Exit(code=report.exit_code)


def _stage_task(stage: ExperimentTask, doc: str) -> Any:
    def body(
        c: Context,
        exp: str | None = None,
        inventory: str | None = None,
        nodes: str | None = None,
        tags: str | None = None,
        parallel: int = 0,
        dry_run: bool = False,
    ) -> None:
        _stage(c, stage, exp, inventory, nodes, tags, parallel, dry_run)

    body.__doc__ = doc
    name = TASK_NAMES.get(stage, str(stage).replace("_", "-"))
    body.__name__ = name
    return task(reports_errors(body), name=name, help=STAGE_HELP)


TASK_NAMES = {ExperimentTask.SELECT_RUNEXP_NODES: "select-nodes"}


setup = _stage_task(ExperimentTask.SETUP, "Run the experiment's setup steps on its nodes.")
check_errors = _stage_task(ExperimentTask.CHECK_ERRORS, "Run the experiment's check-error steps.")
pickup = _stage_task(
    ExperimentTask.PICKUP, "Run the experiment's pickup steps (bring results home)."
)


select_nodes = _stage_task(
    ExperimentTask.SELECT_RUNEXP_NODES,
    "List run_exp reservations: which nodes are free for this experiment.",
)


@task(help={**STAGE_HELP, "force": "stop this experiment's running workers first"})
@reports_errors
def deliver(
    c: Context,
    exp: str | None = None,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    dry_run: bool = False,
    force: bool = False,
) -> None:
    """Write one script per worker under deliverables/<exp>/ and send each node its scripts."""
    _stage(
        c,
        ExperimentTask.DELIVER_SCRIPTS,
        exp,
        inventory,
        nodes,
        tags,
        parallel,
        dry_run,
        force=force,
    )


@task(
    help={
        **STAGE_HELP,
        "resume": "run only the commands not finished yet (pending, or lost with their worker)",
        "retry_failed": "run the failed commands again",
        "rebalance": "give the unfinished commands of unreachable nodes to the reachable ones",
        "force": "stop and restart workers that are still running",
    }
)
@reports_errors
def start(
    c: Context,
    exp: str | None = None,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    dry_run: bool = False,
    resume: bool = False,
    retry_failed: bool = False,
    rebalance: bool = False,
    force: bool = False,
) -> None:
    """Start the delivered worker scripts (screen, process, ...), or resume them."""
    _stage(
        c,
        ExperimentTask.START,
        exp,
        inventory,
        nodes,
        tags,
        parallel,
        dry_run,
        resume=resume,
        retry_failed=retry_failed,
        rebalance=rebalance,
        force=force,
    )


@task(
    help={
        **STAGE_HELP,
        "json": "print one JSON object (totals, nodes) instead of tables",
        "offline": "show the ledger of the last monitor runs without connecting",
    }
)
@reports_errors
def monitor(
    c: Context,
    exp: str | None = None,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    dry_run: bool = False,
    json_: bool = False,
    offline: bool = False,
) -> None:
    """Show every worker's commands: done, failed, running, pending, lost. Exit 1 on trouble.

    Made for cron too: no prompts, plain text when not on a terminal, exit 0 when nothing
    failed or was lost, 1 when something did, 2 on bad input.
    """
    _stage(
        c,
        ExperimentTask.MONITOR,
        exp,
        inventory,
        nodes,
        tags,
        parallel,
        dry_run,
        offline=offline,
        as_json=json_,
    )


@task(help=STAGE_HELP)
@reports_errors
def purge(
    c: Context,
    exp: str | None = None,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    dry_run: bool = False,
) -> None:
    """Stop this experiment's workers and their processes, then run its purge steps."""
    _stage(c, ExperimentTask.PURGE, exp, inventory, nodes, tags, parallel, dry_run)


@task(
    help={
        **STAGE_HELP,
        "interval": "seconds between looks at the nodes while waiting",
        "timeout": "give up waiting after this many seconds (0: never)",
    }
)
@reports_errors
def run(
    c: Context,
    exp: str | None = None,
    inventory: str | None = None,
    nodes: str | None = None,
    tags: str | None = None,
    parallel: int = 0,
    interval: float = 2.0,
    timeout: float = 0,
    dry_run: bool = False,
) -> None:
    """The whole lifecycle: setup, deliver, start, wait, check-errors, pickup."""
    from octopus.lifecycle import run_experiment

    code = run_experiment(
        _experiment(exp),
        nodes=nodes,
        tags=tags,
        inventory=inventory_path(c.config, inventory),
        parallel=parallel_option(c.config, parallel),
        interval=interval,
        timeout=timeout or None,
        dry_run=dry_run,
    )
    if code:
        raise Exit(code=code)


@task(help={"exp": STAGE_HELP["exp"]})
@reports_errors
def print_(c: Context, exp: str | None = None) -> None:
    """Print the experiment's commands, one per line."""
    _experiment(exp).print()


ns = Collection(
    nodes, select_nodes, setup, deliver, start, monitor, purge, check_errors, pickup, run
)
ns.add_task(print_, name="print")
ns.configure({"octopus": {"inventory": DEFAULT_INVENTORY, "parallel": 0}})
