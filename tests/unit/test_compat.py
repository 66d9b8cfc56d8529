"""What files written for the original octopus rely on: import paths, names, arguments."""

from __future__ import annotations

import argparse
import socket

import pytest

from octopus import ConfigError, Experiment, ExperimentTask, Node
from octopus.remote.connection import NodeUnreachable


def test_original_import_paths():
    from octopus.experiment import Experiment as E
    from octopus.experiment_task import ExperimentTask as T
    from octopus.node import Node as N
    from octopus.script_preparation import distribute_exp_scripts, replicate_commands_per_hardware
    from octopus.step import (
        SCP,
        CheckOutput,
        Cmd,
        CombineCSVFiles,
        KillAllScreens,
        LocalStep,
        RsyncCurrentRepo,
        SetupRYEVenv,
        Step,
    )

    assert (Experiment, ExperimentTask, Node) == (E, T, N)
    assert callable(distribute_exp_scripts) and callable(replicate_commands_per_hardware)
    assert issubclass(Cmd, Step) and issubclass(CombineCSVFiles, LocalStep)
    assert all((SCP, CheckOutput, KillAllScreens, RsyncCurrentRepo, SetupRYEVenv))


def test_everything_the_original_readme_names_is_at_the_top_level():
    import octopus

    names = [
        "Node",
        "Experiment",
        "ExperimentTask",
        "CloneRepo",
        "SetupVenv",
        "PythonCmd",
        "Cmd",
        "ScreenCmd",
        "SCP",
        "Remove",
        "RemoveRecursively",
        "KillAllScreens",
        "KillAllSlurmJobs",
        "DownloadGDriveFolder",
        "RsyncCurrentRepo",
        "Rsync",
        "CheckActiveScreens",
        "CheckOutput",
        "CountGeneratedFiles",
        "SetupRYEVenv",
        "LocalCopy",
        "CreateScript",
        "LocalCmd",
        "LocalMethodCall",
        "CombineCSVFiles",
        "replicate_commands_per_hardware",
        "distribute_exp_scripts",
        "Step",
        "LocalStep",
    ]
    assert [n for n in names if not hasattr(octopus, n)] == []


def test_experiment_task_as_an_argparse_type():
    assert [str(t) for t in ExperimentTask] == [
        "select_runexp_nodes",
        "setup",
        "deliver",
        "start",
        "monitor",
        "pickup",
        "purge",
        "check_errors",
        "print",
    ]
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", type=ExperimentTask, choices=list(ExperimentTask), nargs="+")
    args = parser.parse_args(["--task", "setup", "deliver", "check_errors"])
    assert args.task == [
        ExperimentTask.SETUP,
        ExperimentTask.DELIVER_SCRIPTS,
        ExperimentTask.CHECK_ERRORS,
    ]
    with pytest.raises(SystemExit):
        parser.parse_args(["--task", "nonsense"])


def test_experiment_aliases_of_the_original():
    e = Experiment(
        exp_folder_path="~/proj",
        screens_or_jobs_per_node=3,
        slurm_num_cpus_per_task=8,
        run_exp_expected_runtime="10:00",
        python_version="3.10",
        local_cmd_prefix="wsl",
        ssh_path="/usr/bin/ssh",
    )
    assert (
        e.exp_folder_name,
        e.screens_per_node,
        e.slurm_num_cpus_per_job,
        e.run_exp_expected_time,
    ) == ("~/proj", 3, 8, "10:00")


def test_experiment_settings_reach_the_steps():
    from octopus import LocalCmd, Rsync

    rsync, local = Rsync(src="a", dest="b"), LocalCmd(cmd="ls")
    Experiment(
        setup_steps=[rsync], pickup_steps=[local], local_cmd_prefix="wsl", ssh_path="/opt/ssh"
    )
    assert (rsync.ssh_path, rsync.local_cmd_prefix, local.command()) == (
        "/opt/ssh",
        "wsl",
        "wsl ls",
    )


def test_unknown_experiment_argument_names_the_closest():
    with pytest.raises(
        ConfigError,
        match=r"no argument 'screen_per_node' \(did you mean "
        r"'screens_per_node'\?\)",
    ):
        Experiment(screen_per_node=2)


def test_node_extras():
    node = Node(
        ssh_hostname="x", ssh_private_key="/k/id", ssh_passphrase="s3cret", test_connection=False
    )
    assert node.rsync_private_key == "/k/id" and node.available_sockets == [0]
    assert "s3cret" not in repr(node)
    other = Node(
        ssh_hostname="x",
        ssh_private_key="/k/id",
        rsync_private_key="/k/rsync",
        test_connection=False,
    )
    assert other.rsync_private_key == "/k/rsync"


def test_constructing_a_node_checks_the_connection_by_default():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NodeUnreachable, match=f"127.0.0.1:{port} refused the connection"):
        Node(ssh_hostname="127.0.0.1", ssh_port=port, connect_timeout=2)


def test_an_octopus_error_ends_a_legacy_script_with_one_line(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "legacy.py"
    script.write_text(
        "from octopus import Experiment, ExperimentTask, Node\n"
        "node = Node(local=True, name='local', test_connection=False)\n"
        "e = Experiment(nodes=[node], name='notyet', experiment_commands=['true'])\n"
        "e.run_task(ExperimentTask.START)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"octopus: {tmp_path}/deliverables/notyet/manifest.json not found: run `inv deliver` first"
    ]
    other = tmp_path / "other.py"
    other.write_text(
        "import octopus\nfrom octopus import Experiment\nExperiment().run_task\n1 / 0\n"
    )
    done = subprocess.run([sys.executable, str(other)], capture_output=True, text=True)
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr
