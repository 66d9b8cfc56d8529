"""Ctrl-C: SIGINT to a running task ends it within 2 s with exit 130, names every node as
interrupted, and ends the remote step commands with their channels. A second SIGINT quits at
once, even while a node is still connecting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from octopus.testing.sshhosts import TestCluster, TestHost
from tests.conftest import REPO, wait_for, write_inventory
from tests.faults.conftest import FaultRow

STEP = "echo $$ > ~/step.pid; sleep 30; touch ~/after-step"


def project(cluster: TestCluster, root: Path, hosts: list[TestHost], **extra: object) -> Path:
    write_inventory(root / "nodes.yaml", {h.name: cluster.node_values(h, **extra) for h in hosts})
    (root / "experiments").mkdir()
    (root / "experiments" / "slow.yaml").write_text(
        f"experiment_commands: ['true']\nsetup_steps:\n  - Cmd: {{cmd: {STEP!r}}}\n"
    )
    (root / "tasks.py").write_text("from octopus.tasks import ns\n")
    return root


def start_inv(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(
    proc: subprocess.Popen[str], ready: Callable[[], object], times: int = 1
) -> tuple[str, str, float]:
    """Once `ready()` returned, Ctrl-C `times` times (50 ms apart); (stdout, stderr, seconds
    from the last SIGINT to the exit). The process is killed if it outlives the test."""
    try:
        ready()
        for _ in range(times - 1):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        return out, err, time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on loopback that completes TCP handshakes and then says nothing, as a hung
    sshd does: a client waits there for the banner until its connect timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # never accepted: the kernel's backlog holds the connections
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def silent_node(cluster: TestCluster, port: int, connect_timeout: float) -> dict[str, object]:
    values = cluster.node_values(cluster.hosts[0], connect_timeout=connect_timeout)
    return {**values, "ssh_hostname": "127.0.0.1", "ssh_port": port}


def connecting() -> None:
    time.sleep(2.5)  # the client is inside its connect to the silent node by now


def alive(host: TestHost, pid: int) -> bool:
    """Whether a process runs on the host (PIDs as the host sees them)."""
    return host.exec(f"kill -0 {pid} 2>/dev/null && echo yes || true").strip() == "yes"


def test_ctrl_c_during_setup_ends_remote_commands(
    make_cluster, tmp_path: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2)
    for host in cluster.hosts:
        host.exec("rm -f step.pid after-step")
    root = project(cluster, tmp_path, cluster.hosts)
    proc = start_inv(root, "setup", "--exp", "slow")
    pids: list[tuple[TestHost, int]] = []

    def steps_running() -> None:
        assert wait_for(lambda: all((h.home / "step.pid").exists() for h in cluster.hosts), 20)
        time.sleep(0.3)
        pids.extend((h, int((h.home / "step.pid").read_text())) for h in cluster.hosts)

    out, err, took = interrupt(proc, steps_running)
    gone = wait_for(lambda: not any(alive(h, pid) for h, pid in pids), timeout=3)
    record_fault(
        FaultRow(
            "SIGINT to inv setup (a 30 s step on every node)",
            2,
            "exit 130 within 2 s, each node interrupted, remote commands ended",
            f"exit {proc.returncode} after {took:.2f} s; remote commands "
            + ("ended" if gone else "still running"),
            round(took, 2),
            0,
            0,
            0,
        )
    )
    assert proc.returncode == 130, out + err
    assert took < 2.0, took
    assert "Traceback" not in err and "interrupted" in err
    for host in cluster.hosts:
        assert f"{host.name}" in out and "interrupted" in out
    assert gone  # the remote step commands ended with their channels
    assert not any((h.home / "after-step").exists() for h in cluster.hosts)


def test_a_second_ctrl_c_quits_while_a_node_is_connecting(
    make_cluster, tmp_path: Path, silent_port: int
):
    """A node that never answers holds its connect for connect_timeout (here 30 s); the first
    Ctrl-C leaves it after the grace time, the second quits at once."""
    cluster = make_cluster(1)
    port = silent_port
    write_inventory(tmp_path / "nodes.yaml", {"silent": silent_node(cluster, port, 30)})
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "slow.yaml").write_text(
        "experiment_commands: ['true']\nsetup_steps:\n  - Cmd: {cmd: 'true'}\n"
    )
    (tmp_path / "tasks.py").write_text("from octopus.tasks import ns\n")
    proc = start_inv(tmp_path, "setup", "--exp", "slow")
    out, err, took = interrupt(proc, connecting)
    assert proc.returncode == 130 and took < 2.0, (took, out, err)
    assert "silent" in out and "interrupted" in out

    proc = start_inv(tmp_path, "setup", "--exp", "slow")
    out, err, took = interrupt(proc, connecting, times=2)
    assert proc.returncode == 130 and took < 1.0, (took, out, err)


SLOW = "echo $$ > ~/step.pid; sleep 30"


def test_ctrl_c_stops_every_task(make_cluster, tmp_path: Path, record_fault, silent_port: int):
    """SIGINT to each task while it waits on a node: a slow step of that stage, or (deliver,
    start, monitor, which have no steps of their own) a node that is still connecting."""
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    live = cluster.node_values(host)
    port = silent_port
    silent = silent_node(cluster, port, 2)
    write_inventory(tmp_path / "nodes.yaml", {"h1": live, "silent": silent})
    (tmp_path / "experiments").mkdir()
    steps = {
        f"{kind}_steps": [{"Cmd": {"cmd": SLOW}}]
        for kind in ("setup", "monitor", "purge", "check_error", "pickup")
    }
    (tmp_path / "experiments" / "each.yaml").write_text(
        yaml.safe_dump({"experiment_commands": ["sleep 40"], **steps})
    )
    (tmp_path / "tasks.py").write_text("from octopus.tasks import ns\n")
    tasks = {
        "setup": "h1",
        "deliver": "h1,silent",
        "start": "h1,silent",
        "monitor": "h1",
        "purge": "h1",
        "check-errors": "h1",
        "pickup": "h1",
        "run": "h1",
    }
    slowest = 0.0
    outcomes = []
    # A first delivery: h1 takes it, silent is planned but cannot be reached (quickly here).
    start_inv(tmp_path, "deliver", "--exp", "each").communicate(timeout=60)
    silent["connect_timeout"] = 30  # from now on, a connect to it lasts past every Ctrl-C
    write_inventory(tmp_path / "nodes.yaml", {"h1": live, "silent": silent})
    for task, node in tasks.items():
        host.exec("rm -f step.pid")
        proc = start_inv(tmp_path, task, "--exp", "each", "--nodes", node)
        step_started = lambda: wait_for(lambda: (host.home / "step.pid").exists(), 30)  # noqa: E731
        out, err, took = interrupt(proc, connecting if "silent" in node else step_started)
        slowest = max(slowest, took)
        outcomes.append(f"{task} {proc.returncode}")
        assert proc.returncode == 130 and took < 2.0, (task, took, out, err)
        assert "Traceback" not in err, (task, err)
    assert wait_for(lambda: "sleep 30" not in host.exec("ps -eo args"), 3)
    record_fault(
        FaultRow(
            "SIGINT to every task (setup deliver start monitor purge check-errors pickup run)",
            2,
            "each exits 130 within 2 s, remote step commands ended",
            f"all exit 130; slowest {slowest:.2f} s",
            round(slowest, 2),
            0,
            0,
            0,
        )
    )
