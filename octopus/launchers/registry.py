"""The launchers by name, the launcher of a delivery's node, and a worker's script with its
launcher's header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from octopus.errors import OctopusError
from octopus.launchers.base import WorkerLauncher
from octopus.launchers.process import ProcessLauncher
from octopus.launchers.run_exp import RunExpLauncher
from octopus.launchers.screen import ScreenLauncher
from octopus.launchers.slurm import SlurmLauncher
from octopus.run.layout import QUEUE_FILE, ExperimentPaths, start_queue_file
from octopus.run.manifest import Manifest
from octopus.run.plan_model import WorkerPlan
from octopus.run.queue import queue_order
from octopus.run.schedule import QUEUE
from octopus.run.worker_script import queue_file, render_script
from octopus.run.workers import Worker

LAUNCHERS: dict[str, type[WorkerLauncher]] = {
    cls.name: cls for cls in (ScreenLauncher, ProcessLauncher, SlurmLauncher, RunExpLauncher)
}


def launcher_for(
    kind: str, paths: ExperimentPaths, settings: dict[str, Any] | None = None, node: str = ""
) -> WorkerLauncher:
    """The launcher of that kind (`settings`: the manifest's run_exp and Slurm settings)."""
    try:
        cls = LAUNCHERS[str(kind)]
    except KeyError:
        raise OctopusError(f"launcher '{kind}' cannot start workers") from None
    return cls(paths, settings, node)


def launcher_of(manifest: Manifest, node: str) -> WorkerLauncher:
    """The launcher a delivery uses on one of its nodes."""
    return launcher_for(
        manifest.launchers.get(node, "screen"),
        ExperimentPaths(manifest.experiment, scope=manifest.scope),
        manifest.settings,
        node,
    )


def worker_script(
    manifest: Manifest,
    part: WorkerPlan,
    listed: Sequence[Worker] | None = None,
    lines: Sequence[str] | None = None,
    queue_file: str = QUEUE_FILE,
) -> str:
    """The script of one worker of a delivery, with its launcher's header. With the queue
    schedule it may also take the commands of the `listed` workers (default: its node's, as
    the delivery's queue file holds them) once its own are done, from the node's file named
    `queue_file`. `lines`: the part's `run_lines`, when the caller has them already."""
    launcher = launcher_of(manifest, part.worker.node)
    queue = None
    if manifest.schedule == QUEUE:
        queue = queue_order(
            part.worker, manifest.workers_of(part.worker.node) if listed is None else listed
        )
    return render_script(
        part,
        manifest.plan.prefix,
        experiment=manifest.experiment,
        run_dir=manifest.run_dir,
        delivery=manifest.delivery,
        stop_on_error=manifest.stop_on_error,
        header=launcher.script_header(part.worker, len(part.ids)),
        parallel=launcher.parallel,
        timeout=manifest.command_timeout,
        retries=manifest.command_retries,
        live_output=manifest.live_output,
        queue=queue,
        lines=lines,
        queue_file=queue_file,
    )


def node_queue_file(
    manifest: Manifest,
    node: str,
    parts: Sequence[WorkerPlan],
    lines: Sequence[Sequence[str]] | None = None,
) -> str:
    """The node's queue file (layout.QUEUE_FILE) of the queue schedule: its workers' `parts`
    (the commands their scripts run; `lines`, their `run_lines`), batched as its launcher
    runs commands."""
    return queue_file(parts, launcher_of(manifest, node).parallel, lines)


def owed_scripts(
    manifest: Manifest, node: str, owed: Mapping[str, WorkerPlan], moment: datetime
) -> dict[str, str]:
    """The files `inv start` writes for the workers it starts with new scripts (`owed`: script
    name -> the commands that worker owes): their scripts and, with the queue schedule, a
    queue file of their own (named for `moment`) holding just what they owe. The delivery's
    queue file would offer them every unclaimed command of the node, those no option asked
    for (pending on a dead worker, cancelled by a purge) too."""
    files: dict[str, str] = {}
    queue, listed = QUEUE_FILE, None
    if manifest.schedule == QUEUE and owed:
        queue = start_queue_file(moment)
        listed = [part.worker for part in owed.values()]
        files[queue] = node_queue_file(manifest, node, list(owed.values()))
    for script, part in owed.items():
        files[script] = worker_script(manifest, part, listed, queue_file=queue)
    return files
