"""Streaming a step's output: a command printing N MB on a real test host, through octopus (each
line shown with the node's name and kept in the stage log) beside plain `ssh` into a file, in
the same run. Medians of --runs; also the client's peak memory for the largest size.

Run as root from the checkout:
    .venv/bin/python bench/output_stream.py [--runs 3] [--sizes 10,100]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from octopus.testing.sshhosts import TestCluster

OCTOPUS_RUN = """
import sys
from pathlib import Path
from rich.console import Console
from octopus import Experiment, Node
from octopus.output import StageOutput
from octopus.remote.connection import open_connection
from octopus.steps.context import StepContext
node = Node(test_connection=False, name="h1", ssh_hostname=sys.argv[1], ssh_username="octo",
            ssh_private_key=sys.argv[2], ssh_hostkeys=sys.argv[3])
out = StageOutput(Console(file=open(sys.argv[4], "w"), width=200), log_path=Path(sys.argv[5]))
conn = open_connection(node)
StepContext(node, conn, Experiment(name="bench"), out).run(sys.argv[6])
conn.close()
out.close()
"""


def timed(argv: list[str]) -> tuple[float, int]:
    """Seconds, and the child's peak resident memory in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True)
    elapsed = time.monotonic() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10,100")
    args = parser.parse_args()
    print("| MB of output | octopus (console file + stage log) | plain ssh > file | ratio |")
    print("|---|---|---|---|")
    with TestCluster(1) as cluster, tempfile.TemporaryDirectory() as tmp:
        host = cluster.hosts[0]
        script = Path(tmp) / "run.py"
        script.write_text(OCTOPUS_RUN)
        for size in (int(s) for s in args.sizes.split(",")):
            command = f"yes 'a line of output from the node' | head -c {size * 1000 * 1000}"
            octopus = [
                sys.executable,
                str(script),
                host.address,
                str(cluster.client_key),
                str(cluster.known_hosts),
                f"{tmp}/console.txt",
                f"{tmp}/stage.log",
                command,
            ]
            ssh = ["sh", "-c", f'ssh -F {cluster.ssh_config} h1 "{command}" > {tmp}/ssh.txt']
            ours, theirs = [], []
            for _ in range(args.runs):
                ours.append(timed(octopus)[0])
                theirs.append(timed(ssh)[0])
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"| {size} | {a:.2f} s | {b:.2f} s | {a / b:.1f}x |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"peak memory of any client process: {peak} MiB")


if __name__ == "__main__":
    main()
