"""An experiment without commands: its steps run (setup, as the original allowed), while
deliver and run refuse it with one line naming the file and the fix, before any node is
touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from octopus.testing.sshhosts import TestCluster
from tests.conftest import write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("commands", ["", "experiment_commands: []\n"], ids=["missing", "empty"])
def test_steps_run_and_deliver_and_run_refuse(cluster: TestCluster, workdir: Path, commands: str):
    host = cluster.hosts[3]
    write_inventory(workdir / "nodes.yaml", {"h4": cluster.node_values(host)})
    (workdir / "experiments").mkdir()
    (workdir / "experiments" / "steps.yaml").write_text(
        commands + "setup_steps:\n  - Cmd: touch ~/steps_only_ran\n"
    )

    setup = octopus("setup", "--exp", "steps", cwd=workdir)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (host.home / "steps_only_ran").exists()

    for task in ("deliver", "run"):
        refused = octopus(task, "--exp", "steps", cwd=workdir)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr == (
            f"octopus: experiments/steps.yaml: {task}: experiment 'steps' has no commands "
            "(experiment_commands is empty or missing): list the commands to run under "
            "experiment_commands; setup, purge and the other stages of steps run without them\n"
        )
    assert not (workdir / "deliverables" / "steps" / "manifest.json").exists()
    (host.home / "steps_only_ran").unlink()
