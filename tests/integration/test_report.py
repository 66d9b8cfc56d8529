"""`inv report` on a real run: rendered by real headless Chromium, its timeline's bars in the
DOM are the ledger's commands with their outcomes, its failures show the log's last lines,
and `--joblog` is a GNU parallel joblog of the same commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from octopus.run.deliveries import Deliveries
from octopus.run.ledger import Ledger
from octopus.testing.sshhosts import TestCluster
from tests.conftest import REPO, wait_for, write_inventory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root on a machine without a network: no sandbox, no background connections.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]  # fmt: skip


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_report_shows_each_command_as_the_ledger_has_it(
    cluster: TestCluster, workdir: Path, tmp_path_factory
):
    host = cluster.hosts[0]
    write_inventory(
        workdir / "nodes.yaml", {"h1": cluster.node_values(host, num_parallel_screens_or_jobs=2)}
    )
    (workdir / "experiments").mkdir()
    commands = [f"sleep 0.{i}; echo run {i}" for i in range(1, 6)]
    commands.append("for i in $(seq 1 30); do echo line $i; done; exit 3")
    (workdir / "experiments" / "rep.yaml").write_text(
        yaml.safe_dump({"experiment_commands": commands})
    )
    for stage in ("deliver", "start"):
        assert octopus(stage, "--exp", "rep", cwd=workdir).returncode == 0
    assert wait_for(
        lambda: "rep finished in" in octopus("monitor", "--exp", "rep", cwd=workdir).stdout, 60
    )
    assert octopus("pickup", "--exp", "rep", cwd=workdir).returncode == 0
    made = octopus("report", "--exp", "rep", "--joblog", cwd=workdir)
    assert made.returncode == 0, made.stderr
    page = workdir / "deliverables" / "rep" / "report" / "index.html"
    text = page.read_text()
    # One file that needs nothing else: no script, style sheet or image fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', text) and "<link" not in text

    paths = workdir / "deliverables" / "rep"
    ledger = Ledger.load(paths / "ledger.sqlite", Deliveries.read(paths / "manifest.json"))
    states = {s.id: str(s.state) for s in ledger.statuses()}
    failing = next(s.id for s in ledger.statuses() if s.command == commands[-1])

    profile = tmp_path_factory.mktemp("chromium")
    dom = chromium(page, profile, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    bars = dict(
        (int(i), state)
        for i, state in re.findall(
            r'<g id="cmd-(\d+)" class="bar" data-id="\d+" data-state="(\w+)">', dom.stdout
        )
    )
    assert bars == states and bars[failing] == "failed"
    assert f"#{failing} h1 s" in dom.stdout  # the bar's title names the command
    assert "line 30" in dom.stdout and "line 11\n" in dom.stdout and "line 10\n" not in dom.stdout
    assert f"inv logs --exp=rep --id {failing}" in dom.stdout

    shot = tmp_path_factory.mktemp("shot") / "report.png"
    taken = chromium(page, profile, "--window-size=1280,1500", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(shot.read_bytes()[16:20], "big") == 1280  # the PNG's width
    if os.environ.get("OCTOPUS_README_SCREENSHOT"):  # the README's picture, made here
        shutil.copy(shot, REPO / "docs" / "report.png")

    joblog = (paths / "report" / "joblog.tsv").read_text().splitlines()
    assert joblog[0].split("\t") == [
        "Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal",
        "Command",
    ]  # fmt: skip
    rows = {int(line.split("\t")[0]): line.split("\t") for line in joblog[1:]}
    assert sorted(rows) == sorted(states)
    assert rows[failing][6] == "3" and rows[failing][8] == commands[-1]
    assert rows[failing][1] == "h1" and float(rows[failing][3]) >= 0
