"""Steps in YAML: `- Name: value` fills a step's one required argument, other steps refuse
it naming what they take, and every step error names the step's own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus import CheckOutput, CloneRepo, Cmd, ConfigError, Remove, ScreenCmd, load_experiment
from octopus.errors import ConfigErrors
from octopus.step import build_step


def load(tmp_path: Path, text: str) -> tuple[Path, list[object]]:
    path = tmp_path / "e.yaml"
    path.write_text(text)
    return path, list(load_experiment(str(path)).setup_steps)


def test_a_single_value_fills_the_one_required_argument(tmp_path: Path):
    _, steps = load(
        tmp_path,
        "setup_steps:\n"
        '  - Cmd: "echo hi"\n'
        "  - CheckOutput: [grep -c Error output_screen0, tail -n 3 output_screen0]\n"
        "  - CloneRepo: https://example.org/lab/tool.git\n"
        "  - Remove: /tmp/scratch/*.tmp\n"
        "  - ScreenCmd: [cd work, ./train.sh]\n"
        "  - Cmd: {cmd: ls, tags: [gpu]}\n",
    )
    cmd, check, clone, remove, screen, mapped = steps
    assert isinstance(cmd, Cmd) and cmd.cmd == ["echo hi"]
    assert isinstance(check, CheckOutput)
    assert check.check_commands == ["grep -c Error output_screen0", "tail -n 3 output_screen0"]
    assert isinstance(clone, CloneRepo) and clone.repo_url == "https://example.org/lab/tool.git"
    assert isinstance(remove, Remove) and remove.files == ["/tmp/scratch/*.tmp"]
    assert isinstance(screen, ScreenCmd)
    assert isinstance(mapped, Cmd) and mapped.cmd == ["ls"] and mapped.tags == {"gpu"}


def test_the_shorthand_is_the_same_step_as_its_mapping():
    short, long = build_step("Cmd", "echo hi"), build_step("Cmd", {"cmd": "echo hi"})
    assert isinstance(short, Cmd) and isinstance(long, Cmd)
    assert (short.cmd, short.tags) == (long.cmd, long.tags)


def test_a_step_with_two_required_arguments_refuses_a_single_value(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text("pickup_steps:\n  - Cmd: ls\n  - Rsync: results/\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value) == (
        f"{path}:3: step Rsync takes 2 required arguments (src, dest), so "
        "`- Rsync: 'results/'` cannot say which one it fills; write its arguments as a "
        "mapping, e.g. `- Rsync: {src: ..., dest: ...}`; valid: src, dest, put, delete, "
        "update, ignore_existing, skip, include, ssh_path, tags, local_cmd_prefix, "
        "ignore_errors, timeout"
    )


def test_a_step_without_required_arguments_refuses_a_single_value(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text("purge_steps:\n  - KillAllScreens: yes\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value) == (
        f"{path}:2: step KillAllScreens has no required argument for "
        "`- KillAllScreens: True` to fill; write its arguments as a mapping, e.g. "
        "`- KillAllScreens: {all_sessions: ...}`; valid: all_sessions, tags, "
        "local_cmd_prefix, ignore_errors, timeout"
    )


def test_a_shorthand_value_of_the_wrong_type_names_the_argument(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text("setup_steps:\n  - CloneRepo: [a, b]\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value) == (
        f"{path}:2: key 'repo_url': step CloneRepo: argument 'repo_url' must be text, "
        "not ['a', 'b']"
    )


def test_an_unknown_plain_step_names_its_own_line(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text(
        "exp_folder_name: demo\n"
        "setup_steps:\n"
        "  - Cmd: ls\n"
        "  # a comment between steps\n"
        "  - NoSuchStep\n"
        "purge_steps:\n"
        "  - KillAllScreen\n"
    )
    with pytest.raises(ConfigErrors) as info:
        load_experiment(str(path))
    first, second = (str(e) for e in info.value.errors)
    assert first.startswith(f"{path}:5: unknown step 'NoSuchStep'; valid steps: CheckActive")
    assert second.startswith(
        f"{path}:7: unknown step 'KillAllScreen' (did you mean 'KillAllScreens'?); valid steps: "
    )


def test_an_unknown_step_in_a_flow_list_names_the_line_it_is_on(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text('experiment_commands: [ls]\nsetup_steps: [\n  "Cmd",\n  "KillAllScreen"]\n')
    with pytest.raises(ConfigErrors) as info:
        load_experiment(str(path))
    lines = [e.line for e in info.value.errors]
    assert lines == [3, 4]  # Cmd needs its argument; KillAllScreen is unknown
