"""nodes.yaml -> Nodes: validation with one clear line per problem, and node selection.

The file has two top-level keys: ``defaults`` (values every node starts from) and ``nodes``
(name -> the node's own values). Everything is checked before anything connects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octopus.errors import ConfigError, ConfigErrors, did_you_mean, raise_all
from octopus.node import Node, node_fields
from octopus.node_patterns import select_names
from octopus.run.layout import INVENTORY_FILE
from octopus.schema import literal_words, matches, type_name
from octopus.yamlfile import LineDict, load_yaml

if TYPE_CHECKING:
    from octopus.experiment import Experiment

DEFAULT_INVENTORY = INVENTORY_FILE
TOP_LEVEL_KEYS = ("defaults", "nodes")
PATH_KEYS = ("ssh_private_key", "ssh_hostkeys", "ssh_config", "rsync_private_key")

# What YAML may set: every Node argument except `name` (the mapping key is the name), with
# `launcher` as the plain text users write.
_YAML_TYPES: dict[str, Any] = {  # noqa: RUF012
    key: (str | None if key == "launcher" else hint)
    for key, hint in node_fields().items()
    # No passphrase in a file that is likely committed: ssh-agent or the Python API instead.
    if key not in ("name", "test_connection", "ssh_passphrase")
}


@dataclass
class Inventory:
    """The nodes of one inventory file, in file order."""

    path: Path
    nodes: dict[str, Node]

    @property
    def tags(self) -> set[str]:
        return {tag for node in self.nodes.values() for tag in node.tags}

    def select(
        self, names: Iterable[str] | str | None = None, tags: Iterable[str] | str | None = None
    ) -> list[Node]:
        """The nodes named (all when none are) that carry any of the tags (when tags are given).

        Names may be globs and `!` exclusions (node_patterns.py). Accepts the comma-separated
        text of a task option as well as lists. An unknown name or tag is an error rather than
        an empty selection, so a typo never runs nothing silently.
        """
        wanted_names = _split(names)
        wanted_tags = _split(tags)
        errors: list[ConfigError] = []
        chosen = list(self.nodes.values())
        if wanted_names:
            try:
                picked = select_names(wanted_names, list(self.nodes), str(self.path))
                chosen = [self.nodes[n] for n in picked]
            except ConfigError as exc:
                errors += exc.errors if isinstance(exc, ConfigErrors) else [exc]
        known_tags = self.tags
        errors += [
            ConfigError(
                f"unknown tag '{t}'{did_you_mean(t, known_tags)}; known: "
                f"{', '.join(sorted(known_tags)) or 'none'}",
                file=str(self.path),
            )
            for t in wanted_tags
            if t not in known_tags
        ]
        raise_all(errors)
        if wanted_tags:
            chosen = [node for node in chosen if node.tags & set(wanted_tags)]
            if not chosen:
                raise ConfigError(
                    f"no selected node has tag(s) {', '.join(wanted_tags)}", file=str(self.path)
                )
        return chosen


def _split(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def load_inventory(path: str | Path = DEFAULT_INVENTORY) -> Inventory:
    """Read and validate an inventory file; raises ConfigError(s) naming file, line, node, key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            "file not found: `octopus init` writes one (this machine as node `local`, and an "
            "SSH node to fill in), or pass --inventory",
            file=str(path),
        )
    data = load_yaml(path)
    source = str(path)
    if data is None:
        data = LineDict()
    if not isinstance(data, dict):
        raise ConfigError(
            "must be a mapping with 'nodes:' (and optionally 'defaults:')", file=source, line=1
        )
    errors: list[ConfigError] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            errors.append(
                ConfigError(
                    f"unknown top-level key '{key}'{did_you_mean(str(key), TOP_LEVEL_KEYS)}; "
                    f"valid: {', '.join(TOP_LEVEL_KEYS)}",
                    file=source,
                    line=_line(data, key),
                )
            )
    defaults = data.get("defaults") or LineDict()
    nodes_data = data.get("nodes")
    if not isinstance(defaults, dict):
        errors.append(
            ConfigError(
                "'defaults' must be a mapping of node keys",
                file=source,
                line=_line(data, "defaults"),
            )
        )
        defaults = LineDict()
    if not isinstance(nodes_data, dict) or not nodes_data:
        errors.append(
            ConfigError(
                "needs a 'nodes:' mapping with at least one node",
                file=source,
                line=_line(data, "nodes"),
            )
        )
        raise_all(errors)
        return Inventory(path, {})  # unreachable: raise_all raised
    default_errors = _check_values(defaults, source, node=None)
    errors += default_errors
    # Nodes are still checked against the defaults that are valid, so one typo under
    # `defaults:` is reported once instead of breaking (or repeating in) every node.
    rejected = {e.key for e in default_errors}
    usable_defaults = {k: v for k, v in defaults.items() if str(k) not in rejected}
    nodes: dict[str, Node] = {}
    for name, values in nodes_data.items():
        line = _line(nodes_data, name)
        if values is None:
            values = LineDict()
        if not isinstance(values, dict):
            errors.append(
                ConfigError(
                    "must be a mapping of node keys", file=source, line=line, node=str(name)
                )
            )
            continue
        node_errors = _check_values(values, source, node=str(name))
        if node_errors:
            errors += node_errors
            continue
        merged = {**usable_defaults, **values}
        _resolve_paths(merged, path.parent)
        try:
            node = Node(name=str(name), test_connection=False, **merged)
        except ConfigError as exc:
            key_line = (
                _line(values, exc.key)
                if exc.key in values
                else (_line(defaults, exc.key) if exc.key in defaults else line)
            )
            errors.append(exc.located(file=source, line=key_line))
            continue
        for key, missing in node.missing_files():
            where = values if key in values else defaults
            errors.append(
                ConfigError(
                    f"file not found: {missing}",
                    file=source,
                    line=_line(where, key),
                    node=node.name,
                    key=key,
                )
            )
        nodes[node.name or str(name)] = node
    raise_all(errors)
    return Inventory(path, nodes)


def _line(mapping: Mapping[Any, Any], key: Any) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, LineDict) else None


def _check_values(values: Mapping[str, Any], source: str, node: str | None) -> list[ConfigError]:
    errors = []
    where = node if node is not None else "defaults"
    for key, value in values.items():
        line = _line(values, key)
        if key not in _YAML_TYPES:
            hint = did_you_mean(str(key), _YAML_TYPES)
            errors.append(
                ConfigError(f"unknown key{hint}", file=source, line=line, node=where, key=str(key))
            )
            continue
        if key == "tags" and isinstance(value, str):
            continue  # a single tag may be written without a list
        if not matches(value, _YAML_TYPES[key]):
            hint = (
                f" (write it in quotes: '{_as_written(values, key, value)}')"
                if isinstance(value, (int, float)) and matches("", _YAML_TYPES[key])
                else did_you_mean(value, literal_words(_YAML_TYPES[key]))
                if isinstance(value, str)
                else ""
            )
            errors.append(
                ConfigError(
                    f"must be {type_name(_YAML_TYPES[key])}, not {_describe(value)}{hint}",
                    file=source,
                    line=line,
                    node=where,
                    key=str(key),
                )
            )
    return errors


def _as_written(values: Mapping[str, Any], key: str, value: Any) -> str:
    """The value as the file spells it (`3.10`, which YAML reads as 3.1), else as read."""
    text = values.text_of(key) if isinstance(values, LineDict) else None
    return text if text is not None else str(value)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = (
        type_name(type(value))
        if not isinstance(value, (list, dict))
        else ("a list" if isinstance(value, list) else "a mapping")
    )
    return f"{kind} {value!r}" if not isinstance(value, (list, dict)) else kind


def _resolve_paths(values: dict[str, Any], base: Path) -> None:
    """Relative key and known_hosts paths are relative to the inventory file, like ssh_config's."""
    for key in PATH_KEYS:
        value = values.get(key)
        if isinstance(value, list):
            values[key] = [_resolve_path(str(v), base) for v in value]
        elif value:
            values[key] = _resolve_path(str(value), base)


def _resolve_path(value: str, base: Path) -> str:
    # os.path's expanduser leaves `~nosuchuser` as it is; pathlib's raises.
    expanded = Path(os.path.expanduser(value))
    return str(expanded if expanded.is_absolute() else base / expanded)


def select_nodes(
    experiment: Experiment,
    names: str | Iterable[str] | None = None,
    tags: str | Iterable[str] | None = None,
    inventory: str | Path | None = None,
) -> list[Node]:
    """The nodes a stage runs on: the experiment's own (its Node objects, or its names and tags
    looked up in the inventory), narrowed by names and tags."""
    if experiment.nodes is not None:
        pool = Inventory(
            Path(experiment.source or "<experiment>"),
            {n.name or "?": n for n in experiment.nodes},
        )
    else:
        pool = load_inventory(inventory or DEFAULT_INVENTORY)
        if experiment.node_names or experiment.node_tags:
            chosen = pool.select(experiment.node_names or None, experiment.node_tags or None)
            pool = Inventory(pool.path, {n.name or "?": n for n in chosen})
    return pool.select(names, tags)
