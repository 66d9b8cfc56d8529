"""The link of one node: down before or during a monitor, down mid-deliver, and a 30 s flap
mid-run. The node is found out of reach within connect_timeout + 2 x keepalive (2 x keepalive
once connected), the others go on, no half delivery becomes current, nothing is lost and
nothing runs twice."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from octopus import Experiment, ExperimentTask
from octopus.testing.sshhosts import TestHost
from tests.conftest import cluster_nodes, run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on
from tests.faults.running import (
    BOUND,
    CONNECT_TIMEOUT,
    KEEPALIVE,
    SLACK,
    TOTAL,
    all_ran,
    row,
    started,
    timed_monitor,
)


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
