"""Workers with GPUs of their own, run for real under bash and a POSIX sh: each worker's
script exports CUDA_VISIBLE_DEVICES, and `[gpu]` is the GPUs of the worker that runs the
command, in a fixed split and in a node's shared queue (where the taking worker fills it in)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from octopus import Node
from octopus.hardware import Hardware
from octopus.launchers.registry import worker_script
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan

COMMANDS = 40


def gpu_manifest(schedule: str, gpus: int = 4, per_worker: int = 2) -> Manifest:
    node = Node(
        test_connection=False,
        name="a",
        ssh_hostname="a",
        num_parallel_screens_or_jobs="auto",
        gpus_per_worker=per_worker,
    )
    node.learn_hardware(Hardware(cpus=64, gpus=gpus))
    commands = [
        f'echo "{i} [job_id] [gpu] $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER" >> "$HOME/ran"'
        for i in range(COMMANDS)
    ]
    plan = build_plan(commands, "", [node], schedule=schedule)
    return Manifest(
        experiment="e",
        delivery="D",
        plan=plan,
        launchers={"a": "process"},
        run_root="run",
        schedule=schedule,
    )


@pytest.mark.parametrize("schedule", ["fixed", "queue"])
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_every_command_sees_its_workers_gpus(tmp_path: Path, shell: str, schedule: str) -> None:
    manifest = gpu_manifest(schedule)
    assert [p.worker.gpus for p in manifest.plan.parts] == ["0,1", "2,3"]
    procs = []
    for part in manifest.plan.parts:
        script = tmp_path / f"s{part.worker.job_id}.sh"
        script.write_text(worker_script(manifest, part))
        env = {**os.environ, "HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": "7"}
        procs.append(
            subprocess.Popen([shell, str(script)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
        )
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    lines = (tmp_path / "ran").read_text().splitlines()
    assert sorted(int(line.split()[0]) for line in lines) == list(range(COMMANDS))
    gpus_of = {"0": "0,1", "1": "2,3"}
    for line in lines:
        _, job, placeholder, visible, order = line.split()
        assert placeholder == visible == gpus_of[job]  # the running worker's, not the node's
        assert order == "PCI_BUS_ID"  # numbered as nvidia-smi numbers them


def test_a_worker_without_gpus_leaves_the_environment_alone() -> None:
    node = Node(test_connection=False, name="a", ssh_hostname="a")
    plan = build_plan(["echo hi"], "", [node])
    manifest = Manifest(
        experiment="e", delivery="D", plan=plan, launchers={"a": "process"}, run_root="run"
    )
    assert "CUDA_VISIBLE_DEVICES" not in worker_script(manifest, plan.parts[0])
