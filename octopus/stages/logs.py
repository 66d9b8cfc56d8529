"""`inv logs`: the output of some commands, read from their nodes, each under a header.

Which commands: the ids given, else those the ledger has as failed or lost (as of the last
monitor). Each node is asked once, for all of its commands' logs; `--tail N` keeps the last N
lines of each. What a node prints is shown as plain characters (no terminal escapes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from octopus.errors import ConfigError
from octopus.node import Node
from octopus.output import StageOutput, visible
from octopus.remote.shell import quote_path
from octopus.results import StageReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import LOGS_DIR, MARK, command_log_name
from octopus.run.ledger import Ledger
from octopus.stages.engine import Fanout
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed

if TYPE_CHECKING:
    from octopus.experiment import Experiment


# Logs `inv logs` shows when no id is named (the failed and lost commands can be thousands).
DEFAULT_SHOWN = 100


class ReadLogs(Step):
    """Prints the node's logs of these commands, each after a marker line."""

    label = "read command logs"

    def __init__(self, record: Deliveries, ids: dict[str, list[int]], tail: int) -> None:
        super().__init__()
        self.record = record
        self.ids = ids
        self.tail = tail

    def applies_to(self, node: Node) -> bool:
        return bool(self.ids.get(node.name or ""))

    def command(self, node: str) -> str:
        """One loop over the node's ids (a few bytes each): each log after a marker line that
        starts on a line of its own, whether or not the log ended with a newline."""
        logs = f'"$HOME"/{quote_path(self.record.of(node).run_dir)}/{LOGS_DIR}'
        read = f"tail -n {self.tail}" if self.tail else "cat"
        ids = " ".join(str(i) for i in self.ids[node])
        log = command_log_name('"$i"')
        return (
            f"for i in {ids}; do printf '\\n{MARK} log %s\\n' \"$i\"; "
            f"{read} {logs}/{log} 2>/dev/null || "
            f"printf '\\n{MARK} missing %s\\n' \"$i\"; "
            "done; true"
        )

    def describe(self, ctx: StepContext) -> list[str]:
        return [self.command(ctx.name)]

    def execute(self, ctx: StepContext) -> dict[int, str | None]:
        result = ctx.quick(self.command(ctx.name), timeout=120)
        if not result.ok:
            raise StepFailed.of(result, "reading the logs")
        return parse_logs(result.stdout)


def parse_logs(output: str) -> dict[int, str | None]:
    """id -> its log's text (None: no log on the node), from ReadLogs' output: each marker
    line is preceded by a newline of the command's own, taken off the text before it."""
    found: dict[int, str | None] = {}
    current: int | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None and found.get(current) is not None:
            text = "".join(lines)
            found[current] = text[:-1] if text.endswith("\n") else text

    for line in output.splitlines(keepends=True):
        words = line.split()
        if len(words) == 3 and words[0] == MARK and words[2].isdigit():
            if words[1] == "log":
                close()
                current, lines = int(words[2]), []
                found[current] = ""
                continue
            if words[1] == "missing":
                close()
                current, lines = None, []
                found[int(words[2])] = None
                continue
        lines.append(line)
    close()
    return found


def chosen_commands(
    ledger: Ledger, ids: list[int], failed: bool, node: str | None
) -> list[CommandStatus]:
    """The commands whose logs are asked for: these ids, and the failed and lost ones with
    `failed` (or when no id is given)."""
    known = ledger.known(ids) if ids else {}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(
            f"no command #{unknown[0]} in this experiment: `inv monitor` lists them", key="id"
        )
    chosen = {i: known[i] for i in ids}
    if failed or not ids:
        troubled = ledger.overview().in_state(CommandState.FAILED, CommandState.LOST)
        chosen.update((s.id, s) for s in troubled)
    return [s for s in chosen.values() if node is None or s.node == node]


def show_logs(
    experiment: Experiment,
    nodes: list[Node],
    output: StageOutput,
    *,
    ids: list[int],
    failed: bool = False,
    node: str | None = None,
    tail: int = 0,
    dry_run: bool = False,
) -> StageReport:
    """Print the chosen commands' logs; the stage's report (a node that could not be read)."""
    paths = experiment.paths
    if not paths.manifest.is_file():
        raise ConfigError(
            f"nothing is delivered for experiment '{experiment.name}' yet: no logs to show"
        )
    record = Deliveries.read(paths.manifest)
    ledger = Ledger.load(paths.ledger, record)
    chosen = chosen_commands(ledger, ids, failed, node)
    if not chosen:
        output.note("no failed or lost commands (as of the last `inv monitor`)")
    if not ids and len(chosen) > DEFAULT_SHOWN:
        output.note(
            f"the first {DEFAULT_SHOWN} of {len(chosen):,} failed or lost commands; "
            "name others with --id"
        )
        chosen = chosen[:DEFAULT_SHOWN]
    by_node: dict[str, list[int]] = {}
    for status in chosen:
        by_node.setdefault(status.node, []).append(status.id)
    reached = [n for n in nodes if n.name in by_node]
    shown = output if dry_run else StageOutput(quiet=True)
    with Fanout("logs", reached, experiment=experiment, output=shown, dry_run=dry_run) as fan:
        fan.remote([ReadLogs(record, by_node, tail)])
    report = fan.report()
    if dry_run:
        return report
    trouble = {r.node: r.message for r in report.results if not r.ok}
    texts = fan.data()
    for status in chosen:
        state = f"exit {status.exit_code}" if status.exit_code is not None else str(status.state)
        output.note(f"==> {status.node} #{status.id} ({state}): {status.command} <==")
        logs = texts.get(status.node)
        text = logs.get(status.id) if isinstance(logs, dict) else None
        if status.node in trouble:
            output.note(f"(not read: {status.node}: {trouble[status.node]})")
        elif text is None:
            output.note("(no log on the node)")
        else:
            for line in text.splitlines():
                output.note(visible(line))
    return report
