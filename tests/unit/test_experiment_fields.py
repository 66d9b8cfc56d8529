"""Experiment's one declaration: constructor, YAML schema and the README's table agree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from octopus import ConfigError, Experiment, Node
from octopus.experiment import yaml_fields
from octopus.experiment_docs import fields_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_declaration():
    text = README.read_text()
    start = text.index("<!-- experiment-fields: start -->\n") + len(
        "<!-- experiment-fields: start -->\n"
    )
    end = text.index("<!-- experiment-fields: end -->")
    assert text[start:end] == fields_table(), (
        "README's Experiment table differs from octopus/experiment.py; paste the output of "
        "`python -c 'from octopus.experiment_docs import fields_table; print(fields_table())'`"
    )


def test_yaml_takes_every_constructor_argument_but_the_internal_ones():
    arguments = {f.name for f in dataclasses.fields(Experiment) if f.init}
    assert set(yaml_fields()) == arguments - {"node_names", "node_tags"}


def test_the_originals_other_names_fold_into_the_canonical_ones():
    e = Experiment(
        exp_folder_path="zs/",
        screens_or_jobs_per_node=3,
        slurm_num_cpus_per_task=4,
        run_exp_expected_runtime="1:00",
    )
    assert (e.exp_folder_name, e.screens_per_node) == ("zs/", 3)
    assert (e.slurm_num_cpus_per_job, e.run_exp_expected_time) == (4, "1:00")
    assert e.name == "zs" and not e.name_given


def test_node_names_and_objects_do_not_mix():
    with pytest.raises(ConfigError, match="mixes Node objects and names"):
        Experiment(nodes=["a", Node(ssh_hostname="b", test_connection=False)])  # type: ignore[list-item]
    assert Experiment(nodes=["a", "b"]).node_names == ["a", "b"]  # type: ignore[list-item]
