"""Script generation: assignment, seeds, placeholders, user generators, and the golden script."""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path

import pytest

from octopus import ConfigError, Node
from octopus.run.generators import chunks, distribute_exp_scripts, replicate_commands_per_hardware
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script

GOLDEN = Path(__file__).parent / "golden" / "worker_script.sh"


def nodes(*specs: tuple[str, int, str | None]) -> list[Node]:
    return [
        Node(
            test_connection=False,
            ssh_hostname=name,
            num_parallel_screens_or_jobs=workers,
            hardware_desc=hw,
            available_sockets=[0, 1],
        )
        for name, workers, hw in specs
    ]


def test_chunks_sizes_differ_by_at_most_one():
    assert [len(c) for c in chunks(list(range(10)), 4)] == [3, 3, 2, 2]
    assert chunks([], 2) == [[], []]


def test_every_command_assigned_exactly_once_and_seeded():
    commands = [f"run {i}" for i in range(101)]
    cluster = nodes(("a", 3, None), ("b", 2, None))
    plan = build_plan(commands, "", cluster, shuffle_seed=5)
    assert sorted(i for p in plan.parts for i in p.command_indices) == list(range(101))
    assert sorted(e.id for e in plan.entries) == list(range(101))
    assert [len(p.ids) for p in plan.parts] == [21, 20, 20, 20, 20]
    again = build_plan(commands, "", cluster, shuffle_seed=5)
    other = build_plan(commands, "", cluster, shuffle_seed=6)
    assert again.as_dict() == plan.as_dict()
    assert other.as_dict() != plan.as_dict()


def test_same_assignment_as_the_original_generator_under_the_same_seed():
    commands = [f"c{i}" for i in range(9)]
    cluster = nodes(("a", 2, None), ("b", 1, None))
    random.seed(11)
    original = distribute_exp_scripts("", list(commands), cluster)
    plan = build_plan(commands, "", cluster, shuffle_seed=11)
    assert ["\n".join(p.commands) for p in plan.parts] == original


def test_replicate_gives_every_worker_every_command():
    gen = functools.partial(distribute_exp_scripts, replicate=True, shuffle=False)
    plan = build_plan(["x", "y"], "", nodes(("a", 2, None)), exp_script_gen=gen)
    assert [p.commands for p in plan.parts] == [["x", "y"], ["x", "y"]]
    assert len({e.id for e in plan.entries}) == 4


def test_per_hardware_runs_all_commands_in_each_group():
    cluster = nodes(("a", 1, "c8220"), ("b", 1, "c8220"), ("c", 1, "c220g2"))
    gen = functools.partial(replicate_commands_per_hardware, shuffle=True)
    commands = [f"bench --hw [hw_placeholder] --q {i}" for i in range(5)]
    plan = build_plan(commands, "", cluster, exp_script_gen=gen, shuffle_seed=2)
    by_node = {p.worker.node: p for p in plan.parts}
    assert sorted(by_node["a"].command_indices + by_node["b"].command_indices) == list(range(5))
    assert sorted(by_node["c"].command_indices) == list(range(5))
    assert all("--hw c220g2" in c for c in by_node["c"].commands)
    assert all("--hw c8220" in c for c in by_node["a"].commands)


def test_placeholders_job_id_offset_and_socket_round_robin():
    cluster = [
        Node(
            test_connection=False,
            ssh_hostname="a",
            num_parallel_screens_or_jobs=3,
            available_sockets=[0, 1],
        )
    ]
    gen = functools.partial(distribute_exp_scripts, replicate=True, shuffle=False)
    plan = build_plan(
        ["run --job [job_id] --device cuda:[socket]"],
        "log_[job_id]\n",
        cluster,
        exp_script_gen=gen,
        offset=10,
    )
    assert [p.commands[0] for p in plan.parts] == [
        "run --job 10 --device cuda:0",
        "run --job 11 --device cuda:1",
        "run --job 12 --device cuda:0",
    ]
    script = render_script(plan.parts[1], plan.prefix, experiment="e", run_dir="r", delivery="d")
    assert "\nlog_11\n" in script


def test_screens_per_node_overrides_the_nodes():
    plan = build_plan(["a", "b", "c"], "", nodes(("a", 1, None), ("b", 1, None)), per_node=3)
    assert len(plan.parts) == 6


def test_multi_line_commands_stay_as_written():
    command = "for i in 1 2; do\n  echo $i\ndone"
    plan = build_plan([command, "echo 'single'"], "set -x\n", nodes(("a", 1, None)), shuffle_seed=0)
    script = render_script(plan.parts[0], plan.prefix, experiment="e", run_dir="r", delivery="d")
    assert command in script and "set -x\n" in script


def test_user_generator_with_the_original_signature():
    def my_gen(prefix, experiment_commands, nodes, reverse=False):
        ordered = list(reversed(experiment_commands)) if reverse else experiment_commands
        half = len(ordered) // 2
        return [prefix + "\n".join(ordered[:half]), prefix + "\n".join(ordered[half:])]

    commands = ["echo 1", "for x in a b; do\n  echo $x\ndone", "echo 3", "echo 4"]
    plan = build_plan(
        commands,
        "cd x\n",
        nodes(("a", 2, None)),
        exp_script_gen=functools.partial(my_gen, reverse=True),
    )
    assert plan.parts[0].commands == ["echo 4", "echo 3"]
    assert plan.parts[1].commands == [commands[1], "echo 1"]
    assert plan.parts[1].command_indices == [1, 0]

    with pytest.raises(ConfigError, match="returned 1 script"):
        build_plan(
            commands,
            "",
            nodes(("a", 2, None)),
            exp_script_gen=lambda prefix, experiment_commands, nodes: ["x"],
        )


def test_a_million_commands_are_planned_without_copies_per_command():
    cluster = [
        Node(test_connection=False, ssh_hostname=f"n{i}", num_parallel_screens_or_jobs=10)
        for i in range(100)
    ]
    plan = build_plan([f"run {i}" for i in range(100_000)], "", cluster, shuffle_seed=1)
    assert len(plan.parts) == 1000 and sum(len(p.ids) for p in plan.parts) == 100_000


def test_worker_script_matches_the_golden_file():
    cluster = [
        Node(
            test_connection=False,
            ssh_hostname="gpu1",
            num_parallel_screens_or_jobs=2,
            available_sockets=[0, 1],
        )
    ]
    plan = build_plan(
        [
            "python3 train.py --seed 1 --device cuda:[socket]",
            "python3 train.py --seed 2 --device cuda:[socket]",
            "for s in 3 4; do\n  python3 train.py --seed $s\ndone",
        ],
        "set -x; cd ~/zero-shot\n",
        cluster,
        shuffle_seed=3,
    )
    script = render_script(
        plan.parts[1],
        plan.prefix,
        experiment="zero_shot",
        run_dir=".octopus/zero_shot/deliveries/D1",
        delivery="D1",
        stop_on_error=True,
    )
    if os.environ.get("OCTOPUS_REGENERATE_GOLDEN"):
        GOLDEN.write_text(script)
    assert script == GOLDEN.read_text(), (
        "the worker script changed; if on purpose, regenerate the golden file with "
        "OCTOPUS_REGENERATE_GOLDEN=1 pytest tests/unit/test_scripts.py and review the diff"
    )
