"""The schedule an experiment gets: the node queue by default, the fixed split for a Python
experiment with a generator of its own unless it asks for the queue; bad values named."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from octopus import ConfigError, Experiment
from octopus.loader import load_experiment
from octopus.node import Node
from octopus.run.generators import distribute_exp_scripts
from octopus.run.plan import build_plan


def test_defaults_and_choices():
    gen = functools.partial(distribute_exp_scripts, shuffle=False)
    assert Experiment(experiment_commands=["a"]).schedule == "queue"
    assert Experiment(experiment_commands=["a"], exp_script_gen=gen).schedule == "fixed"
    assert Experiment(exp_script_gen=gen, schedule="queue").schedule == "queue"
    assert Experiment(schedule="fixed").schedule == "fixed"


def test_a_bad_schedule_is_one_line_naming_the_field_and_the_fix():
    with pytest.raises(ConfigError) as caught:
        Experiment(schedule="round-robin")
    assert "schedule" in str(caught.value) and "schedule: queue" in str(caught.value)
    assert caught.value.exit_code == 2


def test_yaml_experiments_use_the_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "q.yaml").write_text("experiment_commands: [echo 1]\n")
    (tmp_path / "experiments" / "bad.yaml").write_text("schedule: qeue\n")
    assert load_experiment("q").schedule == "queue"
    with pytest.raises(ConfigError) as caught:
        load_experiment("bad")
    assert str(caught.value).startswith("experiments/bad.yaml:1: key 'schedule': ")


def test_the_queue_leaves_job_id_and_socket_to_the_taking_worker():
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=2)
    queue = build_plan(["run --gpu [socket] --w [job_id]"] * 2, "", [node], schedule="queue")
    fixed = build_plan(["run --gpu [socket] --w [job_id]"] * 2, "", [node])
    assert all("[socket]" in c for p in queue.parts for c in p.commands)
    assert not any("[socket]" in c for p in fixed.parts for c in p.commands)
