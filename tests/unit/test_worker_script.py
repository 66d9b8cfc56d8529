"""The worker script run for real: each command's output lands whole in its own log and in the
worker's output, its exit code and times in the events file, under bash (where a command
costs its subshell and no helper process) and under a POSIX sh (the portable path)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from octopus import Node
from octopus.run.events import parse_events
from octopus.run.generators import distribute_exp_scripts
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script

SHELLS = ["bash", "sh"]


def write_worker(tmp_path: Path, commands: list[str], **options: object) -> Path:
    nodes = [Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)]
    plan = build_plan(
        commands, "", nodes, exp_script_gen=functools.partial(distribute_exp_scripts, shuffle=False)
    )
    script = render_script(
        plan.parts[0],
        "",
        experiment="e",
        run_dir="run",
        delivery="D",
        **options,  # type: ignore[arg-type]
    )
    path = tmp_path / "worker.sh"
    path.write_text(script)
    return path


def run(shell: str, script: Path, env: dict[str, str] | None = None) -> bytes:
    home = script.parent
    done = subprocess.run(
        [shell, str(script)],
        cwd=home,
        env={**os.environ, "HOME": str(home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
    )
    return done.stdout


def events_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_events((tmp_path / "run" / "state" / "s0.events").read_text())


def log(tmp_path: Path, ident: int) -> bytes:
    return (tmp_path / "run" / "logs" / f"{ident}.log").read_bytes()


OUTPUTS = [
    "printf 'a\\0b'",
    "echo out; echo err >&2; exit 5",
    "true",
    "printf 'no newline'",
    "head -c 300000 /dev/zero | tr '\\0' x",
    "cd /; exit 3",
    "printf '\\303\\251\\377'",
]


@pytest.mark.parametrize("shell", SHELLS)
def test_each_output_goes_whole_to_its_log_and_to_the_worker_output(tmp_path: Path, shell: str):
    output = run(shell, write_worker(tmp_path, OUTPUTS))
    logs = [log(tmp_path, i) for i in range(len(OUTPUTS))]
    assert logs[0] == b"a\0b" and logs[1] == b"out\nerr\n" and logs[2] == b""
    assert logs[3] == b"no newline" and logs[4] == b"x" * 300000
    assert logs[6] == b"\303\251\377"
    assert output == b"".join(logs)
    events = events_of(tmp_path)
    assert events.finished and events.runs == 1
    assert [events.attempts[i][-1].exit_code for i in range(len(OUTPUTS))] == [0, 5, 0, 0, 0, 3, 0]
    attempt = events.attempts[0][-1]
    assert attempt.host == os.uname().nodename
    assert attempt.started and attempt.ended and abs(attempt.started - time.time()) < 60


@pytest.mark.parametrize("shell", SHELLS)
def test_parallel_commands_keep_their_own_output_and_code(tmp_path: Path, shell: str):
    commands = [f"sleep 0.{n % 3}; echo {n}; exit {n % 2}" for n in range(6)]
    output = run(shell, write_worker(tmp_path, commands, parallel=3))
    assert [log(tmp_path, n) for n in range(6)] == [f"{n}\n".encode() for n in range(6)]
    assert sorted(output.split()) == [str(n).encode() for n in range(6)]
    events = events_of(tmp_path)
    assert [events.attempts[n][-1].exit_code for n in range(6)] == [n % 2 for n in range(6)]


def test_timeout_and_retries_give_each_attempt_its_record(tmp_path: Path):
    commands = ["sleep 30; echo never", "echo try", "exit 2"]
    output = run("bash", write_worker(tmp_path, commands, timeout=0.5, retries=1))
    events = events_of(tmp_path)
    assert [len(events.attempts[n]) for n in range(3)] == [2, 1, 2]
    assert [events.attempts[n][-1].exit_code for n in range(3)] == [124, 0, 2]
    assert b"never" not in output and log(tmp_path, 1) == b"try\n"


def test_a_silent_command_costs_no_helper_process(tmp_path: Path):
    """Under bash: no date, hostname, tee or cat for a command that prints nothing; tee once
    for one that prints."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for name in ("date", "hostname", "tee", "cat", "touch", "sleep"):
        real = subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True, text=True)
        wrapper = bin_dir / name
        wrapper.write_text(
            f'#!/bin/sh\necho {name} >> "{calls}"\nexec {real.stdout.strip()} "$@"\n'
        )
        wrapper.chmod(0o755)
    script = write_worker(tmp_path, ["true"] * 50 + ["echo printed"])
    output = run("bash", script, {"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert output == b"printed\n"
    assert calls.read_text().split() == ["tee"]


def test_records_survive_a_kill_of_the_worker_and_a_rerun_continues_them(tmp_path: Path):
    script = write_worker(tmp_path, ["sleep 0.01"] * 200)
    env = {**os.environ, "HOME": str(tmp_path)}
    worker = subprocess.Popen(["bash", str(script)], cwd=tmp_path, env=env)
    time.sleep(1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    events = events_of(tmp_path)
    assert not events.finished and events.attempts
    state = tmp_path / "run" / "state" / "s0.events"
    with state.open("a") as out:
        out.write("end\t7\t17")  # a line cut short
    run("bash", script)
    events = events_of(tmp_path)
    assert events.runs == 2 and events.finished
    assert all(attempts[-1].exit_code == 0 for attempts in events.attempts.values())
    assert len(events.attempts) == 200
