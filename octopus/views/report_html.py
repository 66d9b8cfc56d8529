"""`inv report`: deliverables/<exp>/report/index.html, one self-contained file (styles and
plots inline, nothing fetched) that opens from disk: what failed, where and why at the top,
then the timeline, durations, busy time, progress and the deliveries' facts."""

from __future__ import annotations

import html
import time
from pathlib import Path

from octopus.localfiles import make_folder, write_atomically
from octopus.run.events import CommandStatus
from octopus.views import report_plots
from octopus.views.report_data import ReportData
from octopus.views.summary import duration_text, named

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .25em .6em; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f5f5f5; }
.num { text-align: right; } .failed { color: #c62828; } .lost { color: #ef6c00; }
.done { color: #2e7d32; } pre { background: #f7f7f7; padding: .5em; overflow-x: auto; margin: 0; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } .plots figure { margin: 0; }
code { background: #f2f2f2; padding: 0 .2em; } .note { color: #666; }
.stream { margin: .4em 0 .1em; font-size: .85em; font-weight: 600; color: #555; }
"""

SLOWEST = 10


def write_report(data: ReportData, path: Path) -> None:
    """Write the report's page at `path`."""
    make_folder(path.parent)
    write_atomically(path, render(data))


def render(data: ReportData) -> str:
    counts = data.counts()
    finished = data.finished
    span = (
        (max(s.ended or 0.0 for s in finished) - min(s.started or 0.0 for s in finished))
        if finished
        else 0.0
    )
    troubled = data.troubled
    headline = (
        f"{counts['done']:,} done, {counts['failed']:,} failed"
        + (f" ({named(troubled)})" if troubled else "")
        + f", {counts['lost']:,} lost, {counts['running']:,} running, "
        f"{counts['pending']:,} pending over {duration_text(span)}"
    )
    where = ", ".join(f"{k}={v}" for k, v in data.where.items())
    parts = [
        f"<h1>{_e(data.name)}</h1>",
        f'<p id="headline">{_e(headline)}</p>',
        f'<p class="note">only the commands with {_e(where)}</p>' if where else "",
        "<h2>Failures</h2>",
        _failures(data, troubled),
        "<h2>Timeline</h2>",
        _plots(data),
        "<h2>Slowest commands</h2>",
        _slowest(finished),
        "<h2>Deliveries</h2>",
        _deliveries(data),
        f'<p class="note">made by octopus {_e(data.version)} on '
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(data.name)}: octopus report</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def _e(text: object) -> str:
    return html.escape(str(text))


def _failures(data: ReportData, troubled: list[CommandStatus]) -> str:
    if not troubled:
        return '<p class="done">No command failed or was lost.</p>'
    rows = []
    for s in troubled:
        log = _log_tail(data.log_tail(s))
        params = data.params.get(s.id)
        given = (
            f'<p class="params">{_e(", ".join(f"{k}={v}" for k, v in params.items()))}</p>'
            if params
            else ""
        )
        rows.append(
            f'<tr class="{s.state}"><td>#{s.id}</td><td>{_e(s.node)} s{s.worker}</td>'
            f"<td>{_e(s.state)}</td><td class=num>{_e(s.exit_code)}</td>"
            f"<td><code>{_e(s.command)}</code>{given}{log}"
            f'<p class="note">the whole log: <code>inv logs --exp={_e(data.name)} '
            f"--id {s.id}</code></p></td></tr>"
        )
    return (
        "<table><tr><th>command</th><th>worker</th><th>state</th><th>exit</th>"
        f"<th>what it ran, and the last lines of its stderr and stdout</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _log_tail(streams: list[tuple[str, list[str]]] | None) -> str:
    """A failure's last lines, each stream under its label (stderr first)."""
    if streams is None:
        return '<p class="note">its log is not home yet: <code>inv pickup</code></p>'
    if not streams:
        return '<p class="note">it printed nothing</p>'
    return "".join(
        f'<p class="stream">{_e(label)}</p><pre>{_e(chr(10).join(lines))}</pre>'
        for label, lines in streams
    )


def _plots(data: ReportData) -> str:
    if not data.finished:
        return '<p class="note">No command has ended yet.</p>'
    if not report_plots.available():
        return (
            '<p class="note">The plots need matplotlib: '
            "<code>pip install 'octopus-runner[report]'</code>, then "
            "<code>inv report</code> again.</p>"
        )
    shown = len(data.finished)
    cut = (
        f'<p class="note">the first {report_plots.MAX_BARS:,} of {shown:,} commands</p>'
        if shown > report_plots.MAX_BARS
        else ""
    )
    return (
        f'<div id="timeline">{report_plots.timeline(data)}</div>{cut}<div class="plots">'
        f"<figure><figcaption>Command durations</figcaption>{report_plots.durations(data)}"
        f"</figure><figure><figcaption>Busy time per worker</figcaption>"
        f"{report_plots.busy(data)}</figure><figure><figcaption>Progress</figcaption>"
        f"{report_plots.progress(data)}</figure></div>"
    )


def _slowest(finished: list[CommandStatus]) -> str:
    if not finished:
        return '<p class="note">No command has ended yet.</p>'
    slowest = sorted(finished, key=lambda s: (s.ended or 0.0) - (s.started or 0.0), reverse=True)
    rows = "".join(
        f"<tr><td>#{s.id}</td><td>{_e(s.node)} s{s.worker}</td>"
        f"<td class=num>{(s.ended or 0.0) - (s.started or 0.0):.1f}s</td>"
        f"<td><code>{_e(s.command)}</code></td></tr>"
        for s in slowest[:SLOWEST]
    )
    return f"<table><tr><th>command</th><th>worker</th><th>took</th><th></th></tr>{rows}</table>"


def _deliveries(data: ReportData) -> str:
    rows = []
    for m in data.record.manifests:
        git = m.git or {}
        commit = str(git.get("commit") or "not a git repository")
        stat = str(git.get("diffstat") or "uncommitted changes")
        dirty = f" with {stat}" if git.get("dirty") else ""
        nodes = ", ".join(
            f"{node} ({len(m.workers_of(node))} worker(s), {m.launchers.get(node, '?')})"
            for node in m.nodes
            if data.record.holds(node) and data.record.of(node).delivery == m.delivery
        )
        rows.append(
            f"<tr><td>{_e(m.delivery)}</td><td>{_e(m.created)}</td>"
            f"<td><code>{_e(commit[:12])}</code>{_e(dirty)}</td><td class=num>{m.plan.seed}</td>"
            f"<td>{_e(m.schedule)}</td><td>{_e(nodes)}</td></tr>"
        )
    return (
        "<table><tr><th>delivery</th><th>made</th><th>git commit</th><th>seed</th>"
        f"<th>schedule</th><th>nodes</th></tr>{''.join(rows)}</table>"
    )
