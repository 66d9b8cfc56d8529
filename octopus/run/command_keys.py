"""A command's identity across deliveries: a hash of its text and its place among equal texts.

`inv run` on an experiment that already ran runs again only what changed or did not succeed
(as make, Snakemake and GNU parallel's --resume do). So each command needs a name that a new
delivery of an edited experiment file gives it again when, and only when, its text is the
same: its key. Two equal texts are told apart by their order (the second `sleep 1` is
another command than the first), and the key is the text's hash, kept with the plan, so a
million commands add 16 characters each to the record, not their text again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from octopus.run.plan_model import Plan

# 64 bits: two of a million commands meet by chance about once in 36 million experiments.
DIGEST_BYTES = 8


def _key(text: str, occurrence: int) -> str:
    data = f"{occurrence}\0{text}".encode()
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).hexdigest()


def command_keys(texts: Iterable[str]) -> list[str]:
    """Each text's key, in order: the hash of the text (trailing white space aside, as the
    worker script runs it) and how many equal texts came before it."""
    seen: dict[str, int] = {}
    keys = []
    for text in texts:
        text = text.rstrip()
        occurrence = seen.get(text, 0)
        seen[text] = occurrence + 1
        keys.append(_key(text, occurrence))
    return keys


def planned_keys(plan: Plan, keys: Sequence[str]) -> dict[int, str]:
    """command id -> key, for every command of the plan: its experiment command's key
    (`keys`, by the index in the experiment's list). A command planned more than once (the
    per-hardware generators' copies) adds its copy's number; a line a generator of the
    user's own added (no index) is keyed by its text."""
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
                key = "line-" + _key(text, occurrence)
            copy = copies.get(key, 0)
            copies[key] = copy + 1
            found[ident] = key if not copy else f"{key}.{copy}"
    return found
