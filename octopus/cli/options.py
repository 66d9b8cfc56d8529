"""Options every task shares, and where their defaults come from (flags, then Invoke config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octopus.errors import ConfigError
from octopus.experiment import Experiment
from octopus.inventory import DEFAULT_INVENTORY, load_inventory
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


def _octopus_config(config: Any) -> Any:
    return config.get("octopus", {}) if hasattr(config, "get") else {}


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
        configured = _octopus_config(self.config).get("inventory")
        return self.inventory or str(configured or DEFAULT_INVENTORY)

    @property
    def parallel_nodes(self) -> int | None:
        """--parallel, else octopus.parallel from the config, else the engine's default."""
        if self.parallel:
            return int(self.parallel)
        value = _octopus_config(self.config).get("parallel")
        return int(value) if value else None

    def experiment(self) -> Experiment:
        if not self.exp:
            raise ConfigError(
                "which experiment? pass --exp NAME (a file in experiments/) or a path"
            )
        return load_experiment(self.exp)

    def selected_nodes(self) -> list[Node]:
        """The inventory's nodes the options ask for; ConfigError on any problem."""
        return load_inventory(self.inventory_path).select(self.nodes, self.tags)
