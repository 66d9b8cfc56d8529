"""`inv deliver`: write one script per worker plus a manifest, then send each node its part.

Nothing changes on any node while one of them still runs this experiment's workers (unless
forced), and a node's new scripts replace the old ones as a whole: they go to a new
directory that becomes `current` with one rename. The steps are in deliver_steps.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.errors import ConfigError
from octopus.hardware import Hardware
from octopus.launchers.registry import launcher_for
from octopus.localfiles import make_folder
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import StageReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandStatus
from octopus.run.layout import MANIFEST, PLANS_DIR, script_name
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.rerun import earlier_runs
from octopus.run.workers import check_gpu_placeholder
from octopus.stages.deliver_steps import Busy, CheckAndUpload, Discard, Switch
from octopus.stages.deliverables import (
    commit_deliverables,
    plan_delivery,
    require_commands,
    staging_folder,
    write_deliverables,
)
from octopus.stages.engine import Fanout
from octopus.stages.facts import CountHardware, learn_recorded
from octopus.stages.options import StageOptions
from octopus.stages.records import changes_records

if TYPE_CHECKING:
    from octopus.experiment import Experiment


def check_replan(
    experiment: Experiment, nodes: list[Node], record: Deliveries, options: StageOptions
) -> list[str]:
    """Delivering plans every command over the chosen nodes. When that would leave out
    nodes of this experiment that hold a delivery, say so and ask for --replan instead of
    dropping them silently; with --replan, returns those nodes (their record is dropped).
    Nodes outside the experiment (another Experiment of the same name) are never touched."""
    chosen = [n.name or "" for n in nodes]
    own = options.all_nodes or chosen
    left_out = [n for n in own if n not in chosen and record.holds(n)]
    if options.replan or not left_out:
        return left_out
    names = ",".join(n.name or "" for n in nodes)
    raise ConfigError(
        f"deliver --nodes {names} would plan all {len(experiment.experiment_commands)} "
        f"command(s) onto {names} and leave {', '.join(left_out)} out of the experiment "
        f"(they keep running their delivery). Deliver to all of "
        f"{', '.join(own)}, or pass --replan to plan "
        f"everything over {names}"
    )


@changes_records
def run(
    experiment: Experiment, nodes: list[Node], options: StageOptions, output: StageOutput
) -> StageReport:
    """Plan, write the deliverables and upload them; the report per node."""
    require_commands(experiment, "deliver")
    for node in nodes:
        launcher_for(experiment.launcher_of(node), experiment.paths)  # fails early if unknown
    check_gpu_placeholder([experiment.experiment_prefix, *experiment.experiment_commands], nodes)
    record = Deliveries.read_or_empty(experiment.paths.manifest, experiment.name)
    dropping = check_replan(experiment, nodes, record, options)
    chosen = [n.name or "" for n in nodes]
    replacing = [*chosen, *dropping]
    ledger = None
    if options.keep_done and experiment.paths.ledger.exists() and record.manifests:
        ledger = Ledger.load(experiment.paths.ledger, record)
    earlier = earlier_runs(record, ledger, replacing)
    root = experiment.paths.deliverables
    dry_run = options.dry_run
    staging: Path | None = None
    try:
        with Fanout(
            "deliver",
            nodes,
            experiment=experiment,
            output=output,
            parallel=options.parallel,
            dry_run=dry_run,
        ) as fan:
            first, guessed = _count_hardware(fan, nodes, record)
            manifest, kept = plan_delivery(experiment, nodes, earlier, keep_done=options.keep_done)
            for name in guessed:  # the record keeps only counts a node reported
                manifest.hardware.pop(name, None)
            staging, encoded = _stage(manifest, kept, root, dry_run, len(nodes), output)
            _upload_and_switch(fan, manifest, staging, options.force, first)
        report = fan.report()
        if not dry_run and manifest.delivered:
            record.take_over(manifest, dropping)
            record.write(
                staging / MANIFEST, plans=root / PLANS_DIR, encoded={manifest.delivery: encoded}
            )
            commit_deliverables(staging, root, manifest.delivered)
            record.tidy_plans(root / PLANS_DIR)
    finally:
        if staging is not None and not dry_run:
            shutil.rmtree(staging, ignore_errors=True)
    return report


def _count_hardware(fan: Fanout, nodes: list[Node], record: Deliveries) -> tuple[int, list[str]]:
    """Count the CPUs and GPUs of the nodes whose workers follow them, on the stage's own
    connections; how many steps that took (0 or 1), and the nodes whose count is a guess.

    A node that could not be counted (out of reach, too few GPUs, a dry run) failed here, or
    is planned from its last delivery's count, else with one worker: it takes no delivery
    anyway, or only a dry run's."""
    needing = [n for n in nodes if n.needs_hardware]
    if not needing:
        return 0, []
    for node in needing:
        node.found_hardware = None  # counted afresh: an earlier guess is not kept
    fan.remote([CountHardware()], only={n.name or "" for n in needing})
    learn_recorded(needing, record)
    guessed = [n for n in needing if n.found_hardware is None]
    for node in guessed:
        node.learn_hardware(Hardware(), check=False)
        if fan.dry_run:
            fan.output.line(
                node.name or "?", "dry run: planned with 1 worker (deliver counts them)"
            )
    return 1, [n.name or "?" for n in guessed]


def _stage(
    manifest: Manifest,
    kept: dict[int, CommandStatus],
    root: Path,
    dry_run: bool,
    nodes: int,
    output: StageOutput,
) -> tuple[Path, list[str]]:
    """The folder the delivery is written to (in a dry run only named, and what would be
    written there said), and its workers' commands as JSON (`encoded_parts`)."""
    if dry_run:
        for part in manifest.plan.parts:
            output.line(
                part.worker.node,
                f"would write {script_name(part.worker.job_id)}: "
                f"{len(part.ids) - part.kept} command(s)",
            )
    output.detail(
        f"deliver: {len(manifest.plan.parts)} worker(s) on {nodes} node(s)"
        + (" (dry run: nothing is changed)" if dry_run else "")
    )
    if kept:
        total = sum(len(p.ids) for p in manifest.plan.parts)
        output.note(
            f"deliver: {len(kept):,} of {total:,} command(s) succeeded before and are kept; "
            f"{total - len(kept):,} run (--fresh runs them all again)"
        )
    if dry_run:
        return root / f".delivery-{manifest.delivery}", []  # named only, never written
    make_folder(root)
    staging = staging_folder(root)
    return staging, write_deliverables(manifest, staging, kept)


def _upload_and_switch(
    fan: Fanout, manifest: Manifest, staging: Path, force: bool, first: int = 0
) -> None:
    """Upload to every node, then switch each node that has it; the manifest records the nodes
    that confirmed the switch. Nodes that failed keep their previous delivery and are reported
    (monitor and start say so until they get a delivery). When workers still run on a node,
    nothing is delivered anywhere: the nodes that took the upload remove it."""
    upload = CheckAndUpload(manifest, staging, force)
    try:
        _switch_or_discard(fan, manifest, upload, first)
    finally:  # a node whose word never came (Ctrl-C) removes its upload itself
        upload.abandon_the_rest()


def _switch_or_discard(fan: Fanout, manifest: Manifest, upload: CheckAndUpload, first: int) -> None:
    fan.remote([upload], first)
    busy = {node: what.running for node, what in fan.data().items() if isinstance(what, Busy)}
    if busy:
        for name, what in busy.items():
            fan.refuse(name, f"still running: {what}")
        listing = "; ".join(f"{name}: {what}" for name, what in sorted(busy.items()))
        fan.local_failures.append(
            f"workers of this experiment are still running ({listing}); "
            "nothing was delivered. Purge them, wait, or use --force"
        )
        fan.remote([Discard(manifest, upload)], first + 1)
        return
    fan.remote([Switch(manifest, upload)], first + 1)
    if fan.dry_run:
        return
    manifest.delivered = [name for name, data in fan.data().items() if data == manifest.delivery]
    missed = [n for n in manifest.nodes if n not in manifest.delivered]
    if missed and manifest.delivered:
        fan.output.note(
            f"deliver: {', '.join(missed)} kept their previous delivery; "
            "deliver again to them, or rebalance their commands"
        )
    elif missed:
        fan.local_failures.append("no node took the delivery; nothing changed")
