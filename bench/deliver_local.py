"""The local part of `inv deliver` at scale: 1,000,000 commands over 1,000 workers (100 nodes
x 10), in process, no node asked. It times what deliver does before it connects: planning
(plan_delivery: the split, the ids and what keys them), writing every worker script and each
node's manifest (write_deliverables), and the record with its commands file
(Deliveries.write). Beside it, planning and rendering the scripts in memory alone, the floor
the issue measured (1.3 s). Medians of --runs.

    .venv/bin/python bench/deliver_local.py [--runs 3] [--commands 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from octopus import Experiment, Node
from octopus.run.deliveries import Deliveries
from octopus.run.worker_script import render_script
from octopus.stages.deliverables import plan_delivery, write_deliverables


def once(experiment: Experiment, nodes: list[Node]) -> dict[str, float]:
    began = time.perf_counter()
    manifest, kept = plan_delivery(experiment, nodes)
    planned = time.perf_counter()
    for part in manifest.plan.parts:
        render_script(part, manifest.plan.prefix, experiment="bench", run_dir="r", delivery="d")
    rendered = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        encoded = write_deliverables(manifest, root / "staging", kept)
        written = time.perf_counter()
        manifest.delivered = [n.name or "" for n in nodes]
        record = Deliveries("bench")
        record.take_over(manifest)
        record.write(
            root / "staging" / "manifest.json",
            plans=root / ".plans",
            encoded={manifest.delivery: encoded},
        )
        recorded = time.perf_counter()
    return {
        "plan": planned - began,
        "render": rendered - planned,
        "write": written - started,
        "record": recorded - written,
        "local": (planned - began) + (recorded - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--schedule", choices=["queue", "fixed"], default="queue")
    args = parser.parse_args()
    experiment = Experiment(
        name="bench",
        experiment_commands=[
            f"python3 train.py --seed {i} --out runs/{i}.csv" for i in range(args.commands)
        ],
        experiment_prefix="cd ~/exp\n",
        shuffle_seed=1,
        schedule=args.schedule,
    )
    nodes = [
        Node(test_connection=False, ssh_hostname=f"n{i}", num_parallel_screens_or_jobs=10)
        for i in range(100)
    ]
    runs = [once(experiment, nodes) for _ in range(args.runs)]
    m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"| {args.commands:,} commands, 1,000 workers (medians of {args.runs}) | seconds |")
    print("|---|---|")
    print(f"| plan (plan_delivery) | {m['plan']:.2f} |")
    print(f"| scripts and node manifests written (write_deliverables) | {m['write']:.2f} |")
    print(f"| record and its commands file (Deliveries.write) | {m['record']:.2f} |")
    print(f"| **deliver's local part** (plan + written + record) | {m['local']:.2f} |")
    print(f"| floor: plan + render in memory | {m['plan'] + m['render']:.2f} |")


if __name__ == "__main__":
    main()
