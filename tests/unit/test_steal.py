"""Choosing what moves from backlogged nodes to idle ones, and taking the source's claims."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from octopus.node import Node
from octopus.results import MonitorReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState
from octopus.run.layout import CLAIMS_DIR
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.plan_model import WorkerPlan
from octopus.run.steal import NodeLoad, claim_command, move, parse_claimed, plan_thefts
from octopus.run.workers import Worker
from octopus.stages.steal import worth_stealing
from tests.unit.test_queue_claims import queue_manifest


def test_an_idle_node_takes_about_half_of_a_two_worker_backlog():
    loads = {
        "a": NodeLoad(waiting=list(range(12)), alive=2, capacity=2),
        "b": NodeLoad(waiting=[], alive=0, capacity=2),
    }
    (theft,) = plan_thefts(loads)
    assert (theft.source, theft.target, theft.ids, theft.workers) == ("a", "b", list(range(6)), 2)


def test_nothing_moves_without_an_idle_node_or_a_backlog():
    busy = NodeLoad(waiting=[1, 2], alive=2, capacity=2)
    assert plan_thefts({"a": busy, "b": NodeLoad([3], alive=2, capacity=2)}) == []
    idle = NodeLoad([], alive=0, capacity=2)
    assert plan_thefts({"a": NodeLoad([], alive=1, capacity=2), "b": idle}) == []


def test_two_idle_nodes_share_the_backlog_and_one_worker_gets_one_command():
    loads = {
        "a": NodeLoad(waiting=[1], alive=2, capacity=2),
        "b": NodeLoad([], alive=0, capacity=2),
        "c": NodeLoad([], alive=0, capacity=2),
    }
    (theft,) = plan_thefts(loads)
    assert theft.ids == [1] and theft.workers == 1


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_the_claim_command_reports_only_the_claims_it_got(tmp_path: Path, shell: str):
    claims = tmp_path / "run" / CLAIMS_DIR
    claims.mkdir(parents=True)
    (claims / "2.out").write_text("")  # a worker of the node took it (its stdout file)
    done = subprocess.run(
        [shell, "-c", claim_command("run", [1, 2, 3])],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert parse_claimed(done.stdout) == [1, 3]
    assert sorted(p.name for p in claims.iterdir()) == ["1.out", "2.out", "3.out"]


def test_move_takes_commands_off_their_workers_and_deals_them_out():
    manifest = queue_manifest(8)
    parts = manifest.plan.parts
    ids = [parts[0].ids[-1], parts[1].ids[-1], parts[1].ids[-2]]
    targets = [WorkerPlan(Worker("b", 0, 0, 0)), WorkerPlan(Worker("b", 1, 1, 0))]
    move(manifest.plan, ids, targets)
    assert targets[0].ids == [ids[0], ids[2]] and targets[1].ids == [ids[1]]
    assert not set(ids) & {i for p in parts for i in p.ids}
    assert len(targets[0].commands) == 2 and len(targets[1].command_indices) == 1


def _report(schedule: str, running_on_a: int) -> tuple[MonitorReport, list[Node]]:
    nodes = [
        Node(test_connection=False, name=n, ssh_hostname=n, num_parallel_screens_or_jobs=2)
        for n in ("a", "b")
    ]
    plan = build_plan([f"c{i}" for i in range(8)], "", nodes, schedule=schedule)
    manifest = Manifest("e", "D", plan, {"a": "screen", "b": "screen"}, "r", schedule=schedule)
    record = Deliveries.of_one(manifest)
    ledger = Ledger.fresh(record)
    running = 0
    for status in ledger.commands.values():
        if status.node == "b":
            status.state = CommandState.DONE
        elif running < running_on_a:
            status.state, running = CommandState.RUNNING, running + 1
    return MonitorReport(record, ledger, {}), nodes


def test_worth_stealing_only_with_an_idle_queue_node_and_a_backlog():
    report, nodes = _report("queue", running_on_a=2)
    assert worth_stealing(report, nodes, None)  # b is done, a has 2 waiting
    report.unreachable["b"] = "down"
    assert not worth_stealing(report, nodes, None)
    report, nodes = _report("fixed", running_on_a=2)
    assert not worth_stealing(report, nodes, None)
    report, nodes = _report("queue", running_on_a=4)  # nothing waits on a
    assert not worth_stealing(report, nodes, None)
