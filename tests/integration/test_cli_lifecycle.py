"""The lifecycle through `inv`, as users and cron run it: exit codes, JSON, plain text, example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from octopus.run import ledger_store
from octopus.run.ledger_store import status_of
from octopus.testing.sshhosts import TestCluster
from tests.conftest import REPO, latest_delivery, run_inv, write_inventory


def test_inv_lifecycle_and_monitor_for_cron(cluster: TestCluster, tmp_path: Path):
    inventory = write_inventory(
        tmp_path / "nodes.yaml", {h.name: cluster.node_values(h) for h in cluster.hosts[:2]}
    )
    (tmp_path / "experiments").mkdir()
    (tmp_path / "tasks.py").write_text("from octopus.tasks import ns\n")  # a user's project
    exp = tmp_path / "experiments" / "cron.yaml"
    exp.write_text("""
experiment_commands:
  - "echo one"
  - "echo two; exit 4"
  - "echo three"
  - "sleep 0.2"
""")
    common = ["--exp", "cron", "--inventory", str(inventory)]

    def inv(*args: str) -> subprocess.CompletedProcess[str]:
        return run_inv(*args, *common, cwd=tmp_path)

    # Before anything was delivered, start says what to do, with exit 1 (not a crash).
    done = inv("start")
    assert done.returncode == 1 and "run `inv deliver` first" in done.stderr
    assert inv("deliver").returncode == 0
    assert inv("start").returncode == 0
    deadline = time.monotonic() + 30
    while True:
        done = inv("monitor", "--json")
        data = json.loads(done.stdout)
        if not data["totals"]["running"] and not data["totals"]["pending"]:
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.3)
    assert done.returncode == 1
    assert data["totals"] == {
        "done": 3,
        "failed": 1,
        "running": 0,
        "pending": 0,
        "lost": 0,
        "cancelled": 0,
    }
    assert set(data["nodes"]) == {"h1", "h2"}

    text = inv("monitor")
    assert text.returncode == 1
    assert "\x1b[" not in text.stdout  # no colour codes when not on a terminal
    assert "failed: " in text.stdout and "(exit 4)" in text.stdout
    (failed,) = [
        e for n in data["nodes"].values() for w in n["workers"].values() for e in w["failed"]
    ]
    # One line per failure, naming the command that shows its stdout and stderr.
    (line,) = [line for line in text.stdout.splitlines() if line.startswith("failed: ")]
    assert line.endswith(
        f"(exit 4): echo two; exit 4 (its logs: inv logs --exp=cron --id {failed['id']})"
    )
    assert "75% finished" not in text.stdout and "100% finished" in text.stdout

    offline = inv("monitor", "--offline", "--json")
    assert json.loads(offline.stdout)["totals"] == data["totals"]

    bad = run_inv("monitor", "--exp", "nope", "--inventory", str(inventory), cwd=tmp_path)
    assert bad.returncode == 2 and "no experiment 'nope'" in bad.stderr

    assert inv("purge").returncode == 0


def test_inv_run_example_on_the_local_node(tmp_path: Path):
    """The README's first command, in a scratch copy of the checkout and a scratch home."""
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copytree(REPO / "experiments", work / "experiments")
    shutil.copy(REPO / "nodes.yaml", work / "nodes.yaml")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "octopus", "run", "--exp=example"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 runs combined into deliverables/example/results.csv" in done.stdout
    combined = (work / "deliverables" / "example" / "results.csv").read_text().splitlines()
    assert combined[0].startswith("seed,samples,estimate") and len(combined) == 9
    assert (home / "octopus-example" / "estimate_pi.py").exists()
    # The shipped `local` node runs one worker per CPU (`auto`): on a 2-CPU machine the eight
    # commands run two at a time, not one after another.
    cpus = len(os.sched_getaffinity(0))
    (log,) = (work / "deliverables" / "example" / "logs").glob("run-*.log")  # every node line
    assert f"local out: {cpus} CPU(s), 0 GPU(s): {cpus} worker(s)" in log.read_text()
    manifest = latest_delivery(work / "deliverables" / "example" / "manifest.json")
    assert len(manifest.workers_of("local")) == cpus
    stored = ledger_store.read(work / "deliverables" / "example" / "ledger.sqlite")
    assert stored is not None
    assert {status_of(row).worker for row in stored[1]} == set(range(cpus))  # each ran some


def test_inv_run_dry_run_changes_nothing(tmp_path: Path):
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copytree(REPO / "experiments", work / "experiments")
    shutil.copy(REPO / "nodes.yaml", work / "nodes.yaml")
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "octopus", "run", "--exp=example", "--dry-run"],
        cwd=work,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "would write run_exp_s0.sh: 8 command(s)" in done.stdout
    assert (
        f"would run: rsync --archive --protect-args experiments/example_files/ {home}/"
        in done.stdout
    )
    assert sorted(p.name for p in work.iterdir()) == ["experiments", "nodes.yaml"]
    assert list(home.iterdir()) == []
