"""What is due to be said of an experiment after a look at its nodes, and in which words.

Two notices, each sent once per delivery: the first failure (a command failed or was lost),
and the end (nothing runs or waits any more). When both become due at the same look, the
end says it all and the first-failure notice is not sent apart.
"""

from __future__ import annotations

from typing import Any

from octopus.notify.send import Notice
from octopus.results import MonitorReport
from octopus.run.events import CommandState, CommandStatus
from octopus.views.summary import named, summary_line

FIRST_FAILURE = "first_failure"
ENDED = "ended"
# Failed or lost commands listed one by one in a notice's details and JSON.
LISTED = 50


def due(report: MonitorReport) -> list[str]:
    """The notices this look makes due (whether sent before or not)."""
    counts = report.totals
    if report.finished:
        return [ENDED]
    return [FIRST_FAILURE] if counts["failed"] or counts["lost"] else []


def notice_of(event: str, name: str, report: MonitorReport, results: list[str]) -> Notice:
    troubled = report.overview.in_state(CommandState.FAILED, CommandState.LOST)
    counts = report.totals
    if event == ENDED or not troubled:
        text = summary_line(name, report, results)
    else:
        first = min(troubled, key=lambda s: (s.ended or s.started or 0.0, s.id))
        left = counts["pending"] + counts["running"]
        what = f"exit {first.exit_code}" if first.state is CommandState.FAILED else "lost"
        text = (
            f"{name}: first failure: {first.node} #{first.id} ({what}): {first.command}; "
            f"{counts['done']:,} done, {counts['failed']:,} failed, {counts['lost']:,} lost, "
            f"{left:,} to go"
        )
    details = [_detail(s, name) for s in troubled[:LISTED]]
    if len(troubled) > LISTED:
        details.append(f"... and {len(troubled) - LISTED:,} more: `inv monitor --exp={name}`")
    data: dict[str, Any] = {
        "text": text,
        "event": event,
        "experiment": name,
        "totals": counts,
        "failed": [_as_data(s) for s in troubled[:LISTED]],
        "failed_named": named(troubled),
        "results": results,
        "deliveries": report.deliveries,
    }
    return Notice(event, text, "\n".join(details), data)


def _detail(status: CommandStatus, name: str) -> str:
    what = f"exit {status.exit_code}" if status.state is CommandState.FAILED else "lost"
    return (
        f"{status.node} #{status.id} ({what}): {status.command}\n"
        f"    its log: `inv logs --exp={name} --id {status.id}`"
    )


def _as_data(status: CommandStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "node": status.node,
        "state": str(status.state),
        "exit_code": status.exit_code,
        "command": status.command,
        "log": status.log,
    }
