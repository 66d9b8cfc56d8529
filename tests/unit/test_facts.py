"""Parsing what the facts command prints, and judging a node by it."""

from __future__ import annotations

from octopus import Node
from octopus.facts import facts_command, parse_facts

OUTPUT = """hostname=gpu7
cpus=64
numa=2
sockets=2
gpus=4
tool.screen=/usr/bin/screen
tool.rsync=/usr/bin/rsync
tool.python3=/usr/bin/python3
tool.setsid=/usr/bin/setsid
tool.nohup=/usr/bin/nohup
tool.sbatch=
tool.squeue=
tool.run_exp=
tool.git=/usr/bin/git
python_version=3.11.2
"""


def test_parse_complete_output():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="gpu7", available_sockets=[0, 1]), OUTPUT
    )
    assert (facts.hostname, facts.cpus, facts.numa_sockets, facts.gpus) == ("gpu7", 64, 2, 4)
    assert facts.python_version == "3.11.2"
    assert "sbatch" not in facts.tools and facts.tools["screen"] == "/usr/bin/screen"
    assert facts.usable and not facts.warnings


def test_missing_launcher_tool_makes_node_unusable():
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x", use_slurm=True), OUTPUT)
    assert facts.problems == ["sbatch not found", "squeue not found"]
    assert not facts.usable


def test_missing_versioned_python():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="x", python_version="3.12"), OUTPUT
    )
    assert facts.problems == ["python3.12 not found"]
    assert "python3.12" in facts_command(
        Node(test_connection=False, ssh_hostname="x", python_version="3.12")
    )


def test_sockets_beyond_numa_nodes_warn():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="x", available_sockets=[0, 1, 2]), OUTPUT
    )
    assert facts.usable
    assert facts.warnings == ["available_sockets [2] beyond the 2 NUMA socket(s) found"]


def test_garbage_output_gives_empty_facts_not_an_exception():
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x"), "Welcome!\ncpus=many\n")
    assert facts.cpus == 0 and "rsync not found" in facts.problems
