"""`octopus init`: the starter files, valid as written, and never an overwrite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from octopus.cli.init import STARTER, init_project
from octopus.inventory import load_inventory
from octopus.loader import load_experiment
from tests.conftest import REPO


def test_init_writes_a_project_that_loads(tmp_path: Path, monkeypatch) -> None:
    made = init_project(tmp_path)
    assert made.written == list(STARTER) and made.kept == []
    inventory = load_inventory(tmp_path / "nodes.yaml")
    assert [n.name for n in inventory.select(None, None)] == ["local"]
    monkeypatch.chdir(tmp_path)
    experiment = load_experiment("example")
    assert len(experiment.experiment_commands) == 4
    compile((tmp_path / "tasks.py").read_text(), "tasks.py", "exec")


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text("nodes: {mine: {local: true}}\n")
    made = init_project(tmp_path)
    assert made.kept == ["nodes.yaml"] and "nodes.yaml" not in made.written
    assert (tmp_path / "nodes.yaml").read_text() == "nodes: {mine: {local: true}}\n"
    again = init_project(tmp_path)
    assert again.written == [] and again.kept == list(STARTER)


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_outside_a_project_the_error_points_to_init(tmp_path: Path) -> None:
    done = octopus("nodes", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("octopus: nodes.yaml: file not found: `octopus init` writes")
    made = octopus("init", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1] == "next: octopus run --exp=example"
    assert (tmp_path / "experiments" / "example.yaml").is_file()
