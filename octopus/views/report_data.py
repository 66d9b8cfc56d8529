"""What `inv report` shows, gathered from the local records only (no node is asked): every
command's row from the ledger, its grid parameters from the manifest, the logs pickup brought
home, and the deliveries' facts. The HTML (report_html.py), the plots (report_plots.py) and
the joblog (joblog.py) are made from this."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octopus import __version__
from octopus.errors import ConfigError
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import ExperimentPaths
from octopus.run.ledger import Ledger
from octopus.stages.command_logs import home_log

# Lines of a failed command's stderr, and of its stdout, the report shows.
LOG_TAIL = 20


@dataclass
class ReportData:
    name: str
    statuses: list[CommandStatus]
    params: dict[int, dict[str, Any]]  # id -> its grid parameters
    record: Deliveries
    log_dir: Path
    where: dict[str, str] = field(default_factory=dict)
    version: str = __version__

    @property
    def finished(self) -> list[CommandStatus]:
        """The commands with both times, in start order (the timeline's bars)."""
        timed = [s for s in self.statuses if s.started is not None and s.ended is not None]
        return sorted(timed, key=lambda s: (s.started or 0.0, s.id))

    @property
    def troubled(self) -> list[CommandStatus]:
        states = (CommandState.FAILED, CommandState.LOST)
        return [s for s in self.statuses if s.state in states]

    def counts(self) -> dict[str, int]:
        counts = {str(state): 0 for state in CommandState}
        for status in self.statuses:
            counts[str(status.state)] += 1
        return counts

    def log_tail(self, status: CommandStatus) -> list[tuple[str, list[str]]] | None:
        """The last lines of the command's stderr, then of its stdout, as pickup brought them
        home, each under its label, an empty one left out ([]: it printed nothing; None: not
        home). stderr first: that is where a failure's traceback is. A delivery made before
        the two were kept apart has one log of both, labelled "output"."""
        home = home_log(self.log_dir / status.node, status.id, LOG_TAIL)
        if home is None:
            return None
        label = "output" if home.combined else "stdout"
        streams = (("stderr", home.stderr), (label, home.stdout))
        return [(name, lines) for name, lines in streams if lines]

    def workers(self) -> list[tuple[str, int]]:
        """(node, worker) of every command, in order."""
        return sorted({(s.node, s.worker) for s in self.statuses})


def parse_where(words: list[str]) -> dict[str, str]:
    """`--where model=gat` pairs; ConfigError on a word without `=`."""
    where: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"--where takes name=value (model=gat), not {word!r}", key="where")
        where[key.strip()] = value.strip()
    return where


def gather(paths: ExperimentPaths, name: str, where: dict[str, str]) -> ReportData:
    """The experiment's records as the report needs them; ConfigError before any delivery."""
    if not paths.manifest.is_file():
        raise ConfigError(
            f"nothing is delivered for experiment '{name}' yet: run `inv run --exp={name}` first"
        )
    record = Deliveries.read(paths.manifest)
    ledger = Ledger.load(paths.ledger, record)
    params: dict[int, dict[str, Any]] = {}
    for manifest in record.manifests:
        if not manifest.params:
            continue
        for part in manifest.plan.parts:
            for ident, index in zip(part.ids, part.command_indices, strict=True):
                params[ident] = manifest.params_of(index)
    statuses = ledger.statuses()
    if where:
        known = {key for p in params.values() for key in p}
        unknown = sorted(set(where) - known)
        if unknown:
            raise ConfigError(
                f"--where {unknown[0]}: no command has that parameter "
                f"(the grid has: {', '.join(sorted(known)) or 'none'})",
                key="where",
            )
        statuses = [
            s
            for s in statuses
            if all(str(params.get(s.id, {}).get(k)) == v for k, v in where.items())
        ]
    return ReportData(name, statuses, params, record, paths.log_dir, where)
