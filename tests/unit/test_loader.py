"""Loading experiments from YAML and Python: every error names file, line, step and argument."""

from __future__ import annotations

from pathlib import Path

import pytest

import octopus.stages.deliver  # noqa: F401 (its steps exist)
import octopus.stages.monitor  # noqa: F401
import octopus.stages.purge  # noqa: F401
from octopus import Cmd, ConfigError, Experiment, SetupVenv, load_experiment
from octopus.errors import ConfigErrors
from octopus.loader import find_experiment


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_experiment_builds_steps(tmp_path: Path):
    path = write(
        tmp_path,
        "demo.yaml",
        """
experiment_commands: ["python3 run.py --seed 1"]
exp_folder_name: demo
nodes: [a, b]
setup_steps:
  - RsyncCurrentRepo
  - SetupVenv: {use_requirements_txt: true}
  - Cmd: {cmd: [ls, pwd], tags: [gpu]}
purge_steps:
  - KillAllScreens:
""",
    )
    exp = load_experiment(str(path))
    assert exp.name == "demo" and exp.node_names == ["a", "b"]
    kinds = [type(s).__name__ for s in exp.setup_steps]
    assert kinds == ["RsyncCurrentRepo", "SetupVenv", "Cmd"]
    assert isinstance(exp.setup_steps[1], SetupVenv) and exp.setup_steps[1].use_requirements_txt
    assert isinstance(exp.setup_steps[2], Cmd) and exp.setup_steps[2].tags == {"gpu"}
    assert [type(s).__name__ for s in exp.purge_steps] == ["KillAllScreens"]


def test_unknown_step_lists_valid_ones(tmp_path: Path):
    path = write(tmp_path, "e.yaml", "setup_steps:\n  - Cmd: {cmd: ls}\n  - SetupVnv: {}\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    text = str(info.value)
    assert text.startswith(f"{path}:3: unknown step 'SetupVnv' (did you mean 'SetupVenv'?)")
    assert "valid steps: CheckActiveScreens, CheckOutput, CloneRepo, Cmd" in text


def test_wrong_argument_name_and_type(tmp_path: Path):
    path = write(
        tmp_path,
        "e.yaml",
        "setup_steps:\n  - SetupVenv: {forse: true}\n"
        "  - Rsync: {src: a, dest: b, put: yes please}\n",
    )
    with pytest.raises(ConfigErrors) as info:
        load_experiment(str(path))
    first, second = info.value.errors
    assert (first.file, first.line, first.key) == (str(path), 2, "forse")
    assert "step SetupVenv has no argument 'forse' (did you mean 'force'?)" in str(first)
    assert second.line == 3 and "argument 'put' must be true/false" in str(second)


def test_missing_required_argument(tmp_path: Path):
    path = write(tmp_path, "e.yaml", "setup_steps:\n  - CloneRepo: {}\n")
    with pytest.raises(ConfigError, match=r":2: step CloneRepo needs argument\(s\): repo_url"):
        load_experiment(str(path))


def test_unknown_field_and_bad_nodes(tmp_path: Path):
    path = write(tmp_path, "e.yaml", "experiment_command: [a]\nnodes: 5\n")
    with pytest.raises(ConfigErrors) as info:
        load_experiment(str(path))
    lines = str(info.value).splitlines()
    assert (
        "key 'experiment_command': unknown field (did you mean 'experiment_commands'?)" in lines[0]
    )
    assert ":2: key 'nodes': must be a list of node names" in lines[1]


def test_python_experiment(tmp_path: Path):
    path = write(
        tmp_path,
        "pyexp.py",
        """
from octopus import Experiment, Cmd
experiment = Experiment(experiment_commands=["echo hi"], setup_steps=[Cmd(cmd="ls")])
""",
    )
    exp = load_experiment(str(path))
    assert isinstance(exp, Experiment) and exp.name == "pyexp" and exp.source == str(path)


def test_python_experiment_errors_name_the_line(tmp_path: Path):
    path = write(
        tmp_path,
        "bad.py",
        "from octopus import Experiment\n\nexperiment = Experiment(experiment_comands=['x'])\n",
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value).startswith(
        f"{path}:3: key 'experiment_comands': Experiment has no "
        "argument 'experiment_comands' (did you mean "
        "'experiment_commands'?)"
    )
    path = write(tmp_path, "none.py", "x = 1\n")
    with pytest.raises(ConfigError, match="defines no Experiment"):
        load_experiment(str(path))


def test_find_by_name_and_unknown_name(tmp_path: Path):
    (tmp_path / "zero_shot.yaml").write_text("experiment_commands: []\n")
    assert find_experiment("zero_shot", tmp_path) == tmp_path / "zero_shot.yaml"
    with pytest.raises(
        ConfigError,
        match=r"no experiment 'zero_shoot' \(did you mean "
        r"'zero_shot'\?\); known: zero_shot",
    ):
        find_experiment("zero_shoot", tmp_path)


def test_a_stages_own_steps_are_not_steps_an_experiment_can_list(tmp_path: Path):
    # The stages are loaded (imports above): their internal steps' classes exist, and none
    # becomes a step YAML may name.
    path = write(tmp_path, "e.yaml", "setup_steps:\n  - Switch: {}\n")
    with pytest.raises(ConfigError, match="unknown step 'Switch'"):
        load_experiment(str(path))
