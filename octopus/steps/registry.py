"""Steps by name: every concrete step class registers under its class name, the name YAML
files use, and a step built from YAML has each argument checked against its constructor.

In YAML a step's arguments are a mapping (`- Cmd: {cmd: ls, tags: [gpu]}`); a step with
exactly one required argument may also be given just that argument's value (`- Cmd: ls`)."""

from __future__ import annotations

import functools
import inspect
import reprlib
import typing
from typing import TYPE_CHECKING, Any

from octopus.errors import ConfigError, did_you_mean, raise_all
from octopus.schema import matches, type_name

if TYPE_CHECKING:
    from octopus.steps.base import AnyStep, LocalStep, Step

_registry: dict[str, type[Step] | type[LocalStep]] = {}


def register(cls: type[Step] | type[LocalStep]) -> None:
    """Called for every concrete step class when it is defined (see base._Registered)."""
    _registry[cls.__name__] = cls


def step_names() -> list[str]:
    return sorted(_registry)


def step_class(name: str) -> type[Step] | type[LocalStep]:
    try:
        return _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown step '{name}'{did_you_mean(name, _registry)}; valid steps: "
            f"{', '.join(step_names())}"
        ) from None


@functools.cache  # resolving hints costs more than building the step; the result is read-only
def _parameters(cls: type) -> tuple[dict[str, inspect.Parameter], dict[str, Any]]:
    """The constructor's parameters and type hints, walking up while it passes **kwargs on."""
    params: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        for name, p in signature.parameters.items():
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.setdefault(name, p)
        try:
            for name, hint in typing.get_type_hints(init).items():
                hints.setdefault(name, hint)
        except Exception:  # a user's step with hints we cannot resolve: check names only
            pass
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
    return params, hints


def check_arguments(cls: type, args: dict[str, Any], where: dict[str, Any]) -> list[ConfigError]:
    """Match YAML arguments against the step's constructor: names and types."""
    params, hints = _parameters(cls)
    errors = []
    step = cls.__name__
    for key, value in args.items():
        if key not in params:
            valid = ", ".join(params) or "none"
            errors.append(
                ConfigError(
                    f"step {step} has no argument '{key}'{did_you_mean(key, params)}; "
                    f"valid: {valid}",
                    key=key,
                    **where,
                )
            )
            continue
        hint = hints.get(key)
        if hint is not None and not matches(value, hint):
            errors.append(
                ConfigError(
                    f"step {step}: argument '{key}' must be {type_name(hint)}, not {value!r}",
                    key=key,
                    **where,
                )
            )
    missing = [name for name in required_arguments(cls) if name not in args]
    if missing:
        errors.append(ConfigError(f"step {step} needs argument(s): {', '.join(missing)}", **where))
    return errors


def required_arguments(cls: type) -> list[str]:
    """The constructor's arguments without a default, in its order."""
    params, _ = _parameters(cls)
    return [name for name, p in params.items() if p.default is inspect.Parameter.empty]


def shorthand_arguments(cls: type, value: Any) -> dict[str, Any]:
    """The arguments `- Name: value` stands for: `value` fills the step's one required
    argument. A step with none or several refuses it, naming the arguments it takes."""
    required = required_arguments(cls)
    if len(required) == 1:
        return {required[0]: value}
    params, _ = _parameters(cls)
    step = cls.__name__
    given = f"`- {step}: {reprlib.repr(value)}`"
    if required:
        what = f"takes {len(required)} required arguments ({', '.join(required)}), so {given}"
        what += " cannot say which one it fills"
    else:
        what = f"has no required argument for {given} to fill"
    example = ", ".join(f"{name}: ..." for name in (required or list(params)[:1]))
    raise ConfigError(
        f"step {step} {what}; write its arguments as a mapping, e.g. `- {step}: {{{example}}}`; "
        f"valid: {', '.join(params) or 'none'}"
    )


def build_step(
    name: str, args: Any, *, file: str | None = None, line: int | None = None
) -> AnyStep:
    """A step from its YAML form (`- Name: {arg: value}`, or `- Name: value` for a step with
    one required argument), with every argument checked."""
    where: dict[str, Any] = {"file": file, "line": line}
    try:
        cls = step_class(name)
        if args is not None and not isinstance(args, dict):
            args = shorthand_arguments(cls, args)
    except ConfigError as exc:
        raise exc.located(file=file, line=line) from None
    arguments = dict(args or {})
    raise_all(check_arguments(cls, arguments, where))
    try:
        return cls(**arguments)
    except ConfigError as exc:
        raise exc.located(file=file, line=line) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"step {name}: {exc}", file=file, line=line) from None
