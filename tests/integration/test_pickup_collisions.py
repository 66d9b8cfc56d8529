"""Pickup never loses a file, on real hosts: two nodes that both have results/summary.csv
stop the pickup before anything is brought home, naming both nodes and the fix, and with
`[node]` in the destination each node's files land in a folder of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from octopus.testing.sshhosts import TestCluster
from tests.conftest import write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def experiment(workdir: Path, dest: str) -> None:
    steps = [{"Rsync": {"src": "collide/results/", "dest": dest}}]
    (workdir / "experiments" / "c.yaml").write_text(
        yaml.safe_dump({"experiment_commands": ["true"], "pickup_steps": steps})
    )


def test_two_nodes_writing_one_file_stop_the_pickup(cluster: TestCluster, workdir: Path):
    hosts = cluster.hosts[:2]
    write_inventory(workdir / "nodes.yaml", {h.name: cluster.node_values(h) for h in hosts})
    for host in hosts:
        host.exec("rm -rf collide")
        host.write("collide/results/summary.csv", f"node,value\n{host.name},1\n")
        host.write(f"collide/results/only-{host.name}.csv", "x\n")
    (workdir / "experiments").mkdir()

    experiment(workdir, "results/")
    refused = octopus("pickup", "--exp", "c", cwd=workdir)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "results/summary.csv would be written by both h1 and h2" in refused.stderr
    assert "dest='results/[node]/'" in refused.stderr
    assert not (workdir / "results").exists()  # nothing was brought home

    experiment(workdir, "results/[node]/")
    picked = octopus("pickup", "--exp", "c", cwd=workdir)
    assert picked.returncode == 0, picked.stdout + picked.stderr
    for host in hosts:
        home = workdir / "results" / host.name
        assert (home / "summary.csv").read_text() == f"node,value\n{host.name},1\n"
        assert (home / f"only-{host.name}.csv").is_file()
