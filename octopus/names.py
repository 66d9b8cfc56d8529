"""Names that become file names, session and job names and words in scripts: node names,
experiment names, tags and option keys. One pattern for all of them, checked where a name
enters, so that no name can carry shell syntax or a newline into a script, and two different
names never end up as the same file or session."""

from __future__ import annotations

import re

from octopus.errors import ConfigError

# Letters, digits, '-', '_' and '.', not starting with '-' (read as an option) or '.' (hidden
# files, '..'); at most 128 characters (session names and file names stay usable).
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
RULE = "letters, digits, '-', '_' and '.' only, not starting with '-' or '.'"


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME.fullmatch(value) is not None


def check_name(kind: str, value: object, *, key: str | None = None, node: str | None = None) -> str:
    """The name itself, or ConfigError saying which name is wrong and what names may hold."""
    if is_name(value):
        return str(value)
    raise ConfigError(f"{kind} {value!r} is not a valid name: use {RULE}", key=key, node=node)


def has_control_characters(text: str) -> bool:
    """Newlines, escapes and other C0/C1 control characters (tabs included)."""
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)
