"""Shell completion through Invoke's own protocol (`inv --complete -- <words>`, what the script
of `--print-completion-script` asks): experiment names after --exp, node names after --nodes,
tags after --tags; tasks and flags as Invoke completes them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TASKS = "check-errors deliver init logs monitor nodes pickup print purge report run select-nodes"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (tmp_path / "nodes.yaml").write_text(
        "nodes:\n  here: {local: true}\n  gpu1: {ssh_hostname: a, tags: [gpu]}\n"
        "  gpu2: {ssh_hostname: b, tags: [gpu]}\n  gpu3: {ssh_hostname: c, tags: [gpu, big]}\n"
    )
    (tmp_path / "other.yaml").write_text("nodes:\n  elsewhere: {local: true}\n")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "zero_shot.yaml").write_text("experiment_commands: [a]\n")
    (tmp_path / "experiments" / "zeta.py").write_text("")
    (tmp_path / "experiments" / "notes.txt").write_text("")
    return tmp_path


def complete(line: str, cwd: Path, program: str = "invoke") -> list[str]:
    """The candidates for the words of `line`, as the completion scripts ask for them."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", program, "--complete", "--", *shlex.split(line)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    ("line", "candidates"),
    [
        ("inv run --exp", ["zero_shot", "zeta"]),
        ("inv run --exp ze", ["zero_shot", "zeta"]),
        ("inv deliver -x", ["zero_shot", "zeta"]),
        ("inv run --exp = zet", ["zeta"]),  # bash splits --exp=zet at the `=`
        ("inv run --exp=z", ["--exp=zero_shot", "--exp=zeta"]),  # zsh and fish do not
        ("inv -d start --exp", ["zero_shot", "zeta"]),
        ("inv run --nodes", ["here", "gpu1", "gpu2", "gpu3"]),
        ("inv run --nodes gpu1,", ["gpu1,here", "gpu1,gpu2", "gpu1,gpu3"]),
        ("inv run --nodes 'gpu*,!g'", ["gpu*,!gpu1", "gpu*,!gpu2", "gpu*,!gpu3"]),
        ("inv run -n here -i other.yaml -n", ["elsewhere"]),
        ("inv nodes --tags", ["big", "gpu"]),
        ("inv logs --node g", ["gpu1", "gpu2", "gpu3"]),
    ],
)
def test_option_values_complete(project: Path, line: str, candidates: list[str]) -> None:
    assert complete(line, project) == candidates


def test_tasks_and_flags_complete_as_invoke_completes_them(project: Path) -> None:
    assert " ".join(complete("inv ru", project)).startswith(TASKS)
    assert " ".join(complete("inv run --fresh", project)).startswith(TASKS)
    flags = complete("inv run --", project)
    assert {"--exp", "--nodes", "--force", "--resume", "--timeout", "--no-steal"} <= set(flags)
    assert complete("inv run --timeout", project) == []  # a number: the shell's own completion
    assert complete("inv run --inventory", project) == []  # a file: the shell's own completion


def test_the_octopus_command_completes_the_same(project: Path) -> None:
    assert complete("octopus run --exp", project, program="octopus") == ["zero_shot", "zeta"]
    assert complete("octopus run --nodes gpu", project, program="octopus") == [
        "gpu1",
        "gpu2",
        "gpu3",
    ]
    assert "--pty" not in complete("octopus -", project, program="octopus")


def test_a_broken_inventory_completes_nothing(project: Path) -> None:
    (project / "nodes.yaml").write_text("nodes: [\n")
    assert complete("inv run --nodes", project) == []


def test_bash_completes_experiments_with_the_script_invoke_prints(project: Path) -> None:
    """The real thing: bash sources `inv --print-completion-script bash` (its function is
    named after `invoke`, the first of its names) and completes."""
    script = (
        'source <(inv --print-completion-script bash); COMP_WORDS=(inv run --exp "$1"); '
        'COMP_CWORD=3; _complete_invoke inv "$1" --exp; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{BIN}:{os.environ['PATH']}"}

    def bash(word: str) -> list[str]:
        done = subprocess.run(
            ["bash", "-c", script, "bash", word],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert bash("") == ["zero_shot", "zeta"]
    assert bash("zer") == ["zero_shot"]
