"""Errors octopus reports to users: each says where the problem is and what to fix, in one line."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from difflib import get_close_matches
from types import TracebackType

# 128 + SIGINT, what shells report for a command that Ctrl-C ended.
INTERRUPTED_EXIT = 130


class OctopusError(Exception):
    """Base of every error octopus raises on purpose; `exit_code` is what the task exits with."""

    exit_code = 1


def error_text(exc: BaseException) -> str:
    """What an error says in a stage's summary: octopus' own message as it was written for the
    user; any other error's with its class name, without which its message may mean nothing."""
    return str(exc) if isinstance(exc, OctopusError) else f"{type(exc).__name__}: {exc}"


class ConfigError(OctopusError):
    """Bad input (YAML, a Node argument, a task option): exit code 2, before anything connects.

    The message is rendered as ``file:line: node 'x': key 'y': what is wrong`` with whichever
    of those parts are known, so a user can jump straight to the spot. `item` is the index of
    the item of key's list the error is about, for a loader that knows the items' lines.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        node: str | None = None,
        key: str | None = None,
        item: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.node = node
        self.key = key
        self.item = item
        super().__init__(str(self))

    def located(self, *, file: str | None = None, line: int | None = None) -> ConfigError:
        """The same error with a file (and line) filled in where it had none."""
        return ConfigError(
            self.message,
            file=self.file or file,
            line=self.line if self.line is not None else line,
            node=self.node,
            key=self.key,
            item=self.item,
        )

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        parts.append(self.message)
        return ": ".join(one_line(part) for part in parts)


class LocalFileError(OctopusError):
    """A file or folder on this machine could not be written or read: the disk is full,
    permission is denied, a file stands where a folder belongs. Not bad input (that is exit
    code 2): the run failed here, like a node failing, so exit code 1. One line: the path and
    the system's reason, e.g. ``deliverables/exp: cannot write: No space left on device``."""

    def __init__(self, path: object, reason: str, action: str = "write") -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{one_line(self.path)}: cannot {action}: {one_line(reason)}")


class ConfigErrors(ConfigError):
    """Several input errors found in one pass, so the user can fix them all at once."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# Longest part (file, node, key or message) of a rendered error: a value echoed back from a
# megabyte-long YAML string must not turn the one line into a screenful.
MAX_PART = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int = MAX_PART) -> str:
    """Text as one printable line: control characters (newlines from a user's key or value,
    terminal escapes) shown escaped, and the middle of anything too long left out."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if len(text) > limit:
        half = limit // 2
        text = f"{text[:half]}...({len(text) - 2 * half} characters left out)...{text[-half:]}"
    return text


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """A ' (did you mean 'x'?)' suffix for the closest choice, or '' when nothing is close.

    Words from YAML need not be text (a key may be a number), so both sides are compared as
    text."""
    close = get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def raise_all(errors: list[ConfigError]) -> None:
    """Raise the errors gathered by a validation pass, if there are any."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def _octopus_excepthook(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    for translate in _translators:
        error = translate(error) or error
    if isinstance(error, OctopusError):
        print(f"octopus: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code)
    _previous_excepthook(kind, error, tb)


_previous_excepthook = sys.excepthook
_translators: list[Callable[[BaseException], OctopusError | None]] = []


def one_line_errors(
    translate: Callable[[BaseException], OctopusError | None] | None = None,
) -> None:
    """Make an OctopusError that nothing catches end a script with its one-line message and
    exit code instead of a traceback (experiment files that call run_task themselves, as the
    original's users wrote them). Other exceptions keep their traceback, unless `translate`
    makes an OctopusError of them (Invoke's errors about its config files, which `inv` raises
    before any octopus code can catch them)."""
    global _previous_excepthook
    if translate is not None and translate not in _translators:
        _translators.append(translate)
    if sys.excepthook is not _octopus_excepthook:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _octopus_excepthook
