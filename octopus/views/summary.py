"""The experiment in one line, once everything has ended: the last line of `inv run` and of
`inv monitor`, and the text of the notice that it ended.

    zero_shot finished in 4h12m: 1,198 done, 2 failed (gpu1 #17, cl3 #940), 0 lost;
    results: deliverables/zero_shot/results.csv
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.results import MonitorReport
from octopus.run.events import CommandState, CommandStatus
from octopus.steps.local import CombineCSVFiles

if TYPE_CHECKING:
    from octopus.experiment import Experiment

# Failed commands named in the line; the rest are counted.
NAMED_FAILURES = 5


def duration_text(seconds: float) -> str:
    """4h12m, 3m05s, 12s, 2d3h: the two largest units."""
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def named(statuses: Sequence[CommandStatus], limit: int = NAMED_FAILURES) -> str:
    """gpu1 #17, cl3 #940 (+3 more)"""
    shown = ", ".join(f"{s.node} #{s.id}" for s in statuses[:limit])
    more = len(statuses) - limit
    return shown + (f" (+{more:,} more)" if more > 0 else "")


def summary_line(name: str, report: MonitorReport, results: Sequence[str] = ()) -> str:
    """The whole experiment in one line (what ended, how long it took, where results are)."""
    counts = report.totals
    first, last = report.ledger.span(report.nodes)
    kept = sum(m.kept for m in report.record.manifests)
    if kept and first is not None:  # a re-run took from its delivery on, not from the first
        made = [t for t in (m.made for m in report.record.manifests) if t is not None]
        first = max(first, min(made, default=first))
    took = f" in {duration_text(last - first)}" if first is not None and last is not None else ""
    failed = report.overview.in_state(CommandState.FAILED)
    parts = [
        f"{counts['done']:,} done" + (f" ({kept:,} of them before)" if kept else ""),
        f"{counts['failed']:,} failed" + (f" ({named(failed)})" if failed else ""),
        f"{counts['lost']:,} lost",
    ]
    if counts["cancelled"]:
        parts.append(f"{counts['cancelled']:,} cancelled")
    state = "finished" if report.finished else "so far"
    line = f"{name} {state}{took}: {', '.join(parts)}"
    return line + (f"; results: {', '.join(results)}" if results else "")


def results_of(experiment: Experiment) -> list[str]:
    """The files the experiment's pickup combined its results into, those that exist."""
    return [
        target
        for step in experiment.pickup_steps
        if isinstance(step, CombineCSVFiles)
        for target in step.target_file
        if Path(target).expanduser().is_file()
    ]
