"""YAML loading that keeps line numbers and rejects duplicate keys, so errors can point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from octopus.errors import ConfigError


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers the line of each key (1-based) and of itself."""

    line: int | None = None
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are LineDicts and that refuses a key given twice.

    PyYAML keeps the last of two equal keys silently; for an inventory that means a node
    defined twice loses its first definition without a word, so we stop instead.
    """

    source: str = "<yaml>"

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in mapping:
                raise ConfigError(
                    f"'{key}' is given twice (first on line {mapping.key_lines[key]}); keep one",
                    file=self.source,
                    line=line,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = line
        return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _StrictLoader.construct_mapping,
)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes one ConfigError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=str(path)) from None
    loader = _StrictLoader(text)
    loader.source = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=str(path), line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=str(path)) from None
    finally:
        loader.dispose()
