"""Names never become code, sessions match by whole name, commands run as written, and the
record never goes backwards. Scripts run here with the real bash, screen listings come from
a stand-in `screen` on PATH."""

from __future__ import annotations

import functools
import io
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from octopus import ConfigError, Experiment, Node
from octopus.inventory import load_inventory
from octopus.launchers.registry import launcher_for
from octopus.launchers.screen import ScreenLauncher
from octopus.launchers.slurm import SlurmLauncher
from octopus.output import StageOutput, visible
from octopus.results import NodeResult, Outcome, StageReport
from octopus.run.events import CommandState, classify, parse_events
from octopus.run.generators import distribute_exp_scripts
from octopus.run.layout import ExperimentPaths
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script
from octopus.run.workers import Worker
from octopus.stages.worker_control import in_run_folders
from octopus.views.tables import print_stage

HOSTILE = ["a\ntouch PWNED #", "a b", "$(touch PWNED)", "`touch PWNED`", "a;b", "-rf", ".."]


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_node_names_are_refused(name: str):
    with pytest.raises(ConfigError, match="not a valid name"):
        Node(name=name, ssh_hostname="h", test_connection=False)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_experiment_names_and_tags_are_refused(name: str):
    with pytest.raises(ConfigError, match="not a valid name"):
        Experiment(name=name)
    with pytest.raises(ConfigError, match="not a valid name"):
        Node(name="n", ssh_hostname="h", tags={name}, test_connection=False)


def test_a_hostile_name_in_nodes_yaml_is_a_located_error(tmp_path: Path):
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump({"nodes": {"a\ntouch ~/PWNED #": {"local": True}}}))
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    assert str(info.value).startswith(f"{path}:2: ") and "not a valid name" in str(info.value)


def test_names_map_one_to_one():
    """`x y` and `x.y` used to share one folder and one session name; now only valid names
    exist, and each is its own key."""
    with pytest.raises(ConfigError):
        Experiment(name="x y")
    assert ExperimentPaths("x.y").key == "x.y" != ExperimentPaths("x-y").key


@pytest.mark.parametrize(
    "options",
    [
        {"time": "1:00\ntouch PWNED"},
        {"partition\n#SBATCH --x": "a"},
        {"a b": "c"},
        {"job-name": "x"},
        {"--ntasks": 2},
    ],
)
def test_slurm_options_cannot_reach_the_header_as_code(options: dict[str, object]):
    with pytest.raises(ConfigError):
        Experiment(slurm_options=options)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Node(name="n", ssh_hostname="h", slurm_options=options, test_connection=False)  # type: ignore[arg-type]


# -- scripts with hostile content run exactly as written ----------------------------------------

HOSTILE_COMMANDS = [
    "set -e; false; echo never",
    "echo 'unterminated",
    'echo "$(echo sub)" `echo tick` \'single\' "double" \\back; echo after',
    "exit 3",
    "cd /; echo moved",
    "printf '%s\\n' 'line one' 'line two' > out.txt",
    "for i in 1 2; do\n  echo loop $i\ndone",
    "cat <<'EOF'\nheredoc $HOME\nEOF",
    "echo ok",
]


def run_worker(tmp_path: Path, commands: list[str], prefix: str = "") -> tuple[str, list[int]]:
    nodes = [Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)]
    plan = build_plan(
        commands,
        prefix,
        nodes,
        exp_script_gen=functools.partial(distribute_exp_scripts, shuffle=False),
    )
    script = render_script(plan.parts[0], prefix, experiment="e", run_dir="run", delivery="D")
    (tmp_path / "worker.sh").write_text(script)
    assert subprocess.run(["bash", "-n", tmp_path / "worker.sh"]).returncode == 0
    done = subprocess.run(
        ["bash", str(tmp_path / "worker.sh")],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    events = parse_events((tmp_path / "run" / "state" / "s0.events").read_text())
    codes = [
        events.attempts[i][-1].exit_code if i in events.attempts else None
        for i in range(len(commands))
    ]
    return done.stdout, codes  # type: ignore[return-value]


def test_each_command_runs_as_written_and_fails_alone(tmp_path: Path):
    output, codes = run_worker(tmp_path, HOSTILE_COMMANDS)
    assert codes == [1, 2, 0, 3, 0, 0, 0, 0, 0]
    assert "never" not in output
    assert "sub tick single double back\nafter" in output
    assert "moved" in output and (tmp_path / "out.txt").read_text() == "line one\nline two\n"
    assert "loop 1\nloop 2" in output and "heredoc $HOME" in output
    assert output.rstrip().endswith("ok")
    assert not list(tmp_path.rglob("PWNED"))


def test_the_prefixs_set_e_holds_inside_commands_and_stops_the_worker(tmp_path: Path):
    output, codes = run_worker(
        tmp_path, ["false; echo not-reached", "echo second"], prefix="set -e\n"
    )
    assert codes == [1, None] and "not-reached" not in output
    events = parse_events((tmp_path / "run" / "state" / "s0.events").read_text())
    assert events.stopped_on_error


# -- sessions by whole name, dead sessions ------------------------------------------------------

LISTING = (
    "There are screens on:\n"
    "\t101.oct-a-s0\t(Detached)\n"
    "\t102.oct-a-b-s0\t(Detached)\n"
    "\t103.oct-a-cmd-1f2e3d\t(Detached)\n"
    "\t104.oct-aXb-s0\t(Detached)\n"
    "\t105.oct-a.b-s1\t(Dead ???)\n"
    "\t106.mine\t(Attached)\n"
    "6 Sockets in /run/screen/S-octo.\n"
)


@pytest.fixture
def fake_screen(tmp_path: Path) -> dict[str, str]:
    """A `screen` on PATH that prints LISTING for -ls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    screen = bin_dir / "screen"
    screen.write_text(f"#!/bin/sh\n[ \"$1\" = -ls ] && printf '%s' '{LISTING}'\nexit 0\n")
    screen.chmod(0o755)
    squeue = bin_dir / "squeue"
    squeue.write_text("#!/bin/sh\nprintf '7 oct-a-s0\\n8 oct-a-b-s0\\n9 oct-a-s12\\n'\n")
    squeue.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)


def test_sessions_and_jobs_match_by_whole_name(fake_screen: dict[str, str]):
    running = sh(ScreenLauncher(ExperimentPaths("a")).running_command("r"), fake_screen).stdout
    assert running.split("\n")[:-1] == [
        "screen session 101.oct-a-s0",
        "screen session 103.oct-a-cmd-1f2e3d",
    ]
    jobs = sh(SlurmLauncher(ExperimentPaths("a")).running_command(), fake_screen).stdout
    assert jobs.splitlines() == ["slurm job 7", "slurm job 9"]
    dotted = sh(ScreenLauncher(ExperimentPaths("a.b")).running_command("r"), fake_screen).stdout
    assert dotted == ""  # oct-aXb-s0 is not a.b's, and a.b's own session is dead


def test_a_dead_session_is_not_alive(fake_screen: dict[str, str]):
    launcher = ScreenLauncher(ExperimentPaths("a.b"))
    assert sh(launcher.alive_command("d", Worker("n", 1, 1, 0)), fake_screen).returncode == 1
    alive = ScreenLauncher(ExperimentPaths("a"))
    assert sh(alive.alive_command("d", Worker("n", 0, 0, 0)), fake_screen).returncode == 0
    assert launcher_for("screen", ExperimentPaths("a")).session_name(0) == "oct-a-s0"


# -- the record never goes backwards ----------------------------------------------------------


def test_a_node_that_lost_its_state_cannot_undo_finished_commands():
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)
    plan = build_plan(["x", "y"], "", [node])
    manifest = Manifest("e", "D", plan, {"a": "screen"}, ".octopus/e")
    ledger = Ledger.fresh(manifest)
    part = plan.parts[0]
    ran = "\n".join(
        [
            "worker-start\t-\t1\t9",
            f"start\t{part.ids[0]}\t1\ta",
            f"end\t{part.ids[0]}\t2\t0",
            f"start\t{part.ids[1]}\t2\ta",
            f"end\t{part.ids[1]}\t3\t4",
            "worker-end\t-\t3\tdone",
        ]
    )
    ledger.merge("a", classify(part, parse_events(ran), alive=False))
    assert ledger.state_lost == {}
    # The delivery folder is gone: the node now shows nothing ran.
    ledger.merge("a", classify(part, parse_events(""), alive=False))
    states = {s.id: (s.state, s.exit_code) for s in ledger.statuses()}
    assert states == {
        part.ids[0]: (CommandState.DONE, 0),
        part.ids[1]: (CommandState.FAILED, 4),
    }
    assert "no longer shows" in ledger.state_lost["a"]


# -- remote text is text ------------------------------------------------------------------


def test_remote_text_is_never_markup_and_control_sequences_show():
    buffer = io.StringIO()
    out = StageOutput(Console(file=buffer, width=200, no_color=True))
    out.line("n1", "[/path] \x1b[31mred\x1b[0m\rback")
    report = StageReport(
        "setup",
        [NodeResult("n1", Outcome.FAILED, "[/etc] [bold]x", stderr_tail="[/usr]\x07bell")],
    )
    print_stage(report, out)
    text = buffer.getvalue()
    assert "n1: [/path] \\x1b[31mred\\x1b[0m\\x0dback" in text
    assert "[/etc] [bold]x" in text and "[/usr]\\x07bell" in text
    assert "\x1b" not in text and visible("tab\tstays") == "tab\tstays"


# -- fenced nodes -----------------------------------------------------------------------------


def test_a_fenced_node_is_fenced_first_and_its_finished_moved_commands_are_duplicates():
    from octopus.run.status import parse_status
    from octopus.run.status_command import status_command

    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)
    plan = build_plan(["x", "y", "z"], "", [node])
    part = plan.parts[0]
    moved = part.ids[1:]
    manifest = Manifest("e", "D", plan, {"a": "process"}, ".octopus/e", moved={"a": moved})
    part.ids, part.commands, part.command_indices = part.ids[:1], part.commands[:1], [0]
    launcher = launcher_for("process", ExperimentPaths("e"))
    command = status_command(manifest, "a", launcher)
    assert command.splitlines()[1] == "touch FENCE"
    output = "\n".join(
        [
            "@@octopus delivery D",
            "@@octopus now 5",
            f"@@octopus alive {part.worker.job_id} 0",
            f"@@octopus events {part.worker.job_id}",
            f"worker-start\t-\t1\t9\nstart\t{part.ids[0]}\t1\ta\nend\t{part.ids[0]}\t2\t0",
            f"start\t{moved[0]}\t2\ta\nend\t{moved[0]}\t3\t0",
            f"start\t{moved[1]}\t3\ta",  # then the node crashed: no end on record
        ]
    )
    output += "\n"
    status = parse_status(manifest, "a", output, launcher)
    assert status.duplicates == [moved[0]] and status.possible_duplicates == [moved[1]]
    assert [s.state for s in status.commands] == [CommandState.DONE]
    ledger = Ledger.fresh(manifest)
    ledger.record_duplicates("a", status.duplicates, status.possible_duplicates)
    ledger.record_duplicates("a", status.duplicates)
    assert ledger.duplicates == {moved[0]: ["a"]}
    assert ledger.possible_duplicates == {moved[1]: ["a"]}
    ledger.record_duplicates("a", [moved[1]])  # its end showed up after all
    assert ledger.possible_duplicates == {} and set(ledger.duplicates) == set(moved)
    assert "touch FENCE" not in status_command(
        Manifest("e", "D", plan, {"a": "process"}, ".octopus/e"), "a", launcher
    )


def test_a_killed_delivers_staging_folder_goes_on_the_next_deliver(tmp_path: Path):
    from octopus.stages.deliverables import staging_folder

    dead = tmp_path / ".delivery-999999999-ab12"  # no such process
    dead.mkdir()
    (dead / "big").write_text("x" * 1000)
    legacy = tmp_path / ".delivery-xyz"  # named before the pid was part of the name
    legacy.mkdir()
    mine = tmp_path / f".delivery-{os.getpid()}-cd34"  # a deliver still running here
    mine.mkdir()
    new = staging_folder(tmp_path)
    assert not dead.exists() and not legacy.exists() and mine.exists()
    assert new.is_dir() and new.name.startswith(f".delivery-{os.getpid()}-")


def test_only_a_run_folder_that_exists_is_looked_in(fake_screen: dict[str, str], tmp_path: Path):
    """No run folder, no worker: its checks start no process (here, no `screen -ls`)."""
    calls = tmp_path / "calls"
    screen = tmp_path / "bin" / "screen"
    screen.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n' + screen.read_text().split("\n", 1)[1])
    env = {**fake_screen, "HOME": str(tmp_path)}
    a, gone = ScreenLauncher(ExperimentPaths("a")), ScreenLauncher(ExperimentPaths("gone"))
    check = in_run_folders({"run/a": [a.running_command("run/a")],
                            "run/gone": [gone.running_command("run/gone")]})  # fmt: skip
    assert sh(check, env).stdout == "" and not calls.exists()
    (tmp_path / "run" / "a").mkdir(parents=True)
    assert sh(check, env).stdout.split("\n")[:-1] == [
        "screen session 101.oct-a-s0",
        "screen session 103.oct-a-cmd-1f2e3d",
    ]
    assert calls.read_text() == "-ls\n"  # the folder that exists alone
