"""Node: the original constructor arguments and what octopus derives from them."""

from __future__ import annotations

import pytest

from octopus import ConfigError, Launcher, Node


def test_seed_constructor_arguments():
    node = Node(
        test_connection=False,
        ssh_hostname="c220g2-011.wisc.cloudlab.us",
        ssh_username="alice",
        ssh_private_key="~/.ssh/id_rsa",
        hardware_desc="c220g2",
        ssh_hostkeys="~/.ssh/known_hosts",
        tags={"cloudlab"},
        use_run_exp=True,
        use_slurm=False,
        python_version="3.10",
        num_parallel_screens_or_jobs=None,
        available_sockets=[0, 1],
    )
    assert node.name == "c220g2-011.wisc.cloudlab.us"
    assert node.launcher is Launcher.RUN_EXP
    assert node.num_workers == 2
    assert not node.ssh_private_key.startswith("~")


@pytest.mark.parametrize(
    ("kwargs", "launcher"),
    [
        ({"ssh_hostname": "x"}, Launcher.SCREEN),
        ({"ssh_hostname": "x", "use_slurm": True}, Launcher.SLURM),
        ({"ssh_hostname": "x", "launcher": "process"}, Launcher.PROCESS),
        ({"local": True}, Launcher.PROCESS),
        ({"local": True, "launcher": "screen"}, Launcher.SCREEN),
    ],
)
def test_launcher_from_flags(kwargs, launcher):
    assert Node(test_connection=False, **kwargs).launcher is launcher


def test_explicit_worker_count_wins_over_sockets():
    node = Node(
        test_connection=False,
        ssh_hostname="x",
        available_sockets=[0, 1],
        num_parallel_screens_or_jobs=5,
    )
    assert node.num_workers == 5
    assert Node(test_connection=False, ssh_hostname="x").available_sockets == [0]


def test_both_launcher_flags_is_an_error():
    with pytest.raises(ConfigError, match="cannot be true together with use_run_exp"):
        Node(test_connection=False, ssh_hostname="x", use_slurm=True, use_run_exp=True)


def test_zero_workers_is_an_error():
    with pytest.raises(ConfigError, match="num_parallel_screens_or_jobs"):
        Node(test_connection=False, ssh_hostname="x", num_parallel_screens_or_jobs=0)
