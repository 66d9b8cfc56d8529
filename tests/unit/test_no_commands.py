"""An Experiment without commands is still an Experiment (the original allowed it for setup);
only the stages that plan commands refuse it, naming the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus import ConfigError, Experiment, ExperimentTask, Node, load_experiment
from octopus.output import StageOutput
from octopus.stages.deliverables import require_commands


def test_an_experiment_without_commands_constructs_and_plans_nothing():
    exp = Experiment(name="setup-only")
    assert exp.experiment_commands == []
    with pytest.raises(ConfigError) as info:
        require_commands(exp, "deliver")
    assert str(info.value) == (
        "deliver: experiment 'setup-only' has no commands (experiment_commands is empty or "
        "missing): list the commands to run under experiment_commands; setup, purge and the "
        "other stages of steps run without them"
    )
    require_commands(Experiment(experiment_commands=["true"]), "deliver")  # fine


def test_deliver_refuses_before_touching_a_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bare.yaml"
    path.write_text("experiment_commands:\n")
    exp = load_experiment(str(path))
    exp.nodes = [Node(local=True, name="here", test_connection=False)]
    with pytest.raises(ConfigError, match=rf"^{path}: deliver: experiment 'bare' has no commands"):
        exp.run_task(ExperimentTask.DELIVER_SCRIPTS, output=StageOutput(quiet=True))
    assert not (tmp_path / "deliverables" / "bare" / "manifest.json").exists()
