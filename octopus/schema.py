"""Checking values read from YAML against Python type hints, so errors name the expected type."""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from octopus.errors import ConfigError, did_you_mean

# Hints YAML fills with a list (a step's `tags: Iterable[str]` too).
_LISTS = (list, tuple, set, frozenset, typing.Sequence, Sequence, Iterable)


def type_name(annotation: Any) -> str:
    """How a type hint reads to a user writing YAML: 'list of str', 'int or null'."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " or ".join(f"'{a}'" if isinstance(a, str) else str(a) for a in args)
    if origin in (Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        if "text" in names and "path" in names:  # YAML writes paths as text
            names.remove("path")
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if origin in _LISTS:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if origin is os.PathLike:
        return "path"
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
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in args)
    if annotation is type(None):
        return value is None
    if origin in _LISTS:
        if not isinstance(value, (list, tuple, set, frozenset)):
            return False
        if not args:
            return True
        if args[0] is str:  # a list of commands may hold a million: no call per item
            kinds = set(map(type, value))
            return kinds <= {str} or all(issubclass(kind, str) for kind in kinds)
        return all(matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if origin is os.PathLike:
        return isinstance(value, os.PathLike)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def literal_words(annotation: Any) -> list[str]:
    """The fixed words a type hint allows (`Literal["auto"]`, also inside a union)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return [a for a in get_args(annotation) if isinstance(a, str)]
    if origin in (Union, types.UnionType):
        return [w for a in get_args(annotation) for w in literal_words(a)]
    return []


# A path as the original's users pass it: text, or a pathlib.Path.
PathLike = str | os.PathLike[str]


def path_text(value: PathLike) -> str:
    """A path given as text or as a pathlib.Path, as text: normalised once, where it enters."""
    return os.fspath(value)


def as_list(value: PathLike | Iterable[PathLike] | None) -> list[str]:
    """One value or several, as the original steps accept them: always a list of text (None:
    empty); pathlib.Path values become text."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


T = TypeVar("T")


def reject_unknown_arguments(cls: type[T]) -> type[T]:
    """Unknown argument names get the closest valid one, as a ConfigError (exit code 2)."""
    generated = cls.__init__
    valid = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]

    @functools.wraps(generated)
    def __init__(self: Any, **kwargs: Any) -> None:
        for key in kwargs:
            if key not in valid:
                raise ConfigError(
                    f"Experiment has no argument '{key}'{did_you_mean(key, valid)}", key=key
                )
        generated(self, **kwargs)

    setattr(cls, "__init__", __init__)  # noqa: B010 (mypy: assigning a method)
    return cls
