"""`inv run` with nodes out of reach: it carries on with the nodes that answer, and stops
waiting once every unfinished command is on a node out of reach, naming it; `start --resume`
then finishes exactly what was left once the node is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from octopus import Experiment, ExperimentTask, Node
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.stages.options import StageOptions
from octopus.stages.run import run_experiment
from tests.conftest import cluster_nodes, run_quiet, wait_for, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on

TOTAL = 12


def commands(seconds: float) -> list[str]:
    return [f"sleep {seconds}; echo {n} >> ~/ran.txt" for n in range(TOTAL)]


def test_run_goes_on_without_a_node_unreachable_at_setup(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2)
    for host in cluster.hosts:
        host.exec("rm -f ran.txt")
    nodes = cluster_nodes(cluster, connect_timeout=2, num_parallel_screens_or_jobs=2)
    nowhere = cluster.node_values(cluster.hosts[0], connect_timeout=2)
    nowhere["ssh_hostname"] = cluster.unreachable_address
    nodes.append(Node(test_connection=False, name="gone", **nowhere))  # type: ignore[arg-type]
    exp = Experiment(name="carry", nodes=nodes, experiment_commands=commands(0.1))
    began = time.monotonic()
    code = run_experiment(exp, nodes, StageOptions(), interval=0.5, timeout=120).exit_code
    took = time.monotonic() - began
    lost, twice = count_runs(ran_on(cluster.hosts[0]) + ran_on(cluster.hosts[1]), TOTAL)
    record_fault(
        FaultRow(
            "inv run, 1 of 3 nodes unreachable at setup",
            3,
            "runs everything on the 2 that answer, reports the third, exit 1",
            f"exit {code} after {took:.1f} s",
            None,
            lost,
            len(twice),
            0,
        )
    )
    assert code == 1 and lost == 0 and not twice


def test_run_stops_waiting_for_a_dead_node_and_resume_finishes(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    for host in cluster.hosts:
        host.exec("rm -f ran.txt")
    nodes = cluster_nodes(cluster, connect_timeout=2, keepalive=2, num_parallel_screens_or_jobs=1)
    exp = Experiment(name="dies", nodes=nodes, shuffle_seed=0, experiment_commands=commands(0.5))

    def crash() -> None:
        """Kill h2 in the middle of its second command (a crash between a command's effect
        and its end record would make it run twice on resume: a separate, tiny window)."""
        if wait_for(lambda: len(ran_on(h2)) >= 1, timeout=30):
            time.sleep(0.2)
            h2.kill()

    killer = threading.Thread(target=crash, daemon=True)
    killer.start()
    output = StageOutput(quiet=True)
    began = time.monotonic()
    try:
        code = run_experiment(exp, nodes, StageOptions(), interval=0.5, timeout=120).exit_code
        took = time.monotonic() - began
    finally:
        killer.join(timeout=30)
    status = monitor(exp, nodes, output=output)
    assert status.unreachable and "h2" in status.unreachable
    assert code == 1 and took < 30, took
    cluster.reboot(h2)  # back, without the workers it had: their unfinished commands are lost
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    final = wait_for_monitor(exp, nodes, lambda r: r.finished, timeout=60)
    lost, twice = count_runs(ran_on(h1) + ran_on(h2), TOTAL)
    record_fault(
        FaultRow(
            "host killed mid-run (inv run), host back, start --resume",
            2,
            "run stops waiting and names the node; resume finishes exactly what was left",
            f"run exit {code} after {took:.1f} s; then {final.totals['done']} done",
            None,
            lost,
            len(twice),
            0,
        )
    )
    assert lost == 0 and not twice and final.totals["done"] == TOTAL
