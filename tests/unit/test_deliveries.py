"""The per-node record of deliveries: experiments sharing a name on different nodes, and a
delivery to some nodes only, keep every other node's delivery and state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octopus.errors import OctopusError
from octopus.node import Node
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import PLANS_DIR
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan


def delivery(delivery_id: str, names: list[str], count: int, first_id: int = 0) -> Manifest:
    nodes = [
        Node(test_connection=False, ssh_hostname=n, num_parallel_screens_or_jobs=1) for n in names
    ]
    plan = build_plan([f"cmd {i}" for i in range(count)], "", nodes)
    plan.start_ids_at(first_id)
    return Manifest("e", delivery_id, plan, {n: "screen" for n in names}, ".octopus/e")


def ids(manifest: Manifest) -> list[int]:
    return sorted(e.id for e in manifest.plan.entries)


def test_a_delivery_takes_over_its_nodes_and_leaves_the_others() -> None:
    record = Deliveries("e")
    record.take_over(delivery("D1", ["a"], 3))
    assert record.next_id(["b"]) == 3  # a stays: b's commands are numbered after a's
    record.take_over(delivery("D2", ["b"], 4, first_id=3))
    assert record.by_node == {"a": "D1", "b": "D2"}
    assert sorted(e.id for e in record.plan.entries) == list(range(7))
    assert record.next_id(["a"]) == 7 and record.next_id(["a", "b"]) == 0
    record.take_over(delivery("D3", ["a"], 2, first_id=7))  # a again: only a's record changes
    assert record.by_node == {"b": "D2", "a": "D3"}
    assert ids(record.of("a")) == [7, 8] and ids(record.of("b")) == [3, 4, 5, 6]
    assert [m.delivery for m in record.manifests] == ["D2", "D3"]  # D1 held no node: gone


def test_a_delivery_over_part_of_an_older_one_keeps_the_rest_of_it() -> None:
    record = Deliveries("e")
    old = delivery("D1", ["a", "b"], 4)
    old.moved = {"a": [0]}
    record.take_over(old)
    record.take_over(delivery("D2", ["a"], 2, first_id=record.next_id(["a"])))
    assert record.of("b").delivery == "D1" and record.of("b").launchers == {"b": "screen"}
    assert record.of("b").moved == {} and "a" not in record.of("b").nodes
    assert record.of("a").delivery == "D2"
    with pytest.raises(OctopusError, match="not part of the delivery: c; deliver to it first"):
        record.of("c")


def test_replan_drops_the_left_out_nodes() -> None:
    record = Deliveries("e")
    record.take_over(delivery("D1", ["a", "b"], 4))
    record.take_over(delivery("D2", ["b"], 4), dropping=["a"])
    assert record.nodes == ["b"] and not record.holds("a")


def test_the_record_round_trips_and_reads_a_single_manifest(tmp_path: Path) -> None:
    record = Deliveries("e")
    record.take_over(delivery("D1", ["a"], 2))
    record.take_over(delivery("D2", ["b"], 2, first_id=2))
    path = tmp_path / "manifest.json"
    record.write(path)
    again = Deliveries.read(path)
    assert again.by_node == {"a": "D1", "b": "D2"} and again.plan.entries == record.plan.entries
    single = delivery("D9", ["a", "b"], 4)
    path.write_text(json.dumps(single.as_dict()))  # the form written before the record
    assert Deliveries.read(path).by_node == {"a": "D9", "b": "D9"}
    path.write_text("{")
    with pytest.raises(OctopusError, match="is damaged"):
        Deliveries.read(path)


def test_a_commands_file_of_earlier_versions_still_reads(tmp_path: Path) -> None:
    """The plans folder keeps each worker's lists; a file with a dict per command (as
    earlier versions wrote it) reads as the same plan."""
    record = Deliveries("e")
    record.take_over(delivery("D1", ["a", "b"], 5))
    path = tmp_path / "manifest.json"
    record.write(path)
    (commands_file,) = (tmp_path / PLANS_DIR).iterdir()
    assert set(json.loads(commands_file.read_text())) == {"parts", "keys"}
    commands_file.write_text(json.dumps(record.of("a").plan.as_dict()["commands"]))
    again = Deliveries.read(path)
    assert again.plan.entries == record.plan.entries


def done(status: CommandStatus) -> CommandStatus:
    return CommandStatus(
        status.id, status.node, status.worker, status.command, CommandState.DONE, attempts=1
    )


def test_the_ledger_keeps_what_it_saw_of_nodes_whose_delivery_did_not_change(
    tmp_path: Path,
) -> None:
    record = Deliveries("e")
    record.take_over(delivery("D1", ["a"], 2))
    record.take_over(delivery("D2", ["b"], 2, first_id=2))
    ledger = Ledger.fresh(record)
    ledger.merge("a", [done(ledger.commands[0]), done(ledger.commands[1])])
    ledger.merge("b", [done(ledger.commands[2])])
    path = tmp_path / "ledger.sqlite"
    ledger.save(path)
    record.take_over(delivery("D3", ["b"], 3, first_id=record.next_id(["b"])))
    again = Ledger.load(path, record)
    states = {i: s.state for i, s in again.commands.items()}
    assert states == {
        0: CommandState.DONE,
        1: CommandState.DONE,
        2: CommandState.PENDING,
        3: CommandState.PENDING,
        4: CommandState.PENDING,
    }
    assert set(again.nodes) == {"a"}  # b starts afresh with its new delivery
    assert again.deliveries == {"a": "D1", "b": "D3"}


def test_a_ledger_written_for_one_delivery_still_loads(tmp_path: Path) -> None:
    manifest = delivery("D1", ["a", "b"], 4)
    ledger = Ledger.fresh(manifest)
    ledger.merge("a", [done(s) for s in ledger.statuses() if s.node == "a"])
    data = ledger.as_dict()
    data["delivery"] = "D1"  # the old form: one delivery for every node
    del data["deliveries"]
    (tmp_path / "ledger.json").write_text(json.dumps(data))  # beside, not yet imported
    again = Ledger.load(tmp_path / "ledger.sqlite", manifest)
    assert {s.state for s in again.statuses() if s.node == "a"} == {CommandState.DONE}


def test_a_nodes_manifest_reads_back_as_its_share_of_the_delivery() -> None:
    """The manifest a node gets holds its workers' lists, as the plans folder does, and reads
    back with the Python API as the whole one does."""
    manifest = delivery("D1", ["a", "b"], 6)
    shares = manifest.node_shares()
    share = Manifest.from_dict(json.loads(shares["a"]))
    assert share.delivery == "D1" and list(share.launchers) == ["a"]
    assert [(p.worker, p.ids, p.commands) for p in share.plan.parts] == [
        (p.worker, p.ids, p.commands) for p in manifest.workers_on("a")
    ]
