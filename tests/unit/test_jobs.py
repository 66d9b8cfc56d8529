"""Reading state files into command states: done, failed, running, pending, lost."""

from __future__ import annotations

from octopus.run.events import CommandState, classify, parse_events
from octopus.run.ledger_overview import overview_of_rows
from octopus.run.ledger_store import row_of
from octopus.run.plan_model import WorkerPlan
from octopus.run.workers import Worker

PART = WorkerPlan(Worker("n1", 0, 0, 0), [10, 11, 12, 13], ["a", "b", "c", "d"], [0, 1, 2, 3])


def events(*lines: str) -> str:
    return "\n".join("\t".join(line.split()) for line in lines)


def test_finished_worker():
    text = events(
        "worker-start - 1.0 99",
        "start 10 1.0 n1",
        "end 10 3.0 0",
        "start 11 3.0 n1",
        "end 11 4.0 2",
        "start 12 4 n1",
        "end 12 5 0",
        "start 13 5 n1",
        "end 13 6 0",
        "worker-end - 6 done",
    )
    states = classify(PART, parse_events(text), alive=False)
    assert [s.state for s in states] == [
        CommandState.DONE,
        CommandState.FAILED,
        CommandState.DONE,
        CommandState.DONE,
    ]
    assert states[1].exit_code == 2


def test_running_then_lost_when_the_worker_dies():
    text = events("worker-start - 1 99", "start 10 1 n1", "end 10 2 0", "start 11 2 n1")
    alive = classify(PART, parse_events(text), alive=True)
    assert [s.state for s in alive] == [
        CommandState.DONE,
        CommandState.RUNNING,
        CommandState.PENDING,
        CommandState.PENDING,
    ]
    dead = classify(PART, parse_events(text), alive=False)
    assert [s.state for s in dead] == [CommandState.DONE] + [CommandState.LOST] * 3


def test_never_started_is_pending_and_stop_on_error_leaves_pending():
    assert {s.state for s in classify(PART, parse_events(""), alive=False)} == {
        CommandState.PENDING
    }
    text = events("worker-start - 1 9", "start 10 1 n1", "end 10 2 1", "worker-end - 2 stopped")
    states = classify(PART, parse_events(text), alive=False)
    assert [s.state for s in states] == [CommandState.FAILED] + [CommandState.PENDING] * 3


def test_a_resumed_command_counts_its_last_attempt_and_partial_lines_are_ignored():
    text = (
        events(
            "worker-start - 1 9",
            "start 11 1 n1",
            "worker-start - 5 10",
            "start 11 5 n1",
            "end 11 7 0",
            "worker-end - 7 done",
        )
        + "\nstart\t12\t8"
    )
    parsed = parse_events(text)
    assert parsed.runs == 2 and len(parsed.attempts[11]) == 2
    states = classify(PART, parsed, alive=False)
    assert states[1].state is CommandState.DONE and states[1].attempts == 2
    assert overview_of_rows(map(row_of, states)).totals == {
        "done": 1,
        "failed": 0,
        "running": 0,
        "pending": 3,
        "lost": 0,
        "cancelled": 0,
    }


def test_eta_from_the_pace_so_far():
    text = events("worker-start - 0 9", "start 10 0 n1", "end 10 10 0", "start 11 10 n1")
    states = classify(PART, parse_events(text), alive=True)
    assert overview_of_rows(map(row_of, states)).eta_seconds() == 10 * 3 / 1
