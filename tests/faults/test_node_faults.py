"""Faults of one node while an experiment runs: its sshd killed (the workers go on), a worker
killed -9, and a host key that changes. Commands lost must be 0 and none may run twice; a node
out of reach is found within connect_timeout + 2 x keepalive."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from octopus import ExperimentTask
from octopus.testing.sshhosts import TestHost
from tests.conftest import run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on
from tests.faults.running import BOUND, SLACK, TOTAL, all_ran, row, started, timed_monitor


def test_sshd_killed_workers_go_on(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2, init=True)
    h1, h2 = cluster.hosts
    exp = started(cluster, "nosshd", 0.5)
    assert wait_for(lambda: len(ran_on(h2)) >= 1, timeout=20)
    h2.stop_sshd()
    try:
        report, detect = timed_monitor(exp)
        seen = len(ran_on(h2))
        assert wait_for(lambda: len(ran_on(h2)) > seen, timeout=10)  # the worker goes on
    finally:
        h2.start_sshd()
    final = wait_for_monitor(exp, exp.nodes, lambda r: r.finished and not r.unreachable)
    record_fault(
        row(
            "sshd killed on a node (its workers go on), sshd back",
            2,
            f"unreachable within {BOUND} s, workers go on, the run finishes once sshd is back",
            f"unreachable: {sorted(report.unreachable)} ({report.unreachable.get('h2', '')!r}); "
            f"then {final.totals['done']} done",
            detect,
            all_ran(cluster),
        )
    )
    assert list(report.unreachable) == ["h2"] and detect <= BOUND + SLACK, detect
    assert final.totals["done"] == TOTAL
    assert count_runs(all_ran(cluster), TOTAL) == (0, set())


def worker_shell(host: TestHost, session: str) -> int:
    """The PID (in the host) of the shell running a worker's script: the screen session's
    only child."""
    listing = host.exec(f"screen -ls | grep -F '.{session}' || true")
    screen_pid = int(listing.split()[0].split(".")[0])
    return int(host.exec(f"cat /proc/{screen_pid}/task/{screen_pid}/children").split()[0])


def test_worker_killed_then_resume(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    exp = started(cluster, "killed", 1, num_parallel_screens_or_jobs=1)
    assert wait_for(lambda: len(ran_on(host)) >= 3, timeout=20)
    time.sleep(0.4)  # in the middle of a command
    shell = worker_shell(host, exp.paths.worker_session(0))
    host.exec(f"kill -9 {shell}")
    began = time.monotonic()
    report = wait_for_monitor(exp, exp.nodes, lambda r: r.totals["lost"] > 0, timeout=10)
    detect = time.monotonic() - began
    time.sleep(1.5)  # the command cut short would have marked its end by now
    before = len(ran_on(host))
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    final = wait_for_monitor(exp, exp.nodes, lambda r: r.totals["done"] == TOTAL, timeout=40)
    record_fault(
        row(
            "worker shell killed -9 mid-command, start --resume",
            1,
            "its unfinished commands lost; resume runs them, each command once",
            f"{report.totals['lost']} lost ({before} had ended); after resume "
            f"{final.totals['done']} done",
            detect,
            ran_on(host),
        )
    )
    assert report.totals["lost"] == TOTAL - before and report.totals["running"] == 0
    assert final.totals["done"] == TOTAL
    assert count_runs(ran_on(host), TOTAL) == (0, set())


def test_host_key_changes_mid_experiment(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2, init=True)
    h1, h2 = cluster.hosts
    exp = started(cluster, "rekey", 0.5)
    assert wait_for(lambda: len(ran_on(h2)) >= 1, timeout=20)
    h2.change_host_key()
    try:
        report, detect = timed_monitor(exp)
        seen = len(ran_on(h2))
        going_on = wait_for(lambda: len(ran_on(h2)) > seen, timeout=10)
    finally:
        h2.restore_host_key()  # the operator checks the new key; here, the old one comes back
    final = wait_for_monitor(exp, exp.nodes, lambda r: r.finished and not r.unreachable)
    message = report.unreachable.get("h2", "")
    record_fault(
        row(
            "host key of a node changes mid-experiment",
            2,
            "that node refused with the 'changed' message, its commands go on, others fine",
            f"unreachable: {sorted(report.unreachable)} ({message[:60]!r}...); commands went "
            f"on: {going_on}; then {final.totals['done']} done",
            detect,
            all_ran(cluster),
        )
    )
    assert list(report.unreachable) == ["h2"] and "changed" in message.lower()
    assert "\n" not in message.strip() and going_on
    assert final.totals["done"] == TOTAL
    assert count_runs(all_ran(cluster), TOTAL) == (0, set())
