"""Exactly once under faults: a node that crashes and comes back, a partition that heals, and
a delivery folder deleted on a node. Commands lost must be 0, and every command that ran twice
must be reported."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from octopus import Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.results import MonitorReport
from octopus.stages.monitor import monitor
from tests.conftest import cluster_nodes, run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on

TOTAL = 16


def commands(seconds: float) -> list[str]:
    return [f"sleep {seconds}; echo {n} >> ~/ran.txt" for n in range(TOTAL)]


def observed(report: MonitorReport, reported: set[int], possible: set[int]) -> str:
    return (
        f"{report.totals['done']} done, {len(reported)} reported twice, "
        f"{len(possible)} possibly twice, exit {report.exit_code}"
    )


def reported_numbers(report: MonitorReport) -> tuple[set[int], set[int]]:
    """The command numbers reported as run twice, and as possibly run twice (started on the
    fenced node with no end on record: a crash can cut the record after the command's work)."""
    by_id = {s.id: int(s.command.split()[-3]) for s in report.statuses}
    return {by_id[i] for i in report.duplicates}, {by_id[i] for i in report.possible_duplicates}


def record_rebalance(
    record_fault: Callable[[FaultRow], None],
    fault: str,
    expected: str,
    report: MonitorReport,
    detect: float,
    ran: list[int],
) -> None:
    """The row of a rebalance fault on two nodes, and what every such row must show: nothing
    lost, every command that ran twice reported (and only those reported as certain)."""
    lost, twice = count_runs(ran, TOTAL)
    reported, possible = reported_numbers(report)
    record_fault(
        FaultRow(
            fault,
            2,
            expected,
            observed(report, reported, possible),
            round(detect, 2),
            lost,
            len(twice),
            len(twice & (reported | possible)),
        )
    )
    assert lost == 0 and report.totals["done"] == TOTAL
    assert twice and reported <= twice <= reported | possible and report.exit_code == 1


def test_rebalance_after_a_crash_then_the_node_comes_back(
    make_cluster, workdir: Path, record_fault
):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    nodes = cluster_nodes(cluster, connect_timeout=1.5, num_parallel_screens_or_jobs=1)
    exp = Experiment(name="crash", nodes=nodes, shuffle_seed=0, experiment_commands=commands(0.5))
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    wait_for_monitor(exp, nodes, lambda r: r.totals["done"] >= 2)
    seen = len(ran_on(h2))
    assert wait_for(lambda: len(ran_on(h2)) >= seen + 2)  # it finishes more, unseen
    h2.kill()  # the node crashes
    began = time.monotonic()
    moved = run_quiet(exp, ExperimentTask.START, rebalance=True)
    detect = time.monotonic() - began
    assert [r.outcome.value for r in moved.results] == ["ok", "unreachable"]
    wait_for_monitor(exp, nodes, lambda r: r.totals["running"] == 0 and not r.totals["pending"])
    cluster.reboot(h2)  # back, with its disk as it was
    report = wait_for_monitor(exp, nodes, lambda r: "h2" not in r.unreachable)
    record_rebalance(
        record_fault,
        "node crashes, rebalance, node comes back",
        "moved work runs once more on h1; what h2 finished unseen is reported",
        report,
        detect,
        ran_on(h1) + ran_on(h2),
    )


def test_rebalance_after_a_partition_then_it_heals(make_cluster, workdir: Path, record_fault):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    nodes = cluster_nodes(cluster, connect_timeout=1.5, num_parallel_screens_or_jobs=1)
    exp = Experiment(name="fenced", nodes=nodes, shuffle_seed=0, experiment_commands=commands(1))
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    wait_for_monitor(exp, nodes, lambda r: r.totals["done"] >= 1)
    h2.set_link(up=False)  # h2 goes on running its worker, out of reach
    try:
        began = time.monotonic()
        moved = run_quiet(exp, ExperimentTask.START, rebalance=True)
        detect = time.monotonic() - began
        assert [r.outcome.value for r in moved.results] == ["ok", "unreachable"]
        assert wait_for(lambda: len(ran_on(h2)) >= 3, timeout=15)  # it ran some moved ones
    finally:
        h2.set_link(up=True)
    report = wait_for_monitor(exp, nodes, lambda r: r.finished and not r.unreachable, timeout=60)
    fenced_at = len(ran_on(h2))
    record_rebalance(
        record_fault,
        "partition (link down), rebalance, link up",
        "h2 fenced when reached: stops at its next command; what it ran twice is reported",
        report,
        detect,
        ran_on(h1) + ran_on(h2),
    )
    time.sleep(1.5)
    assert len(ran_on(h2)) == fenced_at < TOTAL // 2  # the fence holds
    assert "fenced" in h2.exec(f"cat ~/{exp.paths.remote_current}/state/s0.events")


def test_a_deleted_delivery_folder(make_cluster, workdir: Path, record_fault):
    cluster = make_cluster(1)
    nodes = cluster_nodes(cluster)
    exp = Experiment(name="gone", nodes=nodes, experiment_commands=commands(0))
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    assert wait_for_monitor(exp, nodes, lambda r: r.finished).totals["done"] == TOTAL
    cluster.hosts[0].exec(f"rm -rf ~/{exp.paths.remote_run_dir}")
    began = time.monotonic()
    report = monitor(exp, nodes, output=StageOutput(quiet=True))
    detect = time.monotonic() - began
    lost, twice = count_runs(ran_on(cluster.hosts[0]), TOTAL)
    record_fault(
        FaultRow(
            "delivery folder deleted on the node",
            1,
            "done stays done; the node is reported as having lost its state (exit 1)",
            f"{report.totals['done']} done, state lost: {'h1' in report.state_lost}, "
            f"exit {report.exit_code}",
            round(detect, 2),
            lost,
            len(twice),
            0,
        )
    )
    assert report.totals["done"] == TOTAL and report.totals["pending"] == 0
    assert report.exit_code == 1 and "h1" in report.state_lost and "h1" in report.undelivered
    assert lost == 0 and not twice
