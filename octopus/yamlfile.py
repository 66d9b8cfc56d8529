"""YAML loading that keeps line numbers and rejects duplicate keys, so errors can point.

Whatever the file holds (binary bytes, a key that is a list, nesting a thousand levels deep,
an alias bomb, a number too long to convert), the result is either data or one ConfigError
naming the file and, where known, the line: the validators after it only see plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from octopus.errors import ConfigError

try:  # libyaml, when PyYAML was built with it
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    CParser = None  # type: ignore[assignment,misc]

# Deeper than any configuration needs; PyYAML composes recursively, so this also keeps a
# hostile file far from Python's recursion limit.
MAX_DEPTH = 64
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; flatten it"
# Values that aliases add to a document once expanded: a real file adds a few hundred at
# most; "billion laughs" (aliases of aliases of lists) adds 10**9 and exhausts memory when
# walked. Values written out are not counted: an experiment may list a million commands.
MAX_VALUES = 100_000


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers the line of each key (1-based) and of itself,
    the line of each item of a list value (`- NoSuchStep` is pointed at, not its list's key),
    and the text of each scalar value as written (YAML reads `3.10` as the number 3.1)."""

    line: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}
        self.value_texts: dict[Any, str] = {}
        self.item_lines: dict[Any, Sequence[int]] = {}

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)

    def line_of_item(self, key: Any, index: int) -> int | None:
        """The line of item `index` of the list under `key` (else the key's own line)."""
        lines = self.item_lines.get(key)
        if lines is not None and 0 <= index < len(lines):
            return lines[index]
        return self.line_of(key)

    def text_of(self, key: Any) -> str | None:
        """The value of `key` as the file spells it, when it is a scalar."""
        return self.value_texts.get(key)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _kind(value: Any) -> str:
    return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are LineDicts and that refuses a key given twice.

    PyYAML keeps the last of two equal keys silently; for an inventory that means a node
    defined twice loses its first definition without a word, so we stop instead.
    """

    source: str = "<yaml>"
    _depth: int = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise ConfigError(
                    TOO_DEEP,
                    file=self.source,
                    line=event.start_mark.line + 1,
                )
            node: Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node: Node | None = super().compose_document()
        if node is not None:
            sizes: dict[int, int] = {}
            expanded = _count_values(node, sizes, self.source)
            if expanded - len(sizes) > MAX_VALUES:  # what aliases add to what is written
                raise ConfigError(
                    f"aliases add more than {MAX_VALUES} values once expanded; "
                    "write the values out or use fewer aliases",
                    file=self.source,
                    line=_line(node),
                )
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # e.g. a date like 2024-13-45
            value = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
            raise ConfigError(
                f"invalid value{value}: {exc}",
                file=self.source,
                line=_line(node),
            ) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > 1000:
            raise ConfigError(
                f"a number with {digits} digits is too large; quote it if it is text",
                file=self.source,
                line=_line(node),
            )
        return int(super().construct_yaml_int(node))

    def construct_yaml_str(self, node: ScalarNode) -> str:
        value = str(self.construct_scalar(node))
        if "\0" in value:
            raise ConfigError(
                "text contains a NUL character (\\0); remove it", file=self.source, line=_line(node)
            )
        return value

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = _line(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = _line(key_node)
            try:
                hash(key)
            except TypeError:
                raise ConfigError(
                    f"a key must be text, not {_kind(key)}", file=self.source, line=line
                ) from None
            if key in mapping:
                raise ConfigError(
                    f"'{key}' is given twice (first on line {mapping.key_lines[key]}); keep one",
                    file=self.source,
                    line=line,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = line
            if isinstance(value_node, ScalarNode):
                mapping.value_texts[key] = str(value_node.value)
            elif isinstance(value_node, SequenceNode):
                mapping.item_lines[key] = [item.start_mark.line + 1 for item in value_node.value]
        return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _StrictLoader.construct_mapping,
)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:str", _StrictLoader.construct_yaml_str)


def _count_values(node: Node, sizes: dict[int, int], source: str, total: int = 0) -> int:
    """How many values `node` stands for with its aliases expanded (memoised per node, so a
    bomb is measured without being expanded); ConfigError on a cycle."""
    known = sizes.get(id(node))
    if known is not None:
        if known < 0:
            raise ConfigError(
                "an alias refers to a value that contains it", file=source, line=_line(node)
            )
        return known
    sizes[id(node)] = -1
    size = 1
    if isinstance(node, SequenceNode):
        children = list(node.value)
    elif isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        size += _count_values(child, sizes, source, total + size)
    sizes[id(node)] = size
    return size


class _FastStrictLoader(_StrictLoader):
    """_StrictLoader reading its events from libyaml: the same composing, guards and
    constructors, with the scanning and parsing (most of the time, 5x faster on a file of
    320,000 commands) done in C."""

    def __init__(self, text: str) -> None:
        self._events = CParser(text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def check_event(self, *choices: Any) -> bool:
        return bool(self._events.check_event(*choices))

    def peek_event(self) -> Any:
        return self._events.peek_event()

    def get_event(self) -> Any:
        return self._events.get_event()

    def dispose(self) -> None:
        self._events.dispose()


def _loader(text: str) -> _StrictLoader:
    """The fastest strict loader this PyYAML has. Text with a character YAML does not allow
    goes to the pure-Python one, whose reader names it."""
    if CParser is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        return _FastStrictLoader(text)
    return _StrictLoader(text)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text read from `source`; anything wrong becomes one ConfigError line."""
    loader: _StrictLoader | None = None
    try:
        loader = _loader(text)
        loader.source = source
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(
            f"invalid YAML: control character #x{exc.character:04x} is not allowed; remove it",
            file=source,
            line=line,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        at = mark.line + 1 if mark else None
        if "maximum nesting depth" in problem:  # libyaml's own limit, deeper than ours
            raise ConfigError(TOO_DEEP, file=source, line=at) from None
        raise ConfigError(f"invalid YAML: {problem}", file=source, line=at) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=source) from None
    except RecursionError:
        raise ConfigError("nested too deeply; flatten it", file=source) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(path: Path) -> str:
    """A configuration file's text; a missing, unreadable or non-UTF-8 file is a ConfigError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=str(path)) from None
    return decode(data, str(path))


def decode(data: bytes, source: str) -> str:
    """A configuration file's bytes as text; anything but UTF-8 is a ConfigError."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            file=source,
            line=data[: exc.start].count(b"\n") + 1,
        ) from None


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes one ConfigError line."""
    return parse_yaml(read_text(path), str(path))
