"""Shell completion of option values: experiment names after `--exp`, node names after
`--nodes` (and `logs --node`), tags after `--tags`.

Invoke's completion (the script `--print-completion-script bash|zsh|fish` prints asks
`inv --complete -- <the words typed>` for candidates) completes task names and flags, and
leaves a flag's value to the shell's file completion: it has no hook for values. So
`complete_option_values` wraps Invoke's `complete`, where both `inv` and `octopus` call it:
when the word being completed is the value of one of those options of an octopus task, it
prints the candidates; anything else Invoke completes as before.

The shells hand over the words typed so far, and an empty word being completed is lost on
the way: `inv run --exp <TAB>` and `inv run --exp ex<TAB>` both complete the experiment.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable

from invoke import program as invoke_program
from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.parser.context import ParserContext
from invoke.parser.parser import Parser, ParseResult

from octopus.cli.arguments import CheckedArgument
from octopus.cli.config import octopus_settings, project_config
from octopus.errors import OctopusError
from octopus.node_patterns import EXCLUDE


def experiment_names(context: ParserContext) -> list[str]:
    # Loaded when completing (as a task loads its stage): `inv --list` does not pay for it.
    from octopus.loader import known_experiments

    return known_experiments()


def _inventory_names(context: ParserContext, tags: bool) -> list[str]:
    """The node names (or tags) of the inventory the command line or the config names."""
    # Loaded when completing (as a task loads its stage): `inv --list` does not pay for it.
    from octopus.inventory import load_inventory

    given = context.args["inventory"].value if "inventory" in context.args else None
    try:
        inventory = load_inventory(given or octopus_settings(project_config()).inventory)
    except (OctopusError, OSError):
        return []  # completion says nothing rather than an error
    return sorted(inventory.tags) if tags else list(inventory.nodes)


def node_names(context: ParserContext) -> list[str]:
    return _inventory_names(context, tags=False)


def tag_names(context: ParserContext) -> list[str]:
    return _inventory_names(context, tags=True)


# The options whose values complete, by the name of the task's parameter; `LISTS` take
# several, comma-separated (and `--nodes` exclusions: `gpu*,!gpu3`).
VALUES: dict[str, Callable[[ParserContext], list[str]]] = {
    "exp": experiment_names,
    "nodes": node_names,
    "node": node_names,
    "tags": tag_names,
}
LISTS = ("nodes", "tags")


def candidates(tokens: list[str], parser: Parser) -> list[str] | None:
    """What completes the last word of `tokens` when it is the value of one of VALUES (the
    word itself may be missing: the shell drops an empty one); None when it is not."""
    found = _value_being_typed(tokens, parser)
    if found is None:
        return None
    context, name, typed, spelled = found
    head, _, tail = typed.rpartition(",")
    head = f"{head}," if head and name in LISTS else ""
    if name == "nodes" and tail.startswith(EXCLUDE):
        head, tail = head + EXCLUDE, tail.removeprefix(EXCLUDE)
    taken = {word.removeprefix(EXCLUDE) for word in head.split(",")}
    return [
        f"{spelled}{head}{value}"
        for value in VALUES[name](context)
        if value.startswith(tail) and value not in taken
    ]


def _value_being_typed(
    tokens: list[str], parser: Parser
) -> tuple[ParserContext, str, str, str] | None:
    """(task context, option, the value typed so far, what to put before each candidate)
    when the last token is (or is missing as) the value of an option in VALUES."""
    flag, typed, spelled, before = "", "", "", tokens
    if tokens and tokens[-1].startswith("--") and "=" in tokens[-1]:  # --exp=ex (zsh, fish)
        flag, _, typed = tokens[-1].partition("=")
        spelled = f"{flag}="
        before = tokens[:-1]
    elif tokens and tokens[-1].startswith("-"):  # --exp, the value not begun
        flag, before = tokens[-1], tokens[:-1]
    elif len(tokens) > 2 and tokens[-2] == "=":  # bash splits --exp=ex at the `=`
        flag, typed, before = tokens[-3], tokens[-1], tokens[:-3]
    elif len(tokens) > 1 and tokens[-1] == "=":
        flag, before = tokens[-2], tokens[:-2]
    elif len(tokens) > 1:
        flag, typed, before = tokens[-2], tokens[-1], tokens[:-2]
    context = _task_context(before, parser) if flag else None
    if context is None or flag not in context.flags:
        return None
    arg = context.flags[flag]
    name = arg.attr_name or arg.name
    if not isinstance(arg, CheckedArgument) or name not in VALUES:
        return None
    return context, name, typed, spelled


def _task_context(tokens: list[str], parser: Parser) -> ParserContext | None:
    """The task the words before the option belong to, as Invoke's completion finds it."""
    try:
        contexts = list(parser.parse_argv(tokens))
    except ParseError as exc:
        contexts = [exc.context] if exc.context is not None else []
    last = contexts[-1] if contexts else None
    return last if last is not None and last.name else None


def complete_option_values() -> None:
    """Wrap Invoke's `complete` (module docstring); idempotent."""
    invokes = invoke_program.complete  # type: ignore[attr-defined]
    if getattr(invokes, "completes_option_values", False):
        return

    @functools.wraps(invokes)
    def complete(
        names: list[str],
        core: ParseResult,
        initial_context: ParserContext,
        collection: Collection,
        parser: Parser,
    ) -> Exit:
        invocation = re.sub(rf"^({'|'.join(map(re.escape, names))}) ", "", core.remainder)
        try:
            found = candidates(shlex.split(invocation), parser)
        except ValueError:  # an unclosed quote: Invoke's own completion decides
            found = None
        if found is None:
            return invokes(
                names=names,
                core=core,
                initial_context=initial_context,
                collection=collection,
                parser=parser,
            )
        for word in found:
            print(word)
        raise Exit

    complete.completes_option_values = True  # type: ignore[attr-defined]
    invoke_program.complete = complete  # type: ignore[attr-defined]
