"""The worker script run for real: each command's stdout and stderr land whole in their own
files (<id>.out, <id>.err) and both in the worker's output once it ends (its stdout as it comes
with live_output), its exit code and times in the events file, under bash (where a command
costs its subshell and no helper process) and under a POSIX sh (the portable path)."""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from octopus import Experiment, Node
from octopus.launchers.registry import worker_script
from octopus.run.events import parse_events
from octopus.run.generators import distribute_exp_scripts
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script, run_lines
from octopus.stages.deliverables import plan_delivery, write_deliverables

SHELLS = ["bash", "sh"]


def write_worker(tmp_path: Path, commands: list[str], prefix: str = "", **options: object) -> Path:
    nodes = [Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)]
    plan = build_plan(
        commands,
        prefix,
        nodes,
        exp_script_gen=functools.partial(distribute_exp_scripts, shuffle=False),
    )
    script = render_script(
        plan.parts[0],
        plan.prefix,
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
    """The command's stdout file."""
    return (tmp_path / "run" / "logs" / f"{ident}.out").read_bytes()


def err(tmp_path: Path, ident: int) -> bytes:
    """The command's stderr file."""
    return (tmp_path / "run" / "logs" / f"{ident}.err").read_bytes()


OUTPUTS = [
    "printf 'a\\0b'",
    "echo out; echo err >&2; exit 5",
    "true",
    "printf 'no newline'",
    "head -c 300000 /dev/zero | tr '\\0' x",
    "cd /; exit 3",
    "printf '\\303\\251\\377'",
]


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("shell", SHELLS)
def test_each_output_goes_whole_to_its_log_and_to_the_worker_output(
    tmp_path: Path, shell: str, live: bool
):
    output = run(shell, write_worker(tmp_path, OUTPUTS, live_output=live))
    logs = [log(tmp_path, i) for i in range(len(OUTPUTS))]
    errs = [err(tmp_path, i) for i in range(len(OUTPUTS))]
    assert logs[0] == b"a\0b" and logs[1] == b"out\n" and logs[2] == b""
    assert errs[1] == b"err\n" and errs.count(b"") == len(OUTPUTS) - 1
    assert logs[3] == b"no newline" and logs[4] == b"x" * 300000
    assert logs[6] == b"\303\251\377"
    # Each command's stdout, then its stderr.
    assert output == b"".join(out + error for out, error in zip(logs, errs, strict=True))
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
    # Why it stopped is said on its stderr (twice: each attempt ran into the limit).
    assert err(tmp_path, 0) == b"octopus: stopped after 0.5s (command_timeout)\n" * 2
    assert output.count(b"stopped after 0.5s") == 2


@pytest.mark.parametrize("shell", SHELLS)
def test_stdout_and_stderr_split_and_the_exit_code_is_the_commands(tmp_path: Path, shell: str):
    commands = ["echo a; echo b >&2; echo c; printf 'no newline' >&2; exit 7", "echo d >&2"]
    output = run(shell, write_worker(tmp_path, commands))
    assert log(tmp_path, 0) == b"a\nc\n" and err(tmp_path, 0) == b"b\nno newline"
    assert log(tmp_path, 1) == b"" and err(tmp_path, 1) == b"d\n"
    assert output == b"a\nc\nb\nno newlined\n"
    events = events_of(tmp_path)
    assert [events.attempts[i][-1].exit_code for i in (0, 1)] == [7, 0]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_retried_command_appends_both_and_shows_each_stderr_once(tmp_path: Path, shell: str):
    """Each attempt adds to both files; the worker's output shows each attempt's stderr once,
    when that attempt ends."""
    command = 'n=$(cat "$HOME/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$HOME/n"; '
    command += 'echo "out $n"; echo "err $n" >&2; exit $((n + 1))'
    output = run(shell, write_worker(tmp_path, [command], retries=2))
    assert log(tmp_path, 0) == b"out 0\nout 1\nout 2\n"
    assert err(tmp_path, 0) == b"err 0\nerr 1\nerr 2\n"
    assert output == b"out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2\n"
    events = events_of(tmp_path)
    assert [a.exit_code for a in events.attempts[0]] == [1, 2, 3]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_rerun_shows_only_its_own_stderr(tmp_path: Path, shell: str):
    """A worker run again (a resume) appends to the files the first run left; its output
    shows only what this run wrote."""
    script = write_worker(tmp_path, ["echo once >&2; exit 1"])
    run(shell, script)
    output = run(shell, script)
    assert err(tmp_path, 0) == b"once\nonce\n" and output == b"once\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_stderr_file_that_cannot_be_made_leaves_the_command_running(tmp_path: Path, shell: str):
    """(Here a folder stands where the file goes.) The command still runs and keeps its exit
    code; its stderr goes with its stdout."""
    (tmp_path / "run" / "logs" / "0.err").mkdir(parents=True)
    output = run(shell, write_worker(tmp_path, ["echo out; echo err >&2; exit 4"]))
    assert log(tmp_path, 0).endswith(b"out\nerr\n") and b"out\nerr\n" in output
    assert events_of(tmp_path).attempts[0][-1].exit_code == 4


@pytest.mark.parametrize(("live", "helpers"), [(False, ["cat", "cat"]), (True, ["tee", "cat"])])
def test_a_silent_command_costs_no_helper_process(tmp_path: Path, live: bool, helpers: list[str]):
    """Under bash: no date, hostname, tee or cat for a command that prints nothing; one helper
    for one that prints to its stdout (cat once it ends, or tee with live_output), cat once for
    one that wrote to its stderr."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for name in ("date", "hostname", "tee", "cat", "touch", "sleep", "wc", "tail"):
        real = subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True, text=True)
        wrapper = bin_dir / name
        wrapper.write_text(
            f'#!/bin/sh\necho {name} >> "{calls}"\nexec {real.stdout.strip()} "$@"\n'
        )
        wrapper.chmod(0o755)
    commands = ["true"] * 50 + ["echo printed", "echo warned >&2"]
    script = write_worker(tmp_path, commands, live_output=live)
    output = run("bash", script, {"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert output == b"printed\nwarned\n"
    assert calls.read_text().split() == helpers


def wait_for(check, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("shell", SHELLS)
def test_a_running_commands_stdout_shows_when_it_ends_or_live(
    tmp_path: Path, shell: str, live: bool
):
    """While a command runs its stdout is in its own file; the worker's output gets it once
    the command ends (GNU parallel's --group), or as it comes with live_output."""
    go = tmp_path / "go"
    command = f"echo first; while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done; echo second"
    script = write_worker(tmp_path, [command], live_output=live)
    screen = tmp_path / "output_screen0"
    env = {**os.environ, "HOME": str(tmp_path)}
    with screen.open("wb") as out:
        worker = subprocess.Popen([shell, str(script)], cwd=tmp_path, env=env, stdout=out)
    try:
        wait_for(lambda: (tmp_path / "run/logs/0.out").exists() and log(tmp_path, 0), "stdout")
        if live:
            wait_for(lambda: screen.read_bytes() == b"first\n", "the live output")
        else:
            time.sleep(0.3)
            assert screen.read_bytes() == b""
        go.touch()
        assert worker.wait(timeout=20) == 0
    finally:
        worker.kill()
        worker.wait()
    assert screen.read_bytes() == log(tmp_path, 0) == b"first\nsecond\n"


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


@given(st.lists(st.text(), max_size=8))
def test_each_call_quotes_its_text_as_shlex_does(texts: list[str]) -> None:
    """run_lines quotes the joined texts at once; each word is still shlex.quote's."""
    texts += ["true", "", "a'b", "x  \n", "./r.sh", "é", "a\0b", "-x=1"]
    ids = list(range(len(texts)))
    expected = [f"octopus_run {i} {shlex.quote(t.rstrip())}\n" for i, t in enumerate(texts)]
    assert run_lines(ids, texts) == expected
    plain = [t for t in texts if "\0" not in t]  # the joined path, without the NUL fallback
    assert run_lines(ids[: len(plain)], plain) == [
        f"octopus_run {i} {shlex.quote(t.rstrip())}\n" for i, t in enumerate(plain)
    ]


@pytest.mark.parametrize("live", [False, True])
def test_live_output_reaches_every_script_and_reads_back(tmp_path: Path, live: bool) -> None:
    """The experiment's live_output is the delivery's (its manifest keeps it, so that workers
    `inv start` starts later with new scripts show output the same way) and each script's."""
    experiment = Experiment(name="e", experiment_commands=["a", "b", "c"], live_output=live)
    node = Node(test_connection=False, ssh_hostname="n", num_parallel_screens_or_jobs=2)
    manifest, kept = plan_delivery(experiment, [node])
    write_deliverables(manifest, tmp_path, kept)
    scripts = sorted((tmp_path / "n").glob("run_exp_s*.sh"))
    assert len(scripts) == 2
    setting = f'OCTOPUS_LIVE="{"1" if live else ""}"\n'
    assert all(setting in script.read_text() for script in scripts)
    share = Manifest.from_dict(json.loads((tmp_path / "n" / "manifest.json").read_text()))
    assert share.live_output is live
    assert all(setting in worker_script(share, part) for part in share.plan.parts)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_worker_under_set_u_still_says_it_stopped(tmp_path: Path, shell: str) -> None:
    """A prefix with `set -u` (as `set -euo pipefail` has) reaches the worker's own code: a
    failure under stop_on_error still ends the worker with its record, not an unbound name."""
    script = write_worker(tmp_path, ["exit 3", "touch ran"], "set -u\n", stop_on_error=True)
    run(shell, script)
    events = events_of(tmp_path)
    assert events.finished and events.stopped_on_error
    assert list(events.attempts) == [0] and not (tmp_path / "ran").exists()


def test_a_time_limited_command_reads_the_workers_stdin(tmp_path: Path) -> None:
    """Under bash a command with a time limit runs as a job of its own, and still reads the
    worker's stdin (a background job's would be /dev/null)."""
    script = write_worker(tmp_path, ["readlink /proc/self/fd/0"], timeout=30)
    given = tmp_path / "given"
    given.write_text("")
    env = {**os.environ, "HOME": str(tmp_path)}
    with given.open() as stdin:
        subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, stdin=stdin, timeout=60)
    assert log(tmp_path, 0) == f"{given}\n".encode()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_command_reopening_dev_stdout_keeps_all_of_it_with_live_output(
    tmp_path: Path, shell: str
) -> None:
    """Its stdout is then a pipe: `> /dev/stdout` opens the pipe again, not its file, so what
    it printed before stays (grouped, it truncates the file, as under GNU parallel --group)."""
    command = "echo first; echo second > /dev/stdout"
    output = run(shell, write_worker(tmp_path, [command], live_output=True))
    assert log(tmp_path, 0) == output == b"first\nsecond\n"
