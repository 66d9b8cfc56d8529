"""The report's plots, drawn with matplotlib as inline SVG (the `report` extra).

The timeline has one bar per command on its worker's row, coloured by outcome; each bar is an
SVG group `id="cmd-<id>"` with the command in its `<title>` (shown on hover) and its id and
state in `data-` attributes, so a reader, and a test, can tell which bar is which command.
"""

from __future__ import annotations

import html
import io
import re
from typing import TYPE_CHECKING

from octopus.run.events import CommandStatus

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from octopus.views.report_data import ReportData

COLOURS = {
    "done": "#2e7d32",
    "failed": "#c62828",
    "lost": "#ef6c00",
    "cancelled": "#757575",
    "running": "#1565c0",
    "pending": "#bdbdbd",
}
# Bars drawn at most: past this, the timeline shows the first commands and says so.
MAX_BARS = 20_000


def available() -> bool:
    """Whether matplotlib is installed (`pip install 'octopus-runner[report]'`)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable
    matplotlib.rcParams["svg.hashsalt"] = "octopus"  # the same report twice is the same file
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg") :]  # no XML prolog inside HTML


def timeline(data: ReportData) -> str:
    from matplotlib.patches import Rectangle

    bars = data.finished[:MAX_BARS]
    rows = {worker: i for i, worker in enumerate(data.workers())}
    figure = _figure(11, max(2.0, 0.35 * len(rows) + 1.2))
    ax = figure.add_subplot()
    origin = min((s.started or 0.0 for s in bars), default=0.0)
    span = max(((s.ended or 0.0) - origin for s in bars), default=1.0) or 1.0
    for s in bars:
        start = (s.started or 0.0) - origin
        width = max((s.ended or 0.0) - (s.started or 0.0), span / 800)
        y = rows[(s.node, s.worker)]
        colour = COLOURS.get(str(s.state), "#000000")
        bar = Rectangle((start, y - 0.4), width, 0.8, facecolor=colour, gid=f"cmd-{s.id}")
        bar.set(edgecolor="white", linewidth=0.4)  # back-to-back commands stay apart
        ax.add_patch(bar)
    ax.set_xlim(0, span * 1.01)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(range(len(rows)), [f"{node} s{worker}" for node, worker in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first command started")
    svg = _svg(figure)
    by_id = {s.id: s for s in bars}

    def labelled(match: re.Match[str]) -> str:
        s = by_id[int(match.group(1))]
        return (
            f'<g id="cmd-{s.id}" class="bar" data-id="{s.id}" data-state="{s.state}">'
            f"<title>{_title(s)}</title>"
        )

    return re.sub(r'<g id="cmd-(\d+)">', labelled, svg)


def _title(s: CommandStatus) -> str:
    took = (s.ended or 0.0) - (s.started or 0.0)
    return html.escape(
        f"#{s.id} {s.node} s{s.worker}: {s.state} (exit {s.exit_code}, {took:.1f}s): {s.command}"
    )


def durations(data: ReportData) -> str:
    times = [(s.ended or 0.0) - (s.started or 0.0) for s in data.finished]
    figure = _figure(5.5, 3)
    ax = figure.add_subplot()
    ax.hist(times, bins=min(40, max(5, len(times) // 5)), color="#546e7a")
    ax.set_xlabel("seconds")
    ax.set_ylabel("commands")
    return _svg(figure)


def busy(data: ReportData) -> str:
    """Seconds of commands per worker."""
    busy_for: dict[tuple[str, int], float] = {w: 0.0 for w in data.workers()}
    for s in data.finished:
        busy_for[(s.node, s.worker)] += (s.ended or 0.0) - (s.started or 0.0)
    figure = _figure(5.5, max(2.0, 0.3 * len(busy_for) + 1))
    ax = figure.add_subplot()
    labels = [f"{node} s{worker}" for node, worker in busy_for]
    ax.barh(labels, list(busy_for.values()), color="#00796b")
    ax.invert_yaxis()
    ax.set_xlabel("seconds busy")
    return _svg(figure)


def progress(data: ReportData) -> str:
    """Commands ended over time."""
    ends = sorted(s.ended or 0.0 for s in data.finished)
    origin = min((s.started or 0.0 for s in data.finished), default=0.0)
    figure = _figure(5.5, 3)
    ax = figure.add_subplot()
    ax.step([e - origin for e in ends], range(1, len(ends) + 1), where="post", color="#3949ab")
    ax.set_xlabel("seconds since the first command started")
    ax.set_ylabel("commands ended")
    return _svg(figure)
