"""An experiment file the way later projects wrote them for the original octopus: a class of
pathlib.Path paths, strip_commands, a custom step reading self.exp_folder_name, and run from a
subfolder of the project's repository."""

import argparse
import os
from pathlib import Path

from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.script_preparation import strip_commands
from octopus.step import Cmd, KillAllScreens, Rsync, RsyncCurrentRepo, Step


class Paths:
    root = Path("legacy2")
    runs = Path("legacy2/runs")
    picked = Path("picked")


class StampFolder(Step):
    def _run(self, node):
        node.run_cmd([f"echo {self.exp_folder_name} > ~/stamp.txt"])


def build(hosts):
    nodes = [
        Node(
            ssh_hostname=hostname,
            ssh_username=os.getenv("SSH_USERNAME"),
            ssh_private_key=Path(os.getenv("SSH_KEY")),
            ssh_hostkeys=Path(os.getenv("SSH_KNOWN_HOSTS")),
            num_parallel_screens_or_jobs=1,
        )
        for hostname in hosts
    ]
    commands = strip_commands([f"python3 main.py\n    --seed {i}" for i in range(4)])
    return Experiment(
        experiment_commands=commands,
        experiment_prefix=f"cd ~/{Paths.root}\n",
        nodes=nodes,
        setup_steps=[RsyncCurrentRepo(), StampFolder()],
        check_error_steps=[Cmd(cmd="exit 3"), Cmd(cmd="touch ~/checked")],
        purge_steps=[Cmd(cmd="exit 2"), KillAllScreens()],
        pickup_steps=[Rsync(src=[Paths.runs], dest=[Paths.picked], put=False)],
        exp_folder_path=Paths.root,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", type=ExperimentTask, choices=list(ExperimentTask), nargs="+")
    args = parser.parse_args()
    e = build(os.getenv("HOSTS", "").split(","))
    for task in args.task:
        e.run_task(task)
