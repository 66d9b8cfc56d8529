"""Two workers of one node racing over its shared queue, run for real under bash and a
POSIX sh: every command runs exactly once, and takes the placeholders of the worker that ran it."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from octopus import Node
from octopus.launchers.registry import node_queue_file, owed_scripts, worker_script
from octopus.run.events import parse_events
from octopus.run.layout import QUEUE_FILE
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.plan_model import WorkerPlan
from octopus.run.queue import queue_order

COMMANDS = 300


def queue_manifest(count: int, workers: int = 2) -> Manifest:
    nodes = [
        Node(
            test_connection=False,
            name="a",
            ssh_hostname="a",
            num_parallel_screens_or_jobs=workers,
            available_sockets=list(range(workers)),
        )
    ]
    commands = [f'echo "{i} [job_id] [socket]" >> "$HOME/ran"' for i in range(count)]
    plan = build_plan(commands, "", nodes, schedule="queue")
    return Manifest(
        experiment="e",
        delivery="D",
        plan=plan,
        launchers={"a": "process"},
        run_root="run",
        schedule="queue",
    )


def write_queue_file(manifest: Manifest, home: Path) -> None:
    """The node's queue file, where deliver puts it beside the scripts."""
    run = home / manifest.run_dir
    run.mkdir(parents=True, exist_ok=True)
    (run / QUEUE_FILE).write_text(node_queue_file(manifest, "a", manifest.plan.parts))


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_two_racing_workers_run_each_command_exactly_once(tmp_path: Path, shell: str) -> None:
    manifest = queue_manifest(COMMANDS)
    write_queue_file(manifest, tmp_path)
    procs = []
    for part in manifest.plan.parts:
        script = tmp_path / f"s{part.worker.job_id}.sh"
        script.write_text(worker_script(manifest, part))
        env = {**os.environ, "HOME": str(tmp_path)}
        procs.append(
            subprocess.Popen([shell, str(script)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
        )
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    ident_of = {
        index: ident
        for part in manifest.plan.parts
        for ident, index in zip(part.ids, part.command_indices, strict=True)
    }
    lines = (tmp_path / "ran").read_text().splitlines()
    ran = sorted(int(line.split()[0]) for line in lines)
    assert ran == list(range(COMMANDS))  # none lost, none twice
    state = tmp_path / manifest.run_dir / "state"
    owner = {}
    for job in (0, 1):
        events = parse_events((state / f"s{job}.events").read_text())
        assert events.finished
        for ident in events.attempts:
            assert ident not in owner
            owner[ident] = job
    assert sorted(owner) == list(range(COMMANDS))
    for line in lines:
        index, job, socket = map(int, line.split())
        assert owner[ident_of[index]] == job == socket  # the taking worker's placeholders
    assert set(owner.values()) == {0, 1}


def test_a_worker_takes_the_others_commands_from_their_tails(tmp_path: Path) -> None:
    """Worker 0 alone runs (its peers never start): its own commands, then worker 1's and
    worker 2's, each from its tail; the scripts hold only their own commands, the node's
    queue file the others'."""
    manifest = queue_manifest(9, workers=3)
    parts = manifest.plan.parts
    assert [queue_order(p.worker, manifest.plan.workers) for p in parts] == [[1, 2], [2, 0], [0, 1]]
    write_queue_file(manifest, tmp_path)
    script = tmp_path / "s0.sh"
    script.write_text(worker_script(manifest, parts[0]))
    calls = [line for line in script.read_text().splitlines() if line.startswith("octopus_run ")]
    assert len(calls) == len(parts[0].ids)  # each command is in one script, not in every one
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, check=True, capture_output=True)
    events = parse_events((tmp_path / manifest.run_dir / "state" / "s0.events").read_text())
    assert list(events.attempts) == parts[0].ids + parts[1].ids[::-1] + parts[2].ids[::-1]


def test_the_fixed_split_claims_nothing() -> None:
    manifest = queue_manifest(4)
    manifest.schedule = "fixed"
    script = worker_script(manifest, manifest.plan.parts[0])
    assert "octopus_claim" not in script
    calls = [line for line in script.splitlines() if line.startswith("octopus_run ")]
    assert len(calls) == len(manifest.plan.parts[0].ids)


def test_a_claim_that_cannot_be_made_stops_the_worker(tmp_path: Path) -> None:
    manifest = queue_manifest(4)
    script = tmp_path / "s0.sh"
    script.write_text(worker_script(manifest, manifest.plan.parts[0]))
    state = tmp_path / manifest.run_dir / "state"
    state.mkdir(parents=True)
    (tmp_path / manifest.run_dir / "logs").write_text("")  # no claim can be made (a full disk)
    done = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "cannot claim" in done.stderr
    assert not (tmp_path / "ran").exists()
    events = parse_events((state / "s0.events").read_text())
    assert events.runs == 1 and not events.finished and not events.attempts


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_started_worker_takes_only_what_the_started_workers_owe(
    tmp_path: Path, shell: str
) -> None:
    """--retry-failed on a queue node: worker 0 ran its share (one command failed, its claim
    cleared), worker 1 died before it ran any of its own. Worker 0 starts again owing the
    failed command alone: it must not take worker 1's pending ones, unclaimed in the
    delivery's queue file, which no option asked to run."""
    manifest = queue_manifest(6)
    write_queue_file(manifest, tmp_path)
    first, second = manifest.plan.parts
    logs = tmp_path / manifest.run_dir / "logs"
    logs.mkdir()
    for ident in first.ids[1:]:
        (logs / f"{ident}.out").touch()  # claimed: they ran
    owed = WorkerPlan(first.worker, first.ids[:1], first.commands[:1], first.command_indices[:1])
    files = owed_scripts(manifest, "a", {"s0.run2.sh": owed}, datetime(2026, 1, 2))
    (queue_name,) = [name for name in files if name.startswith("queue.")]
    assert queue_name != QUEUE_FILE
    for name, text in files.items():
        (tmp_path / manifest.run_dir / name).write_text(text)
    env = {**os.environ, "HOME": str(tmp_path)}
    script = tmp_path / manifest.run_dir / "s0.run2.sh"
    subprocess.run([shell, str(script)], cwd=tmp_path, env=env, check=True, capture_output=True)
    ran = (tmp_path / "ran").read_text().split("\n")
    assert [line.split()[0] for line in ran if line] == [str(first.command_indices[0])]
    assert not any((logs / f"{ident}.out").exists() for ident in second.ids)


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_command_claimed_by_another_worker_is_passed_over_in_silence(
    tmp_path: Path, shell: str
) -> None:
    """A lost claim's "cannot overwrite" is the shell's own message, on a stderr closed for
    the claim alone: the worker says nothing of commands another worker holds (that its
    stderr comes back after a claim, the test above sees in "cannot claim")."""
    manifest = queue_manifest(6)
    write_queue_file(manifest, tmp_path)
    first, second = manifest.plan.parts
    logs = tmp_path / manifest.run_dir / "logs"
    logs.mkdir(parents=True)
    taken = [first.ids[0], second.ids[-1]]  # one of its own, the first of its peer's it tries
    for ident in taken:
        (logs / f"{ident}.out").touch()
    script = tmp_path / "s0.sh"
    script.write_text(worker_script(manifest, first))
    done = subprocess.run(
        [shell, str(script)],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == ""
    index_of = dict(
        zip(first.ids + second.ids, first.command_indices + second.command_indices, strict=True)
    )
    ran = sorted(int(line.split()[0]) for line in (tmp_path / "ran").read_text().splitlines())
    assert ran == sorted(index for ident, index in index_of.items() if ident not in taken)
