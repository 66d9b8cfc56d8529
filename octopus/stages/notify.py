"""Sending the notices a monitor made due, each once per delivery and target, however often
cron runs monitor: deliverables/<exp>/notified.json records what each target took, under the
records lock, so two monitors at once never both send. A target that did not take a notice
is tried again at the next monitor; the others are not sent it twice."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octopus.localfiles import compact_json, local_file_errors, write_atomically
from octopus.notify.notices import ENDED, FIRST_FAILURE, due, notice_of
from octopus.notify.send import NotSent, send
from octopus.notify.targets import Target, Targets, targets_of
from octopus.output import StageOutput
from octopus.results import MonitorReport
from octopus.run.lock import holding_records
from octopus.views.summary import results_of

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def targets_for(experiment: Experiment, words: list[str] | tuple[str, ...]) -> Targets:
    """The experiment's `notify:` targets and the task's --notify ones."""
    return targets_of(experiment.notify).with_words(list(words))


def notify_if_due(
    experiment: Experiment,
    report: MonitorReport,
    targets: Targets,
    output: StageOutput,
    only: tuple[str, ...] | None = None,
) -> list[str]:
    """Send what this look made due (of `only`, when given) and no target took yet; the
    lines said about it."""
    if not targets or report.offline:
        return []
    events = [event for event in due(report) if only is None or event in only]
    if not events:
        return []
    if not _whole(report):  # a notice speaks of the whole experiment
        left_out = sorted(set(report.record.by_node) - set(report.nodes or ()))
        line = f"notify: nothing sent: this look left out {', '.join(left_out)}"
        if only is None:  # said by monitor and at the end of a run, not at every poll
            output.note(line)
        return [line]
    said: list[str] = []
    paths = experiment.paths
    with holding_records(paths):
        record = _read(paths.notified, report.deliveries)
        if record is None:
            output.note(
                f"notify: {paths.notified} is damaged: nothing sent; remove it to send again"
            )
            return [f"{paths.notified} is damaged"]
        sent: dict[str, list[str]] = record["sent"]
        if ENDED in events and FIRST_FAILURE not in sent:
            sent[FIRST_FAILURE] = [_key(t) for t in targets]  # the end says it all
        for event in events:
            waiting = [t for t in targets if _key(t) not in sent.get(event, [])]
            if not waiting:
                continue
            notice = notice_of(event, experiment.name, report, results_of(experiment))
            what = event.replace("_", " ")
            for target in waiting:
                try:
                    send(target, notice)
                except NotSent as exc:
                    said.append(f"notify: {what} not sent: {exc}; the next monitor tries again")
                    continue
                sent.setdefault(event, []).append(_key(target))
                said.append(f"notify: {what} sent ({target})")
                _write(paths.notified, record)  # at once: a Ctrl-C next never sends it twice
        _write(paths.notified, record)
    for line in said:
        output.note(line)
    return said


def _write(path: Path, record: dict[str, Any]) -> None:
    with local_file_errors(path):
        write_atomically(path, compact_json(record))


def _whole(report: MonitorReport) -> bool:
    """Whether the look covered every node of the record (a --nodes look does not end it)."""
    return report.nodes is None or set(report.nodes) >= set(report.record.by_node)


def _key(target: Target) -> str:
    """A target's name in the file (a digest: a webhook's URL may hold its token)."""
    return hashlib.sha256(repr(target).encode()).hexdigest()[:16]


def _read(path: Path, deliveries: dict[str, str]) -> dict[str, Any] | None:
    """What was sent about these deliveries (nothing, for others or no file); None when the
    file cannot be read: sending again could send twice."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        data = None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("deliveries") != deliveries:
        data = {"deliveries": deliveries, "sent": {}}
    data["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return data
