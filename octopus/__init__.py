"""octopus: run experiment commands on many machines over SSH and bring the results home.

Everything the original octopus documented is importable from here:
``from octopus import Node, Experiment, ExperimentTask, Cmd, SetupVenv, ...``.
"""

from octopus.errors import ConfigError, OctopusError
from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.inventory import Inventory, load_inventory
from octopus.loader import load_experiment
from octopus.node import Launcher, Node
from octopus.run.generators import distribute_exp_scripts, replicate_commands_per_hardware
from octopus.step import (
    SCP,
    CheckActiveScreens,
    CheckOutput,
    CloneRepo,
    Cmd,
    CombineCSVFiles,
    CountGeneratedFiles,
    CreateScript,
    DownloadGDriveFolder,
    KillAllScreens,
    KillAllSlurmJobs,
    LocalCmd,
    LocalCopy,
    LocalMethodCall,
    LocalStep,
    PythonCmd,
    Remove,
    RemoveRecursively,
    Rsync,
    RsyncCurrentRepo,
    ScreenCmd,
    SetupRYEVenv,
    SetupUvVenv,
    SetupVenv,
    Step,
)

__version__ = "0.1.0"

__all__ = [
    "SCP",
    "CheckActiveScreens",
    "CheckOutput",
    "CloneRepo",
    "Cmd",
    "CombineCSVFiles",
    "ConfigError",
    "CountGeneratedFiles",
    "CreateScript",
    "DownloadGDriveFolder",
    "Experiment",
    "ExperimentTask",
    "Inventory",
    "KillAllScreens",
    "KillAllSlurmJobs",
    "Launcher",
    "LocalCmd",
    "LocalCopy",
    "LocalMethodCall",
    "LocalStep",
    "Node",
    "OctopusError",
    "PythonCmd",
    "Remove",
    "RemoveRecursively",
    "Rsync",
    "RsyncCurrentRepo",
    "ScreenCmd",
    "SetupRYEVenv",
    "SetupUvVenv",
    "SetupVenv",
    "Step",
    "__version__",
    "distribute_exp_scripts",
    "replicate_commands_per_hardware",
    "load_experiment",
    "load_inventory",
]
