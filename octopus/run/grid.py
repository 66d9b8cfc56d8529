"""Parameter grids: one command template, many commands.

```
grid: {seed: [1, 2, 3], model: [gcn, gat]}
zip: {lr: [0.1, 0.01], epochs: [10, 20]}      # lockstep: (0.1, 10), (0.01, 20)
experiment_commands: ["python3 train.py --seed {seed} --model {model} --lr {lr}"]
```

Each template expands over the grid names it uses (their product, in the grid's order, the
last name changing fastest), times the zip rows when it uses a zip name: a stable order, so
the same file gives the same commands. `{name}` is replaced only for grid and zip names; other
brace text (`${HOME}`, awk's `{print $1}`) passes through. Values are inserted as written.
"""

from __future__ import annotations

import difflib
import itertools
import re
from typing import Any

from octopus.errors import ConfigError

Params = dict[str, Any]


def _lists(value: object, key: str) -> dict[str, list[Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"{key} must map names to lists of values ({key}: {{seed: [1, 2]}})", key=key
        )
    lists: dict[str, list[Any]] = {}
    for name, values in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{key} name {name!r} must be a word (letters, digits, _)", key=key)
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{key}.{name} has no values: give a non-empty list ({name}: [1, 2])", key=key
            )
        bad = [v for v in values if not isinstance(v, (str, int, float, bool))]
        if bad:
            raise ConfigError(f"{key}.{name}: {bad[0]!r} is not a plain value", key=key)
        lists[name] = values
    return lists


def expand(commands: list[str], grid: object, zipped: object) -> tuple[list[str], list[Params]]:
    """(the commands, each one's parameters): the templates expanded (module doc). With no
    grid and no zip, the commands as they are and no parameters."""
    grid_lists, zip_lists = _lists(grid, "grid"), _lists(zipped, "zip")
    if not grid_lists and not zip_lists:
        return commands, []
    both = sorted(set(grid_lists) & set(zip_lists))
    if both:
        raise ConfigError(f"'{both[0]}' is in both grid and zip: keep it in one", key="grid")
    lengths = {len(v) for v in zip_lists.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k} has {len(v)}" for k, v in zip_lists.items())
        raise ConfigError(f"zip lists must be as long as each other: {sizes}", key="zip")
    names = [*grid_lists, *zip_lists]
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, names)) + r")\}")
    columns = zip(*zip_lists.values(), strict=True)  # the same length: checked above
    rows = [dict(zip(zip_lists, row, strict=True)) for row in columns]
    expanded: list[str] = []
    params: list[Params] = []
    used: set[str] = set()
    for template in commands:
        mentioned = set(pattern.findall(template))
        used |= mentioned
        axes = [n for n in grid_lists if n in mentioned]
        zip_rows = rows if mentioned & set(zip_lists) else [{}]
        for values in itertools.product(*(grid_lists[n] for n in axes)):
            for row in zip_rows:
                chosen: Params = {**dict(zip(axes, values, strict=True)), **row}
                expanded.append(_fill(pattern, template, chosen))
                params.append(chosen)
    unused = [n for n in names if n not in used]
    if unused:
        name, where = unused[0], "grid" if unused[0] in grid_lists else "zip"
        close = difflib.get_close_matches(name, _braced(commands), n=1)
        near = f" (a command has {{{close[0]}}}: the same?)" if close else ""
        raise ConfigError(f"'{name}' is in {where} but no command has {{{name}}}{near}", key=where)
    return expanded, params


def _fill(pattern: re.Pattern[str], template: str, chosen: Params) -> str:
    return pattern.sub(lambda m: _text(chosen[m.group(1)]), template)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _braced(commands: list[str]) -> list[str]:
    """The words in braces the commands hold (what a misspelt grid name might be)."""
    return sorted({m for c in commands for m in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", c)})
