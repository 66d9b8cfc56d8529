"""Steps as data: the commands they would run on a node, and the local steps' effects."""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pytest

from octopus import (
    CheckOutput,
    CloneRepo,
    Cmd,
    CombineCSVFiles,
    CreateScript,
    Experiment,
    KillAllSlurmJobs,
    LocalCmd,
    LocalCopy,
    LocalMethodCall,
    Node,
    OctopusError,
    Remove,
    ScreenCmd,
    SetupVenv,
)
from octopus.output import StageOutput
from octopus.step import StepContext, build_step
from octopus.steps.commands import parse_screen_sessions
from octopus.steps.repos import repo_folder


def ctx(**experiment: object) -> StepContext:
    exp = Experiment(name="demo-exp", **experiment)  # type: ignore[arg-type]
    return StepContext(
        Node(test_connection=False, ssh_hostname="n1", python_version="3.10"),
        None,
        exp,
        StageOutput(quiet=True),
    )


def test_cmd_joins_with_and():
    assert Cmd(cmd=["cd x", "ls"]).commands(ctx()) == ["cd x && ls"]
    assert Cmd(cmd="echo 'a b'").commands(ctx()) == ["echo 'a b'"]


def test_setup_venv_commands_quote_and_use_node_python():
    [command] = SetupVenv(
        requirements=["numpy>=2", "pkg; sys_platform == 'linux'"], use_requirements_txt=True
    ).commands(ctx(exp_folder_name="my exp"))
    assert "cd 'my exp'" in command
    assert "python3.10 -m venv venv3.10" in command
    assert "-r requirements.txt" in command
    assert "'numpy>=2' 'pkg; sys_platform == '\"'\"'linux'\"'\"''" in command


def test_screen_cmd_is_named_after_the_experiment_and_quotes_the_logfile():
    [command] = ScreenCmd(cmd=["./setup.sh"], logfile="my log.txt", cleanup_logfile=True).commands(
        ctx()
    )
    assert command.startswith("rm -f -- 'my log.txt' && screen -dmS oct-demo-exp-cmd-")
    inner = shlex.split(command.split(" bash -c ", 1)[1])[0]
    assert inner == "{ ./setup.sh\n} 2>&1 | tee -a 'my log.txt'"


def test_clone_repo_folder_defaults():
    assert repo_folder("https://github.com/org/zero-shot.git") == "zero-shot"
    assert repo_folder("git@github.com:org/tool") == "tool"
    [command] = CloneRepo(repo_url="u/r.git", branch="dev").commands(ctx())
    assert "git clone --branch dev -- u/r.git r" in command


def test_remove_quotes_everything_but_wildcards():
    assert Remove(files=["out/*.csv", "a b"]).commands(ctx()) == ["rm -f -- out/*.csv 'a b'"]


def test_kill_all_slurm_jobs_selects_the_experiments_jobs_by_whole_name():
    [command] = KillAllSlurmJobs().commands(ctx())
    assert "$2 ~ /^oct-demo-exp-(s[0-9]+|cmd-[0-9a-f]+)$/" in command
    assert KillAllSlurmJobs(all_jobs=True).commands(ctx()) == ['scancel -u "$USER"']


def test_parse_screen_sessions():
    listing = (
        "There are screens on:\n\t4242.oct-x-s0\t(11/24/2026 10:00:01 PM)\t(Detached)\n"
        "\t77.mine\t(Attached)\n2 Sockets in /run/screen/S-octo.\n"
    )
    assert parse_screen_sessions(listing) == [(4242, "oct-x-s0"), (77, "mine")]


def test_check_output_runs_beside_the_worker_output():
    [command] = CheckOutput("grep x y").commands(ctx())
    assert command == '{ cd "$HOME"/.octopus/demo-exp/current 2>/dev/null || true; } && grep x y'


def test_build_step_rejects_bad_arguments():
    with pytest.raises(OctopusError, match="step Cmd needs argument"):
        build_step("Cmd", {})
    step = build_step("Cmd", {"cmd": "ls", "tags": ["a"]})
    assert isinstance(step, Cmd) and step.tags == {"a"}


def test_local_copy_and_create_script(tmp_path: Path):
    (tmp_path / "src" / "d").mkdir(parents=True)
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "src" / "d" / "b.txt").write_text("b")
    LocalCopy(src=[str(tmp_path / "src" / "*.txt")], dest=[str(tmp_path / "out")]).run()
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
    with pytest.raises(OctopusError, match="recursive=True"):
        LocalCopy(src=[str(tmp_path / "src" / "d")], dest=[str(tmp_path / "out")]).run()
    LocalCopy(src=[str(tmp_path / "src" / "d")], dest=[str(tmp_path / "out")], recursive=True).run()
    assert (tmp_path / "out" / "d" / "b.txt").read_text() == "b"

    script = tmp_path / "s" / "setup.sh"
    CreateScript(scriptname=str(script), script_cmd="echo 1\necho 2\n").run()
    assert script.read_bytes() == b"echo 1\necho 2\n" and script.stat().st_mode & 0o111


def test_local_cmd_and_method_call(tmp_path: Path):
    LocalCmd(cmd=f"echo hi > '{tmp_path}/o.txt'").run()
    assert (tmp_path / "o.txt").read_text() == "hi\n"
    with pytest.raises(OctopusError, match="LocalCmd exited with 3"):
        LocalCmd(cmd="exit 3").run()
    got: list[object] = []
    LocalMethodCall(lambda path: got.append(path), {"path": "x"}).run()
    LocalMethodCall(got.append, ["y"]).run()
    assert got == ["x", "y"]


def test_combine_csv_files_with_different_columns(tmp_path: Path):
    (tmp_path / "r1.csv").write_text("seed,acc\n1,0.5\n")
    (tmp_path / "r2.csv").write_text("seed,loss,acc\n2,0.1,0.7\n3,0.2,0.8\n")
    (tmp_path / "r3.csv").write_text("")
    target = tmp_path / "all" / "combined.csv"
    step = CombineCSVFiles(
        source_files=str(tmp_path / "r*.csv"), target_file=str(target), remove=True
    )
    step.run()
    with target.open() as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["seed", "acc", "loss"],
        ["1", "0.5", ""],
        ["2", "0.7", "0.1"],
        ["3", "0.8", "0.2"],
    ]
    assert not list(tmp_path.glob("r*.csv"))
