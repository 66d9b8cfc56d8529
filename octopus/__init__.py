"""octopus: run experiment commands on many machines over SSH and bring the results home.

Everything the original octopus documented is importable from here:
``from octopus import Node, Experiment, ExperimentTask, Cmd, SetupVenv, ...``.

Each name is loaded when it is first asked for (PEP 562), so that `import octopus.tasks` for
`inv --list` does not load the steps, nodes and SSH code behind them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Where each public name lives; the steps are all in octopus.step, the original's module.
_HOMES = {
    "ConfigError": "octopus.errors",
    "OctopusError": "octopus.errors",
    "Experiment": "octopus.experiment",
    "ExperimentTask": "octopus.experiment_task",
    "Inventory": "octopus.inventory",
    "load_inventory": "octopus.inventory",
    "load_experiment": "octopus.loader",
    "Launcher": "octopus.node",
    "Node": "octopus.node",
    "distribute_exp_scripts": "octopus.run.generators",
    "replicate_commands_per_hardware": "octopus.run.generators",
}


def __getattr__(name: str) -> Any:
    if name == "__all__":  # `from octopus import *`: every name, the steps' too
        return [*_HOMES, "__version__", *importlib.import_module("octopus.step").__all__]
    home = _HOMES.get(name)
    if home is None:
        step = importlib.import_module("octopus.step")
        if name == "step":
            return step
        if name in step.__all__:
            return getattr(step, name)
        raise AttributeError(f"module 'octopus' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # asked once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__getattr__("__all__")})


if TYPE_CHECKING:  # what the names are, for type checkers (they are loaded on demand above)
    from octopus import step as step
    from octopus.errors import ConfigError as ConfigError
    from octopus.errors import OctopusError as OctopusError
    from octopus.experiment import Experiment as Experiment
    from octopus.experiment_task import ExperimentTask as ExperimentTask
    from octopus.inventory import Inventory as Inventory
    from octopus.inventory import load_inventory as load_inventory
    from octopus.loader import load_experiment as load_experiment
    from octopus.node import Launcher as Launcher
    from octopus.node import Node as Node
    from octopus.run.generators import distribute_exp_scripts as distribute_exp_scripts
    from octopus.run.generators import (
        replicate_commands_per_hardware as replicate_commands_per_hardware,
    )
    from octopus.step import *  # noqa: F403
