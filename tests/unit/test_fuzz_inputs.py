"""Every bad input file ends in one line per problem and exit code 2: never a traceback or a
hang. Valid nodes.yaml, experiment YAML and invoke.yaml files are mutated by Hypothesis
(yaml_mutations.py) and read by the same functions the tasks call."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from octopus.cli.config import OctopusConfig, octopus_settings
from octopus.errors import ConfigErrors, OctopusError
from octopus.experiment import yaml_fields
from octopus.inventory import load_inventory
from octopus.loader import load_experiment
from octopus.node import Node, node_fields
from octopus.run.plan import build_plan
from octopus.steps.registry import step_names
from tests.unit.yaml_mutations import broken_file

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),
)
# One case may take this long at most: a hang (millions of workers) fails the test quickly.
SLOW = 5.0

NODES = {
    "defaults": {
        "ssh_username": "alice",
        "ssh_private_key": "id_test",
        "tags": ["lab"],
        "connect_timeout": 5,
        "keepalive": 20,
    },
    "nodes": {
        "a": {
            "ssh_hostname": "a.example.org",
            "available_sockets": [0, 1],
            "hardware_desc": "c8220",
            "python_version": "3.10",
        },
        "b": {
            "ssh_hostname": "b.example.org",
            "ssh_port": 2222,
            "use_slurm": True,
            "slurm_options": {"partition": "gpu", "time": "04:00:00"},
            "tags": "gpu",
        },
        "c": {"ssh_hostname": "c.example.org", "num_parallel_screens_or_jobs": 4},
        "here": {"local": True, "launcher": "process"},
    },
}
EXPERIMENT = {
    "name": "fuzzed",
    "exp_folder_name": "proj",
    "nodes": {"names": ["a"], "tags": ["lab"]},
    "experiment_prefix": "cd ~/proj\n",
    "experiment_commands": [f"python3 run.py --seed {i} --socket [socket]" for i in range(3)],
    "shuffle_seed": 1,
    "stop_on_error": False,
    "screens_per_node": 2,
    "screen_or_job_id_offset": 0,
    "slurm_num_parallel_tasks_per_job": 1,
    "slurm_num_gpus_per_job": 0,
    "slurm_options": {"partition": "gpu"},
    "python_version": "3.10",
    "run_exp_message": "hi",
    "setup_steps": [
        "RsyncCurrentRepo",
        {"SetupVenv": {"use_requirements_txt": True}},
        {"Cmd": {"cmd": "echo hi", "tags": ["lab"]}},
    ],
    "check_error_steps": [{"CheckOutput": {"commands": ["grep Error out*"]}}],
    "pickup_steps": [{"Rsync": {"src": ["proj/results/"], "dest": ["results/"]}}],
}
INVOKE = {
    "octopus": {"inventory": "nodes.yaml", "parallel": 4},
    "run": {"echo": True},
    "tasks": {"dedupe": False},
}
OCTOPUS_KEYS = ["octopus", "inventory", "parallel", "run", "tasks", "echo"]


def expect_one_line_errors(load: Callable[[], Any]) -> None:
    """`load()` either works or raises OctopusError with exit code 2, one line per problem."""
    started = time.monotonic()
    try:
        load()
    except OctopusError as exc:
        assert exc.exit_code == 2, repr(exc)
        problems = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        assert str(exc).split("\n") == [str(p) for p in problems]
        for problem in problems:
            assert str(problem).strip() and len(str(problem).splitlines()) == 1, repr(str(problem))
    assert time.monotonic() - started < SLOW


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz")
    (path / "id_test").write_text("not really a key")
    yield path


@FUZZ
@given(raw=broken_file(NODES, [*node_fields(), "defaults", "nodes"]))
def test_fuzzed_nodes_yaml(folder: Path, raw: bytes) -> None:
    path = folder / "nodes.yaml"
    path.write_bytes(raw)
    expect_one_line_errors(lambda: load_inventory(path))


def _load_and_plan(path: Path) -> None:
    """What `inv print` and `inv deliver` do with the file before connecting anywhere."""
    experiment = load_experiment(str(path))
    local = Node(name="here", local=True, available_sockets=[0, 1], test_connection=False)
    build_plan(
        experiment.experiment_commands,
        experiment.experiment_prefix,
        [local],
        shuffle_seed=experiment.shuffle_seed,
        per_node=experiment.screens_per_node,
        offset=experiment.screen_or_job_id_offset,
    )


@FUZZ
@given(raw=broken_file(EXPERIMENT, [*yaml_fields(), *step_names()]))
def test_fuzzed_experiment_yaml(folder: Path, raw: bytes) -> None:
    path = folder / "fuzzed.yaml"
    path.write_bytes(raw)
    expect_one_line_errors(lambda: _load_and_plan(path))


def _load_invoke_config(folder: Path) -> None:
    """What the `octopus` program does: Invoke's config with ./invoke.yaml, then the options."""
    config = OctopusConfig(project_location=str(folder))
    config.load_project()
    octopus_settings(config)


@FUZZ
@given(raw=broken_file(INVOKE, OCTOPUS_KEYS))
def test_fuzzed_invoke_yaml(folder: Path, raw: bytes) -> None:
    (folder / "invoke.yaml").write_bytes(raw)
    try:
        expect_one_line_errors(lambda: _load_invoke_config(folder))
    finally:
        (folder / "invoke.yaml").unlink()


# -- the same through the command line: a handful of cases -----------------------------------

BAD_INVENTORIES = {
    "empty": "",
    "typo under defaults": "defaults:\n  ssh_usrname: x\nnodes:\n  a: {ssh_hostname: h}\n",
    "list key": "nodes:\n  ? [a]\n  : {ssh_hostname: h}\n",
    "binary": "nodes:\n  a: {ssh_hostname: h\xe9}\n",
}


def octopus(*args: str, cwd: Path, program: str = "octopus") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", program, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("octopus: ")


@pytest.mark.parametrize("text", BAD_INVENTORIES.values(), ids=BAD_INVENTORIES.keys())
def test_command_line_bad_inventory(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode("latin-1"))
    result = octopus("nodes", "--inventory", str(path), cwd=tmp_path)
    assert_one_line_exit_2(result)
    assert str(path) in result.stderr


@pytest.mark.parametrize(
    "text",
    ["screens_per_node: 1000000000000\n", "experiment_commands: [a]\npython_version: 3.10\n"],
)
def test_command_line_bad_experiment(tmp_path: Path, text: str) -> None:
    (tmp_path / "exp.yaml").write_text(text)
    assert_one_line_exit_2(octopus("print", "--exp", "exp.yaml", cwd=tmp_path))


@pytest.mark.parametrize(
    "text",
    ["octopus: {parallel: [1]}\n", "octopus: [\n", "run: 5\n", "octopus:\n  inventroy: x.yaml\n"],
)
def test_command_line_bad_invoke_yaml(tmp_path: Path, text: str) -> None:
    (tmp_path / "invoke.yaml").write_text(text)
    result = octopus("nodes", "--dry-run", cwd=tmp_path)
    assert_one_line_exit_2(result)
    assert "invoke.yaml" in result.stderr


@pytest.mark.parametrize("text", ["octopus: [\n", "run: 5\n", "octopus: {parallel: -1}\n"])
def test_inv_with_a_project_tasks_py_and_a_bad_invoke_yaml(tmp_path: Path, text: str) -> None:
    """Invoke's own program reads invoke.yaml itself, after importing tasks.py."""
    (tmp_path / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (tmp_path / "nodes.yaml").write_text("nodes:\n  here: {local: true}\n")
    (tmp_path / "invoke.yaml").write_text(text)
    assert_one_line_exit_2(octopus("nodes", "--dry-run", cwd=tmp_path, program="invoke"))
