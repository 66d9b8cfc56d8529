"""A near miss of a placeholder (`[jobid]`) is refused where the experiment is made, naming
the file, the command and the placeholder meant; every other bracket passes through."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from octopus import ConfigError, Experiment, load_experiment
from octopus.run.generators import replicate_commands_per_hardware
from octopus.run.placeholders import near_misses

LEGITIMATE = [
    "[ -e out.csv ] || python3 run.py --device cuda:[socket] --out out_[job_id].csv",
    'if [[ "$x" == y* ]]; then echo "${a[0]} ${jobs[job]} ${arr[i]}"; fi',
    "grep -E '[0-9]+ [a-z]+ [[:digit:]]' log_[hw_placeholder].txt",
    "python3 -c 'x = [1, 2]; print(x[1], d[key], m[jobs], s[sock_fd])'",
    "ls data/[abc]*.csv && echo [device_placeholder] [ok] [] [x]",
    "python3 train.py --seed {seed} --job [job_id]",
]


def test_commands_with_legitimate_brackets_pass():
    assert near_misses(LEGITIMATE) == {}
    exp = Experiment(experiment_commands=LEGITIMATE, grid={"seed": [1, 2]})
    assert len(exp.experiment_commands) == len(LEGITIMATE) + 1


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("[jobid]", "[job_id]"),
        ("[job-id]", "[job_id]"),
        ("[job_idx]", "[job_id]"),
        ("[sockets]", "[socket]"),
        ("[hw_placeholders]", "[hw_placeholder]"),
    ],
)
def test_near_misses_name_the_placeholder(written: str, meant: str):
    assert near_misses([f"python3 run.py --out r_{written}.csv"]) == {written: meant}


def test_a_near_miss_in_yaml_names_the_file_the_command_and_its_line(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text(
        "experiment_commands:\n"
        "  - python3 run.py --out r_[job_id].csv\n"
        "  - |\n"
        "    python3 run.py --out r_[jobid].csv \\\n"
        "      --device cuda:[socket]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value) == (
        f"{path}:3: key 'experiment_commands': command 2 (python3 run.py --out r_[jobid].csv \\): "
        "[jobid] is not a placeholder (did you mean [job_id]?): only [job_id], [socket], "
        "[gpu], [hw_placeholder] are filled in; other brackets stay as written"
    )


def test_a_near_miss_in_the_prefix_and_in_python(tmp_path: Path):
    path = tmp_path / "typo.py"
    path.write_text(
        "from octopus import Experiment\n"
        "\n"
        "experiment = Experiment(\n"
        "    experiment_commands=['echo [socket]'],\n"
        "    experiment_prefix='numactl -N [sockets] \\\\\\n',\n"
        ")\n"
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    assert str(info.value) == (
        f"{path}:3: key 'experiment_prefix': [sockets] is not a placeholder (did you mean "
        "[socket]?): only [job_id], [socket], [gpu], [hw_placeholder] are filled in; other "
        "brackets stay as written"
    )


def test_a_long_command_is_shown_by_its_start():
    with pytest.raises(ConfigError, match=r"command 1 \(python3 x{49}\.\.\.\): \[sockets\]"):
        Experiment(experiment_commands=["python3 " + "x" * 80 + " [sockets]"])


def test_a_generator_of_the_users_may_fill_placeholders_of_its_own():
    def own(prefix: str, commands: list[str], nodes: list[object]) -> list[str]:
        return [c.replace("[jobid]", "1") for c in commands]

    assert Experiment(experiment_commands=["echo [jobid]"], exp_script_gen=own)
    original = functools.partial(replicate_commands_per_hardware, shuffle=True)
    with pytest.raises(ConfigError, match=r"did you mean \[job_id\]"):
        Experiment(experiment_commands=["echo [jobid]"], exp_script_gen=original)
