"""Stage summaries: one row per node (ok, failed at step k, skipped, unreachable)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from octopus.output import visible
from octopus.results import NodeResult, Outcome, StageReport

_STYLE = {
    Outcome.OK: "green",
    Outcome.FAILED: "red",
    Outcome.UNREACHABLE: "red",
    Outcome.SKIPPED: "yellow",
    Outcome.WARNING: "yellow",
    Outcome.INTERRUPTED: "magenta",
}


def outcome_text(result: NodeResult) -> Text:
    return Text(str(result.outcome), style=_STYLE[result.outcome])


def plain(text: str) -> Text:
    """Text from a node or a user for a table cell: never read as rich markup, controls shown."""
    return Text(visible(text))


def summary_line(results: Sequence[NodeResult]) -> str:
    counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    parts = [f"{n} {o}" for o, n in counts.items() if n]
    return f"{len(results)} node(s): " + ", ".join(parts)


def table(title: str, columns: Sequence[str]) -> Table:
    t = Table(title=plain(title), title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def print_stage(report: StageReport, console: Console) -> None:
    """The stage's table, its failed local steps and where its log is."""
    t = table(
        f"{report.stage}: {summary_line(report.results)}",
        ["node", "status", "at step", "exit", "time", "details"],
    )
    for r in report.results:
        details = r.message
        if r.stderr_tail:
            details = f"{details}\n{r.stderr_tail}" if details else r.stderr_tail
        t.add_row(
            plain(r.node),
            outcome_text(r),
            plain(r.step or ""),
            "" if r.exit_code is None else str(r.exit_code),
            f"{r.duration:.1f}s",
            plain(details),
        )
    console.print(t)
    for failure in report.local_failures:
        console.print(Text(f"local step failed: {visible(failure)}", style="red"))
    for warning in report.local_warnings:
        console.print(Text(f"local step failed, went on: {visible(warning)}", style="yellow"))
    if report.log_path is not None:
        console.print(Text(f"log: {report.log_path}"))


def print_commands(commands: list[str]) -> None:
    """The experiment commands, one per line (the original PRINT stage)."""
    if not commands:
        print("no experiment commands")
    for command in commands:
        print(command)
