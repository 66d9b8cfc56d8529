"""`inv deliver`: write one script per worker plus a manifest, then send each node its part.

Nothing changes on any node while one of them still runs this experiment's workers (unless
forced), and a node's new scripts replace the old ones as a whole: they go to a new
directory that becomes `current` with one rename.
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octopus.errors import OctopusError
from octopus.gitrepo import commit_info, local_repo_root
from octopus.launchers import launcher_for
from octopus.manifest import MANIFEST, Manifest, new_delivery_id
from octopus.node import Node
from octopus.paths import ExperimentPaths, safe_name
from octopus.scripts import WorkerPlan, build_plan, render_script
from octopus.shell import quote_path
from octopus.steps.base import LocalStep, Step, StepContext

if TYPE_CHECKING:
    from octopus.engine import StageReport
    from octopus.experiment import Experiment
    from octopus.output import StageOutput


def script_name(job_id: int, suffix: str = "") -> str:
    return f"run_exp_s{job_id}{suffix}.sh"


def plan_delivery(experiment: Experiment, nodes: list[Node]) -> Manifest:
    """The manifest of a new delivery to these nodes (pure apart from reading git)."""
    plan = build_plan(
        experiment.experiment_commands,
        experiment.experiment_prefix,
        nodes,
        exp_script_gen=experiment.exp_script_gen,
        shuffle_seed=experiment.shuffle_seed,
        per_node=experiment.screens_per_node,
        offset=experiment.screen_or_job_id_offset,
        slurm={
            "cpus": experiment.slurm_num_cpus_per_job,
            "parallel": experiment.slurm_num_parallel_tasks_per_job,
            "gpus": experiment.slurm_num_gpus_per_job,
        },
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
            "parallel": experiment.slurm_num_parallel_tasks_per_job,
            "cpus": experiment.slurm_num_cpus_per_job,
            "gpus": experiment.slurm_num_gpus_per_job,
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


def worker_script(manifest: Manifest, part: WorkerPlan) -> str:
    node = part.worker.node
    return render_script(
        part,
        manifest.plan.prefix,
        experiment=manifest.experiment,
        run_dir=manifest.run_dir,
        delivery=manifest.delivery,
        stop_on_error=manifest.stop_on_error,
        slurm=manifest.slurm_job(node),
        job_name=ExperimentPaths(manifest.experiment).worker_session(part.worker.job_id),
    )


def write_deliverables(manifest: Manifest, folder: Path) -> None:
    """<folder>/<node>/run_exp_s<i>.sh with the node's manifest, and the whole manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in manifest.plan.parts:
        node_dir = folder / safe_name(part.worker.node)
        node_dir.mkdir(exist_ok=True)
        path = node_dir / script_name(part.worker.job_id)
        path.write_text(worker_script(manifest, part), newline="\n")
        path.chmod(0o755)
    data = manifest.as_dict()  # once: a node's manifest is its share of the whole one
    for node, text in _node_manifests(data).items():
        (folder / safe_name(node) / "DELIVERY").write_text(manifest.delivery + "\n")
        (folder / safe_name(node) / MANIFEST).write_text(text)
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


def _node_manifests(data: dict[str, Any]) -> dict[str, str]:
    """Each node's manifest (its workers, commands and launcher), in one pass over the plan."""
    plan = data["plan"]
    shares: dict[str, dict[str, list[Any]]] = {}
    for worker in plan["workers"]:
        shares.setdefault(worker["node"], {"workers": [], "commands": []})["workers"].append(worker)
    for command in plan["commands"]:
        shares[command["node"]]["commands"].append(command)
    return {
        node: json.dumps(
            {**data, "launchers": {node: data["launchers"][node]}, "plan": {**plan, **share}},
            indent=1,
        )
        for node, share in shares.items()
    }


def tar_folder(folder: Path, names: list[str] | None = None) -> bytes:
    """A gzipped tar of the folder's entries (or just `names` in it), in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if names is None or path.name in names:
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


def send_files(
    ctx: StepContext, folder: Path, remote_dir: str, names: list[str] | None = None
) -> None:
    """Copy the folder's files into remote_dir (relative to home) as one archive over the
    stage's own connection: one transfer, whatever the number of files."""
    remote = quote_path(remote_dir)
    archive = f".upload-{secrets.token_hex(4)}.tar.gz"
    ctx.run(f'mkdir -p "$HOME"/{remote}', show=False)
    with tempfile.NamedTemporaryFile(suffix=".tar.gz") as tmp:
        tmp.write(tar_folder(folder, names))
        tmp.flush()
        ctx.connection().put(tmp.name, f"{remote_dir}/{archive}")
    ctx.run(f'cd "$HOME"/{remote} && tar -xzf {archive} && rm -f {archive}', show=False)


class _FindRunningWorkers(Step):
    """Looks for this experiment's workers still alive on the node (any delivery)."""

    label = "check for running workers"

    def __init__(self, manifest: Manifest, found: dict[str, str], force: bool) -> None:
        super().__init__()
        self.manifest = manifest
        self.found = found
        self.force = force

    def describe(self, ctx: StepContext) -> list[str]:
        prefix = ctx.experiment.paths.session_prefix
        return [
            f"look for running workers of this experiment ({prefix}* sessions or jobs, "
            f"processes under ~/{self.manifest.run_root})"
            + ("; stop them (--force)" if self.force else "")
        ]

    def execute(self, ctx: StepContext) -> None:
        from octopus.workers import running_workers, stop_workers

        running = running_workers(ctx, self.manifest.run_root)
        if running and self.force:
            ctx.say(f"--force: stopping {running}")
            stop_workers(ctx, self.manifest.run_root)
        elif running:
            self.found[ctx.name] = running


class _RefuseIfRunning(LocalStep):
    label = "go ahead only if no node runs workers"

    def __init__(self, found: dict[str, str]) -> None:
        super().__init__()
        self.found = found

    def run(self) -> None:
        if self.found:
            busy = "; ".join(f"{node}: {what}" for node, what in sorted(self.found.items()))
            raise OctopusError(
                f"workers of this experiment are still running ({busy}); "
                "nothing was delivered. Purge them, wait, or use --force"
            )


class _UploadDelivery(Step):
    """Sends the node's folder as one archive over the stage's connection and switches to it."""

    label = "upload scripts"

    def __init__(self, manifest: Manifest, folder: Path) -> None:
        super().__init__()
        self.manifest = manifest
        self.folder = folder

    def describe(self, ctx: StepContext) -> list[str]:
        return [
            f"upload {self.folder / safe_name(ctx.name)}/ -> ~/{self.manifest.run_dir}/, "
            "then point current at it"
        ]

    def execute(self, ctx: StepContext) -> None:
        send_files(ctx, self.folder / safe_name(ctx.name), self.manifest.run_dir)
        run_root = quote_path(self.manifest.run_root)
        delivery = quote_path(self.manifest.delivery)
        # One rename makes the new delivery current; the old one is never half replaced.
        ctx.run(
            f'cd "$HOME"/{run_root} && ln -sfn deliveries/{delivery} current.new && '
            "{ mv -Tf current.new current 2>/dev/null || "
            "{ rm -f current && mv current.new current; }; }",
            show=False,
        )
        workers = [p for p in self.manifest.plan.parts if p.worker.node == ctx.name]
        ctx.say(
            f"delivered {len(workers)} worker script(s), "
            f"{sum(len(p.ids) for p in workers)} command(s)"
        )


def deliver(
    experiment: Experiment,
    nodes: list[Node],
    *,
    output: StageOutput,
    parallel: int | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> tuple[Manifest, StageReport]:
    """Plan, write the deliverables and upload them; returns the manifest and per-node report."""
    from octopus.engine import run_stage

    for node in nodes:
        launcher_for(experiment.launcher_of(node), experiment.paths)  # fails early if unknown
    manifest = plan_delivery(experiment, nodes)
    root = experiment.paths.deliverables
    if dry_run:
        staging = root / f".delivery-{manifest.delivery}"  # named only, never written
    else:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".delivery-", dir=root))
    try:
        if dry_run:
            for part in manifest.plan.parts:
                output.line(
                    part.worker.node,
                    f"would write {script_name(part.worker.job_id)}: {len(part.ids)} command(s)",
                )
        else:
            write_deliverables(manifest, staging)
        found: dict[str, str] = {}
        steps: list[Step | LocalStep] = [
            _FindRunningWorkers(manifest, found, force),
            _RefuseIfRunning(found),
            _UploadDelivery(manifest, staging),
        ]
        report = run_stage(
            "deliver",
            steps,
            nodes,
            experiment=experiment,
            output=output,
            parallel=parallel,
            dry_run=dry_run,
        )
        if not dry_run and not report.local_failures:
            commit_deliverables(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest, report
