"""Command builders of the screen, process and run_exp launchers: session names, start, probe
and stop text, checked as text and by running it against fake `screen`/`ps` and `kill`."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time

import pytest

from octopus.errors import OctopusError
from octopus.launchers.process import ProcessLauncher
from octopus.launchers.registry import LAUNCHERS, launcher_for
from octopus.launchers.run_exp import RunExpLauncher, RunExpOptions
from octopus.launchers.screen import ScreenLauncher
from octopus.launchers.slurm import SlurmLauncher
from octopus.node import Launcher
from octopus.run import layout
from octopus.run.layout import MARK, ExperimentPaths, output_file, pid_file
from octopus.run.status import WorkerProbe
from octopus.run.workers import Worker

PATHS = ExperimentPaths("exp")
WORKER = Worker("n", 0, 3, 1)
DELIVERY = "runs/d 1"  # a space, so quoting shows
QUOTED = "\"$HOME\"/'runs/d 1'"

# PIDs above any kernel's pid_max: nothing real is ever signalled, even if the stub of `kill`
# below were bypassed.
P = {name: str(2147480000 + i) for i, name in enumerate(["s3", "s30", "other", "x", "b", "c1"])}
LISTING = (
    "There are screens on:\n"
    f"\t{P['s3']}.oct-exp-s3\t(01/01/24 10:00:00)\t(Detached)\n"
    f"\t{P['s30']}.oct-exp-s30\t(Detached)\n"
    f"\t{P['other']}.oct-other-s3\t(Detached)\n"
    f"\t{P['x']}.xoct-exp-s3\t(Detached)\n"
    "4 Sockets in /run/screen/S-tester.\n"
)
# A child of the s3 session's process, so stopping takes the whole tree.
PS = f"{P['s3']} 1\n{P['c1']} {P['s3']}\n{P['s30']} 1\n{P['other']} 1\n{P['x']} 1\n"
KILL_STUB = 'kill() { case "$1" in -0) return 1 ;; esac; echo "$*" >> "$KILL_LOG"; }; '


@pytest.fixture
def fakes(tmp_path):
    """Fake screen and ps first on PATH; returns a runner of shell text and the kill log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "listing").write_text(LISTING)
    (tmp_path / "ps").write_text(PS)
    scripts = {
        "screen": f'if [ "$1" = -ls ]; then cat {tmp_path}/listing; exit 1; fi; exit 0',
        "ps": f"cat {tmp_path}/ps",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "kill.log"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "KILL_LOG": str(log),
    }

    def run(command, listing=None):
        if listing is not None:
            (tmp_path / "listing").write_text(listing)
        done = subprocess.run(
            ["bash", "-c", KILL_STUB + command], env=env, capture_output=True, text=True, timeout=30
        )
        return done

    def killed():
        """The PIDs the TERM signal went to (the stubbed `kill` logged them)."""
        if not log.exists():
            return set()
        terms = [line.split()[1:] for line in log.read_text().splitlines() if "-TERM" in line]
        return {pid for line in terms for pid in line}

    return run, killed


# -- names and files ------------------------------------------------------------------------


def test_session_names_carry_experiment_and_worker():
    for cls in (ScreenLauncher, ProcessLauncher, RunExpLauncher, SlurmLauncher):
        launcher = cls(PATHS)
        assert launcher.session_name(3) == "oct-exp-s3"
        assert launcher.output_file(WORKER) == "output_screen3" == output_file(3)
        assert launcher.run_dir(DELIVERY) == QUOTED


def test_launcher_for_by_name():
    assert set(LAUNCHERS) == {"screen", "process", "slurm", "run_exp"}
    for kind, cls in [
        ("screen", ScreenLauncher),
        ("process", ProcessLauncher),
        (Launcher.SLURM, SlurmLauncher),
        (Launcher.RUN_EXP, RunExpLauncher),
    ]:
        launcher = launcher_for(kind, PATHS, {"slurm": {}}, "n")
        assert type(launcher) is cls
        assert launcher.node == "n" and launcher.paths == PATHS


def test_launcher_for_an_unknown_kind_is_an_error():
    with pytest.raises(OctopusError, match="launcher 'nope' cannot start workers"):
        launcher_for("nope", PATHS)


# -- start commands -------------------------------------------------------------------------


def test_screen_start_command():
    text = ScreenLauncher(PATHS).start_command(DELIVERY, WORKER, "run_exp_s3.sh")
    shell = "$(command -v bash || command -v sh)"
    assert text == (
        f"cd {QUOTED} && screen -dmS oct-exp-s3 {shell} -c "
        f"'exec \"$0\" run_exp_s3.sh >> output_screen3 2>&1' {shell}"
    )


def test_process_start_command_writes_the_pid_file():
    text = ProcessLauncher(PATHS).start_command(DELIVERY, WORKER, "run_exp_s3.sh")
    assert text.startswith(f"cd {QUOTED} && mkdir -p pids && ")
    assert "setsid nohup $(command -v bash || command -v sh) run_exp_s3.sh" in text
    assert ">> output_screen3 2>&1 < /dev/null &" in text
    assert text.endswith("echo $! > pids/s3.pid; }")
    assert pid_file(3) == "pids/s3.pid"


def test_run_exp_start_command_with_defaults():
    text = RunExpLauncher(PATHS).start_command(DELIVERY, WORKER, "run_exp_s3.sh")
    prefix = f"cd {QUOTED} && screen -d -m -S oct-exp-s3 "
    assert text.startswith(prefix)
    argv = shlex.split(text[len(prefix) :])
    assert argv == [
        "run_exp",
        "-m",
        "Experiment (Socket 1)",
        "--numa",
        "1",
        "./run_exp_s3.sh >> output_screen3 2>&1",
    ]


def test_run_exp_start_command_with_every_option():
    settings = {
        "run_exp": {
            "message": "It's mine",
            "numa_socket": 0,
            "exclusive": True,
            "pin": True,
            "expected_time": "2:30",
        }
    }
    launcher = RunExpLauncher(PATHS, settings)
    assert launcher.options == RunExpOptions("It's mine", 0, True, True, "2:30")
    text = launcher.start_command(DELIVERY, WORKER, "run_exp_s3.sh")
    argv = shlex.split(text.split(" screen -d -m -S oct-exp-s3 ", 1)[1])
    assert argv == [
        "run_exp",
        "-m",
        "It's mine (Socket 0)",
        "--numa",
        "0",
        "--exclusive",
        "--pin",
        "--time",
        "2:30",
        "./run_exp_s3.sh >> output_screen3 2>&1",
    ]


# -- probes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ScreenLauncher, ProcessLauncher, RunExpLauncher])
def test_probe_text_and_parse_round_trip(cls):
    launcher = cls(PATHS)
    workers = [WORKER, Worker("n", 1, 4, 0)]
    text = launcher.probe_command(DELIVERY, workers)
    for job in (3, 4):
        assert f"echo '{MARK} alive {job} 1'" in text
        assert f"echo '{MARK} alive {job} 0'" in text
    assert launcher.parse_probe([f"{MARK} alive 3 1", f"{MARK} alive 4 0"]) == {
        3: WorkerProbe(alive=True),
        4: WorkerProbe(alive=False),
    }


def test_parse_probe_skips_other_lines():
    got = ScreenLauncher(PATHS).parse_probe(
        [f"{MARK} alive 3", f"{MARK} jobid s3 5", "alive 3 1", f"{MARK} alive 5 1"]
    )
    assert got == {5: WorkerProbe(alive=True)}


def probe(run, launcher, workers, listing=None):
    done = run(launcher.probe_command(DELIVERY, workers), listing)
    assert done.returncode == 0, done.stderr
    return {job: p.alive for job, p in launcher.parse_probe(done.stdout.splitlines()).items()}


def test_screen_probe_matches_the_whole_session_name(fakes):
    run, _ = fakes
    launcher = ScreenLauncher(PATHS)
    workers = [WORKER, Worker("n", 1, 30, 0), Worker("n", 2, 4, 0)]
    assert probe(run, launcher, workers) == {3: True, 30: True, 4: False}
    # Only s30 and other experiments' s3: worker 3 is not alive.
    only30 = f"\t{P['s30']}.oct-exp-s30\t(Detached)\n\t{P['other']}.oct-other-s3\t(Detached)\n"
    assert probe(run, launcher, workers, only30) == {3: False, 30: True, 4: False}


def test_process_probe_without_a_pid_file_is_not_alive(fakes):
    run, _ = fakes
    assert probe(run, ProcessLauncher(PATHS), [WORKER]) == {3: False}


# -- stopping -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ScreenLauncher, RunExpLauncher])
def test_stop_one_takes_the_whole_session_name_and_its_tree(fakes, cls):
    run, killed = fakes
    done = run(cls(PATHS).stop_one_command(DELIVERY, WORKER))
    assert done.returncode == 0, done.stderr
    assert killed() == {P["s3"], P["c1"]}


def test_stop_one_of_a_worker_without_session_signals_nothing(fakes):
    run, killed = fakes
    done = run(ScreenLauncher(PATHS).stop_one_command(DELIVERY, Worker("n", 0, 7, 0)))
    assert done.returncode == 0
    assert killed() == set()


def test_stop_all_takes_the_experiments_sessions_only(fakes):
    run, killed = fakes
    done = run(ScreenLauncher(PATHS).stop_command(".octopus/exp"))
    assert done.returncode == 0, done.stderr
    assert killed() == {P["s3"], P["c1"], P["s30"]}


def test_running_lists_the_experiments_sessions(fakes):
    run, _ = fakes
    done = run(ScreenLauncher(PATHS).running_command(".octopus/exp"))
    assert done.stdout.splitlines() == [
        f"screen session {P['s3']}.oct-exp-s3",
        f"screen session {P['s30']}.oct-exp-s30",
    ]


def test_stop_all_matches_whole_names_so_a_longer_experiment_name_is_left_alone(fakes):
    run, killed = fakes
    listing = (
        f"\t{P['s3']}.oct-exp-s3\t(Detached)\n"
        f"\t{P['b']}.oct-exp-b-s0\t(Detached)\n"
        f"\t{P['x']}.oct-exp-cmd-0a1b2c\t(Detached)\n"
    )
    assert ExperimentPaths("exp-b").worker_session(0) == "oct-exp-b-s0"
    assert PATHS.step_session("0a1b2c") == "oct-exp-cmd-0a1b2c"
    done = run(ScreenLauncher(PATHS).stop_command(".octopus/exp"), listing)
    assert done.returncode == 0
    # exp's worker (with its child) and its ScreenCmd session; not exp-b's worker.
    assert killed() == {P["s3"], P["c1"], P["x"]}


def test_a_dead_session_is_not_alive(fakes):
    run, _ = fakes
    dead = f"\t{P['s3']}.oct-exp-s3\t(Dead ???)\n\t{P['s30']}.oct-exp-s30\t(Detached)\n"
    workers = [WORKER, Worker("n", 1, 30, 0)]
    assert probe(run, ScreenLauncher(PATHS), workers, dead) == {3: False, 30: True}


def test_process_stop_commands_read_the_pid_files():
    launcher = ProcessLauncher(PATHS)
    one = launcher.stop_one_command(DELIVERY, WORKER)
    assert one.startswith(f'octopus_roots="$(cat {QUOTED}/pids/s3.pid 2>/dev/null)"')
    every = launcher.stop_command(".octopus/exp")
    assert 'for f in "$HOME"/.octopus/exp/deliveries/*/pids/*.pid' in every
    assert "grep -q run_exp_s" in every


# -- the process launcher for real ----------------------------------------------------------


def wait_for(check, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_process_launcher_starts_probes_and_stops_a_worker(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}

    def sh(command):
        return subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30
        )

    run = tmp_path / "runs" / "d 1"
    run.mkdir(parents=True)
    (run / "run_exp_s3.sh").write_text("echo hello from s3\nsleep 60\n")
    launcher = ProcessLauncher(PATHS)
    started = sh(launcher.start_command(DELIVERY, WORKER, "run_exp_s3.sh"))
    assert started.returncode == 0, started.stderr
    pid = int((run / "pids" / "s3.pid").read_text())
    try:
        assert wait_for(lambda: "hello from s3" in (run / "output_screen3").read_text())

        def alive():
            out = sh(launcher.probe_command(DELIVERY, [WORKER])).stdout.splitlines()
            return launcher.parse_probe(out)[3].alive

        assert alive()
        stopped = sh(launcher.stop_one_command(DELIVERY, WORKER))
        assert stopped.returncode == 0, stopped.stderr
        assert wait_for(lambda: not alive())
    finally:
        with contextlib.suppress(ProcessLookupError):  # only the group this test started
            os.killpg(pid, signal.SIGKILL)


def test_a_checkout_id_scopes_folders_sessions_and_jobs():
    scoped = ExperimentPaths("exp", scope="c0ffee")
    assert scoped.remote_run_dir == ".octopus/exp@c0ffee"
    assert scoped.remote_current == ".octopus/exp@c0ffee/current"
    assert scoped.worker_session(2) == "oct-c0ffee-exp-s2"
    assert scoped.step_session("0a1b2c") == "oct-c0ffee-exp-cmd-0a1b2c"
    assert scoped.is_session("oct-c0ffee-exp-s0")
    assert not scoped.is_session("oct-exp-s0") and not scoped.is_session("oct-beef00-exp-s0")
    legacy = scoped.unscoped()
    assert legacy.remote_run_dir == ".octopus/exp" and legacy.worker_session(0) == "oct-exp-s0"
    assert not legacy.is_session("oct-c0ffee-exp-s0")


def test_the_checkout_id_comes_from_this_machine_and_folder(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real id, not the unit tests' empty one (conftest.py)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    assert len(layout.project_scope(one)) == 6
    assert layout.project_scope(one) == layout.project_scope(one)
    assert layout.project_scope(one) != layout.project_scope(two)
    assert ExperimentPaths("exp", project=one).scope_id == layout.project_scope(one)
