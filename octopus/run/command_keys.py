"""A command's identity across deliveries: its text and its place among equal texts.

`inv run` on an experiment that already ran runs again only what changed or did not succeed
(as make, Snakemake and GNU parallel's --resume do). So each command needs a name that a new
delivery of an edited experiment file gives it again when, and only when, its text is the
same: its key. Two equal texts are told apart by their order (the second `sleep 1` is
another command than the first). The key is the text itself (trailing blanks aside), with
the number of equal texts before it when there are any: the plans folder keeps the
experiment's commands as given (`Plan.sources`), so a first delivery computes nothing, and
a million keys are a dict of strings, not a million hashes.

Records written before keys were texts kept a 64-bit blake2b hash of each instead
(`hashed=True` here); a new delivery beside such a record keys its commands the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octopus.run.plan_model import Plan

# Separators no shell command holds: the text's NUL byte cannot reach bash.
_OCCURRENCE = "\0#"  # text + _OCCURRENCE + n: the n-th equal text before this one
_COPY = "\0@"  # key + _COPY + n: the n-th copy of one command the plan runs more than once
_LINE = "\0line\0"  # prefix of a line a generator of the user's own wrote (no command index)

# The form of the records written before: blake2b of f"{occurrence}\0{text}", 8 bytes in hex.
HASHED_BYTES = 8


def _hashed(text: str, occurrence: int) -> str:
    data = f"{occurrence}\0{text}".encode()
    return hashlib.blake2b(data, digest_size=HASHED_BYTES).hexdigest()


def _text_key(text: str, occurrence: int) -> str:
    return f"{text}{_OCCURRENCE}{occurrence}" if occurrence else text


def command_keys(texts: Iterable[str], *, hashed: bool = False) -> list[str]:
    """Each text's key, in order, from the text (trailing white space aside, as the worker
    script runs it) and how many equal texts came before it; `hashed`: in the earlier
    records' form."""
    stripped = [text.rstrip() for text in texts]
    if not hashed and len(set(stripped)) == len(stripped):
        return stripped  # no two alike: each key is its text
    key = _hashed if hashed else _text_key
    seen: dict[str, int] = {}
    keys = []
    for text in stripped:
        occurrence = seen.get(text, 0)
        seen[text] = occurrence + 1
        keys.append(key(text, occurrence))
    return keys


def hashed_key(key: str) -> str:
    """A text key (`command_keys`) in the earlier records' form, copy number and all."""
    base, copy, number = key.partition(_COPY)
    line = base.startswith(_LINE)
    text, _, occurrence = base.removeprefix(_LINE).partition(_OCCURRENCE)
    hashed = ("line-" if line else "") + _hashed(text, int(occurrence or 0))
    return f"{hashed}.{number}" if copy else hashed


def base_key(key: str, *, hashed: bool = False) -> str:
    """The key of the experiment command a copy (`planned_keys`) was made from."""
    return key.split(".", 1)[0] if hashed else key.partition(_COPY)[0]


def planned_keys(plan: Plan, keys: Sequence[str], *, hashed: bool = False) -> dict[int, str]:
    """command id -> key, for every command of the plan: its experiment command's key
    (`keys`, by the index in the experiment's list). A command planned more than once (the
    per-hardware generators' copies) adds its copy's number; a line a generator of the
    user's own added (no index) is keyed by its text. `hashed`: `keys` are in the earlier
    records' form, and so are the keys made here."""
    found: dict[int, str] = {}
    copies: dict[str, int] = {}
    extra: dict[str, int] = {}
    for part in plan.parts:
        for ident, text, index in zip(part.ids, part.commands, part.command_indices, strict=True):
            if index is not None and 0 <= index < len(keys):
                key = keys[index]
            else:
                text = text.rstrip()
                occurrence = extra.get(text, 0)
                extra[text] = occurrence + 1
                key = (
                    "line-" + _hashed(text, occurrence)
                    if hashed
                    else _LINE + _text_key(text, occurrence)
                )
            copy = copies.get(key, 0)
            copies[key] = copy + 1
            if copy:
                key = f"{key}.{copy}" if hashed else f"{key}{_COPY}{copy}"
            found[ident] = key
    return found
