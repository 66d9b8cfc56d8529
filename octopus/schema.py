"""Checking values read from YAML against Python type hints, so errors name the expected type."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin


def type_name(annotation: Any) -> str:
    """How a type hint reads to a user writing YAML: 'list of str', 'int or null'."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if origin in (list, tuple, set, frozenset, typing.Sequence):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if annotation is typing.Any:
        return "any value"
    return {str: "text", int: "integer", float: "number", bool: "true/false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits a type hint (ints count as floats; bools never as ints)."""
    if annotation is typing.Any:
        return True
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        return any(matches(value, a) for a in args)
    if annotation is type(None):
        return value is None
    if origin in (list, tuple, set, frozenset, typing.Sequence):
        if not isinstance(value, (list, tuple, set, frozenset)):
            return False
        return not args or all(matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def as_list(value: str | Iterable[str] | None) -> list[str]:
    """One value or several, as the original steps accept them: always a list (None: empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
