"""`--nodes 'gpu*,!gpu3'`: which node names a list of patterns picks, as Ansible's `--limit`.

Each comma-separated pattern is a node name or a glob (`*`, `?`, `[...]`, matched with
fnmatch, case-sensitive as names are); `!pattern` leaves nodes out. The nodes the patterns
name come first, in the order given (a glob's matches in inventory order), then every
exclusion is taken away, wherever it stands; exclusions alone start from all nodes. A pattern
that matches no node is an error rather than a smaller selection, so a typo never runs on
fewer nodes silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from octopus.errors import ConfigError, did_you_mean, raise_all

EXCLUDE = "!"
GLOB_CHARACTERS = "*?["


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in GLOB_CHARACTERS)


def matching(pattern: str, names: Sequence[str]) -> list[str]:
    """The names one pattern (without its `!`) matches, in the order given."""
    if not is_glob(pattern):
        return [pattern] if pattern in names else []
    return [name for name in names if fnmatchcase(name, pattern)]


def select_names(patterns: Sequence[str], names: Sequence[str], source: str) -> list[str]:
    """The names the patterns pick out of `names` (module docstring); ConfigError(s) naming
    `source` (the inventory) for each pattern that matches nothing, or when none is left."""
    errors = []
    include: list[str] = []
    exclude: set[str] = set()
    for pattern in patterns:
        bare = pattern.removeprefix(EXCLUDE)
        found = matching(bare, names)
        if not found:
            errors.append(ConfigError(_no_match(bare, names), file=source))
        elif pattern.startswith(EXCLUDE):
            exclude.update(found)
        else:
            include.extend(found)
    raise_all(errors)
    if not any(not p.startswith(EXCLUDE) for p in patterns):
        include = list(names)
    chosen = [name for name in dict.fromkeys(include) if name not in exclude]
    if not chosen:
        raise ConfigError(f"'{','.join(patterns)}' leaves no node", file=source)
    return chosen


def _no_match(pattern: str, names: Sequence[str]) -> str:
    what = f"no node matches '{pattern}'" if is_glob(pattern) else f"unknown node '{pattern}'"
    return f"{what}{did_you_mean(pattern, names)}; known: {', '.join(names)}"
