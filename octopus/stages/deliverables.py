"""The local side of a delivery: the plan and manifest, the scripts written under
deliverables/<exp>/ in a staging folder, and the commit that replaces the nodes' folders."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.errors import ConfigError
from octopus.forked import Beside
from octopus.gitrepo import commit_info, local_repo_root
from octopus.launchers.registry import node_queue_file, worker_script
from octopus.localfiles import local_file_errors, make_folder, write_file
from octopus.node import Node
from octopus.run.command_keys import command_keys
from octopus.run.events import CommandStatus
from octopus.run.layout import (
    DELIVERY_ID_FILE,
    MANIFEST,
    QUEUE_FILE,
    events_file,
    script_name,
)
from octopus.run.manifest import Manifest, new_delivery_id
from octopus.run.plan import build_plan
from octopus.run.plan_model import encoded_parts
from octopus.run.rerun import Earlier, add_kept, chosen_indices, kept_events, number
from octopus.run.schedule import QUEUE
from octopus.run.worker_script import run_lines

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def require_commands(experiment: Experiment, task: str) -> None:
    """Deliver and run plan the experiment's commands, so an experiment without any is bad
    input there (exit 2), not an empty delivery that "finishes" at once. The other stages
    run steps only: `Experiment(...)` without commands stays valid for them, as it was."""
    if experiment.experiment_commands:
        return
    raise ConfigError(
        f"{task}: experiment '{experiment.name}' has no commands (experiment_commands is "
        "empty or missing): list the commands to run under experiment_commands; setup, "
        "purge and the other stages of steps run without them",
        file=experiment.source,
    )


def plan_delivery(
    experiment: Experiment,
    nodes: list[Node],
    earlier: Earlier | None = None,
    *,
    keep_done: bool = False,
) -> tuple[Manifest, dict[int, CommandStatus]]:
    """The manifest of a new delivery to these nodes (pure apart from reading git), and the
    commands it keeps from `earlier` deliveries (`keep_done`: those that succeeded there),
    by id, with their earlier statuses. A command keeps its earlier id while its text stays
    the same; a new one gets an id no command of the record had."""
    earlier = earlier or Earlier()
    commands = experiment.experiment_commands
    # Keys only when an earlier delivery has ids to give (a first delivery computes none).
    keys = command_keys(commands, hashed=earlier.hashed) if earlier.ids else []
    chosen, kept = chosen_indices(keys, earlier) if keep_done and keys else ([], {})
    slurm = {
        "parallel": experiment.slurm_num_parallel_tasks_per_job,
        "cpus": experiment.slurm_num_cpus_per_job,
        "gpus": experiment.slurm_num_gpus_per_job,
    }
    plan = build_plan(
        [commands[i] for i in chosen] if kept else commands,
        experiment.experiment_prefix,
        nodes,
        exp_script_gen=experiment.exp_script_gen,
        shuffle_seed=experiment.shuffle_seed,
        per_node=experiment.screens_per_node,
        offset=experiment.screen_or_job_id_offset,
        slurm=slurm,
        schedule=experiment.schedule or "fixed",
    )
    plan.sources = list(commands)
    if kept:  # kept commands come back with the texts they ran with: placeholders filled
        plan.holds_sources = plan.holds_sources and not any("[" in commands[i] for i in kept)
    number(plan, chosen if kept else None, earlier, keys)
    statuses = add_kept(plan, kept)
    manifest = Manifest(
        experiment=experiment.name,
        delivery=new_delivery_id(),
        plan=plan,
        launchers={n.name or "?": experiment.launcher_of(n) for n in nodes},
        run_root=experiment.paths.remote_run_dir,
        scope=experiment.paths.scope_id,
        stop_on_error=experiment.stop_on_error,
        command_timeout=experiment.command_timeout,
        command_retries=experiment.command_retries,
        live_output=experiment.live_output,
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
    manifest.hardware = {
        node.name or "?": node.found_hardware.as_dict()
        for node in nodes
        if node.needs_hardware and node.found_hardware is not None
    }
    starts = [s.started for s in statuses.values() if s.started is not None]
    manifest.kept, manifest.kept_since = len(statuses), min(starts, default=None)
    return manifest, statuses


def write_deliverables(
    manifest: Manifest, folder: Path, kept: dict[int, CommandStatus] | None = None
) -> list[str]:
    """<folder>/<node>/run_exp_s<i>.sh with the node's manifest; a worker with commands
    `kept` from an earlier delivery (their statuses) starts with their events, and its script
    runs the others. Returns the workers' commands as JSON (`encoded_parts`), which the
    record's plans folder takes as they are. A large delivery's scripts are written by a
    forked child while this process encodes the manifests (forked.py)."""
    make_folder(folder)
    parts = manifest.plan.parts
    nodes = list(dict.fromkeys(part.worker.node for part in parts))
    for node in nodes:
        make_folder(folder / node)
    size = sum(len(part.ids) for part in parts)
    # The child takes the first nodes' scripts up to CHILD_SHARE of the commands, this
    # process the other nodes' and the manifests: the two shares then take about as long.
    theirs: set[str] = set()
    counted = 0
    for part in parts:
        if counted < size * CHILD_SHARE or part.worker.node in theirs:
            theirs.add(part.worker.node)
            counted += len(part.ids)
    child_share = functools.partial(_write_scripts, manifest, folder, kept, theirs)
    with Beside(child_share, worth_it=size >= FORK_MIN_COMMANDS) as child:
        _write_scripts(manifest, folder, kept, set(nodes) - theirs)
        encoded = encoded_parts(manifest.plan)  # once: a node's manifest is its share of them
        for node, text in manifest.node_shares(encoded).items():
            write_file(folder / node / DELIVERY_ID_FILE, manifest.delivery + "\n")
            write_file(folder / node / MANIFEST, text)
        child.wait()
    return encoded


# From how many commands a delivery's files are written by a child and this process at once:
# at a million, on two cores, that takes 1.1 s where one process took 2.1 s; below, the fork
# is not worth its milliseconds.
FORK_MIN_COMMANDS = 100_000
# The child's share of the scripts: writing the scripts of a million commands took 1.6 s,
# encoding and writing the manifests (this process' alone) 0.6 s.
CHILD_SHARE = 0.7


def _write_scripts(
    manifest: Manifest, folder: Path, kept: dict[int, CommandStatus] | None, nodes: set[str]
) -> None:
    """The scripts of these nodes' workers (and the events of what each keeps), and each
    node's queue file."""
    mine = [part for part in manifest.plan.parts if part.worker.node in nodes]
    runnable = [part.runnable() for part in mine]
    lines = [run_lines(runs.ids, runs.commands) for runs in runnable]  # script and queue share
    peers: dict[str, list[int]] = {}  # each node's workers (by place), as its queue file has them
    for place, runs in enumerate(runnable):
        peers.setdefault(runs.worker.node, []).append(place)
    for part, runs, own in zip(mine, runnable, lines, strict=True):
        node_dir = folder / part.worker.node
        script = worker_script(manifest, runs, lines=own)
        write_file(node_dir / script_name(part.worker.job_id), script, executable=True)
        if part.kept and kept:
            events = node_dir / events_file(part.worker.job_id)
            make_folder(events.parent)
            write_file(events, kept_events(part, kept))
    if manifest.schedule == QUEUE:
        for node, places in peers.items():
            text = node_queue_file(
                manifest, node, [runnable[i] for i in places], [lines[i] for i in places]
            )
            write_file(folder / node / QUEUE_FILE, text)


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
