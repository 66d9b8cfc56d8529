"""Every shell string octopus builds goes through here, so quoting lives in one place."""

from __future__ import annotations

import shlex
from collections.abc import Iterable


def quote_path(path: str) -> str:
    """A path quoted for a POSIX shell, keeping a leading `~/` meaning the home directory.

    Anything else, `$(...)`, quotes and spaces included, reaches the command literally.
    """
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        rest = path[2:]
        return '"$HOME"/' + shlex.quote(rest) if rest else '"$HOME"/'
    return shlex.quote(path)


def join(args: Iterable[str]) -> str:
    """A command line from an argument list, each argument quoted."""
    return shlex.join(list(args))
