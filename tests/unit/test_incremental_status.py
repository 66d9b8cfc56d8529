"""Monitor reads only what the workers appended since its last read: status_command run by
bash over real events files with the ledger's offsets, parsed against the ledger, which
never reads all its rows to do so."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from octopus.launchers.registry import launcher_of
from octopus.node import Node
from octopus.run import ledger_store
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState
from octopus.run.layout import DELIVERY_ID_FILE, MARK, events_file
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.status import NodeStatus, parse_status
from octopus.run.status_command import status_command
from octopus.run.worker_reads import where_to_read

DONE, FAILED, PENDING, LOST = (
    CommandState.DONE,
    CommandState.FAILED,
    CommandState.PENDING,
    CommandState.LOST,
)


def ev(kind: str, ident: object, when: object, detail: object) -> str:
    return f"{kind}\t{ident}\t{when}\t{detail}\n"


class Node1:
    """One node (`a`, the process launcher: never alive) with two workers of three commands
    each, its record on disk, and its events files under a home folder."""

    def __init__(self, tmp: Path, schedule: str = "fixed", shell: str = "bash") -> None:
        self.shell = shell
        self.launcher: Any = None  # a launcher of the test's own, else the manifest's
        node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=2)
        plan = build_plan([f"echo c{i}" for i in range(6)], "", [node], schedule=schedule)
        manifest = Manifest("exp", "D1", plan, {"a": "process"}, ".octopus/exp")
        manifest.schedule = schedule
        self.record_path = tmp / "deliverables" / "manifest.json"
        Deliveries.of_one(manifest).write(self.record_path)
        self.ledger_path = tmp / "deliverables" / "ledger.sqlite"
        self.home = tmp / "home"
        self.run = self.home / manifest.run_dir
        (self.run / "state").mkdir(parents=True)
        (self.run / DELIVERY_ID_FILE).write_text("D1\n")
        self.outputs: list[str] = []

    def launcher_paths(self) -> Any:
        return launcher_of(Deliveries.read(self.record_path).of("a"), "a").paths

    def append(self, job: int, *lines: str) -> None:
        with (self.run / events_file(job)).open("a") as out:
            out.write("".join(lines))

    def monitor(self) -> tuple[Ledger, NodeStatus]:
        """One look, as `inv monitor` takes it: load, read from the offsets, merge, save."""
        record = Deliveries.read(self.record_path)
        manifest = record.of("a")
        ledger = Ledger.load(self.ledger_path, record)
        launcher = self.launcher or launcher_of(manifest, "a")
        offsets, settled = where_to_read(ledger.reads, "a", manifest.delivery)
        done = subprocess.run(
            [self.shell, "-c", status_command(manifest, "a", launcher, offsets, settled)],
            env={**os.environ, "HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        self.outputs.append(done.stdout)
        status = parse_status(manifest, "a", done.stdout, launcher, ledger)
        ledger.merge("a", status.commands)
        ledger.record_reads("a", status.reads)
        ledger.save(self.ledger_path)
        return ledger, status


def states(ledger: Ledger) -> dict[int, CommandState]:
    stored = ledger_store.read(ledger._path or Path())
    assert stored is not None
    return {row[0]: CommandState(row[4]) for row in stored[1]}


def test_each_look_reads_only_what_was_appended_and_never_the_whole_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    node = Node1(tmp_path)
    node.append(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 0))
    ledger, _ = node.monitor()  # the first look reads everything
    # Worker 0 ran and is gone without its end: it died; worker 1 never started.
    assert states(ledger) == {0: DONE, 1: LOST, 2: LOST, 3: PENDING, 4: PENDING, 5: PENDING}

    read_all = ledger_store.read

    def refuse(path: Path) -> object:
        raise AssertionError("a monitor with offsets read every row")

    monkeypatch.setattr(ledger_store, "read", refuse)
    node.append(0, ev("start", 1, 3, "h"), ev("end", 1, 4, 0))
    node.append(1, ev("worker-start", "-", 5, 10), ev("start", 3, 5, "h2"), ev("end", 3, 6, 7))
    ledger, status = node.monitor()
    second = node.outputs[-1]
    assert "worker-start\t-\t1\t9" not in second  # worker 0's first lines are not sent again
    assert f"{MARK} events 0 " in second and "start\t1\t3\th" in second
    assert sorted(c.id for c in status.commands) == [1, 3, 4, 5]  # what may have changed
    monkeypatch.setattr(ledger_store, "read", read_all)
    got = states(ledger)
    assert got == {0: DONE, 1: DONE, 2: LOST, 3: FAILED, 4: LOST, 5: LOST}
    third = ledger.known([3])[3]
    assert (third.exit_code, third.host) == (7, "h2")  # of its last attempt

    monkeypatch.setattr(ledger_store, "read", refuse)
    ledger, status = node.monitor()  # nothing new: nothing changes, nothing is merged
    assert status.commands == [] and f"{MARK} events 1 " in node.outputs[-1]
    sizes = {job: (node.run / events_file(job)).stat().st_size for job in (0, 1)}
    assert {job: read.offset for (_, job), read in ledger.reads.items()} == sizes


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_workers_that_ended_are_asked_after_only_when_their_file_grew(
    tmp_path: Path, shell: str
) -> None:
    """A worker the last look saw ended and gone cannot run again without writing its start:
    while its file stays as it was, the look asks its launcher nothing of it."""
    node = Node1(tmp_path, shell=shell)
    for job, ids in ((0, (0, 1, 2)), (1, (3, 4, 5))):
        lines = [ev("worker-start", "-", 1, 9)]
        lines += [
            ev(kind, i, 2, "h" if kind == "start" else 0) for i in ids for kind in ("start", "end")
        ]
        node.append(job, *lines, ev("worker-end", "-", 3, "done"))
    ledger, _ = node.monitor()
    assert f"{MARK} alive" in node.outputs[-1]  # first look: asked
    assert set(states(ledger).values()) == {DONE}
    ledger, status = node.monitor()
    assert f"{MARK} alive" not in node.outputs[-1] and status.commands == []
    assert set(states(ledger).values()) == {DONE}
    # `inv start` leaves every read unsettled: a worker it starts may write nothing for a
    # while (a Slurm job waiting in the queue), so the next look asks after each again.
    ledger.record_reads("a", {job: read.unsettled() for (_, job), read in ledger.reads.items()})
    ledger.save(node.ledger_path)
    ledger, _ = node.monitor()
    assert f"{MARK} alive 0 0" in node.outputs[-1] and set(states(ledger).values()) == {DONE}
    ledger, _ = node.monitor()
    assert f"{MARK} alive" not in node.outputs[-1]  # seen ended and gone again: settled
    node.append(1, ev("worker-start", "-", 5, 11), ev("start", 3, 5, "h"))  # started again
    ledger, _ = node.monitor()
    assert f"{MARK} alive 1 0" in node.outputs[-1]  # asked: it is not alive, so 3 was cut off
    assert states(ledger)[3] is LOST and states(ledger)[0] is DONE


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_worker_that_ends_while_it_is_looked_at_shows_its_end(tmp_path: Path, shell: str):
    """The launcher is asked before the files are sized and read: a worker that writes its
    last lines and exits just before it is asked shows them, never a command cut short."""
    node = Node1(tmp_path, shell=shell)
    node.append(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"))
    (node.home / "alive").touch()
    base = type(launcher_of(Deliveries.read(node.record_path).of("a"), "a"))
    ending = ev("end", 0, 2, 0) + ev("worker-end", "-", 3, "done")

    class EndsWhenAsked(base):  # type: ignore[misc, valid-type]
        finish = False

        def alive_command(self, delivery_dir: str, worker: Any) -> str:
            return f'[ {worker.job_id} = 0 ] && [ -e "$HOME/alive" ]'

        def probe_command(self, delivery_dir: str, workers: Any) -> str:
            end = f"printf '{ending}' >> {events_file(0)}; rm -f \"$HOME/alive\"; "
            return (end if self.finish else "") + super().probe_command(delivery_dir, workers)

    node.launcher = EndsWhenAsked(node.launcher_paths())
    ledger, _ = node.monitor()
    assert states(ledger)[0] is CommandState.RUNNING
    node.launcher.finish = True
    ledger, status = node.monitor()
    assert status.alive[0] is False and states(ledger)[0] is DONE


def test_a_second_attempt_counts_on_top_of_what_the_ledger_knows(tmp_path: Path):
    node = Node1(tmp_path)
    node.append(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 3))
    node.monitor()
    node.append(0, ev("worker-start", "-", 5, 11), ev("start", 0, 5, "h"), ev("end", 0, 6, 0))
    ledger, _ = node.monitor()
    status = ledger.known([0])[0]
    assert (status.state, status.attempts, status.exit_code) == (DONE, 2, 0)


def test_a_line_still_being_written_is_read_whole_at_the_next_look(tmp_path: Path):
    node = Node1(tmp_path)
    node.append(0, ev("worker-start", "-", 1, 9), "start\t0\t1\t")  # cut mid-line
    ledger, _ = node.monitor()
    assert ledger.known([0])[0].attempts == 0
    node.append(0, "h\n", ev("end", 0, 2, 0))
    ledger, _ = node.monitor()
    status = ledger.known([0])[0]
    assert (status.state, status.attempts, status.host) == (DONE, 1, "h")


def test_a_file_shorter_than_the_offset_is_read_again_and_the_loss_said(tmp_path: Path):
    node = Node1(tmp_path)
    node.append(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 0))
    node.monitor()
    (node.run / events_file(0)).write_text(ev("worker-start", "-", 7, 12))  # replaced
    ledger, _ = node.monitor()
    assert f"{MARK} events 0 0\n" in node.outputs[-1]  # sent whole again
    assert "no longer shows" in ledger.state_lost["a"]
    assert ledger.known([0])[0].state is DONE  # kept as it was


def test_a_queue_node_is_read_on_across_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Any worker of a queue node may run any command: a command another worker took, and
    an end read one look after its start, join what the ledger knows."""
    node = Node1(tmp_path, schedule="queue")  # planned: worker 0 ids 0-2, worker 1 ids 3-5
    node.append(0, ev("worker-start", "-", 1, 9), ev("start", 0, 1, "h"), ev("end", 0, 2, 0))
    node.append(1, ev("worker-start", "-", 1, 10), ev("start", 2, 1, "h"))  # took worker 0's
    node.monitor()
    read_all = ledger_store.read

    def refuse(path: Path) -> object:
        raise AssertionError("a monitor with offsets read every row")

    monkeypatch.setattr(ledger_store, "read", refuse)
    node.append(1, ev("end", 2, 3, 0), ev("start", 3, 3, "h2"), ev("end", 3, 4, 1))
    ledger, status = node.monitor()
    assert sorted(c.id for c in status.commands) == [2, 3]  # the workers are as they were
    two, three = ledger.known([2])[2], ledger.known([3])[3]
    assert (two.state, two.worker, two.attempts, two.started, two.ended) == (DONE, 1, 1, 1, 3)
    assert (three.state, three.exit_code, three.host) == (FAILED, 1, "h2")
    node.append(0, ev("worker-end", "-", 5, "done"), ev("worker-start", "-", 6, 11))
    ledger, status = node.monitor()  # worker 0 ran again: every command may have changed
    assert sorted(c.id for c in status.commands) == [0, 1, 2, 3, 4, 5]
    monkeypatch.setattr(ledger_store, "read", read_all)
    got = states(ledger)
    # Worker 0 is gone (never alive: the process launcher), worker 1 too, neither ended: lost.
    assert got == {0: DONE, 1: LOST, 2: DONE, 3: FAILED, 4: LOST, 5: LOST}
