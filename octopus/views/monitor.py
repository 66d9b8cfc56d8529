"""How `inv monitor` shows the experiment: tables on a terminal, plain text for cron, JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from octopus.output import visible
from octopus.results import MonitorReport
from octopus.run.events import (
    STATES,
    CommandState,
    progress,
)
from octopus.run.layout import worker_label
from octopus.views.summary import duration_text
from octopus.views.tables import plain, table

if TYPE_CHECKING:  # drawn only by print_monitor: JSON and cron need none of rich
    from rich.console import Console


def as_json(report: MonitorReport) -> dict[str, Any]:
    """The whole picture as one JSON object: totals at the top, details per node."""
    overview = report.overview
    launchers = {n: kind for m in report.record.manifests for n, kind in m.launchers.items()}
    listed: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"failed": [], "running": [], "lost": []}
    )
    for status in overview.notable:
        entry = status.as_dict()
        if status.state is CommandState.RUNNING:
            entry["elapsed"] = report.now - status.started if status.started else None
        listed[(status.node, status.worker)][str(status.state)].append(entry)
    nodes: dict[str, Any] = {}
    for (node, worker), counted in overview.workers.items():
        entry = nodes.setdefault(
            node,
            {
                "reachable": node not in report.unreachable,
                "message": report.unreachable.get(node, ""),
                "state_lost": report.state_lost.get(node, ""),
                "undelivered": report.undelivered.get(node, ""),
                "totals": {str(s): 0 for s in STATES},
                "workers": {},
            },
        )
        for key, value in counted.counts.items():
            entry["totals"][key] += value
        slurm = report.ledger.worker_info(node, worker)
        entry["workers"][worker_label(worker)] = {
            "totals": dict(counted.counts),
            "session": counted.session,
            "launcher": launchers.get(node, ""),
            **({"slurm": slurm} if slurm is not None else {}),
            **listed[(node, worker)],
        }
    counts = overview.totals
    return {
        "experiment": report.record.experiment,
        "delivery": _delivery_text(report),
        "deliveries": report.deliveries,
        "offline": report.offline,
        "totals": counts,
        "progress": progress(counts),
        "eta_seconds": overview.eta_seconds(),
        "unreachable": report.unreachable,
        "state_lost": report.state_lost,
        "duplicates": {str(k): v for k, v in sorted(report.duplicates.items())},
        "possible_duplicates": {str(k): v for k, v in sorted(report.possible_duplicates.items())},
        "undelivered": report.undelivered,
        "warnings": report.warnings,
        "nodes": nodes,
    }


def print_json(report: MonitorReport) -> None:
    """The whole picture as one JSON object on standard output (for cron and scripts)."""
    print(json.dumps(as_json(report), indent=1))


def print_json_error(message: str, exit_code: int) -> None:
    """A JSON object with the error, for a script that reads standard output only."""
    print(json.dumps({"error": message, "exit_code": exit_code}, indent=1))


def print_monitor(report: MonitorReport, console: Console) -> None:
    """The table per node and worker, the failed and lost commands, progress and ETA."""
    from rich.text import Text

    overview = report.overview
    header = f"{report.record.experiment} (delivery {_delivery_text(report)})"
    if report.offline:
        header += ", from the ledger: nodes not contacted"
    t = table(header, ["node", "worker", *(str(s) for s in STATES), "notes"])
    for (node, worker), counted in overview.workers.items():
        notes = []
        if node in report.unreachable:
            notes.append(f"unreachable: {report.unreachable[node]}")
        if node in report.undelivered:
            notes.append(report.undelivered[node])
        if node in report.state_lost:
            notes.append(f"lost its state: {report.state_lost[node]}")
        if counted.running_since:
            notes.append(f"running {duration_text(report.now - counted.running_since)}")
        slurm = report.ledger.worker_info(node, worker)
        if slurm:
            reason = f" ({slurm['reason']})" if slurm.get("reason") else ""
            notes.append(f"job {slurm['job_id']} {slurm['state'].lower()}{reason}")
        t.add_row(
            plain(node),
            worker_label(worker),
            *(str(counted.counts[str(s)]) for s in STATES),
            plain("; ".join(notes)),
        )
    console.print(t)
    failed = overview.in_state(CommandState.FAILED, CommandState.LOST)
    name = report.record.experiment
    for status in failed[:50]:
        code = f"exit {status.exit_code}" if status.state is CommandState.FAILED else "lost"
        # Its stdout and stderr are two files: `inv logs` shows both.
        console.print(
            Text(
                visible(
                    f"{status.state}: {status.node} {worker_label(status.worker)} #{status.id} "
                    f"({code}): {(status.command.splitlines() or [''])[0][:80]} "
                    f"(its logs: inv logs --exp={name} --id {status.id})"
                ),
                style="red",
            )
        )
    for ident, where in sorted(report.duplicates.items()):
        console.print(
            Text(
                f"ran twice: #{ident} also ran to the end on {', '.join(where)} after a "
                "rebalance had moved it off (see its log there)",
                style="red",
            )
        )
    for ident, where in sorted(report.possible_duplicates.items()):
        console.print(
            Text(
                f"may have run twice: #{ident} was started on {', '.join(where)} after a "
                "rebalance had moved it off, and no end of it is on record there",
                style="yellow",
            )
        )
    if len(failed) > 50:
        console.print(f"... and {len(failed) - 50} more (see --json)")
    counts = overview.totals
    eta = overview.eta_seconds()
    summary = ", ".join(f"{counts[str(s)]} {s}" for s in STATES)
    console.print(
        f"{progress(counts):.0%} finished: {summary}"
        + (f"; ETA {duration_text(eta)}" if eta is not None else "")
    )
    for warning in report.warnings:
        console.print(plain(f"warning: {warning}"), style="yellow")


def _delivery_text(report: MonitorReport) -> str:
    """The delivery the shown nodes hold, or each node's when they hold different ones."""
    held = report.deliveries
    ids = list(dict.fromkeys(held.values()))
    if len(ids) <= 1:
        return ids[0] if ids else ""
    return ", ".join(f"{node}: {delivery}" for node, delivery in held.items())
