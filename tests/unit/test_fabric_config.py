"""FabricConfig answers as Fabric's Config does, but quickly for Invoke's private names."""

from __future__ import annotations

import copy

import pytest
from fabric import Config

from octopus.remote.fabric_config import FabricConfig


def test_it_answers_as_fabrics_config_does():
    ours, theirs = (
        FabricConfig(overrides={"run": {"warn": True}}),
        Config(overrides={"run": {"warn": True}}),
    )
    for config in (ours, theirs):
        assert not hasattr(config, "_root") and not hasattr(config, "_keypath")
        assert config.run.warn is True and config.connect_kwargs == {}
        config.run.echo = True  # a nested setting changed through the root's tracking
        assert config.run.echo is True and config["run"]["echo"] is True
        config._set(_private="kept")  # Invoke's own attributes are plain ones
        assert config._private == "kept"
    assert ours.connect_kwargs == theirs.connect_kwargs and ours.run == theirs.run


def test_a_missing_setting_is_still_an_attribute_error():
    config = FabricConfig()
    with pytest.raises(AttributeError, match="No attribute or config key found for 'nothing'"):
        _ = config.nothing
    with pytest.raises(AttributeError):
        _ = config._nothing
    assert getattr(config, "_nothing", "default") == "default"


def test_clones_and_copies_stay_quick():
    config = FabricConfig(overrides={"run": {"warn": True}})
    for other in (config.clone(), copy.copy(config), copy.deepcopy(config)):
        assert isinstance(other, FabricConfig) and other.run.warn is True
        assert not hasattr(other, "_root")
