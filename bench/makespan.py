"""Makespan of the node queue (with stealing across nodes) against the fixed split: 200
`sleep` commands of log-normal duration (seeded) over 4 real test hosts x 2 workers, each run
with `octopus run` as a whole process. The makespan (first start to last end, from the nodes'
own records) is set against the lower bound max(total / workers, longest command); the queue
runs once with stealing across nodes (`octopus run`'s default) and once without.

Run as root from the checkout:
    .venv/bin/python bench/makespan.py [--commands 200] [--hosts 4] [--workers 2]
        [--mean 1.8] [--sigma 1.0] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from octopus.run.events import parse_events
from octopus.testing.sshhosts import TestCluster


def durations(count: int, mean: float, sigma: float, seed: int) -> list[float]:
    """Log-normal durations with the given mean, rounded to centiseconds."""
    rng = random.Random(seed)
    mu = math.log(mean) - sigma * sigma / 2
    return [round(rng.lognormvariate(mu, sigma), 2) for _ in range(count)]


def makespan(cluster: TestCluster, name: str) -> tuple[float, int]:
    """First start to last end over every node's events; and how many commands ran."""
    starts, ends, ran = [], [], 0
    for host in cluster.hosts:
        for current in (host.home / ".octopus").glob(f"{name}@*/current"):
            for events_file in (current / "state").glob("*.events"):
                events = parse_events(events_file.read_text())
                for attempts in events.attempts.values():
                    ran += len(attempts)
                    starts += [a.started for a in attempts if a.started is not None]
                    ends += [a.ended for a in attempts if a.ended is not None]
    return max(ends) - min(starts), ran


def run(
    cluster: TestCluster, work: Path, name: str, schedule: str, times: list[float], steal: bool
) -> float:
    (work / "experiments" / f"{name}.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment_commands": [f"sleep {d}" for d in times],
                "schedule": schedule,
                "shuffle_seed": 1,
            }
        )
    )
    flag = "--steal" if steal else "--no-steal"
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "octopus", "run", "--exp", name, "--interval", "1", flag],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"octopus run failed:\n{done.stdout}\n{done.stderr}")
    took, ran = makespan(cluster, name)
    if ran != len(times):
        raise SystemExit(f"{name}: {ran} command runs for {len(times)} commands")
    print(f"({name}: makespan {took:.1f} s, octopus run {time.monotonic() - began:.1f} s)")
    for host in cluster.hosts:  # written by this (root) process: removed by it too
        for folder in (host.home / ".octopus").glob(f"{name}@*"):
            shutil.rmtree(folder, ignore_errors=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mean", type=float, default=1.8)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    times = durations(args.commands, args.mean, args.sigma, args.seed)
    workers = args.hosts * args.workers
    bound = max(sum(times) / workers, max(times))
    with TestCluster(args.hosts) as cluster, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        values = {
            h.name: cluster.node_values(h, num_parallel_screens_or_jobs=args.workers)
            for h in cluster.hosts
        }
        (work / "nodes.yaml").write_text(yaml.safe_dump({"nodes": values}))
        (work / "experiments").mkdir()
        queue = run(cluster, work, "makespan-queue", "queue", times, steal=True)
        alone = run(cluster, work, "makespan-nosteal", "queue", times, steal=False)
        fixed = run(cluster, work, "makespan-fixed", "fixed", times, steal=False)
    print(
        f"| {args.commands} commands, log-normal (mean {args.mean:g} s, sigma {args.sigma:g}), "
        f"{args.hosts} nodes x {args.workers} workers | makespan | / lower bound |"
    )
    print("|---|---|---|")
    print(f"| lower bound max(total/{workers}, longest) | {bound:.1f} s | 1.00x |")
    print(f"| queue, stealing across nodes | {queue:.1f} s | {queue / bound:.2f}x |")
    print(f"| queue, no stealing (`--no-steal`) | {alone:.1f} s | {alone / bound:.2f}x |")
    print(f"| fixed split | {fixed:.1f} s | {fixed / bound:.2f}x |")


if __name__ == "__main__":
    main()
