"""`inv deliver`: write one script per worker plus a manifest, then send each node its part.

Nothing changes on any node while one of them still runs this experiment's workers (unless
forced), and a node's new scripts replace the old ones as a whole: they go to a new
directory that becomes `current` with one rename.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.gitrepo import commit_info, local_repo_root
from octopus.launchers.registry import launcher_for, worker_script
from octopus.node import Node
from octopus.output import StageOutput
from octopus.remote.archive import send_files
from octopus.remote.shell import quote_path
from octopus.results import StageReport
from octopus.run.layout import DELIVERY_ID_FILE, MANIFEST, script_name
from octopus.run.manifest import Manifest, new_delivery_id
from octopus.run.plan import build_plan
from octopus.stages.engine import Fanout
from octopus.stages.options import StageOptions
from octopus.stages.worker_control import FindRunningWorkers
from octopus.steps.base import Step
from octopus.steps.context import StepContext

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def plan_delivery(experiment: Experiment, nodes: list[Node]) -> Manifest:
    """The manifest of a new delivery to these nodes (pure apart from reading git)."""
    slurm = {
        "parallel": experiment.slurm_num_parallel_tasks_per_job,
        "cpus": experiment.slurm_num_cpus_per_job,
        "gpus": experiment.slurm_num_gpus_per_job,
    }
    plan = build_plan(
        experiment.experiment_commands,
        experiment.experiment_prefix,
        nodes,
        exp_script_gen=experiment.exp_script_gen,
        shuffle_seed=experiment.shuffle_seed,
        per_node=experiment.screens_per_node,
        offset=experiment.screen_or_job_id_offset,
        slurm=slurm,
    )
    return Manifest(
        experiment=experiment.name,
        delivery=new_delivery_id(),
        plan=plan,
        launchers={n.name or "?": experiment.launcher_of(n) for n in nodes},
        run_root=experiment.paths.remote_run_dir,
        stop_on_error=experiment.stop_on_error,
        git=commit_info(local_repo_root()),
        slurm={
            **slurm,
            "options": dict(experiment.slurm_options),
            "node_options": {n.name: dict(n.slurm_options) for n in nodes if n.slurm_options},
        },
        run_exp={
            "message": experiment.run_exp_message,
            "numa_socket": experiment.use_run_exp_numa_socket,
            "exclusive": experiment.use_run_exp_exclusive,
            "pin": experiment.use_run_exp_pin,
            "expected_time": experiment.run_exp_expected_time,
        },
    )


def write_deliverables(manifest: Manifest, folder: Path) -> None:
    """<folder>/<node>/run_exp_s<i>.sh with the node's manifest, and the whole manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in manifest.plan.parts:
        node_dir = folder / part.worker.node
        node_dir.mkdir(exist_ok=True)
        path = node_dir / script_name(part.worker.job_id)
        path.write_text(worker_script(manifest, part), newline="\n")
        path.chmod(0o755)
    data = manifest.as_dict()  # once: a node's manifest is its share of the whole one
    for node, text in Manifest.node_shares(data).items():
        (folder / node / DELIVERY_ID_FILE).write_text(manifest.delivery + "\n")
        (folder / node / MANIFEST).write_text(text)
    manifest.write(folder / MANIFEST, data)


def commit_deliverables(staging: Path, root: Path) -> None:
    """Replace each node's folder whole, then the manifest, with the staged ones."""
    for node_dir in sorted(p for p in staging.iterdir() if p.is_dir()):
        final = root / node_dir.name
        if final.exists():
            shutil.rmtree(final)
        node_dir.rename(final)
    (staging / MANIFEST).replace(root / MANIFEST)
    shutil.rmtree(staging, ignore_errors=True)


class _UploadDelivery(Step):
    """Sends the node's folder as one archive over the stage's connection and switches to it."""

    label = "upload scripts"

    def __init__(self, manifest: Manifest, folder: Path) -> None:
        super().__init__()
        self.manifest = manifest
        self.folder = folder

    def describe(self, ctx: StepContext) -> list[str]:
        return [
            f"upload {self.folder / ctx.name}/ -> ~/{self.manifest.run_dir}/, "
            "then point current at it"
        ]

    def execute(self, ctx: StepContext) -> None:
        send_files(
            ctx.connection(),
            self.folder / ctx.name,
            self.manifest.run_dir,
            None,
            ctx.timeout,
        )
        run_root = quote_path(self.manifest.run_root)
        delivery = quote_path(self.manifest.delivery)
        # One rename makes the new delivery current; the old one is never half replaced.
        ctx.run(
            f'cd "$HOME"/{run_root} && ln -sfn deliveries/{delivery} current.new && '
            "{ mv -Tf current.new current 2>/dev/null || "
            "{ rm -f current && mv current.new current; }; }",
            show=False,
        )
        workers = self.manifest.workers_on(ctx.name)
        ctx.say(
            f"delivered {len(workers)} worker script(s), "
            f"{sum(len(p.ids) for p in workers)} command(s)"
        )


def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> StageReport:
    """Plan, write the deliverables and upload them; the report per node."""
    for node in nodes:
        launcher_for(experiment.launcher_of(node), experiment.paths)  # fails early if unknown
    manifest = plan_delivery(experiment, nodes)
    root = experiment.paths.deliverables
    dry_run = options.dry_run
    if dry_run:
        staging = root / f".delivery-{manifest.delivery}"  # named only, never written
        for part in manifest.plan.parts:
            output.line(
                part.worker.node,
                f"would write {script_name(part.worker.job_id)}: {len(part.ids)} command(s)",
            )
    else:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".delivery-", dir=root))
    output.note(
        f"deliver: {len(manifest.plan.parts)} worker(s) on {len(nodes)} node(s)"
        + (" (dry run: nothing is changed)" if dry_run else "")
    )
    try:
        if not dry_run:
            write_deliverables(manifest, staging)
        with Fanout(
            "deliver",
            nodes,
            experiment=experiment,
            output=output,
            parallel=options.parallel,
            dry_run=dry_run,
        ) as fan:
            fan.remote([FindRunningWorkers(options.force)])
            busy = {node: what for node, what in fan.data().items() if what}
            if busy:
                for name, what in busy.items():
                    fan.refuse(name, f"still running: {what}")
                listing = "; ".join(f"{name}: {what}" for name, what in sorted(busy.items()))
                fan.local_failures.append(
                    f"workers of this experiment are still running ({listing}); "
                    "nothing was delivered. Purge them, wait, or use --force"
                )
            else:
                fan.remote([_UploadDelivery(manifest, staging)], first=1)
        report = fan.report()
        if not dry_run and not report.local_failures:
            commit_deliverables(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report
