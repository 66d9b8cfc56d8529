"""Every public function of the original `octopus.script_preparation`, against results written
down from the original's behaviour (its code splits, shuffles with the global random module,
and builds Slurm scripts as below)."""

from __future__ import annotations

import functools
import random

from octopus import Experiment, Node
from octopus.run.plan import build_plan
from octopus.script_preparation import (
    chunks,
    create_scripts_for_commands,
    distribute_exp_scripts,
    generate_cpu_exp_scripts,
    generate_exp_scripts_alternating_cuda_device,
    replicate_commands_per_hardware,
    strip_commands,
    strip_single_command,
)


def node(name: str, workers: int = 1, **extra: object) -> Node:
    return Node(
        test_connection=False,
        ssh_hostname=name,
        num_parallel_screens_or_jobs=workers,
        **extra,  # type: ignore[arg-type]
    )


def test_strip_commands_puts_each_command_on_one_line():
    assert (
        strip_single_command("python3 run.py \\\n    --seed 1\n") == "python3 run.py \\ --seed 1 "
    )
    assert strip_commands(["a\n b", "c\t\td"]) == ["a b", "c d"]


def test_chunks_first_ones_larger():
    assert chunks(list(range(1, 11)), 4) == [[1, 2, 3], [4, 5, 6], [7, 8], [9, 10]]
    assert chunks([1], 3) == [[1], [], []]


def test_create_scripts_for_commands_plain_and_slurm():
    nodes = [node("a"), node("s", use_slurm=True)]
    scripts = create_scripts_for_commands(
        [[" x ", "y"], ["a", "b\nc", "d"]], nodes, "cd x\n", 4, 1, 2
    )
    assert scripts[0] == "cd x\nx\ny"
    assert scripts[1] == (
        "#!/bin/bash\n#SBATCH --ntasks 2\n#SBATCH --cpus-per-task 4\n#SBATCH --gpus 1\n"
        "#SBATCH -e job_[job_id].err\n#SBATCH -o job_[job_id].out\ncd x\n\n"
        "a > ~/output_job[job_id]_0 2>&1 &\nbc > ~/output_job[job_id]_1 2>&1 &\nwait\n"
        "d > ~/output_job[job_id]_2 2>&1 &\nwait"
    )


def test_distribute_exp_scripts_shuffles_with_the_global_random_module():
    random.seed(1)  # the original shuffles c0..c4 to c2 c3 c4 c0 c1 under this seed
    scripts = distribute_exp_scripts("P\n", ["c0", "c1", "c2", "c3", "c4"], [node("a", 2)])
    assert scripts == ["P\nc2\nc3\nc4", "P\nc0\nc1"]
    assert distribute_exp_scripts("", ["a", "b"], [node("a"), node("b")], shuffle=False) == [
        "a",
        "b",
    ]
    assert distribute_exp_scripts("", ["a", "b"], [node("a", 2)], replicate=True) in (
        ["a\nb", "a\nb"],
        ["b\na", "b\na"],
    )


def test_generate_cpu_exp_scripts_removes_the_device_placeholder():
    commands = [f"c{i} [device_placeholder]" for i in range(3)]
    scripts = generate_cpu_exp_scripts("", commands, [node("a", 3)], shuffle=False)
    assert scripts == ["c0", "c1", "c2"]


def test_alternating_cuda_devices_per_worker():
    random.seed(2)  # shuffles the three commands to c1 c2 c0
    commands = [f"train c{i}[device_placeholder]" for i in range(3)]
    scripts = generate_exp_scripts_alternating_cuda_device("", commands, [node("a", 3)])
    assert scripts == [
        "train c1 --device cuda:0",
        "train c2 --device cuda:1",
        "train c0 --device cuda:0",
    ]
    two = generate_exp_scripts_alternating_cuda_device(
        "", ["x[device_placeholder]"], [node("a", 2)], cuda_devices=["cuda:7"], replicate=True
    )
    assert two == ["x --device cuda:7", "x --device cuda:7"]


def test_replicate_commands_per_hardware_one_script_per_node():
    nodes = [node("a", hardware_desc="c220"), node("b", hardware_desc="c8220")]
    assert replicate_commands_per_hardware("", ["run [hw_placeholder]"], nodes) == [
        "run c220",
        "run c8220",
    ]


def test_the_generators_work_as_exp_script_gen():
    nodes = [node("a", 2)]
    commands = [f"c{i} [device_placeholder]" for i in range(4)]
    for gen in (
        functools.partial(generate_cpu_exp_scripts, shuffle=False),
        functools.partial(generate_exp_scripts_alternating_cuda_device, cuda_devices=["cuda:3"]),
    ):
        plan = build_plan(commands, "", nodes, exp_script_gen=gen, shuffle_seed=5)
        texts = sorted(c for p in plan.parts for c in p.commands)
        assert len(texts) == 4 and not any("[device_placeholder]" in t for t in texts)
    experiment = Experiment(
        experiment_commands=strip_commands(["python3 run.py\n  --seed 1"]), name="s"
    )
    assert experiment.experiment_commands == ["python3 run.py --seed 1"]
