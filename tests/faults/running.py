"""What the node and link fault tests share: an experiment started on every host, a timed
monitor, and the row built from the marks the commands left in ~/ran.txt."""

from __future__ import annotations

import time

from octopus import Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.results import MonitorReport
from octopus.stages.monitor import monitor
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_quiet
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
    report = monitor(exp, exp.nodes or [], output=StageOutput(quiet=True))
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
