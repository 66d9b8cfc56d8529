"""The `octopus:` section of Invoke's config: checked like nodes.yaml (a typo is one line
naming the file, with did-you-mean, exit 2), in `inv` as in `octopus`; `octopus.exp` is the
experiment a task runs without --exp."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from octopus.cli.config import Settings, check_section, octopus_settings
from octopus.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_section_takes_exp_inventory_and_parallel() -> None:
    assert check_section({"exp": "hello", "inventory": "n.yaml", "parallel": 4}) == []
    assert octopus_settings({"octopus": {"exp": "hello"}}) == Settings(exp="hello")
    assert octopus_settings({}) == Settings()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"ex": "hello"}, "key 'octopus.ex': unknown key (did you mean 'exp'?); valid: exp, "),
        ({"exp": 3}, "key 'octopus.exp': must be text: the experiment a task runs without"),
        ({"exp": ""}, "key 'octopus.exp': must be text"),
    ],
)
def test_a_wrong_key_says_what_to_write(section: dict[str, object], message: str) -> None:
    (error,) = check_section(section, file="invoke.yaml")
    assert str(error).startswith(f"invoke.yaml: {message}")
    with pytest.raises(ConfigError, match="octopus.ex"):
        octopus_settings({"octopus": section})


def cli(
    *args: str, cwd: Path, program: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", program, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (tmp_path / "nodes.yaml").write_text("nodes:\n  here: {local: true}\n")
    (tmp_path / "experiments").mkdir()
    for name in ("hello", "world"):
        (tmp_path / "experiments" / f"{name}.yaml").write_text(
            f"experiment_commands: [echo {name}]\n"
        )
    return tmp_path


@pytest.mark.parametrize("program", ["octopus", "invoke"])
def test_a_typo_in_invoke_yaml_is_one_line_naming_file_and_line(
    project: Path, program: str
) -> None:
    (project / "invoke.yaml").write_text("octopus:\n  parallel: 2\n  ex: hello\n")
    done = cli("print", "--exp", "hello", cwd=project, program=program)  # ex is not used
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"octopus: {project}/invoke.yaml:3: key 'octopus.ex': unknown key (did you mean 'exp'?);"
        " valid: exp, inventory, parallel"
    ]


@pytest.mark.parametrize("program", ["octopus", "invoke"])
def test_octopus_exp_is_the_experiment_without_exp(project: Path, program: str) -> None:
    (project / "invoke.yaml").write_text("octopus:\n  exp: hello\n")
    assert cli("print", cwd=project, program=program).stdout == "echo hello\n"
    assert cli("print", "--exp", "world", cwd=project, program=program).stdout == "echo world\n"
    (project / "invoke.yaml").unlink()
    from_env = cli("print", cwd=project, program=program, env={"INVOKE_OCTOPUS_EXP": "world"})
    assert from_env.stdout == "echo world\n"
    neither = cli("print", cwd=project, program=program)
    assert neither.returncode == 2
    assert neither.stderr.splitlines() == [
        "octopus: which experiment? pass --exp NAME (a file in experiments/) or a path, "
        "or set octopus.exp in invoke.yaml"
    ]
