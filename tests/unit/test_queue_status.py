"""A node whose workers share one queue: its commands' states read from all its workers
together, and what `start --resume` gives each worker it starts (claims to clear included)."""

from __future__ import annotations

import subprocess

from octopus.run.events import CommandState
from octopus.run.queue_start import clear_claims_command, queue_starts
from octopus.run.start_policy import StartOptions, worker_start
from tests.unit.test_status import alive, ev, events, make_manifest, output, read, states

DONE, FAILED, RUNNING, PENDING, LOST, CANCELLED = (
    CommandState.DONE,
    CommandState.FAILED,
    CommandState.RUNNING,
    CommandState.PENDING,
    CommandState.LOST,
    CommandState.CANCELLED,
)


def queue_manifest():  # type: ignore[no-untyped-def]
    manifest = make_manifest()  # worker 0: ids 0-2, worker 1: ids 3-5
    manifest.schedule = "queue"
    return manifest


def test_a_command_run_by_another_worker_is_that_workers():
    manifest = queue_manifest()
    text = output(
        alive(0, True),
        alive(1, True),
        events(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 0)),
        events(
            1,
            ev("worker-start", "-", 1, 9),
            ev("start", 3, 1, "h"),
            ev("end", 3, 2, 0),
            ev("start", 2, 3, "h"),  # worker 0's command, taken from the queue
        ),
    )
    status = read(manifest, text)
    got = {c.id: (c.state, c.worker) for c in status.commands}
    assert got[0] == (DONE, 0)
    assert got[2] == (RUNNING, 1)
    assert got[3] == (DONE, 1)
    assert got[1] == (PENDING, 0) and got[5] == (PENDING, 1)


def test_unstarted_commands_wait_while_any_worker_lives_and_are_lost_when_all_are_gone():
    manifest = queue_manifest()
    worker_died = events(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"))
    worker_done = events(1, ev("worker-start", "-", 1, 9), ev("worker-end", "-", 2, "done"))
    one_alive = read(manifest, output(alive(0, False), alive(1, True), worker_died, worker_done))
    assert states(one_alive) == {
        0: LOST,
        1: PENDING,
        2: PENDING,
        3: PENDING,
        4: PENDING,
        5: PENDING,
    }
    none_alive = read(manifest, output(alive(0, False), alive(1, False), worker_died, worker_done))
    assert set(states(none_alive).values()) == {LOST}
    not_started = read(manifest, output(alive(0, False), alive(1, False)))
    assert set(states(not_started).values()) == {PENDING}


def test_purged_workers_leave_their_unfinished_commands_cancelled():
    manifest = queue_manifest()
    text = output(
        ["@@octopus purged"],
        alive(0, False),
        alive(1, False),
        events(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 0)),
        events(1, ev("worker-start", "-", 1, 9), ev("start", 3, 1, "h")),
    )
    assert states(read(manifest, text)) == {
        0: DONE,
        1: CANCELLED,
        2: CANCELLED,
        3: CANCELLED,
        4: CANCELLED,
        5: CANCELLED,
    }


def test_resume_gives_every_owed_command_to_the_started_workers_and_clears_rerun_claims():
    manifest = queue_manifest()
    # Worker 1 died running worker 0's command 2; worker 0 lives on with command 1.
    text = output(
        alive(0, True),
        alive(1, False),
        events(
            0,
            ev("worker-start", "-", 1, 9),
            ev("start", 0, 1, "h"),
            ev("end", 0, 2, 0),
            ev("start", 1, 2, "h"),
        ),
        events(
            1,
            ev("worker-start", "-", 1, 9),
            ev("start", 3, 1, "h"),
            ev("end", 3, 2, 4),
            ev("start", 2, 3, "h"),
        ),
    )
    status = read(manifest, text)
    options = StartOptions(resume=True, retry_failed=True)
    parts = manifest.workers_on("a")
    decided = [worker_start(p, status, options) for p in parts]
    starts, clear = queue_starts(parts, status, options, decided, set())
    assert [s.worker.job_id for s in starts] == [1]
    owed = starts[0].owed
    assert owed is not None
    # Its own failed 3 and pending 4, 5 first, then 2 (lost: worker 0 left it behind).
    assert owed.ids == [3, 4, 5, 2]
    assert starts[0].script == "run_exp_s1.run2.sh"
    assert sorted(clear or []) == [2, 3]  # the pending ones keep their (absent) claims


def test_a_plain_start_clears_every_claim():
    manifest = queue_manifest()
    status = read(manifest, output(alive(0, False), alive(1, False)))
    options = StartOptions()
    parts = manifest.workers_on("a")
    decided = [worker_start(p, status, options) for p in parts]
    starts, clear = queue_starts(parts, status, options, decided, set())
    assert len(starts) == 2 and clear is None
    assert "for f in *.out *.err;" in clear_claims_command("r", None)
    assert clear_claims_command("r", []) == ""


def test_clearing_claims_keeps_the_earlier_output(tmp_path):
    """A claim is the command's stdout file: it moves aside with its stderr file, each
    appended to its own .earlier, so both streams of the earlier attempts stay readable."""
    logs = tmp_path / "r" / "logs"
    logs.mkdir(parents=True)
    (logs / "4.out").write_text("first try\n")
    (logs / "4.err").write_text("Traceback: first\n")
    (logs / "4.out.earlier").write_text("before that\n")
    (logs / "4.err.earlier").write_text("Traceback: before\n")
    (logs / "5.out").write_text("kept\n")
    (logs / "5.err").write_text("")
    command = clear_claims_command("r", [4, 7])
    subprocess.run(["sh", "-c", command], env={"HOME": str(tmp_path)}, check=True)
    assert sorted(p.name for p in logs.iterdir()) == [
        "4.err.earlier", "4.out.earlier", "5.err", "5.out",
    ]  # fmt: skip
    assert (logs / "4.out.earlier").read_text() == "before that\nfirst try\n"
    assert (logs / "4.err.earlier").read_text() == "Traceback: before\nTraceback: first\n"
    subprocess.run(["sh", "-c", clear_claims_command("r", None)], env={"HOME": str(tmp_path)})
    assert sorted(p.name for p in logs.iterdir()) == [
        "4.err.earlier", "4.out.earlier", "5.err.earlier", "5.out.earlier",
    ]  # fmt: skip
    assert (logs / "5.out.earlier").read_text() == "kept\n"
