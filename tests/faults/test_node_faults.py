"""Faults of one node while an experiment runs: its sshd killed (the workers go on), a worker
killed -9, the link down during monitor and mid-deliver, a 30 s link flap, and a host key that
changes. Commands lost must be 0 and none may run twice; a node out of reach is found within
connect_timeout + 2 x keepalive."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from octopus import Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.results import MonitorReport
from octopus.stages.monitor import monitor
from octopus.testing.sshhosts import TestCluster, TestHost
from tests.conftest import cluster_nodes, run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on

KEEPALIVE = 2
CONNECT_TIMEOUT = 3
BOUND = CONNECT_TIMEOUT + 2 * KEEPALIVE
SLACK = 1.5  # this 2-core machine runs other test clusters too
TOTAL = 16


def commands(seconds: float) -> list[str]:
    """Each command's mark goes to ~/ran.txt at its very end: one killed mid-way left none."""
    return [f"sleep {seconds}; echo {n} >> ~/ran.txt" for n in range(TOTAL)]


def started(cluster: TestCluster, name: str, seconds: float, **extra: object) -> Experiment:
    """An experiment delivered and started on every host of the cluster, one worker each."""
    for host in cluster.hosts:
        host.exec("rm -f ran.txt")
    nodes = cluster_nodes(cluster, connect_timeout=CONNECT_TIMEOUT, keepalive=KEEPALIVE, **extra)
    exp = Experiment(name=name, nodes=nodes, shuffle_seed=0, experiment_commands=commands(seconds))
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    return exp


def timed_monitor(exp: Experiment) -> tuple[MonitorReport, float]:
    began = time.monotonic()
    report = monitor(exp, exp.nodes, output=StageOutput(quiet=True))
    return report, time.monotonic() - began


def all_ran(cluster: TestCluster) -> list[int]:
    return [n for host in cluster.hosts for n in ran_on(host)]


def row(
    fault: str, nodes: int, expected: str, observed: str, detect: float | None, ran: list[int]
) -> FaultRow:
    """A row whose lost and run-twice counts come from the marks the commands left."""
    lost, twice = count_runs(ran, TOTAL)
    rounded = None if detect is None else round(detect, 2)
    return FaultRow(fault, nodes, expected, observed, rounded, lost, len(twice), 0)


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


def slow_status_read(host: TestHost, seconds: float) -> None:
    """A node slow to answer (loaded, a slow home): its `screen`, which the status read runs,
    takes `seconds` first."""
    host.write("bin/screen", f'#!/bin/sh\nsleep {seconds}\nexec /usr/bin/screen "$@"\n')
    host.exec("chmod +x bin/screen")
    host.write(".bashrc", 'export PATH="$HOME/bin:$PATH"\n')


@pytest.mark.parametrize("when", ["before", "during"])
def test_link_down_and_monitor(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None], when: str
):
    """Link down before a monitor (the connect times out), or while a monitor waits for the
    node's slow status read (the open connection goes silent): cut 1 s into the read."""
    cluster = make_cluster(3)
    dead = cluster.hosts[2]
    exp = started(cluster, "cutmon", 0.3)
    offset = 0.0
    if when == "during":
        slow_status_read(dead, 4)
        offset = 1.0
    cut = threading.Timer(offset, dead.set_link, kwargs={"up": False})
    cut.start() if offset else cut.run()
    try:
        report, took = timed_monitor(exp)
    finally:
        cut.cancel()
        dead.set_link(up=True)
    detect = took - offset
    final = wait_for_monitor(exp, exp.nodes, lambda r: r.finished and not r.unreachable)
    bound = 2 * KEEPALIVE if when == "during" else BOUND
    record_fault(
        row(
            f"link down {when} a monitor" + (" (a 4 s status read)" if offset else ""),
            3,
            f"that node unreachable within {bound} s, the others read",
            f"unreachable: {sorted(report.unreachable)} "
            f"({report.unreachable.get('h3', '')[:40]!r}); then {final.totals['done']} done",
            detect,
            all_ran(cluster),
        )
    )
    assert list(report.unreachable) == ["h3"] and detect <= bound + SLACK, detect
    assert final.totals["done"] == TOTAL
    assert count_runs(all_ran(cluster), TOTAL) == (0, set())


def big_prefix(megabytes: int) -> str:
    """A comment line of random text: a worker script of that size that gzip cannot shrink
    much, so the upload lasts long enough to be cut."""
    return "# " + secrets.token_urlsafe(megabytes * 3 // 4 * 1024 * 1024) + "\n"


def test_link_down_mid_deliver(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(3)
    dead = cluster.hosts[2]
    nodes = cluster_nodes(cluster, connect_timeout=CONNECT_TIMEOUT, keepalive=KEEPALIVE)
    first = Experiment(name="cutdel", nodes=nodes, experiment_commands=["true"] * 3)
    assert run_quiet(first, ExperimentTask.DELIVER_SCRIPTS).ok
    current = dead.home / first.paths.remote_current
    kept = current.resolve()
    big = Experiment(
        name="cutdel", nodes=nodes, experiment_prefix=big_prefix(24), experiment_commands=["true"]
    )
    deliveries = current.parent / "deliveries"

    cut_at: list[float] = []

    def cut_when_uploading() -> None:
        if wait_for(lambda: any(deliveries.glob("*/.upload-*")), timeout=30):
            dead.set_link(up=False)
            cut_at.append(time.monotonic())

    cutter = threading.Thread(target=cut_when_uploading, daemon=True)
    cutter.start()
    began = time.monotonic()
    try:
        report = run_quiet(big, ExperimentTask.DELIVER_SCRIPTS)
    finally:
        cutter.join(timeout=35)
        dead.set_link(up=True)
    outcome = {r.node: r for r in report.results}
    detect = began + outcome["h3"].duration - cut_at[0]
    half = sorted(p.name for p in deliveries.iterdir() if p != kept)
    kept_whole = current.resolve() == kept
    again = run_quiet(first, ExperimentTask.DELIVER_SCRIPTS)  # the next delivery clears it
    after = sorted(p.name for p in deliveries.iterdir() if p != current.resolve())
    record_fault(
        row(
            "link down mid-deliver (a 24 MB upload)",
            3,
            f"unreachable within {BOUND} s, keeps its previous delivery; the others get it",
            f"{', '.join(r.outcome.value for r in report.results)}; current kept: "
            f"{kept_whole}; half uploads left: {len(half)}, after the next "
            f"deliver: {len(set(half) & set(after))}",
            detect,
            list(range(TOTAL)),
        )
    )
    assert [r.outcome.value for r in report.results] == ["ok", "ok", "unreachable"]
    assert "connection lost" in outcome["h3"].message and detect <= BOUND + SLACK, detect
    assert kept_whole
    for host in cluster.hosts[:2]:
        assert (host.home / big.paths.remote_current).resolve() != kept
    assert again.ok and not set(half) & set(after)


def test_link_flap_30s_mid_run(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    exp = started(cluster, "flap", 2.5)
    assert wait_for(lambda: len(ran_on(h2)) >= 1, timeout=20)
    h2.set_link(up=False)
    cut = time.monotonic()
    try:
        report, detect = timed_monitor(exp)
        time.sleep(max(0.0, 30 - (time.monotonic() - cut)))
    finally:
        h2.set_link(up=True)
    final = wait_for_monitor(exp, exp.nodes, lambda r: r.finished and not r.unreachable)
    record_fault(
        row(
            "link flap: down 30 s mid-run, then up",
            2,
            f"unreachable within {BOUND} s during the flap; the run finishes after it",
            f"during: unreachable {sorted(report.unreachable)}; after: "
            f"{final.totals['done']} done, exit {final.exit_code}",
            detect,
            all_ran(cluster),
        )
    )
    assert list(report.unreachable) == ["h2"] and detect <= BOUND + SLACK, detect
    assert final.totals["done"] == TOTAL and final.exit_code == 0
    assert count_runs(all_ran(cluster), TOTAL) == (0, set())


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
