"""Task options shared by every task: where the inventory is and which nodes to use."""

from __future__ import annotations

from typing import Any

from octopus.inventory import DEFAULT_INVENTORY, load_inventory
from octopus.node import Node

COMMON_HELP = {
    "inventory": "inventory file (default: octopus.inventory config, then nodes.yaml)",
    "nodes": "comma-separated node names to use (default: all)",
    "tags": "comma-separated tags: use only nodes carrying one of them",
    "parallel": "how many nodes to work on at once",
    "dry_run": "print what would run on each node and change nothing",
}


def inventory_path(config: Any, inventory: str | None) -> str:
    """The --inventory flag, else the Invoke config key octopus.inventory, else nodes.yaml."""
    if inventory:
        return inventory
    octopus_config = config.get("octopus", {}) if hasattr(config, "get") else {}
    return str(octopus_config.get("inventory") or DEFAULT_INVENTORY)


def selected_nodes(
    config: Any, inventory: str | None, nodes: str | None, tags: str | None
) -> list[Node]:
    """Load the inventory and pick the nodes the options ask for; ConfigError on any problem."""
    return load_inventory(inventory_path(config, inventory)).select(nodes, tags)


def parallel_option(config: Any, parallel: int | None) -> int | None:
    if parallel:
        return int(parallel)
    octopus_config = config.get("octopus", {}) if hasattr(config, "get") else {}
    value = octopus_config.get("parallel")
    return int(value) if value else None
