"""`inv pickup` brings every command's logs home first: a node's logs of the delivery it holds
(each command's stdout and stderr, <id>.out and <id>.err) go to deliverables/<exp>/logs/<node>/,
beside the stage logs, before the experiment's own pickup steps run. Like every pickup download
it never overwrites a newer local file, and never deletes one."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octopus.localfiles import make_folder
from octopus.remote.shell import quote_path
from octopus.run.deliveries import Deliveries
from octopus.run.layout import (
    LOGS_DIR,
    STREAMS,
    ExperimentPaths,
    combined_log_name,
    command_log_name,
)
from octopus.steps.base import Step
from octopus.steps.context import StepContext
from octopus.steps.files import Rsync


class BringCommandLogs(Step):
    """rsync of the node's command logs (logs/*.out and logs/*.err of its delivery; a
    delivery made before the two were kept apart has logs/*.log) into its local folder."""

    label = "bring command logs home"

    def __init__(
        self, record: Deliveries, paths: ExperimentPaths, ssh_path: str, local_cmd_prefix: str
    ) -> None:
        # A node whose logs cannot be brought (never started, its folder gone) is said so,
        # and the experiment's own pickup steps run all the same.
        super().__init__(local_cmd_prefix=local_cmd_prefix, ignore_errors=True)
        self.record = record
        self.paths = paths
        self.ssh_path = ssh_path

    def applies_to(self, node: Any) -> bool:
        return self.record.holds(node.name or "")

    def _rsync(self, ctx: StepContext) -> Rsync:
        source = f"{self.record.of(ctx.name).run_dir}/{LOGS_DIR}/"
        return Rsync(
            source,
            f"{self.paths.log_dir / ctx.name}/",
            include=[
                *(command_log_name("*", stream) for stream in STREAMS),
                combined_log_name("*"),
            ],
            ssh_path=self.ssh_path,
            local_cmd_prefix=self.local_cmd_prefix,
        )

    def describe(self, ctx: StepContext) -> list[str]:
        return self._rsync(ctx).describe(ctx)

    def execute(self, ctx: StepContext) -> None:
        logs = f'"$HOME"/{quote_path(self.record.of(ctx.name).run_dir)}/{LOGS_DIR}'
        if not ctx.quick(f"test -d {logs}", warn=True).ok:  # its workers never started
            ctx.say("no command logs on the node yet")
            return
        make_folder(self.paths.log_dir / ctx.name)
        self._rsync(ctx).execute(ctx)


@dataclass(frozen=True)
class HomeLog:
    """A command's logs as pickup brought them home, as lines: its stdout (`combined`: the one
    log of both streams a delivery made before they were kept apart left) and its stderr
    (None: not home)."""

    stdout: list[str] | None
    stderr: list[str] | None
    combined: bool = False


def _lines(path: Path, tail: int) -> list[str] | None:
    """The file's lines, the last `tail` of them (0: all); None: no such file here."""
    try:
        with path.open(encoding="utf-8", errors="replace") as log:
            return [line.rstrip("\n") for line in deque(log, maxlen=tail or None)]
    except OSError:
        return None


def home_log(folder: Path, ident: int, tail: int = 0) -> HomeLog | None:
    """A command's logs in its node's folder at home (None: pickup brought none)."""
    stderr = _lines(folder / command_log_name(ident, "err"), tail)
    stdout = _lines(folder / command_log_name(ident, "out"), tail)
    combined = stdout is None
    if combined:
        stdout = _lines(folder / combined_log_name(ident), tail)
    if stdout is None and stderr is None:
        return None
    return HomeLog(stdout, stderr, combined)
