"""`inv pickup` brings every command's log home first: a node's logs of the delivery it holds
go to deliverables/<exp>/logs/<node>/<id>.log, beside the stage logs, before the experiment's
own pickup steps run. Like every pickup download it never overwrites a newer local file, and
never deletes one."""

from __future__ import annotations

from typing import Any

from octopus.localfiles import make_folder
from octopus.run.deliveries import Deliveries
from octopus.run.layout import LOGS_DIR, ExperimentPaths
from octopus.steps.base import Step
from octopus.steps.context import StepContext
from octopus.steps.files import Rsync


class BringCommandLogs(Step):
    """rsync of the node's command logs (logs/*.log of its delivery) into its local folder."""

    label = "bring command logs home"

    def __init__(self, record: Deliveries, paths: ExperimentPaths) -> None:
        super().__init__()
        self.record = record
        self.paths = paths

    def applies_to(self, node: Any) -> bool:
        return self.record.holds(node.name or "")

    def _rsync(self, ctx: StepContext) -> Rsync:
        source = f"{self.record.of(ctx.name).run_dir}/{LOGS_DIR}/"
        return Rsync(source, f"{self.paths.log_dir / ctx.name}/", include=["*.log"])

    def describe(self, ctx: StepContext) -> list[str]:
        return self._rsync(ctx).describe(ctx)

    def execute(self, ctx: StepContext) -> None:
        make_folder(self.paths.log_dir / ctx.name)
        self._rsync(ctx).execute(ctx)
