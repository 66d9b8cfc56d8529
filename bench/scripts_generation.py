"""Script generation speed: 1,000,000 commands over 1,000 workers (100 nodes x 10).

Times planning (shuffle + split + placeholders) and rendering every worker script in memory,
medians of --runs, for the default generator and the per-hardware one.

    .venv/bin/python bench/scripts_generation.py [--runs 5] [--commands 1000000]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

from octopus import Node
from octopus.run.generators import replicate_commands_per_hardware
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script


def measure(commands: list[str], nodes: list[Node], gen: object, runs: int) -> tuple[float, float]:
    plans, renders = [], []
    for _ in range(runs):
        began = time.perf_counter()
        plan = build_plan(
            commands,
            "cd ~/exp\n",
            nodes,
            exp_script_gen=gen,  # type: ignore[arg-type]
            shuffle_seed=1,
        )
        planned = time.perf_counter()
        size = sum(
            len(render_script(p, plan.prefix, experiment="bench", run_dir="r", delivery="d"))
            for p in plan.parts
        )
        plans.append(planned - began)
        renders.append(time.perf_counter() - planned)
        assert size > 0
    return statistics.median(plans), statistics.median(renders)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", type=int, default=1_000_000)
    args = parser.parse_args()
    commands = [
        f"python3 train.py --seed {i} --device cuda:[socket] --hw [hw_placeholder]"
        for i in range(args.commands)
    ]
    nodes = [
        Node(
            test_connection=False,
            ssh_hostname=f"n{i}",
            num_parallel_screens_or_jobs=10,
            hardware_desc=f"hw{i % 4}",
            available_sockets=[0, 1],
        )
        for i in range(100)
    ]
    print(
        f"| generator | plan | render scripts | total | (medians of {args.runs}, "
        f"{args.commands:,} commands, 1,000 workers)"
    )
    print("|---|---|---|---|")
    for label, gen in (
        ("distribute (shuffled)", None),
        (
            "per hardware (shuffled)",
            functools.partial(replicate_commands_per_hardware, shuffle=True),
        ),
    ):
        plan, render = measure(commands, nodes, gen, args.runs)
        print(f"| {label} | {plan:.2f} s | {render:.2f} s | {plan + render:.2f} s |", flush=True)
    print("(per hardware: 4 hardware groups each run every command, so 4x the commands placed)")


if __name__ == "__main__":
    main()
