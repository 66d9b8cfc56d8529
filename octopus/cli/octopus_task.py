"""`@octopus_task`: how an octopus task is declared. The options every task shares are added
to its command line, its options become Invoke arguments as arguments.py says, and octopus'
errors end it with one line and their exit code.

What a task does is in `options.Common`, loaded when a task runs, so that `inv --list` and
`inv --help` load no stage, node or SSH code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from octopus.cli.arguments import OctopusTask
from octopus.cli.help_texts import COMMON_HELP
from octopus.cli.one_line import one_line

if TYPE_CHECKING:
    from octopus.cli.options import Common

_OPTION = inspect.Parameter.POSITIONAL_OR_KEYWORD
# The options every task shares (the fields of `Common`), annotated as a task's own are.
COMMON = [
    inspect.Parameter(name, _OPTION, default=default, annotation=kind)
    for name, kind, default in (
        ("exp", "str | None", None),
        ("inventory", "str | None", None),
        ("nodes", "str | None", None),
        ("tags", "str | None", None),
        ("parallel", "int", 0),
        ("dry_run", "bool", False),
        ("verbose", "bool", False),
        ("plain", "bool", False),
    )
]


def common(config: Any, values: dict[str, Any]) -> Common:
    # Loaded when a task runs (module docstring): the stages, nodes and SSH come with it.
    from octopus.cli.options import Common

    return Common(config, **values)


def octopus_task(
    help: dict[str, str] | None = None,
    name: str | None = None,
    exp: bool = True,
) -> Callable[[Callable[..., int | None]], Task[Any]]:
    """An Invoke task from `body(c, common, **own options)`: the common options are added to
    its command line, octopus' errors become one line and their exit code (2 for bad input;
    a local file that cannot be written is one too), and the body's return value is the exit
    code. Each option is annotated with its kind (arguments.py)."""
    common_params = [p for p in COMMON if exp or p.name != "exp"]

    def decorate(body: Callable[..., int | None]) -> Task[Any]:
        own = list(inspect.signature(body).parameters.values())[2:]

        @functools.wraps(body)
        def wrapper(c: Context, **kwargs: Any) -> None:
            values = {p.name: kwargs.pop(p.name) for p in common_params}
            code = one_line(lambda: body(c, common(c.config, values), **kwargs))
            if code:
                raise Exit(code=code)

        context = inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [context, *common_params, *own]
        )
        del wrapper.__wrapped__  # inspect.signature would follow it back to body
        names = {p.name for p in common_params}
        texts = {k: v for k, v in COMMON_HELP.items() if k in names}
        made = task(
            wrapper,
            name=name or body.__name__.rstrip("_").replace("_", "-"),
            help={**texts, **(help or {})},
            klass=OctopusTask,
        )
        return cast(Task[Any], made)

    return decorate
