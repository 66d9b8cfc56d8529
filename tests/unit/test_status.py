"""One node's status in one round trip: the command that reads it, and parse_status over
recorded output (delivery id, clock, launcher probe, each worker's events)."""

from __future__ import annotations

import os
import subprocess

from octopus.launchers.registry import launcher_of
from octopus.node import Node
from octopus.run.events import CommandState
from octopus.run.layout import CANCEL_FILE, DELIVERY_ID_FILE, MARK, command_log, events_file
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.status import NodeStatus, parse_status
from octopus.run.status_command import status_command

DONE, FAILED, RUNNING, PENDING, LOST = (
    CommandState.DONE,
    CommandState.FAILED,
    CommandState.RUNNING,
    CommandState.PENDING,
    CommandState.LOST,
)


def make_manifest(run_root=".octopus/exp", launcher="screen", count=6, slurm=None):
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=2)
    plan = build_plan([f"echo c{i}" for i in range(count)], "set -e", [node])
    manifest = Manifest(
        experiment="exp",
        delivery="D1",
        plan=plan,
        launchers={"a": launcher},
        run_root=run_root,
        slurm=slurm or {},
    )
    # The tests below name commands by id: worker 0 holds the first half, worker 1 the rest.
    half = count // 2 + count % 2
    assert [p.ids for p in manifest.workers_on("a")] == [
        list(range(half)),
        list(range(half, count)),
    ]
    return manifest


def ev(kind, ident, when, detail):
    return f"{kind}\t{ident}\t{when}\t{detail}"


def output(*sections, delivery="D1", now="1700000000"):
    """Recorded status_command output: header lines, then the given probe/events sections."""
    lines = [f"{MARK} delivery {delivery}", f"{MARK} now {now}"]
    for section in sections:
        lines += section
    return "\n".join(lines) + "\n"


def alive(job, flag):
    return [f"{MARK} alive {job} {1 if flag else 0}"]


def events(job, *lines):
    """A worker's events as status_command prints them: a newline, the marker, the file."""
    return ["", f"{MARK} events {job}", *lines]


def states(status: NodeStatus):
    return {c.id: c.state for c in status.commands}


def read(manifest, text):
    return parse_status(manifest, "a", text, launcher_of(manifest, "a"))


# -- the command --------------------------------------------------------------------------


def test_status_command_prints_delivery_clock_probe_and_each_events_file():
    manifest = make_manifest()
    launcher = launcher_of(manifest, "a")
    text = status_command(manifest, "a", launcher)
    lines = text.splitlines()
    assert lines[0].startswith('cd "$HOME"/.octopus/exp/deliveries/D1 ')
    assert f'echo "{MARK} none"; exit 0' in lines[0]
    assert lines[1] == f'd=; read -r d 2>/dev/null < {DELIVERY_ID_FILE}; echo "{MARK} delivery $d"'
    assert lines[2] == f'echo "{MARK} now ${{EPOCHSECONDS:-$(date +%s)}}"'
    workers = [p.worker for p in manifest.workers_on("a")]
    assert lines[3] == f'[ -e {CANCEL_FILE} ] && echo "{MARK} purged"'
    assert lines[4] == launcher.probe_command(manifest.run_dir, workers)  # asked first
    assert lines[6] == f"$(wc -c {events_file(0)} {events_file(1)} 2>/dev/null)"  # one wc
    for job in (0, 1):  # nothing read yet: from the start
        assert any(
            f'printf "\\n{MARK} events {job} 0\\n"' in line
            and f"tail -c +1 {events_file(job)}" in line
            for line in lines
        )
    assert events_file(0) == "state/s0.events"
    # Both ended at the last look: the launcher is asked only if a file grew.
    again = status_command(manifest, "a", launcher, {0: 10, 1: 20}, settled={0, 1})
    probe = launcher.probe_command(manifest.run_dir, workers)
    guard = "if [ ${octopus_s0:-0} != 10 ] || [ ${octopus_s1:-0} != 20 ]; then"
    sized = again.splitlines()[4:13]
    assert sized[3:5] == [guard, probe] and sized[8] == "fi"  # then sized again
    assert sized[5:8] == sized[0:3]
    one_ran = status_command(manifest, "a", launcher, {0: 10, 1: 20}, settled={0})
    assert one_ran.splitlines()[4] == probe


def test_status_command_quotes_the_run_dir():
    manifest = make_manifest(run_root="my runs/e$(x)")
    text = status_command(manifest, "a", launcher_of(manifest, "a"))
    quoted = "'my runs/e$(x)/deliveries/D1'"
    assert text.startswith(f'cd "$HOME"/{quoted} 2>/dev/null')
    # Nowhere unquoted; the events files are read from there, by names of octopus' own.
    assert "$HOME/my runs" not in text and '"$HOME"/my runs' not in text
    assert "my runs" not in text.split("\n", 1)[1].replace(launcher_probe(manifest), "")


def launcher_probe(manifest: Manifest) -> str:
    workers = [p.worker for p in manifest.workers_on("a")]
    return launcher_of(manifest, "a").probe_command(manifest.run_dir, workers)


# -- the parse ----------------------------------------------------------------------------


def test_each_state_from_recorded_output():
    manifest = make_manifest()
    text = output(
        alive(0, True),
        alive(1, False),
        events(
            0,
            ev("worker-start", "-", "1700000000.5", "4242"),
            ev("start", 0, "1700000001", "hostA"),
            ev("end", 0, "1700000003", 0),
            ev("start", 1, "1700000003", "hostA"),
        ),
        events(
            1,
            ev("worker-start", "-", "1700000000", "4243"),
            ev("start", 3, "1700000001", "hostA"),
            ev("end", 3, "1700000002", 7),
            ev("start", 4, "1700000002", "hostA"),
        ),
    )
    status = read(manifest, text)
    assert status.node == "a"
    assert status.delivery == "D1"
    assert status.now == 1700000000.0
    assert status.alive == {0: True, 1: False}
    # Worker 0 lives: a started command runs, one never started waits.
    # Worker 1 died underway: its started and its never-started commands are lost.
    assert states(status) == {0: DONE, 1: RUNNING, 2: PENDING, 3: FAILED, 4: LOST, 5: LOST}
    by_id = {c.id: c for c in status.commands}
    assert by_id[0].exit_code == 0 and by_id[3].exit_code == 7
    assert by_id[0].started == 1700000001.0 and by_id[0].ended == 1700000003.0
    assert by_id[1].ended is None and by_id[1].attempts == 1
    assert by_id[2].attempts == 0 and by_id[2].started is None
    assert by_id[4].worker == 1 and by_id[4].node == "a"
    assert by_id[3].log == f"{manifest.run_dir}/{command_log(3)}"  # a failed one: listed
    assert by_id[0].log == ""  # a done one is counted: the overview names logs it lists
    assert by_id[0].session == "oct-exp-s0" and by_id[4].session == "oct-exp-s1"
    assert status.events[0].runs == 1 and not status.events[0].finished
    assert status.details == {}  # screen probes carry no details


def test_finished_worker_is_done_and_failed_and_never_lost():
    manifest = make_manifest()
    text = output(
        alive(0, False),
        alive(1, False),
        events(
            0,
            ev("worker-start", "-", 1, 10),
            ev("start", 0, 1, "h"),
            ev("end", 0, 2, 0),
            ev("start", 1, 2, "h"),
            ev("end", 1, 3, 1),
            ev("start", 2, 3, "h"),
            ev("end", 2, 4, 0),
            ev("worker-end", "-", 4, "done"),
        ),
        events(1),
    )
    status = read(manifest, text)
    assert states(status) == {0: DONE, 1: FAILED, 2: DONE, 3: PENDING, 4: PENDING, 5: PENDING}
    assert status.events[0].finished
    assert status.events[1].runs == 0


def test_stopped_on_error_leaves_the_rest_pending():
    manifest = make_manifest()
    text = output(
        alive(0, False),
        alive(1, False),
        events(
            0,
            ev("worker-start", "-", 1, 10),
            ev("start", 0, 1, "h"),
            ev("end", 0, 2, 2),
            ev("worker-end", "-", 2, "stopped"),
        ),
    )
    status = read(manifest, text)
    assert [states(status)[i] for i in (0, 1, 2)] == [FAILED, PENDING, PENDING]
    assert status.events[0].stopped_on_error


def test_a_retried_command_counts_its_last_attempt():
    manifest = make_manifest()
    text = output(
        alive(0, False),
        alive(1, False),
        events(
            0,
            ev("worker-start", "-", 1, 10),
            ev("start", 0, 1, "h"),
            ev("end", 0, 2, 1),
            ev("worker-end", "-", 2, "done"),
            ev("worker-start", "-", 5, 11),
            ev("start", 0, 6, "h"),
            ev("end", 0, 7, 0),
            ev("worker-end", "-", 7, "done"),
        ),
    )
    status = read(manifest, text)
    zero = next(c for c in status.commands if c.id == 0)
    assert zero.state is DONE and zero.attempts == 2 and zero.started == 6.0
    assert status.events[0].runs == 2


def test_a_wrong_delivery_id_makes_every_worker_not_alive():
    manifest = make_manifest()
    sections = (
        alive(0, True),
        alive(1, True),
        events(0, ev("worker-start", "-", 1, 10), ev("start", 0, 1, "h")),
        events(1, ev("worker-start", "-", 1, 11), ev("start", 3, 1, "h")),
    )
    right = read(manifest, output(*sections))
    assert right.alive == {0: True, 1: True}
    assert states(right)[0] is RUNNING and states(right)[3] is RUNNING

    wrong = read(manifest, output(*sections, delivery="OTHER"))
    assert wrong.delivery is None
    assert wrong.alive == {0: False, 1: False}
    assert RUNNING not in set(states(wrong).values())
    assert states(wrong)[0] is LOST and states(wrong)[3] is LOST


def test_no_delivery_folder_reads_as_nothing_alive():
    manifest = make_manifest()
    status = read(manifest, f"{MARK} none\n")
    assert status.delivery is None
    assert status.alive == {0: False, 1: False}
    assert set(states(status).values()) == {PENDING}


def test_a_half_written_last_line_is_ignored():
    manifest = make_manifest()
    base = [
        ev("worker-start", "-", 1, 10),
        ev("start", 0, 1, "h"),
        ev("end", 0, 2, 0),
        ev("start", 1, 2, "h"),
    ]
    whole = read(manifest, output(alive(0, True), events(0, *base)))
    cut = read(manifest, output(alive(0, True), events(0, *base, "end\t1\t17000")))
    assert states(cut) == states(whole)
    assert states(cut)[1] is RUNNING
    assert next(c for c in cut.commands if c.id == 1).ended is None
    # A cut-off start line is no attempt either.
    cut_start = read(manifest, output(alive(0, True), events(0, *base, "start\t2")))
    assert states(cut_start)[2] is PENDING


def test_probe_lines_anywhere_do_not_join_an_events_section():
    manifest = make_manifest()
    text = output(
        events(0, ev("worker-start", "-", 1, 10), ev("start", 0, 1, "h")),
        alive(0, True),  # printed after an events section still reaches the launcher
        alive(1, False),
    )
    status = read(manifest, text)
    assert status.alive == {0: True, 1: False}
    assert states(status)[0] is RUNNING


def test_slurm_probe_details_and_cancelled_jobs():
    slurm = {"parallel": 1, "cpus": 1, "gpus": 0, "options": {}, "node_options": {}}
    manifest = make_manifest(launcher="slurm", slurm=slurm)
    text = output(
        [
            f"{MARK} jobid s0 501",
            f"{MARK} jobid s1 502",
            f"{MARK} squeue 501|RUNNING|None",
            f"{MARK} sacct 502|CANCELLED by 0|0:15",
        ],
        events(0, ev("worker-start", "-", 1, 10), ev("start", 0, 1, "h")),
        events(1, ev("worker-start", "-", 1, 11), ev("start", 3, 1, "h")),
    )
    status = read(manifest, text)
    assert status.alive == {0: True, 1: False}
    assert status.details[0] == {"job_id": "501", "state": "RUNNING", "reason": ""}
    assert status.details[1]["state"] == "CANCELLED"
    got = states(status)
    assert got[0] is RUNNING and got[1] is PENDING
    # Cancelled on purpose: nothing it had not finished is lost; --resume runs it again.
    cancelled = CommandState.CANCELLED
    assert got[3] is cancelled and got[4] is cancelled and got[5] is cancelled
    sessions = {c.worker: c.session for c in status.commands}
    assert sessions == {0: "501", 1: "502"}


def test_a_slurm_worker_not_asked_after_keeps_its_job_as_its_session():
    """A look that does not probe a worker that had ended (status_command's `settled`) keeps
    the Slurm job id the last look read as the session of its commands."""
    slurm = {"parallel": 1, "cpus": 1, "gpus": 0, "options": {}, "node_options": {}}
    manifest = make_manifest(launcher="slurm", slurm=slurm, count=2)
    ended = [ev("worker-start", "-", 1, 10), ev("start", 0, 1, "h"), ev("end", 0, 2, 0)]
    ended.append(ev("worker-end", "-", 3, "done"))
    first = output(
        [f"{MARK} jobid s0 501", f"{MARK} sacct 501|COMPLETED|0:0"],
        events(0, *ended),
        events(1, ev("worker-start", "-", 1, 11), ev("start", 1, 1, "h"), ev("end", 1, 2, 0)),
    )
    launcher = launcher_of(manifest, "a")
    ledger = Ledger.fresh(manifest)
    status = parse_status(manifest, "a", first, launcher, ledger)
    ledger.merge("a", status.commands)
    ledger.record_reads("a", status.reads)
    assert status.reads[0].flags.session == "501"
    offset = status.reads[0].offset
    again = output([f"{MARK} jobid s1 502"], ["", f"{MARK} events 0 {offset}"])
    later = parse_status(manifest, "a", again, launcher, ledger)
    assert later.reads[0].flags.session == "501"
    assert [c for c in later.commands if c.worker == 0] == []  # nothing of it changed


# -- the command run by a shell, over real files ---------------------------------------------


def run_status(manifest, home, files, delivery="D1"):
    """status_command run by bash with HOME=home over these events files, then parsed."""
    run = home / manifest.run_dir
    (run / "state").mkdir(parents=True)
    (run / DELIVERY_ID_FILE).write_text(delivery + "\n")
    for job, text in files.items():
        (run / events_file(job)).write_text(text)
    launcher = launcher_of(manifest, "a")
    done = subprocess.run(
        ["bash", "-c", status_command(manifest, "a", launcher)],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return parse_status(manifest, "a", done.stdout, launcher)


WORKER0 = [
    ev("worker-start", "-", 1, 9),
    ev("start", 0, 1, "h"),
    ev("end", 0, 2, 0),
    ev("start", 1, 2, "h"),
]
WORKER1 = [
    ev("worker-start", "-", 1, 9),
    ev("start", 3, 1, "h"),
    ev("end", 3, 2, 0),
    ev("start", 4, 2, "h"),
    ev("end", 4, 3, 5),
    ev("start", 5, 3, "h"),
    ev("end", 5, 4, 0),
    ev("worker-end", "-", 4, "done"),
]
# Worker 0 died while running command 1; worker 1 finished.
EXPECTED = {0: DONE, 1: LOST, 2: LOST, 3: DONE, 4: FAILED, 5: DONE}


def test_the_command_reads_the_nodes_files(tmp_path):
    # The process launcher: no PID files, so nothing alive, whatever runs on this machine.
    manifest = make_manifest(run_root="my runs/exp", launcher="process")
    status = run_status(
        manifest, tmp_path, {0: "\n".join(WORKER0) + "\n", 1: "\n".join(WORKER1) + "\n"}
    )
    assert status.delivery == "D1"
    assert status.now > 1700000000
    assert status.alive == {0: False, 1: False}
    assert states(status) == EXPECTED


def test_the_command_without_the_delivery_folder(tmp_path):
    manifest = make_manifest(launcher="process")
    launcher = launcher_of(manifest, "a")
    done = subprocess.run(
        ["bash", "-c", status_command(manifest, "a", launcher)],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout == f"{MARK} none\n"
    status = parse_status(manifest, "a", done.stdout, launcher)
    assert status.delivery is None and set(states(status).values()) == {PENDING}


def test_the_command_over_a_delivery_of_another_id(tmp_path):
    manifest = make_manifest(launcher="process")
    status = run_status(manifest, tmp_path, {0: "\n".join(WORKER0) + "\n"}, delivery="OLD")
    assert status.delivery is None


def test_a_half_written_last_line_in_a_file_leaves_the_next_worker_alone(tmp_path):
    manifest = make_manifest(launcher="process")
    cut = "\n".join([*WORKER0, "end\t1\t17000"])  # a crash mid-write: no newline
    status = run_status(manifest, tmp_path, {0: cut, 1: "\n".join(WORKER1) + "\n"})
    assert states(status) == EXPECTED


def test_a_purged_delivery_reads_as_cancelled_not_lost():
    """After `inv purge`, what the stopped workers left unfinished is cancelled (a purge is no
    failure); a worker that ended by itself keeps its states."""
    manifest = make_manifest()
    worker0 = events(0, ev("worker-start", "-", 1, 10), ev("start", 0, 1, "h"))
    worker1 = events(1, ev("worker-start", "-", 1, 11), ev("start", 1, 1, "h"))
    dead = read(manifest, output(alive(0, False), alive(1, False), worker0, worker1))
    assert set(states(dead).values()) == {CommandState.LOST}
    purged = [f"{MARK} purged", alive(0, False), alive(1, False), worker0, worker1]
    status = read(manifest, output(*[[p] if isinstance(p, str) else p for p in purged]))
    assert status.purged and set(states(status).values()) == {CommandState.CANCELLED}
