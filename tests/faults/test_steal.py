"""Stealing across nodes, then the backlogged node dies midway: every command runs exactly
once (commands lost 0, run twice 0). The source node's claims are taken before anything
moves, and a rebalance after the crash moves only what is still the dead node's.

h2's commands take 5 s, so none of them ends between the last look and the crash: what a
node finishes unseen and then takes with it is the rebalance's own case (reported as run
twice, tests/faults/test_rebalance.py), not the steal's."""

from __future__ import annotations

from pathlib import Path

from octopus import Experiment, ExperimentTask
from octopus.run.deliveries import Deliveries
from tests.conftest import cluster_nodes, run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import count_runs, ran_on

TOTAL = 32


def test_steal_then_the_source_node_dies_every_command_runs_once(make_cluster, workdir: Path):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    h2.write("slow", "")  # h2's commands take 5 s, h1's next to nothing
    nodes = cluster_nodes(cluster, connect_timeout=1.5, num_parallel_screens_or_jobs=2)
    exp = Experiment(
        name="steal",
        nodes=nodes,
        experiment_commands=[
            f"if [ -f ~/slow ]; then sleep 5; else sleep 0.05; fi; echo {n} >> ~/ran.txt"
            for n in range(TOTAL)
        ],
    )
    assert exp.schedule == "queue"
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    wait_for_monitor(
        exp,
        nodes,
        lambda r: all(s.state.value == "done" for s in r.statuses if s.node == "h1"),
    )
    before = len(ran_on(h1))
    assert before == TOTAL // 2 and not ran_on(h2)

    assert run_quiet(exp, ExperimentTask.MONITOR, steal=True) is not None
    record = Deliveries.read(workdir / "deliverables" / "steal" / "manifest.json")
    stolen = record.of("h2").stolen.get("h2", [])
    assert stolen, "h1 was idle while h2 had a backlog: something moves"
    assert {c for p in record.of("h1").workers_on("h1") for c in p.ids} >= set(stolen)
    assert not {c for p in record.of("h2").workers_on("h2") for c in p.ids} & set(stolen)
    wait_for_monitor(exp, nodes, lambda r: True)  # the last look before the crash
    h2.kill()  # the source dies with part of its backlog
    assert wait_for(lambda: len(ran_on(h1)) > before)  # h1's new workers ran stolen ones
    moved = run_quiet(exp, ExperimentTask.START, rebalance=True)
    assert [r.outcome.value for r in moved.results] == ["ok", "unreachable"]
    report = wait_for_monitor(
        exp, nodes, lambda r: r.totals["running"] == 0 and not r.totals["pending"]
    )
    lost, twice = count_runs(ran_on(h1) + ran_on(h2), TOTAL)
    assert (lost, twice) == (0, set())
    assert report.totals["done"] == TOTAL
    assert not report.duplicates and not report.possible_duplicates
