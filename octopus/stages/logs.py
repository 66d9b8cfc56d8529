"""`inv logs`: the output of some commands, read from their nodes, each under a header.

Which commands: the ids given, else those the ledger has as failed or lost (as of the last
monitor). Each node is asked once, for all of its commands' logs. A command's stdout comes
first, then its stderr (when it wrote any) after a `-- stderr --` line; `--tail N` keeps the
last N lines of each. What a node prints is shown as plain characters (no terminal escapes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octopus.errors import ConfigError
from octopus.node import Node
from octopus.output import StageOutput, visible
from octopus.remote.shell import quote_path
from octopus.results import StageReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import LOGS_DIR, MARK, combined_log_name, command_log_name
from octopus.run.ledger import Ledger
from octopus.stages.command_logs import home_log
from octopus.stages.engine import Fanout
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed

if TYPE_CHECKING:
    from octopus.experiment import Experiment


# Logs `inv logs` shows when no id is named (the failed and lost commands can be thousands).
DEFAULT_SHOWN = 100
# The line between a command's stdout and its stderr.
STDERR_LINE = "-- stderr --"


@dataclass(frozen=True)
class CommandLog:
    """A command's two streams as its node keeps them (stderr "": it wrote none)."""

    stdout: str
    stderr: str = ""


class ReadLogs(Step):
    """Prints the node's logs of these commands: each stream after a marker line."""

    label = "read command logs"

    def __init__(self, record: Deliveries, ids: dict[str, list[int]], tail: int) -> None:
        super().__init__()
        self.record = record
        self.ids = ids
        self.tail = tail

    def applies_to(self, node: Node) -> bool:
        return bool(self.ids.get(node.name or ""))

    def command(self, node: str) -> str:
        """One loop over the node's ids (a few bytes each): each command's stdout, then its
        stderr when it is not empty, each after a marker line that starts on a line of its
        own, whether or not the text before ended with a newline (the last text is followed
        by one newline too). A delivery made before the two were kept apart has one log per
        command: it is read as the stdout."""
        read = f"tail -n {self.tail}" if self.tail else "cat"
        ids = " ".join(str(i) for i in self.ids[node])
        word = '"$i"'
        out = f'"$d"/{command_log_name(word, "out")}'
        err = f'"$d"/{command_log_name(word, "err")}'
        combined = f'"$d"/{combined_log_name(word)}'
        return (
            f'd="$HOME"/{quote_path(self.record.of(node).run_dir)}/{LOGS_DIR}; '
            f'for i in {ids}; do f={out}; [ -e "$f" ] || f={combined}; '
            f"printf '\\n{MARK} out %s\\n' \"$i\"; "
            f'{read} "$f" 2>/dev/null || '
            f"printf '\\n{MARK} missing %s\\n' \"$i\"; "
            f"if [ -s {err} ]; then printf '\\n{MARK} err %s\\n' \"$i\"; "
            f"{read} {err} 2>/dev/null; fi; "
            "done; printf '\\n'"
        )

    def describe(self, ctx: StepContext) -> list[str]:
        return [self.command(ctx.name)]

    def execute(self, ctx: StepContext) -> dict[int, CommandLog | None]:
        result = ctx.quick(self.command(ctx.name), timeout=120)
        if not result.ok:
            raise StepFailed.of(result, "reading the logs")
        return parse_logs(result.stdout)


def parse_logs(output: str) -> dict[int, CommandLog | None]:
    """id -> its stdout and stderr (None: no log on the node), from ReadLogs' output: each
    marker line is preceded by a newline of the command's own, taken off the text before it."""
    texts: dict[tuple[int, str], str] = {}
    missing: set[int] = set()
    order: list[int] = []
    current: tuple[int, str] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            text = "".join(lines)
            texts[current] = text[:-1] if text.endswith("\n") else text

    for line in output.splitlines(keepends=True):
        words = line.split()
        if len(words) == 3 and words[0] == MARK and words[2].isdigit():
            ident = int(words[2])
            if words[1] in ("out", "err", "missing"):
                close()
                current, lines = None, []
                if ident not in order:
                    order.append(ident)
                if words[1] == "missing":
                    missing.add(ident)
                    texts.pop((ident, "out"), None)
                else:
                    current = (ident, words[1])
                continue
        lines.append(line)
    close()
    found: dict[int, CommandLog | None] = {}
    for ident in order:
        stdout, stderr = texts.get((ident, "out")), texts.get((ident, "err"))
        if stdout is None and stderr is None:
            found[ident] = None
        else:
            found[ident] = CommandLog(stdout or "", stderr or "")
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
        log = logs.get(status.id) if isinstance(logs, dict) else None
        if log is None:  # a command kept from an earlier delivery: pickup brought it home
            home = home_log(paths.log_dir / status.node, status.id, tail)
            if home is not None:
                log = CommandLog("\n".join(home.stdout or []), "\n".join(home.stderr or []))
        if log is None and status.node in trouble:
            output.note(f"(not read: {status.node}: {trouble[status.node]})")
        elif log is None:
            output.note("(no log on the node, nor at home)")
        else:
            for line in log.stdout.splitlines():
                output.note(visible(line))
            if log.stderr:
                output.note(STDERR_LINE)
                for line in log.stderr.splitlines():
                    output.note(visible(line))
    return report
