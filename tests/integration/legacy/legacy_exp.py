"""An experiment file written for the original octopus, the way its users write them."""

import argparse
import functools
import os

from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.node import Node
from octopus.script_preparation import distribute_exp_scripts
from octopus.step import (
    CheckActiveScreens,
    CheckOutput,
    CreateScript,
    KillAllScreens,
    LocalMethodCall,
    Rsync,
    RsyncCurrentRepo,
    ScreenCmd,
    SetupVenv,
    Step,
)


class WriteMarker(Step):
    """A custom step as users write them: _run(node) with the node's own methods."""

    def __init__(self, marker: str, **kwargs):
        Step.__init__(self, **kwargs)
        self.marker = marker

    def _run(self, node):
        node.run_cmd(["mkdir -p markers", f"echo {node.ssh_hostname} > markers/{self.marker}"])
        if not node.file_exists(f"markers/{self.marker}"):
            raise RuntimeError("marker missing")
        lines = node.run_cmd([f"cat markers/{self.marker}"], return_response=True)
        node.run_cmd([f"echo seen {lines[0].strip()} > markers/{self.marker}.seen"])


def build(hosts):
    nodes = [
        Node(
            ssh_hostname=hostname,
            ssh_username=os.getenv("SSH_USERNAME"),
            ssh_private_key=os.getenv("SSH_KEY"),
            ssh_hostkeys=os.getenv("SSH_KNOWN_HOSTS"),
            hardware_desc="testbox",
            use_run_exp=False,
            use_slurm=False,
            python_version="3",
            available_sockets=[0, 1],
            tags={"lab"},
        )
        for hostname in hosts
    ]
    root_folder = "legacy-exp"
    prefix = f"set -x; cd ~/{root_folder} \n"
    return Experiment(
        screen_or_job_id_offset=0,
        experiment_commands=[f"python3 job.py --seed {i} --device cuda:[socket]" for i in range(6)],
        experiment_prefix=prefix,
        nodes=nodes,
        setup_steps=[
            RsyncCurrentRepo(),
            SetupVenv(use_requirements_txt=True, force=False),
            CreateScript(scriptname="setup.sh", script_cmd="echo setup-ran > setup_done.txt\n"),
            Rsync(src=["setup.sh"], dest=["."], put=True, update=True),
            LocalMethodCall(os.remove, {"path": "setup.sh"}),
            ScreenCmd(cmd=["./setup.sh"], logfile="setup.log", cleanup_logfile=True),
            WriteMarker("m1", tags={"lab"}),
        ],
        purge_steps=[KillAllScreens()],
        monitor_steps=[CheckActiveScreens()],
        check_error_steps=[CheckOutput(["grep -B 5 Error output_screen*"])],
        pickup_steps=[
            Rsync(src=[f"~/{root_folder}/results"], dest=["picked/"], put=False, update=True)
        ],
        exp_folder_path=root_folder,
        run_exp_message="legacy experiments",
        run_exp_expected_runtime="10:00",
        use_run_exp_pin=True,
        exp_script_gen=functools.partial(distribute_exp_scripts, shuffle=True),
        shuffle_seed=3,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--task",
        type=ExperimentTask,
        choices=list(ExperimentTask),
        default=[ExperimentTask.PRINT],
        nargs="+",
        help="type of tasks which should be executed",
    )
    args = parser.parse_args()
    e = build(os.getenv("HOSTS", "").split(","))
    print(f"Execute Tasks: {args.task}")
    for task in args.task:
        e.run_task(task)
