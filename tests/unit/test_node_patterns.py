"""`--nodes` patterns, as Ansible's --limit: names, globs, `!` exclusions; nothing unmatched."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus.errors import ConfigError, ConfigErrors
from octopus.inventory import Inventory
from octopus.node import Node
from octopus.node_patterns import select_names

NAMES = ["local", "gpu1", "gpu2", "gpu3", "cl1", "cl2"]


def pick(text: str) -> list[str]:
    return select_names(text.split(","), NAMES, "nodes.yaml")


@pytest.mark.parametrize(
    ("patterns", "chosen"),
    [
        ("gpu2", ["gpu2"]),
        ("cl1,gpu2", ["cl1", "gpu2"]),  # in the order given
        ("gpu*", ["gpu1", "gpu2", "gpu3"]),  # a glob's matches in inventory order
        ("gpu*,!gpu3", ["gpu1", "gpu2"]),
        ("!gpu3,gpu*", ["gpu1", "gpu2"]),  # an exclusion holds wherever it stands
        ("!gpu*", ["local", "cl1", "cl2"]),  # exclusions alone: all but those
        ("!gpu*,!local", ["cl1", "cl2"]),
        ("cl?,gpu[13]", ["cl1", "cl2", "gpu1", "gpu3"]),
        ("gpu1,gpu*", ["gpu1", "gpu2", "gpu3"]),  # each node once
        ("*", NAMES),
    ],
)
def test_patterns_pick_names_as_ansible_limit_does(patterns: str, chosen: list[str]) -> None:
    assert pick(patterns) == chosen


def test_globs_are_case_sensitive_as_names_are() -> None:
    with pytest.raises(ConfigError, match="no node matches 'GPU\\*'"):
        pick("GPU*")


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ("gpu9", "nodes.yaml: unknown node 'gpu9' (did you mean 'gpu3'?); known: local, gpu1,"),
        ("tpu*", "nodes.yaml: no node matches 'tpu*'; known: local, gpu1, gpu2, gpu3, cl1, cl2"),
        ("gpu*,!gpx3", "nodes.yaml: unknown node 'gpx3' (did you mean 'gpu3'?); known: "),
        ("!cl*,cl1", "nodes.yaml: '!cl*,cl1' leaves no node"),
    ],
)
def test_a_pattern_that_matches_nothing_is_one_line_naming_it(patterns: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        pick(patterns)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_every_pattern_that_matches_nothing_is_reported_at_once() -> None:
    with pytest.raises(ConfigErrors) as caught:
        pick("gpu9,tpu*,!x")
    assert [e.message.split(";")[0] for e in caught.value.errors] == [
        "unknown node 'gpu9' (did you mean 'gpu3'?)",
        "no node matches 'tpu*'",
        "unknown node 'x'",
    ]


def test_the_inventory_selects_with_patterns_then_tags() -> None:
    nodes = {
        name: Node(
            name=name,
            ssh_hostname=name,
            tags={"gpu"} if name.startswith("gpu") else set(),
            test_connection=False,
        )
        for name in NAMES
    }
    inventory = Inventory(Path("nodes.yaml"), nodes)
    assert [n.name for n in inventory.select("!gpu2", "gpu")] == ["gpu1", "gpu3"]
    assert [n.name for n in inventory.select(["cl*", "gpu1"])] == ["cl1", "cl2", "gpu1"]
    with pytest.raises(ConfigErrors) as caught:  # a bad pattern and a bad tag, together
        inventory.select("tpu*", "gpx")
    assert len(caught.value.errors) == 2
