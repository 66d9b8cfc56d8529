"""octopus: run experiment commands on many machines over SSH and bring the results home.

Everything the original octopus documented is importable from here:
``from octopus import Node, Experiment, ExperimentTask, Cmd, SetupVenv, ...``.
"""

from octopus import step
from octopus.errors import ConfigError, OctopusError
from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.inventory import Inventory, load_inventory
from octopus.loader import load_experiment
from octopus.node import Launcher, Node
from octopus.run.generators import distribute_exp_scripts, replicate_commands_per_hardware
from octopus.step import *  # noqa: F403 (every step, as the original exported them)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Experiment",
    "ExperimentTask",
    "Inventory",
    "Launcher",
    "Node",
    "OctopusError",
    "__version__",
    "distribute_exp_scripts",
    "load_experiment",
    "load_inventory",
    "replicate_commands_per_hardware",
    *step.__all__,
]
