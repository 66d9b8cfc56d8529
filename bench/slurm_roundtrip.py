"""Slurm timings: bringing the test Slurm up, and a trivial job from sbatch to done in monitor.

Run as root from the checkout (slurm-wlm and munge installed by scripts/setup.sh --test):
    .venv/bin/python bench/slurm_roundtrip.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from octopus import Experiment, ExperimentTask, Node
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.testing.slurm import TestSlurm, slurm_state_dir
from octopus.testing.sshhosts import TestCluster


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bring_up, round_trips, submits = [], [], []
    for run in range(args.runs):
        root = slurm_state_dir()
        with (
            TestCluster(1, session_env={"SLURM_CONF": str(root / "slurm.conf")}) as cluster,
            tempfile.TemporaryDirectory() as work,
        ):
            daemons = TestSlurm(cluster.hosts[0], root)
            try:
                daemons.start()
                bring_up.append(daemons.started_in)
                os.chdir(work)
                host = cluster.hosts[0]
                node = Node(
                    test_connection=False, name="h1", launcher="slurm", **cluster.node_values(host)
                )  # type: ignore[arg-type]
                exp = Experiment(name=f"trivial{run}", nodes=[node], experiment_commands=["true"])
                quiet = StageOutput(quiet=True)
                exp.run_task(ExperimentTask.DELIVER_SCRIPTS, output=quiet)
                began = time.monotonic()
                exp.run_task(ExperimentTask.START, output=quiet)
                submits.append(time.monotonic() - began)
                while True:
                    report = monitor(exp, [node], output=quiet)
                    if report.totals["done"] == 1 and not report.totals["running"]:
                        break
                    if time.monotonic() - began > 60:
                        raise SystemExit("job did not finish within 60 s")
                    time.sleep(0.1)
                round_trips.append(time.monotonic() - began)
            finally:
                os.chdir(Path(__file__).resolve().parent.parent)
                daemons.stop()
    print(f"| what | median of {args.runs} | min | max |")
    print("|---|---|---|---|")
    for label, values in (
        ("Slurm up (munged, slurmctld, slurmd; node idle)", bring_up),
        ("`start` (sbatch over SSH)", submits),
        ("trivial job: start -> done in monitor", round_trips),
    ):
        print(
            f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s | "
            f"{max(values):.2f} s |"
        )


if __name__ == "__main__":
    main()
