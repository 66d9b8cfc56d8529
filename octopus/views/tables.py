"""Stage summaries: one row per node (ok, failed at step k, skipped, unreachable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from octopus.output import StageOutput, counted, visible
from octopus.results import NodeResult, Outcome, StageReport

# rich is imported where a table or a text is made: a stage that draws nothing (--json,
# cron) spends no time on it.
if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

_STYLE = {
    Outcome.OK: "green",
    Outcome.FAILED: "red",
    Outcome.UNREACHABLE: "red",
    Outcome.SKIPPED: "yellow",
    Outcome.WARNING: "yellow",
    Outcome.INTERRUPTED: "magenta",
}


def outcome_text(result: NodeResult) -> Text:
    from rich.text import Text

    return Text(str(result.outcome), style=_STYLE[result.outcome])


def plain(text: str) -> Text:
    """Text from a node or a user for a table cell: never read as rich markup, controls shown."""
    from rich.text import Text

    return Text(visible(text))


def summary_line(results: Sequence[NodeResult]) -> str:
    counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    parts = [f"{n} {o}" for o, n in counts.items() if n]
    return f"{counted(len(results), 'node')}: " + ", ".join(parts)


def all_well(report: StageReport) -> bool:
    """Every node ok, with no warning, and no local step that failed."""
    return (
        all(r.outcome is Outcome.OK for r in report.results)
        and not report.local_failures
        and not report.local_warnings
    )


def table(title: str, columns: Sequence[str]) -> Table:
    from rich.table import Table

    t = Table(title=plain(title), title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def print_stage(report: StageReport, output: StageOutput) -> None:
    """One line when all went well (`setup: 3 nodes ok in 2.1s`); else, or with --verbose,
    the stage's table, its failed local steps and where its log is."""
    if all_well(report) and not output.verbose:
        output.note(
            f"{report.stage}: {counted(len(report.results), 'node')} ok in {report.duration:.1f}s"
        )
        return
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
    output.show(t)
    from rich.text import Text

    for failure in report.local_failures:
        output.show(Text(f"local step failed: {visible(failure)}", style="red"))
    for warning in report.local_warnings:
        output.show(Text(f"local step failed, went on: {visible(warning)}", style="yellow"))
    if output.log_written and not output.quiet:
        output.console.print(Text(f"log: {output.log_path}"))


def print_commands(commands: list[str]) -> None:
    """The experiment commands, one per line (the original PRINT stage)."""
    if not commands:
        print("no experiment commands")
    for command in commands:
        print(command)
