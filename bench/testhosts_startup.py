"""How long the SSH test hosts take to start and stop: median of several runs per size.

Run as root from the checkout:
    .venv/bin/python bench/testhosts_startup.py [--runs 5] [--sizes 1,8,32]
"""

from __future__ import annotations

import argparse
import statistics
import time

from octopus.testing.sshhosts import TestCluster


def measure(count: int, runs: int) -> tuple[float, float, float]:
    starts, firsts, stops = [], [], []
    for _ in range(runs):
        cluster = TestCluster(count)
        cluster.start()
        starts.append(cluster.started_in)
        began = time.monotonic()
        cluster.hosts[0].exec("true")
        firsts.append(time.monotonic() - began)
        began = time.monotonic()
        cluster.stop()
        stops.append(time.monotonic() - began)
    return statistics.median(starts), statistics.median(firsts), statistics.median(stops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1,8,32")
    args = parser.parse_args()
    print(f"| hosts | start (median of {args.runs}) | per host | stop |")
    print("|---|---|---|---|")
    for count in (int(s) for s in args.sizes.split(",")):
        start, _first, stop = measure(count, args.runs)
        print(f"| {count} | {start:.3f} s | {start / count * 1000:.0f} ms | {stop:.3f} s |")


if __name__ == "__main__":
    main()
