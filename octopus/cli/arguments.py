"""How a task's options become Invoke's command-line arguments: each option's kind is its
annotation, its short flag comes from one map for every task, and a bad value is one line.

Invoke guesses an option's kind from its default (`timeout=0` made `--timeout 1.5` a
traceback), picks short flags per task from the option's letters (`-r` was `--resume` in
`start` and `--interval` in `run`, and `-e`, `-d`, `-p`, `-f`, `-w` shadowed Invoke's own
flags), and shows no value in `--help` for a float or a repeatable option (`--interval` looked
like a switch). OctopusTask reads the kind from the annotation, gives short flags from
SHORT_FLAGS only, and CheckedArgument turns a value that does not convert into one line and
exit code 2. Help placeholders live in Invoke's ParserContext, which `inv` builds itself; the
placeholder for FLOAT and repeatable options is added there by `show_value_placeholders`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.parser.context import ParserContext
from invoke.tasks import Task

from octopus.errors import ConfigError

# The only short flags of octopus' tasks: each means one option in every task that has it,
# and none is one of Invoke's core flags (`inv --help`: -c -d -D -e -f -F -h -l -p -r -R -T
# -V -w). Every other option is long only.
SHORT_FLAGS = {"exp": "x", "inventory": "i", "nodes": "n", "tags": "t", "parallel": "j"}

# An option's annotation (as text: the task modules use `from __future__ import annotations`)
# and the kind Invoke parses it as; `list` options may repeat.
KINDS: dict[str, type] = {
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "str | None": str,
    "list[str] | None": list,
}
# The help placeholder of each kind, and what a value must be when it does not convert.
PLACEHOLDERS = {str: "STRING", int: "INT", float: "FLOAT", list: "STRING"}
WANTED = {int: "a whole number", float: "a number (1.5)"}
# The defaults each kind may have (a list option starts empty: None).
DEFAULTS: dict[type, tuple[type, ...]] = {
    bool: (bool,),
    int: (int,),
    float: (int, float),
    str: (str, type(None)),
    list: (type(None),),
}


def kind_of(parameter: inspect.Parameter) -> type:
    """The kind an option's annotation asks for; TypeError for an annotation octopus' tasks
    do not use (caught when the task is declared, i.e. by `inv --list`)."""
    annotation = parameter.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if text not in KINDS:
        raise TypeError(
            f"task option {parameter.name!r}: annotate it as one of {', '.join(KINDS)}, "
            f"not {annotation!r}"
        )
    kind = KINDS[text]
    default = parameter.default
    fits = isinstance(default, DEFAULTS[kind]) and (kind is bool or not isinstance(default, bool))
    if not fits:
        raise TypeError(f"task option {parameter.name!r}: default {default!r} is not a {text}")
    return kind


class CheckedArgument(Argument):
    """An Argument whose value that does not convert (`--timeout soon`) ends the program with
    one line and exit code 2, as any bad input does, instead of a traceback."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            wanted = WANTED.get(self.kind, "a value")
            raise Exit(
                f"octopus: --{self.name} takes {wanted}, not {value!r}", code=ConfigError.exit_code
            ) from None


class OctopusTask(Task[Any]):
    """A Task whose options take their kind from their annotations and their short flags
    from SHORT_FLAGS (module docstring); a list option is repeatable without saying so."""

    def __init__(self, body: Callable[..., Any], **kwargs: Any) -> None:
        options = list(inspect.signature(body).parameters.values())[1:]
        self.kinds = {p.name: kind_of(p) for p in options}
        repeatable = [name for name, kind in self.kinds.items() if kind is list]
        kwargs["iterable"] = [*(kwargs.get("iterable") or []), *repeatable]
        kwargs["auto_shortflags"] = False
        super().__init__(body, **kwargs)

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        if self.kinds[name] is not list:  # Invoke has made it a list already
            opts["kind"] = self.kinds[name]
        if name in SHORT_FLAGS:
            opts["names"] = [*opts["names"], SHORT_FLAGS[name]]
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        # Invoke pops each help text as it uses it: keep them for the next parser (completion
        # and `--help` build one each).
        texts = dict(self.help)
        try:
            made = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = texts
        return [_checked(arg) for arg in made]


def _checked(arg: Argument) -> CheckedArgument:
    return CheckedArgument(
        names=arg.names,
        kind=arg.kind,
        default=arg.default,
        help=arg.help,
        positional=arg.positional,
        optional=arg.optional,
        incrementable=arg.incrementable,
        attr_name=arg.attr_name,
    )


_invoke_help_for = ParserContext.help_for


def _help_for(self: ParserContext, flag: str) -> tuple[str, str]:
    """Invoke's help line of a flag, with a placeholder for float and repeatable options
    (Invoke shows one for text and whole numbers only)."""
    names, text = _invoke_help_for(self, flag)
    arg = self.flags[flag]
    if arg.kind not in (float, list) or arg.optional:
        return names, text
    value = PLACEHOLDERS[arg.kind]
    spelled = [
        f"{n} {value}" if len(n.strip("-")) == 1 else f"{n}={value}" for n in self.names_for(flag)
    ]
    return ", ".join(sorted(spelled, key=len)), text


def show_value_placeholders() -> None:
    """Make `--help` show FLOAT and STRING for float and repeatable options, in `inv` too
    (whose ParserContext is Invoke's own); the other flags keep Invoke's help line."""
    ParserContext.help_for = _help_for  # type: ignore[method-assign]
