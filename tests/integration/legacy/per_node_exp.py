"""A runner the way some projects drove the original octopus: one Experiment per node, all
with the same folder name, each node with commands of its own, and the tasks given one per
invocation (`python3 per_node_exp.py --task deliver`, later `--task start`, ...)."""

import argparse
import os
from pathlib import Path

from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.script_preparation import strip_commands
from octopus.step import Cmd

FOLDER = "pernode"


def commands_for(index, count):
    """Node `index`'s own commands: each writes a file named after the node and the command."""
    return strip_commands(
        [
            f"""sleep 0.05 &&
                echo {index} > ~/{FOLDER}/out/n{index}_c{i}.txt"""
            for i in range(count)
        ]
    )


def experiments(hosts, count, only=None):
    for index, hostname in enumerate(hosts):
        if only is not None and hostname != only:
            continue
        node = Node(
            ssh_hostname=hostname,
            ssh_username=os.getenv("SSH_USERNAME"),
            ssh_private_key=Path(os.getenv("SSH_KEY")),
            ssh_hostkeys=Path(os.getenv("SSH_KNOWN_HOSTS")),
            num_parallel_screens_or_jobs=1,
        )
        yield Experiment(
            nodes=[node],
            exp_folder_name=FOLDER,
            experiment_commands=commands_for(index, count + index),
            setup_steps=[Cmd(cmd=f"mkdir -p ~/{FOLDER}/out")],
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", type=ExperimentTask, choices=list(ExperimentTask))
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--only", default=None, help="run the task for this host's experiment")
    args = parser.parse_args()
    for experiment in experiments(os.getenv("HOSTS", "").split(","), args.count, args.only):
        experiment.run_task(args.task)
