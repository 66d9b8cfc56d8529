"""Many logins at once to one sshd: 16 nodes (16 names for one test host) connecting together
to an sshd that drops every unauthenticated connection beyond 3 (MaxStartups 3). The drops
are refusals worth a retry, so the stage succeeds on all 16 within the connect timeout."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from octopus import Cmd, Experiment, ExperimentTask, Node
from tests.conftest import run_quiet
from tests.faults.conftest import FaultRow

NODES = 16
CONNECT_TIMEOUT = 10


def drops(log: str) -> int:
    """Logins sshd dropped past MaxStartups: it logs the first drop of a burst, then a total
    when the burst ends."""
    totals = [int(n) for n in re.findall(r"(\d+) connections dropped", log)]
    return max(sum(totals), log.count("past MaxStartups"))


def test_sixteen_logins_at_once_past_maxstartups(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(1, sshd_options={"MaxStartups": "3"})
    host = cluster.hosts[0]
    values = cluster.node_values(host, connect_timeout=CONNECT_TIMEOUT, keepalive=3)
    nodes = [
        Node(test_connection=False, name=f"n{i:02}", **values)  # type: ignore[arg-type]
        for i in range(NODES)
    ]
    exp = Experiment(name="crowd", nodes=nodes, setup_steps=[Cmd(cmd="echo [node] >> ~/setup.txt")])
    began = time.monotonic()
    report = run_quiet(exp, ExperimentTask.SETUP)
    took = time.monotonic() - began
    outcomes = [r.outcome.value for r in report.results]
    dropped = drops(host.sshd_log.read_text(errors="replace"))
    record_fault(
        FaultRow(
            f"{NODES} logins at once to one sshd with MaxStartups 3",
            NODES,
            "every node ok: the dropped logins are retried with jittered backoff",
            f"{outcomes.count('ok')} ok; sshd dropped {dropped} login(s); stage {took:.1f} s",
            round(took, 2),
            0,
            0,
            0,
        )
    )
    assert outcomes == ["ok"] * NODES, [r.message for r in report.results]
    assert dropped > 0  # the fault happened: some logins were refused at first
    assert took < CONNECT_TIMEOUT
