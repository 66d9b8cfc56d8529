"""octopus: run experiment commands on many machines over SSH and bring the results home."""

from octopus.errors import ConfigError, OctopusError
from octopus.inventory import Inventory, load_inventory
from octopus.node import Launcher, Node

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Inventory",
    "Launcher",
    "Node",
    "OctopusError",
    "__version__",
    "load_inventory",
]
