"""Re-runs as data: command keys, ids kept across deliveries, the commands a new delivery
keeps (placed on the worker that ran them, left out of every script), and the events file a
worker starts with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octopus import Experiment, Node
from octopus.run.command_keys import base_key, command_keys, planned_keys
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus, classify, parse_events
from octopus.run.layout import PLANS_DIR, QUEUE_FILE, events_file, script_name
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan_sources import from_plan
from octopus.run.rerun import earlier_runs
from octopus.stages.deliverables import plan_delivery, write_deliverables


def nodes(names: str = "ab", workers: int = 2) -> list[Node]:
    return [
        Node(test_connection=False, ssh_hostname=n, num_parallel_screens_or_jobs=workers)
        for n in names
    ]


def experiment(commands: list[str], **fields: object) -> Experiment:
    return Experiment(name="e", experiment_commands=commands, **fields)  # type: ignore[arg-type]


def test_a_key_is_the_text_and_its_place_among_equal_texts() -> None:
    keys = command_keys(["a", "b", "a", "a  "])
    assert len(set(keys)) == 4  # each "a" is another command, by its place among the "a"s
    assert keys[2] == command_keys(["a", "a"])[1]
    assert keys[3] == command_keys(["a", "a", "a"])[2]  # trailing blanks do not count
    assert keys == command_keys(["a", "b", "a", "a"])  # the same in every process
    assert command_keys(["b"])[0] == keys[1]  # its place in the list does not matter
    assert command_keys(["x.py", "y.py"]) == ["x.py", "y.py"]  # no two alike: the texts


def test_a_record_that_kept_hashed_keys_still_keeps_its_ids_and_what_succeeded(
    tmp_path: Path,
) -> None:
    """Records written before keys were texts kept a hash of each; a new delivery beside
    one matches its commands in that form, ids and all."""
    first, _ = plan_delivery(experiment(["a.py", "b", "a.py", "c"]), nodes("a", 2))
    Deliveries.of_one(first).write(tmp_path / "manifest.json")
    for plans in (tmp_path / PLANS_DIR).iterdir():  # as the earlier version wrote it
        data = json.loads(plans.read_text())
        assert data.pop("sources") == 4  # the plan holds them: only their count is kept
        data["keys"] = command_keys(["a.py", "b", "a.py", "c"], hashed=True)
        plans.write_text(json.dumps(data))
    old = Deliveries.read(tmp_path / "manifest.json")
    assert old.latest is not None and old.latest.plan.hashed
    earlier = earlier_runs(old, finished(first, failing={"c"}), ["a"])
    assert earlier.hashed and len(earlier.done) == 3  # both a.py and b
    again, kept = plan_delivery(experiment(["a.py", "b", "a.py", "c", "d"]), nodes("a", 2),
                                earlier, keep_done=True)  # fmt: skip
    assert sorted(kept) == sorted(e.id for e in first.plan.entries if e.command != "c")
    assert by_text(again)["c"] == by_text(first)["c"]  # the failed one runs again, same id
    assert by_text(again)["d"] == 4  # a new one: past every id the record had


def finished(manifest: Manifest, failing: set[str] = frozenset()) -> Ledger:  # type: ignore[assignment]
    """The ledger after every command ran once, those whose text is in `failing` failing."""
    ledger = Ledger.fresh(manifest)
    for part in manifest.plan.parts:
        for ident, text in zip(part.ids, part.commands, strict=True):
            code = 1 if text in failing else 0
            ledger.merge(
                part.worker.node,
                [CommandStatus(ident, part.worker.node, part.worker.job_id, text,
                               CommandState.FAILED if code else CommandState.DONE, code,
                               100.0 + ident, 101.0 + ident, 1, host=part.worker.node)],
            )  # fmt: skip
    return ledger


def by_text(manifest: Manifest) -> dict[str, int]:
    return {e.command: e.id for e in manifest.plan.entries}


def test_ids_stay_with_their_text_and_only_what_did_not_succeed_runs_again(
    tmp_path: Path,
) -> None:
    first, _ = plan_delivery(experiment(["a", "b", "c", "d", "e"]), nodes())
    record = Deliveries.of_one(first)
    ledger = finished(first, failing={"c"})
    earlier = earlier_runs(record, ledger, ["a", "b"])
    assert set(earlier.done) == set(command_keys(["a", "b", "d", "e"]))
    assert earlier.next_id == 5

    second, kept = plan_delivery(
        experiment(["a", "B", "c", "d", "e"]), nodes(), earlier, keep_done=True
    )
    ids = by_text(second)
    old = by_text(first)
    assert {t: ids[t] for t in "acde"} == {t: old[t] for t in "acde"}
    assert ids["B"] == 5  # an edited command is a new one: an id no command had
    assert set(kept) == {old[t] for t in "ade"}
    # Each kept command is first on the very worker that ran it, and no script runs it.
    for ident, status in kept.items():
        part = second.plan.part(status.node, status.worker)
        assert part is not None and ident in part.ids[: part.kept]
    write_deliverables(second, tmp_path, kept)
    scripts = "".join(p.read_text() for p in tmp_path.glob("*/run_exp_s*.sh"))
    assert "octopus_run 5 B" in scripts and f"octopus_run {ids['c']} c" in scripts
    assert not any(f"octopus_run {ident} " in scripts for ident in kept)
    # ...and its worker starts with its earlier start and end: read as done, with its times.
    for part in second.plan.parts:
        events = tmp_path / part.worker.node / events_file(part.worker.job_id)
        if not part.kept:
            assert not events.exists()
            continue
        statuses = classify(part, parse_events(events.read_text()), alive=True)
        for status in statuses[: part.kept]:
            assert status.state is CommandState.DONE and status.exit_code == 0
            earlier = kept[status.id]
            assert (status.started, status.ended) == (earlier.started, earlier.ended)
        assert all(s.state is CommandState.PENDING for s in statuses[part.kept :])
    assert second.kept_since == min(s.started or 0 for s in kept.values())


def test_a_plain_delivery_keeps_ids_but_runs_everything() -> None:
    first, _ = plan_delivery(experiment(["x", "y"]), nodes("a", 1))
    earlier = earlier_runs(Deliveries.of_one(first), finished(first), ["a"])
    again, kept = plan_delivery(experiment(["y", "z", "x"]), nodes("a", 1), earlier)
    assert kept == {} and all(p.kept == 0 for p in again.plan.parts)
    assert by_text(again) == {"x": by_text(first)["x"], "y": by_text(first)["y"], "z": 2}


def test_kept_commands_of_a_worker_that_is_gone_go_to_the_workers_in_turn() -> None:
    first, _ = plan_delivery(experiment([f"c{i}" for i in range(8)]), nodes("ab", 2))
    earlier = earlier_runs(Deliveries.of_one(first), finished(first), ["a", "b"])
    again, kept = plan_delivery(
        experiment([f"c{i}" for i in range(8)] + ["new"]), nodes("c", 3), earlier, keep_done=True
    )
    assert len(kept) == 8
    assert [p.kept for p in again.plan.parts] == [3, 3, 2]
    assert sum(len(p.runnable().ids) for p in again.plan.parts) == 1


def test_the_queue_schedule_leaves_kept_commands_out_of_every_queue(tmp_path: Path) -> None:
    exp = experiment(["p", "q", "r", "s"], schedule="queue")
    first, _ = plan_delivery(exp, nodes("a", 2))
    earlier = earlier_runs(Deliveries.of_one(first), finished(first, {"s"}), ["a"])
    again, kept = plan_delivery(exp, nodes("a", 2), earlier, keep_done=True)
    write_deliverables(again, tmp_path, kept)
    texts = [(tmp_path / "a" / script_name(p.worker.job_id)).read_text() for p in again.plan.parts]
    texts.append((tmp_path / "a" / QUEUE_FILE).read_text())
    for text in texts:
        assert not any(f"octopus_run {ident} " in text for ident in kept)
    runs_s = f"octopus_run {by_text(again)['s']} s\n"
    assert [text.count(runs_s) for text in texts[:-1]].count(1) == 1  # one script has it
    assert runs_s in texts[-1]  # and the node's queue, for the other worker to take


def test_copies_of_a_command_are_kept_only_when_every_copy_succeeded() -> None:
    """A command planned on several workers (the per-hardware generators' copies) has one
    key per copy; it is kept only when every copy succeeded."""
    manifest, _ = plan_delivery(experiment(["x", "y"]), nodes("a", 2))
    manifest.plan.keys = ["k0.py", "k0.py"]  # both entries are copies of one command
    copies = sorted(planned_keys(manifest.plan, manifest.plan.keys).values())
    assert copies[0] == "k0.py" and copies[1] != "k0.py"  # a copy has a key of its own
    assert {base_key(key) for key in copies} == {"k0.py"}  # a dot in a text is no copy number
    record = Deliveries.of_one(manifest)
    one_failed = earlier_runs(record, finished(manifest, {"y"}), ["a"])
    assert one_failed.done == {} and sorted(one_failed.ids.values()) == [0, 1]
    both = earlier_runs(record, finished(manifest), ["a"])
    assert sorted(s.command for s in both.done["k0.py"]) == ["x", "y"]


@pytest.mark.parametrize("fresh", [True, False])
def test_the_record_keeps_the_keys_and_what_each_worker_kept(tmp_path: Path, fresh: bool) -> None:
    first, _ = plan_delivery(experiment(["a", "b", "c"]), nodes("a", 1))
    earlier = earlier_runs(Deliveries.of_one(first), finished(first), ["a"])
    again, _ = plan_delivery(experiment(["a", "b", "c", "d"]), nodes("a", 1), earlier,
                             keep_done=not fresh)  # fmt: skip
    record = Deliveries.of_one(again)
    record.write(tmp_path / "manifest.json")
    read = Deliveries.read(tmp_path / "manifest.json")
    (part,) = read.latest.plan.parts  # type: ignore[union-attr]
    assert part.kept == (0 if fresh else 3)
    assert read.latest.plan.keys == command_keys(["a", "b", "c", "d"])  # type: ignore[union-attr]
    assert read.latest.kept_since == (None if fresh else 100.0)  # type: ignore[union-attr]
    assert read.latest.kept == (0 if fresh else 3)  # type: ignore[union-attr]


def test_commands_a_placeholder_changed_are_kept_as_given(tmp_path: Path) -> None:
    """The plan holds `[job_id]` filled in: the record then keeps the commands as given, so
    that the next delivery keys them alike."""
    given = ["echo [job_id]", "echo b", "echo [job_id]"]
    first, _ = plan_delivery(experiment(given, schedule="fixed"), nodes("a", 2))
    Deliveries.of_one(first).write(tmp_path / "manifest.json")
    (plans,) = (tmp_path / PLANS_DIR).iterdir()
    assert json.loads(plans.read_text())["sources"] == given
    read = Deliveries.read(tmp_path / "manifest.json").latest
    assert read is not None and read.plan.keys == command_keys(given)


def test_the_plan_gives_the_commands_back_when_it_holds_each_as_given(tmp_path: Path) -> None:
    plan = plan_delivery(experiment(["x", "y", "x"], schedule="fixed"), nodes("ab", 2))[0].plan
    assert plan.holds_sources and from_plan(3, plan.parts) == ["x", "y", "x"]
    # A kept command comes back with the text it ran with, its placeholder filled in.
    given = ["echo [job_id]", "b"]
    first, _ = plan_delivery(experiment(given, schedule="fixed"), nodes("a", 1))
    earlier = earlier_runs(Deliveries.of_one(first), finished(first, {"b"}), ["a"])
    again, kept = plan_delivery(experiment(given, schedule="fixed"), nodes("a", 1), earlier,
                                keep_done=True)  # fmt: skip
    assert len(kept) == 1 and not again.plan.holds_sources
    Deliveries.of_one(again).write(tmp_path / "manifest.json")
    read = Deliveries.read(tmp_path / "manifest.json").latest
    assert read is not None and read.plan.keys == command_keys(given)


def test_a_delivery_that_loses_a_node_keeps_every_commands_key(tmp_path: Path) -> None:
    """Kept as a count, the commands as given are read from the plan as it was written:
    after another delivery takes a node (and its commands) off it, their keys still count
    the equal texts that node held."""
    given = ["x", "x", "y", "x"]
    first, _ = plan_delivery(experiment(given, schedule="fixed"), nodes("ab", 1))
    path = tmp_path / "manifest.json"
    Deliveries.of_one(first).write(path)
    record = Deliveries.read(path)
    other, _ = plan_delivery(experiment(["z"], schedule="fixed"), nodes("b", 1))
    record.take_over(other)
    record.write(path)
    kept = Deliveries.read(path).of("a")
    assert kept.plan.keys == command_keys(given)
    assert all(p.worker.node == "a" for p in kept.plan.parts)
