"""`inv run` takes the options its own messages mention, on a real host: while workers of an
earlier delivery still run, `run` says to use --force, and `run --force` stops them, delivers
and runs to the end; `--resume` and `--retry-failed` go to its start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from octopus.testing.sshhosts import TestCluster
from tests.conftest import write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_experiment(workdir: Path, commands: list[str]) -> None:
    (workdir / "experiments").mkdir(exist_ok=True)
    data = {"experiment_commands": commands, "screens_per_node": 1}
    (workdir / "experiments" / "opts.yaml").write_text(yaml.safe_dump(data))


def test_run_takes_force_and_resume_as_its_messages_say(cluster: TestCluster, workdir: Path):
    host = cluster.hosts[1]
    write_inventory(workdir / "nodes.yaml", {"h2": cluster.node_values(host)})
    write_experiment(workdir, ["sleep 60"])
    for stage in ("deliver", "start"):
        done = octopus(stage, "-x", "opts", cwd=workdir)
        assert done.returncode == 0, done.stdout + done.stderr

    write_experiment(workdir, ["echo one", "echo two"])
    refused = octopus("run", "-x", "opts", "--interval", "0.3", cwd=workdir)
    assert refused.returncode == 1
    assert "use --force" in refused.stdout + refused.stderr

    forced = octopus("run", "-x", "opts", "--force", "--interval", "0.3", cwd=workdir)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "2 done" in forced.stdout
    assert "sleep 60" not in host.exec("ps -eo args")

    write_experiment(workdir, ["echo one", "echo two", "echo three"])
    resumed = octopus(
        "run", "-x", "opts", "--resume", "--retry-failed", "--interval", "0.3", cwd=workdir
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 of 3 command(s) succeeded before and are kept; 1 run" in resumed.stdout
    assert "3 done (2 of them before), 0 failed" in resumed.stdout
