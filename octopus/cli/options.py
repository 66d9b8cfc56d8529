"""Options every task shares, and where their defaults come from (flags, then Invoke config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octopus.cli.config import octopus_settings
from octopus.errors import ConfigError
from octopus.experiment import Experiment
from octopus.inventory import load_inventory
from octopus.loader import load_experiment
from octopus.node import Node

COMMON_HELP = {
    "exp": "experiment: a name in experiments/ or a path to .py/.yaml",
    "inventory": "inventory file (default: octopus.inventory config, then nodes.yaml)",
    "nodes": "comma-separated node names to use (default: all)",
    "tags": "comma-separated tags: use only nodes carrying one of them",
    "parallel": "how many nodes to work on at once",
    "dry_run": "print what would run on each node and change nothing",
}


@dataclass(frozen=True)
class Common:
    """The options every stage task takes, with Invoke's config behind them."""

    config: Any
    exp: str | None = None
    inventory: str | None = None
    nodes: str | None = None
    tags: str | None = None
    parallel: int = 0
    dry_run: bool = False

    @property
    def inventory_path(self) -> str:
        """--inventory, else the Invoke config key octopus.inventory, else nodes.yaml."""
        return self.inventory or octopus_settings(self.config).inventory

    @property
    def parallel_nodes(self) -> int | None:
        """--parallel, else octopus.parallel from the config, else the engine's default."""
        if self.parallel:
            return int(self.parallel)
        return octopus_settings(self.config).parallel or None

    def experiment(self) -> Experiment:
        if not self.exp:
            raise ConfigError(
                "which experiment? pass --exp NAME (a file in experiments/) or a path"
            )
        return load_experiment(self.exp)

    def selected_nodes(self) -> list[Node]:
        """The inventory's nodes the options ask for; ConfigError on any problem."""
        return load_inventory(self.inventory_path).select(self.nodes, self.tags)
