"""The placeholders a command may hold, and the near misses of them that would run unfilled.

`[job_id]`, `[socket]`, `[gpu]` and `[hw_placeholder]` (and the original generators'
`[device_placeholder]`) are filled in for the worker a command lands on (workers.py). Any other
text in brackets passes through as written, as shell tests (`[ -e x ]`, `[[ ... ]]`), arrays
(`${a[0]}`), globs and regexes (`[0-9]`) and Python indexing (`x[1]`) need. But a bracketed
lowercase word that is nearly a placeholder (`[jobid]`, `[job-id]`, `[sockets]`) is a typo:
every command would run with it unfilled (the shell reads it as a glob), so it is refused
where the experiment is made, with the placeholder it stands for.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from octopus.errors import ConfigError
from octopus.run import generators
from octopus.run.generators import DEVICE_PLACEHOLDER
from octopus.run.workers import (
    PLACEHOLDER_GPU,
    PLACEHOLDER_HARDWARE,
    PLACEHOLDER_JOB_ID,
    PLACEHOLDER_SOCKET,
)

PLACEHOLDERS = (PLACEHOLDER_JOB_ID, PLACEHOLDER_SOCKET, PLACEHOLDER_GPU, PLACEHOLDER_HARDWARE)
KNOWN = (*PLACEHOLDERS, DEVICE_PLACEHOLDER)
_WORDS = [p[1:-1] for p in KNOWN]
# Closer than did_you_mean's 0.6: `[jobs]` (0.6 from job_id) may well be a shell array's index;
# `[job]` (0.67) too. `[jobid]` is 0.91, `[job-id]` 0.83, `[sockets]` 0.92, `[sock]` 0.8.
CUTOFF = 0.75
# A bracketed lowercase word that is not a placeholder (these are most of what commands hold).
_BRACKETED = re.compile(rf"\[(?!(?:{'|'.join(_WORDS)})\])([a-z][a-z0-9_-]*)\]")
# How much of a command an error shows: its first line, this long at most.
SHOWN = 60


def near_misses(texts: Sequence[str]) -> dict[str, str]:
    """Each bracketed word in `texts` that is nearly, but not, a placeholder -> that
    placeholder. All texts are searched at once: 300,000 commands take a few tens of ms."""
    words = set(_BRACKETED.findall("\n".join(texts)))
    found = {}
    for word in sorted(words):
        close = difflib.get_close_matches(word, _WORDS, n=1, cutoff=CUTOFF)
        if close:
            found[f"[{word}]"] = f"[{close[0]}]"
    return found


def _shown(command: str) -> str:
    first = command.strip().split("\n", 1)[0]
    return first if len(first) <= SHOWN else first[: SHOWN - 3] + "..."


def _problem(word: str, placeholder: str) -> str:
    return (
        f"{word} is not a placeholder (did you mean {placeholder}?): only "
        f"{', '.join(PLACEHOLDERS)} are filled in; other brackets stay as written"
    )


def fills_known_placeholders(generator: Callable[..., Any] | None) -> bool:
    """Whether commands go through octopus' own generators (none given, or one of the
    original's); a generator of the user's may fill placeholders of its own."""
    while isinstance(generator, functools.partial):
        generator = generator.func
    return generator is None or getattr(generator, "__module__", None) == generators.__name__


def check_placeholders(
    commands: Sequence[str], prefix: str, generator: Callable[..., Any] | None = None
) -> None:
    """Refuse a near miss of a placeholder in the commands or the prefix: ConfigError naming
    the command (key experiment_commands, `item` its index) and the placeholder meant."""
    if not fills_known_placeholders(generator):
        return
    misses = near_misses([prefix, *commands])
    if not misses:
        return
    if any(word in prefix for word in misses):
        word = next(w for w in misses if w in prefix)
        raise ConfigError(_problem(word, misses[word]), key="experiment_prefix")
    for index, command in enumerate(commands):
        for word, placeholder in misses.items():
            if word in command:
                raise ConfigError(
                    f"command {index + 1} ({_shown(command)}): {_problem(word, placeholder)}",
                    key="experiment_commands",
                    item=index,
                )
