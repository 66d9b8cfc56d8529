"""A node that goes silent costs seconds: link down mid-stage (on the host's side and on the
bridge's), found within 2 x keepalive while the other nodes finish their steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from octopus import Cmd, Experiment, ExperimentTask
from tests.conftest import cluster_nodes, run_quiet
from tests.faults.conftest import FaultRow

KEEPALIVE = 2
CONNECT_TIMEOUT = 3
LINK_DOWN_AT = 1.0
STEP_SECONDS = 8


@pytest.mark.parametrize("side", ["netns", "bridge"])
def test_link_down_mid_setup(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None], side: str
):
    cluster = make_cluster(3)
    nodes = cluster_nodes(cluster, connect_timeout=CONNECT_TIMEOUT, keepalive=KEEPALIVE)
    exp = Experiment(
        name="silent",
        nodes=nodes,
        setup_steps=[Cmd(cmd=f"sleep {STEP_SECONDS}; touch ~/setup-done")],
    )
    dead = cluster.hosts[2]
    cut = threading.Timer(LINK_DOWN_AT, dead.set_link, kwargs={"up": False, "side": side})
    began = time.monotonic()
    cut.start()
    try:
        report = run_quiet(exp, ExperimentTask.SETUP)
        took = time.monotonic() - began
    finally:
        cut.cancel()
        dead.set_link(up=True, side=side)
    outcomes = {r.node: r for r in report.results}
    lost = outcomes[dead.name]
    detect = lost.duration - LINK_DOWN_AT
    bound = 2 * KEEPALIVE
    record_fault(
        FaultRow(
            f"link down mid-setup ({side} side)",
            3,
            f"that node unreachable within {bound} s (2 x keepalive), the others ok",
            f"{', '.join(f'{r.outcome.value}' for r in report.results)}; stage {took:.1f} s",
            round(detect, 2),
            0,
            0,
            0,
        )
    )
    assert [r.outcome.value for r in report.results] == ["ok", "ok", "unreachable"]
    assert "connection lost" in lost.message
    assert detect <= bound + 1.5, detect  # a little slack for this 2-core machine
    assert took < STEP_SECONDS + 3  # the stage waited for the live nodes only
    for host in cluster.hosts[:2]:
        assert (host.home / "setup-done").exists()
