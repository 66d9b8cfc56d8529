"""The local records under faults: two monitors at once, and monitors killed with -9 while
they write. The ledger is always whole, and every monitor ends with an answer."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ledger_states, wait_for, write_inventory
from tests.faults.conftest import FaultRow

COMMANDS = 400


def octopus(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "octopus", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_monitors_at_once_and_monitors_killed_mid_write(
    make_cluster, tmp_path: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(1)
    values = cluster.node_values(cluster.hosts[0], num_parallel_screens_or_jobs=2)
    write_inventory(tmp_path / "nodes.yaml", {"h1": values})
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "many.yaml").write_text(
        f"experiment_commands: {json.dumps([f'echo {i}' for i in range(COMMANDS)])}\n"
    )
    for task in ("deliver", "start"):
        done = octopus(tmp_path, task, "--exp", "many")
        assert done.wait(60) == 0, done.communicate()
    ledger = tmp_path / "deliverables" / "many" / "ledger.sqlite"
    began = time.monotonic()
    crashed = 0
    for _ in range(4):  # two at once, each round
        pair = [octopus(tmp_path, "monitor", "--exp", "many", "--json") for _ in range(2)]
        for proc in pair:
            out, err = proc.communicate(timeout=60)
            crashed += "Traceback" in err or proc.returncode not in (0, 1)
            assert "Traceback" not in err and proc.returncode in (0, 1), err
            assert json.loads(out)["totals"]
    killed = 0
    for _ in range(6):  # kill -9 at some moment of a monitor's run
        proc = octopus(tmp_path, "monitor", "--exp", "many")
        time.sleep(random.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        killed += 1
        assert len(ledger_states(ledger)) == COMMANDS  # never half a record

    def all_done() -> bool:
        proc = octopus(tmp_path, "monitor", "--exp", "many", "--json")
        out, _ = proc.communicate(timeout=60)
        return proc.returncode == 0 and json.loads(out)["totals"]["done"] == COMMANDS

    assert wait_for(all_done, timeout=60)
    final = octopus(tmp_path, "monitor", "--exp", "many", "--offline", "--json")
    out, err = final.communicate(timeout=30)
    totals = json.loads(out)["totals"]
    record_fault(
        FaultRow(
            "two monitors at once (4 rounds), kill -9 of monitor mid-write (6 times)",
            1,
            "every monitor answers; the ledger is always whole",
            f"{crashed} crashed, {killed} killed; offline: {totals['done']} done",
            None,
            COMMANDS - totals["done"],
            0,
            0,
        )
    )
    assert crashed == 0 and final.returncode == 0 and totals["done"] == COMMANDS
    assert time.monotonic() - began < 120
