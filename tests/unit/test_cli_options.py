"""Every task's options as the command line sees them: the kind each is parsed as, a value
placeholder in `--help` for each that takes one, one short flag map for all tasks that stays
clear of Invoke's own flags, and a bad value as one line with exit code 2."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.parser.argument import Argument
from invoke.program import Program

from octopus.cli.arguments import OctopusTask
from octopus.cli.program import HIDDEN_CORE_OPTIONS
from octopus.cli.tasks import ns

REPO = Path(__file__).resolve().parents[2]
# What each annotation of a task option means (said here again, on purpose).
EXPECTED_KIND = {
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "str | None": str,
    "list[str] | None": list,
}
PLACEHOLDER = {str: "STRING", int: "INT", float: "FLOAT", list: "STRING"}
# The whole short flag map: each letter means this option in every task that has it.
SHORT_FLAGS = {"x": "exp", "i": "inventory", "n": "nodes", "t": "tags", "j": "parallel"}


def task_arguments() -> list[tuple[str, inspect.Parameter, Argument]]:
    found = []
    for name in ns.task_names:
        task = ns[name]
        params = inspect.signature(task.body).parameters
        for arg in task.get_arguments():
            found.append((name, params[arg.attr_name or arg.name], arg))
    return found


def test_every_option_is_parsed_as_its_annotation_says() -> None:
    arguments = task_arguments()
    assert len(arguments) > 60
    for task, param, arg in arguments:
        kind = EXPECTED_KIND[param.annotation]
        assert arg.kind is kind, (task, param.name)
        if kind is list:
            assert param.default is None and arg.default == [], (task, param.name)
        elif param.default is not None:
            assert isinstance(param.default, kind), (task, param.name)
    kinds = {(task, p.name): arg.kind for task, p, arg in arguments}
    assert kinds["run", "timeout"] is float and kinds["run", "interval"] is float
    assert kinds["run", "notify"] is list and kinds["report", "where"] is list


def test_every_valued_option_shows_its_placeholder_in_help() -> None:
    for context in ns.to_contexts():
        for flag, arg in context.flags.items():
            names, _ = context.help_for(flag)
            if not arg.takes_value:
                assert "=" not in names and " " not in names.replace(", ", ""), names
                continue
            value = PLACEHOLDER[arg.kind]
            assert f"--{arg.name}={value}" in names, (context.name, names)
            for short in (n for n in arg.names if len(n) == 1):
                assert f"-{short} {value}" in names, (context.name, names)


def test_one_short_flag_means_one_option_in_every_task_and_none_is_invokes() -> None:
    invoke_flags = {
        n for a in Program().core_args() + Program().task_args() for n in a.names if len(n) == 1
    }
    assert {"c", "d", "D", "e", "f", "F", "h", "l", "p", "r", "R", "T", "V", "w"} == invoke_flags
    meaning: dict[str, set[str]] = {}
    for _, param, arg in task_arguments():
        for short in (n for n in arg.names if len(n) == 1):
            meaning.setdefault(short, set()).add(param.name)
    assert {short: names.pop() for short, names in meaning.items() if len(names) == 1} == (
        SHORT_FLAGS
    )
    assert all(len(names) <= 1 for names in meaning.values())
    assert not set(meaning) & invoke_flags


def test_every_options_help_text_is_used() -> None:
    """Each help text names an option (Invoke drops a misspelled one silently with --help)."""
    for name in ns.task_names:
        task = ns[name]
        options = {p.strip("_") for p in inspect.signature(task.body).parameters}  # json_
        assert set(task.help) <= options, name
        texts = [arg.help for arg in task.get_arguments()]
        assert all(texts), name
        assert [arg.help for arg in task.get_arguments()] == texts  # asked again: still there


# -- through the command line -----------------------------------------------------------


def cli(*args: str, cwd: Path, program: str = "octopus") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", program, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("octopus: ")
    return result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: the checkout's tasks.py, a local node, one experiment."""
    (tmp_path / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (tmp_path / "nodes.yaml").write_text("nodes:\n  here: {local: true}\n")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "hello.yaml").write_text("experiment_commands: [echo hi]\n")
    return tmp_path


@pytest.mark.parametrize("program", ["octopus", "invoke"])
def test_run_help_shows_each_options_value(project: Path, program: str) -> None:
    done = cli("run", "--help", cwd=project, program=program)
    assert done.returncode == 0, done.stderr
    for shown in (
        "--interval=FLOAT",
        "--timeout=FLOAT",
        "--notify=STRING",
        "-j INT, --parallel=INT",
        "-x STRING, --exp=STRING",
        "--force ",
        "--resume ",
        "--retry-failed ",
        "--fresh ",
        "--[no-]steal ",
    ):
        assert shown in done.stdout, shown


def test_run_takes_a_fractional_timeout(project: Path) -> None:
    done = cli(
        "run", "-x", "hello", "--timeout", "1.5", "--interval", "0.5", "--dry-run", cwd=project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--timeout", "soon"], "octopus: --timeout takes a number (1.5), not 'soon'"),
        (["monitor", "--parallel", "2.5"], "octopus: --parallel takes a whole number, not '2.5'"),
        (["logs", "--tail", "x"], "octopus: --tail takes a whole number, not 'x'"),
        (["run", "-x", "hello", "--interval", "0"], "--interval must be more than 0 seconds"),
        (["run", "-x", "hello", "--timeout", "-1"], "--timeout must be 0 (never) or more"),
        (["nodes", "--parallel", "-3"], "--parallel must be 0 (the default) to 1024 nodes"),
    ],
)
def test_a_bad_option_value_is_one_line_and_exit_2(
    project: Path, args: list[str], message: str
) -> None:
    assert message in one_line_exit_2(cli(*args, cwd=project))


def test_a_bad_option_value_in_inv_too(project: Path) -> None:
    done = cli("run", "--timeout", "soon", cwd=project, program="invoke")
    assert one_line_exit_2(done) == "octopus: --timeout takes a number (1.5), not 'soon'\n"


def test_octopus_help_leaves_out_invokes_options_for_shell_commands(project: Path) -> None:
    ours = cli("--help", cwd=project)
    assert ours.returncode == 0, ours.stderr
    for name in HIDDEN_CORE_OPTIONS:
        assert f"--{name}" not in ours.stdout, name
    for kept in ("--debug", "--config", "--list", "--version", "--print-completion-script"):
        assert kept in ours.stdout
    refused = cli("--pty", "nodes", cwd=project)
    assert refused.returncode == 1 and "No idea what '--pty' is!" in refused.stderr
    assert cli("--debug", "nodes", "--dry-run", cwd=project).returncode == 0
    # `inv` keeps all of Invoke's options.
    theirs = cli("--help", cwd=project, program="invoke")
    for name in HIDDEN_CORE_OPTIONS:
        assert f"--{name}" in theirs.stdout, name


def test_nodes_takes_globs_and_exclusions(project: Path) -> None:
    (project / "nodes.yaml").write_text(
        "nodes:\n  here: {local: true}\n  gpu1: {ssh_hostname: a}\n  gpu2: {ssh_hostname: b}\n"
        "  gpu3: {ssh_hostname: c}\n"
    )
    done = cli("nodes", "--dry-run", "--nodes", "gpu*,!gpu3", cwd=project)
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["gpu1", "gpu2"]
    bad = one_line_exit_2(cli("nodes", "--dry-run", "-n", "tpu*", cwd=project))
    assert bad.startswith("octopus: nodes.yaml: no node matches 'tpu*'; known: here, gpu1, ")


def test_an_option_without_a_known_annotation_or_with_a_wrong_default_is_refused() -> None:
    """Found when the task is declared (`inv --list`), not when a user passes the option."""

    def unannotated(c, seconds=0):
        return 0

    def wrong_default(c: object, seconds: float = "0") -> int:
        return 0

    def fine(c: object, seconds: float = 0, names: list[str] | None = None) -> int:
        return 0

    with pytest.raises(TypeError, match="task option 'seconds': annotate it as one of bool, "):
        OctopusTask(unannotated)
    with pytest.raises(TypeError, match="task option 'seconds': default '0' is not a float"):
        OctopusTask(wrong_default)
    made = {a.name: a for a in OctopusTask(fine).get_arguments()}
    assert made["seconds"].kind is float and made["seconds"].names == ("seconds",)
    assert made["names"].kind is list
