"""The local side of a delivery: the plan and manifest, the scripts written under
deliverables/<exp>/ in a staging folder, and the commit that replaces the nodes' folders."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.gitrepo import commit_info, local_repo_root
from octopus.launchers.registry import worker_script
from octopus.localfiles import local_file_errors, make_folder, write_file
from octopus.node import Node
from octopus.run.layout import DELIVERY_ID_FILE, MANIFEST, script_name
from octopus.run.manifest import Manifest, new_delivery_id
from octopus.run.plan import build_plan

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def plan_delivery(experiment: Experiment, nodes: list[Node], first_id: int = 0) -> Manifest:
    """The manifest of a new delivery to these nodes, its command ids from `first_id` on
    (pure apart from reading git)."""
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
        schedule=experiment.schedule or "fixed",
    )
    plan.start_ids_at(first_id)
    return Manifest(
        experiment=experiment.name,
        delivery=new_delivery_id(),
        plan=plan,
        launchers={n.name or "?": experiment.launcher_of(n) for n in nodes},
        run_root=experiment.paths.remote_run_dir,
        scope=experiment.paths.scope_id,
        stop_on_error=experiment.stop_on_error,
        command_timeout=experiment.command_timeout,
        command_retries=experiment.command_retries,
        schedule=experiment.schedule or "fixed",
        params=experiment.command_params,
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
    """<folder>/<node>/run_exp_s<i>.sh with the node's manifest."""
    make_folder(folder)
    for part in manifest.plan.parts:
        node_dir = folder / part.worker.node
        make_folder(node_dir)
        script = worker_script(manifest, part)
        write_file(node_dir / script_name(part.worker.job_id), script, executable=True)
    data = manifest.as_dict()  # once: a node's manifest is its share of the whole one
    for node, text in Manifest.node_shares(data).items():
        write_file(folder / node / DELIVERY_ID_FILE, manifest.delivery + "\n")
        write_file(folder / node / MANIFEST, text)


def commit_deliverables(staging: Path, root: Path, nodes: list[str]) -> None:
    """Replace the folders of the nodes that took the delivery, then the record of every
    node's delivery (written to the staging folder); the other nodes' folders keep their
    previous delivery, as the nodes themselves do."""
    with local_file_errors(root):
        for name in nodes:
            final = root / name
            if final.exists():
                shutil.rmtree(final)
            (staging / name).rename(final)
        (staging / MANIFEST).replace(root / MANIFEST)
    shutil.rmtree(staging, ignore_errors=True)


STAGING_PREFIX = ".delivery-"


def staging_folder(root: Path) -> Path:
    """A new folder for a delivery being written, named with this process' id, after removing
    those that deliveries killed midway left behind."""
    for old in root.glob(f"{STAGING_PREFIX}*"):
        pid = old.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    with local_file_errors(root):
        return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=root))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
