"""Which command wrote a results file, when the file itself can tell: CombineCSVFiles adds that
command's node, id and grid parameters as columns.

A file is a command's when its path, or the end of its path, is a word of exactly that
command's text (`--out results/run_3.csv` wrote `.../results/run_3.csv`): its file name
first, then longer ends of the path while several commands share the name. A path that no
command names, or several name alike (`summary.csv` from every command), tells nothing, and
its rows get empty cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any


@dataclass(frozen=True)
class CommandRef:
    """What pickup tells CombineCSVFiles of one command of the experiment."""

    id: int
    node: str
    command: str
    params: dict[str, Any] = field(default_factory=dict)


# A command's words: split at blanks, quotes and `=` (`--out=results/a.csv`).
_WORDS = re.compile(r"[^\s'\"=]+")


class Origins:
    """The commands, indexed by the file names their words end in."""

    def __init__(self, commands: list[CommandRef]) -> None:
        self.by_name: dict[str, list[tuple[CommandRef, str]]] = {}
        for ref in commands:
            for word in set(_WORDS.findall(ref.command)):
                name = PurePath(word).name
                if "." in name:  # a file name, not an option or a number
                    self.by_name.setdefault(name, []).append((ref, word))

    def of(self, path: str) -> CommandRef | None:
        """The one command whose words name this file (None: none or several)."""
        parts = PurePath(path).parts
        candidates = self.by_name.get(parts[-1] if parts else "", [])
        for length in range(1, len(parts) + 1):
            tail = "/".join(parts[-length:])
            named = {ref.id: ref for ref, word in candidates if _ends_with(word, tail, length)}
            if len(named) == 1:
                return next(iter(named.values()))
            if not named:
                return None
        return None


def _ends_with(word: str, tail: str, length: int) -> bool:
    """Whether the word's last `length` path parts are `tail`."""
    return "/".join(PurePath(word).parts[-length:]) == tail
