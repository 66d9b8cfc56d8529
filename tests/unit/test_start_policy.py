"""What `inv start` does with each worker (start, resume, retry, leave, refuse), and moving the
unfinished commands of unreachable nodes to new workers (rebalance)."""

from __future__ import annotations

import pytest

from octopus.errors import OctopusError
from octopus.node import Node
from octopus.run.events import CommandState, classify, parse_events
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.start_policy import (
    StartOptions,
    move_unfinished,
    refuse_if_running,
    worker_start,
)
from octopus.run.status import NodeStatus

DONE, FAILED, RUNNING, PENDING, LOST = (
    CommandState.DONE,
    CommandState.FAILED,
    CommandState.RUNNING,
    CommandState.PENDING,
    CommandState.LOST,
)
PLAIN = StartOptions()
RESUME = StartOptions(resume=True)
RETRY = StartOptions(retry_failed=True)


def node(name, workers=2, sockets=(0,)):
    return Node(
        test_connection=False,
        ssh_hostname=name,
        num_parallel_screens_or_jobs=workers,
        available_sockets=list(sockets),
    )


def make_manifest(nodes=None, count=8):
    nodes = nodes or [node("a")]
    plan = build_plan([f"cmd {i}" for i in range(count)], "", nodes)
    return Manifest(
        experiment="exp",
        delivery="D1",
        plan=plan,
        launchers={n.name: "screen" for n in nodes},
        run_root=".octopus/exp",
    )


def ev(*lines):
    return "\n".join("\t".join(str(x) for x in line) for line in lines)


def status_of(manifest, workers, name="a"):
    """A NodeStatus as parse_status builds it: workers maps job id -> (events text, alive)."""
    status = NodeStatus(node=name, delivery=manifest.delivery, now=100.0)
    for part in manifest.workers_on(name):
        job = part.worker.job_id
        text, alive = workers.get(job, ("", False))
        events = parse_events(text)
        status.alive[job] = alive
        status.events[job] = events
        status.commands += classify(part, events, alive)
    return status


def part0(manifest):
    part = manifest.workers_on("a")[0]
    assert len(part.ids) == 4
    return part


def states(status, job):
    return [c.state for c in status.commands if c.worker == job]


# -- StartOptions ---------------------------------------------------------------------------


def test_wanted_states():
    assert PLAIN.wanted == set() and not PLAIN.partial
    assert StartOptions(force=True).wanted == set() and not StartOptions(force=True).partial
    unfinished = {PENDING, LOST, CommandState.CANCELLED}
    assert RESUME.wanted == unfinished and RESUME.partial
    assert StartOptions(rebalance=True).wanted == unfinished
    assert StartOptions(rebalance=True).partial
    assert RETRY.wanted == {FAILED} and RETRY.partial
    assert StartOptions(resume=True, retry_failed=True).wanted == unfinished | {FAILED}


# -- refuse_if_running ----------------------------------------------------------------------


def test_a_plain_start_refuses_while_workers_run():
    manifest = make_manifest()
    status = status_of(manifest, {0: ("", True), 1: ("", True)})
    with pytest.raises(OctopusError, match=r"s0, s1 still running"):
        refuse_if_running(status, PLAIN)


def test_refuse_names_only_the_running_workers():
    manifest = make_manifest()
    status = status_of(manifest, {1: ("", True)})
    with pytest.raises(OctopusError) as caught:
        refuse_if_running(status, PLAIN)
    assert str(caught.value).startswith("s1 still running")


def test_no_refusal_when_nothing_runs_or_when_resuming_or_forced():
    manifest = make_manifest()
    refuse_if_running(status_of(manifest, {}), PLAIN)
    running = status_of(manifest, {0: ("", True)})
    for options in (RESUME, RETRY, StartOptions(rebalance=True), StartOptions(force=True)):
        refuse_if_running(running, options)


# -- worker_start ---------------------------------------------------------------------------


def test_an_alive_worker_is_left_alone_unless_forced():
    manifest = make_manifest()
    part = part0(manifest)
    status = status_of(manifest, {0: (ev(("worker-start", "-", 1, 9)), True)})
    for options in (PLAIN, RESUME, RETRY):
        start = worker_start(part, status, options)
        assert start.script is None and start.owed is None and not start.stop_first
        assert start.note == "s0 is still running: left alone (--force restarts it)"
        assert start.worker == part.worker


def test_plain_start_of_a_worker_that_ran_is_refused():
    manifest = make_manifest()
    part = part0(manifest)
    text = ev(
        ("worker-start", "-", 1, 9), ("start", part.ids[0], 1, "h"), ("end", part.ids[0], 2, 0)
    )
    status = status_of(manifest, {0: (text, False)})
    with pytest.raises(OctopusError, match="worker s0 already ran: use --resume"):
        worker_start(part, status, PLAIN)


def test_plain_start_of_a_fresh_worker_starts_the_delivered_script():
    manifest = make_manifest()
    part = part0(manifest)
    start = worker_start(part, status_of(manifest, {}), PLAIN)
    assert start.script == "run_exp_s0.sh"
    assert start.owed is None and not start.stop_first and start.note == ""
    # Also when the status has not heard of the worker at all.
    empty = NodeStatus(node="a", delivery="D1", now=0.0)
    assert worker_start(part, empty, PLAIN).script == "run_exp_s0.sh"
    second = manifest.workers_on("a")[1]
    assert worker_start(second, status_of(manifest, {}), PLAIN).script == "run_exp_s1.sh"


def test_forced_plain_start_runs_the_delivered_script_again():
    manifest = make_manifest()
    part = part0(manifest)
    ran = ev(("worker-start", "-", 1, 9), ("start", part.ids[0], 1, "h"))
    force = StartOptions(force=True)
    dead = worker_start(part, status_of(manifest, {0: (ran, False)}), force)
    assert dead.script == "run_exp_s0.sh" and dead.owed is None and not dead.stop_first
    alive = worker_start(part, status_of(manifest, {0: (ran, True)}), force)
    assert alive.script == "run_exp_s0.sh" and alive.owed is None and alive.stop_first


def test_resume_owes_pending_and_lost_commands_in_a_new_script():
    manifest = make_manifest()
    p0, p1 = manifest.workers_on("a")
    # Worker 0 died underway: its started and its never-started commands are lost.
    died = ev(
        ("worker-start", "-", 1, 9),
        ("start", p0.ids[0], 1, "h"),
        ("end", p0.ids[0], 2, 0),
        ("start", p0.ids[1], 2, "h"),
        ("end", p0.ids[1], 3, 4),
        ("start", p0.ids[2], 3, "h"),
    )
    # Worker 1 stopped at an error on purpose: what it never started is pending.
    stopped = ev(
        ("worker-start", "-", 1, 9),
        ("start", p1.ids[0], 1, "h"),
        ("end", p1.ids[0], 2, 1),
        ("worker-end", "-", 2, "stopped"),
    )
    status = status_of(manifest, {0: (died, False), 1: (stopped, False)})
    assert states(status, 0) == [DONE, FAILED, LOST, LOST]
    assert states(status, 1) == [FAILED, PENDING, PENDING, PENDING]

    start = worker_start(p0, status, RESUME)
    assert start.script == "run_exp_s0.run2.sh"
    assert not start.stop_first
    assert start.owed is not None and start.owed.worker == p0.worker
    assert start.owed.ids == p0.ids[2:]
    assert start.owed.commands == p0.commands[2:]
    assert start.owed.command_indices == p0.command_indices[2:]

    start = worker_start(p1, status, RESUME)
    assert start.script == "run_exp_s1.run2.sh"
    assert start.owed.ids == p1.ids[1:]
    assert start.owed.commands == p1.commands[1:]


def test_the_script_suffix_counts_the_runs_so_far():
    manifest = make_manifest()
    part = part0(manifest)
    text = ev(
        ("worker-start", "-", 1, 9),
        ("start", part.ids[0], 1, "h"),
        ("worker-start", "-", 5, 10),
        ("start", part.ids[0], 5, "h"),
    )
    status = status_of(manifest, {0: (text, False)})
    assert status.events[0].runs == 2
    start = worker_start(part, status, RESUME)
    assert start.script == "run_exp_s0.run3.sh"
    assert start.owed.ids == part.ids


def test_retry_failed_owes_only_the_failed_commands():
    manifest = make_manifest()
    part = part0(manifest)
    text = ev(
        ("worker-start", "-", 1, 9),
        ("start", part.ids[0], 1, "h"),
        ("end", part.ids[0], 2, 3),
        ("start", part.ids[1], 2, "h"),
        ("end", part.ids[1], 3, 0),
        ("start", part.ids[2], 3, "h"),
        ("end", part.ids[2], 4, 1),
        ("start", part.ids[3], 4, "h"),
    )
    status = status_of(manifest, {0: (text, False)})
    assert states(status, 0) == [FAILED, DONE, FAILED, LOST]

    retry = worker_start(part, status, RETRY)
    assert retry.script == "run_exp_s0.run2.sh"
    assert retry.owed.ids == [part.ids[0], part.ids[2]]
    assert retry.owed.commands == [part.commands[0], part.commands[2]]

    both = worker_start(part, status, StartOptions(resume=True, retry_failed=True))
    assert both.owed.ids == [part.ids[0], part.ids[2], part.ids[3]]


def test_force_resume_of_an_alive_worker_stops_it_and_reruns_what_was_running():
    manifest = make_manifest()
    part = part0(manifest)
    text = ev(
        ("worker-start", "-", 1, 9),
        ("start", part.ids[0], 1, "h"),
        ("end", part.ids[0], 2, 0),
        ("start", part.ids[1], 2, "h"),
    )
    status = status_of(manifest, {0: (text, True)})
    assert states(status, 0) == [DONE, RUNNING, PENDING, PENDING]
    start = worker_start(part, status, StartOptions(resume=True, force=True))
    assert start.stop_first
    assert start.script == "run_exp_s0.run2.sh"
    assert start.owed.ids == part.ids[1:]
    # Retrying failures only: the running command is lost, not failed, so nothing is owed,
    # but the worker is still stopped first.
    retry = worker_start(part, status, StartOptions(retry_failed=True, force=True))
    assert retry.script is None and retry.owed is None and retry.stop_first


def test_nothing_owed_starts_nothing():
    manifest = make_manifest()
    part = part0(manifest)
    lines = [("worker-start", "-", 1, 9)]
    for i, ident in enumerate(part.ids):
        lines += [("start", ident, i, "h"), ("end", ident, i + 1, 0)]
    lines.append(("worker-end", "-", 9, "done"))
    status = status_of(manifest, {0: (ev(*lines), False)})
    assert set(states(status, 0)) == {DONE}
    for options in (RESUME, RETRY, StartOptions(resume=True, retry_failed=True)):
        start = worker_start(part, status, options)
        assert start.script is None and start.owed is None
        assert not start.stop_first and start.note == ""


def test_a_new_worker_from_rebalance_starts_its_own_commands():
    manifest = make_manifest()
    part = part0(manifest)
    start = worker_start(part, status_of(manifest, {}), RESUME, new=True)
    assert start.script == "run_exp_s0.sh"
    assert start.owed is part and not start.stop_first


# -- move_unfinished ------------------------------------------------------------------------


def rebalance_setup():
    """Node a (2 workers, down) and b (2 workers, up); 8 commands, 2 per worker."""
    a, b = node("a"), node("b", sockets=(0, 1))
    manifest = make_manifest([a, b], count=8)
    ledger = Ledger.fresh(manifest)
    on_a = [i for p in manifest.workers_on("a") for i in p.ids]
    assert on_a == [0, 1, 2, 3]
    ledger.commands[0].state = DONE
    ledger.commands[1].state = RUNNING
    ledger.commands[2].state = FAILED
    ledger.commands[3].state = LOST
    return manifest, ledger, a, b


def test_unfinished_commands_of_a_down_node_go_round_robin_to_new_workers():
    manifest, ledger, _a, b = rebalance_setup()
    plan = manifest.plan
    before = {p.worker.job_id: list(p.ids) for p in manifest.workers_on("b")}
    commands = {e.id: e.command for e in plan.entries}
    added = move_unfinished(plan, ledger, [b], {"a"})

    # New workers on b, numbered after its own (0 and 1).
    assert [(t.worker.node, t.worker.job_id, t.worker.index) for t in added] == [
        ("b", 2, 2),
        ("b", 3, 3),
    ]
    assert [t.worker.socket for t in added] == [0, 1]
    # Round robin in id order, ids and command texts kept.
    assert [t.ids for t in added] == [[1], [3]]
    assert [t.commands for t in added] == [[commands[1]], [commands[3]]]
    # The new workers joined the plan; b's own workers are untouched.
    assert plan.parts[-2:] == added
    assert {p.worker.job_id: p.ids for p in manifest.workers_on("b")}[0] == before[0]
    # The done and failed commands stay where they ran; the moved ones left node a.
    assert sorted(i for p in manifest.workers_on("a") for i in p.ids) == [0, 2]
    assert sorted(e.id for e in plan.entries) == list(range(8))
    # The ledger follows: moved commands are pending on their new workers.
    assert (ledger.commands[1].node, ledger.commands[1].worker) == ("b", 2)
    assert (ledger.commands[3].node, ledger.commands[3].worker) == ("b", 3)
    assert ledger.commands[1].state is PENDING and ledger.commands[3].state is PENDING
    assert (ledger.commands[0].node, ledger.commands[0].state) == ("a", DONE)
    assert (ledger.commands[2].node, ledger.commands[2].state) == ("a", FAILED)


def test_more_commands_than_new_workers_wrap_around():
    a, b = node("a", workers=1), node("b", workers=2)
    manifest = make_manifest([a, b], count=9)
    ledger = Ledger.fresh(manifest)
    on_a = manifest.workers_on("a")[0].ids
    added = move_unfinished(manifest.plan, ledger, [b], {"a"})
    assert [t.worker.job_id for t in added] == [2, 3]
    assert added[0].ids == on_a[0::2] and added[1].ids == on_a[1::2]
    assert manifest.workers_on("a")[0].ids == []


def test_several_up_nodes_share_the_work_and_a_node_new_to_the_plan_starts_at_zero():
    a, b, c = node("a", workers=2), node("b", workers=1), node("c", workers=1)
    manifest = make_manifest([a, b], count=6)
    ledger = Ledger.fresh(manifest)
    added = move_unfinished(manifest.plan, ledger, [b, c], {"a"})
    assert [(t.worker.node, t.worker.job_id) for t in added] == [("b", 1), ("c", 0)]
    moved = sorted(i for t in added for i in t.ids)
    assert moved == [0, 1, 2, 3]
    assert all(ledger.commands[i].node in ("b", "c") for i in moved)


def test_moved_commands_keep_their_experiment_command_index():
    manifest, ledger, _a, b = rebalance_setup()
    index_of = {e.id: e.command_index for e in manifest.plan.entries}
    assert index_of[1] is not None and index_of[3] is not None
    added = move_unfinished(manifest.plan, ledger, [b], {"a"})
    assert [t.command_indices for t in added] == [[index_of[1]], [index_of[3]]]
    # And the manifest form of the plan says so too.
    moved = {c["id"]: c for c in manifest.plan.as_dict()["commands"] if c["id"] in (1, 3)}
    assert {i: (c["node"], c["command_index"]) for i, c in moved.items()} == {
        1: ("b", index_of[1]),
        3: ("b", index_of[3]),
    }


def test_a_moved_command_starts_afresh_in_the_ledger():
    manifest, ledger, _a, b = rebalance_setup()
    entry = ledger.commands[1]
    entry.attempts, entry.started, entry.exit_code = 1, 10.0, None
    move_unfinished(manifest.plan, ledger, [b], {"a"})
    entry = ledger.commands[1]
    assert (entry.state, entry.attempts, entry.started, entry.ended, entry.exit_code) == (
        PENDING,
        0,
        None,
        None,
        None,
    )


def test_nothing_to_move():
    manifest, ledger, _a, b = rebalance_setup()
    parts = len(manifest.plan.parts)
    assert move_unfinished(manifest.plan, ledger, [b], set()) == []
    for ident in (1, 3):
        ledger.commands[ident].state = DONE
    assert move_unfinished(manifest.plan, ledger, [b], {"a"}) == []
    assert len(manifest.plan.parts) == parts
    assert sorted(i for p in manifest.workers_on("a") for i in p.ids) == [0, 1, 2, 3]


def test_no_up_node_to_take_over_is_an_error():
    manifest, ledger, _a, _b = rebalance_setup()
    with pytest.raises(OctopusError, match="no node is reachable"):
        move_unfinished(manifest.plan, ledger, [], {"a"})
