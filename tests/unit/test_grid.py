"""Parameter grids: a template's product in a stable order, lockstep zip lists, other brace
text untouched, and every mistake one line naming the name and the fix."""

from __future__ import annotations

import pytest

from octopus import Experiment
from octopus.errors import ConfigError
from octopus.run.grid import expand


def test_the_product_in_the_grids_order_the_last_name_fastest() -> None:
    commands, params = expand(
        ["train --seed {seed} --model {model}"], {"seed": [1, 2], "model": ["gcn", "gat"]}, None
    )
    assert commands == [
        "train --seed 1 --model gcn",
        "train --seed 1 --model gat",
        "train --seed 2 --model gcn",
        "train --seed 2 --model gat",
    ]
    assert params[1] == {"seed": 1, "model": "gat"}


def test_each_template_takes_the_names_it_uses_and_zip_goes_in_lockstep() -> None:
    commands, params = expand(
        ["train {seed} {lr} {epochs}", "eval {seed}", "awk '{print $1}' ${HOME}/{out}"],
        {"seed": [1, 2]},
        {"lr": [0.1, 0.01], "epochs": [10, 20]},
    )
    assert commands == [
        "train 1 0.1 10",
        "train 1 0.01 20",
        "train 2 0.1 10",
        "train 2 0.01 20",
        "eval 1",
        "eval 2",
        "awk '{print $1}' ${HOME}/{out}",  # not a grid name: passes through
    ]
    assert params[-1] == {} and params[1] == {"seed": 1, "lr": 0.01, "epochs": 20}


def test_no_grid_leaves_the_commands_as_they_are() -> None:
    assert expand(["a {x}", "b"], None, {}) == (["a {x}", "b"], [])


@pytest.mark.parametrize(
    ("grid", "zipped", "message"),
    [
        ({"seed": []}, None, "grid.seed has no values: give a non-empty list"),
        ({"seed": 3}, None, "grid.seed has no values"),
        ({"sed": [1]}, None, "'sed' is in grid but no command has {sed} (a command has {seed}"),
        (None, {"lr": [1, 2], "epochs": [1]}, "zip lists must be as long as each other"),
        ({"seed": [1]}, {"seed": [2]}, "'seed' is in both grid and zip"),
        ({"seed": [{"a": 1}]}, None, "is not a plain value"),
        ([1, 2], None, "grid must map names to lists of values"),
    ],
)
def test_a_mistake_names_the_name_and_the_fix(grid: object, zipped: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        expand(["run {seed}"], grid, zipped)
    assert message in str(caught.value)


def test_the_python_api_takes_the_same_grid() -> None:
    exp = Experiment(experiment_commands=["t {a} {b}"], grid={"a": [1, 2]}, zip={"b": [True]})
    assert exp.experiment_commands == ["t 1 true", "t 2 true"]
    assert exp.command_params == [{"a": 1, "b": True}, {"a": 2, "b": True}]
