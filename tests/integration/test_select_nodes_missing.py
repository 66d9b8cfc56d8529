"""`inv select-nodes` on real hosts without the lab's run_exp tool: one line names them all
and the way out, instead of each node's raw `command not found`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from octopus.testing.sshhosts import TestCluster
from tests.conftest import write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def test_select_nodes_says_once_that_run_exp_is_missing(cluster: TestCluster, workdir: Path):
    hosts = {h.name: cluster.node_values(h, launcher="run_exp") for h in cluster.hosts[:2]}
    write_inventory(workdir / "nodes.yaml", hosts)
    (workdir / "experiments").mkdir()
    (workdir / "experiments" / "s.yaml").write_text('experiment_commands: ["true"]\n')

    done = octopus("select-nodes", "--exp", "s", cwd=workdir)

    assert done.returncode == 1, done.stdout + done.stderr
    said = [line for line in done.stdout.splitlines() if "run_exp is not installed on" in line]
    assert said == [
        "select-nodes: run_exp is not installed on h1, h2: install the lab's reservation tool "
        "or use launcher screen"
    ]
    assert "available nodes: none" in done.stdout
    assert "command not found" not in done.stdout + done.stderr
