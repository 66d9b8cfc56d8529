"""A task's body run so that octopus' errors end it in one line with their exit code (2 for
bad input), never a traceback."""

from __future__ import annotations

from collections.abc import Callable

from invoke.exceptions import Exit

from octopus.errors import INTERRUPTED_EXIT, OctopusError


def one_line(call: Callable[[], int | None]) -> int | None:
    """Run a task's body: octopus' errors become one line and their exit code."""
    # Loaded when a task runs: `inv --list` does not pay for it.
    from octopus.localfiles import local_file_errors

    try:
        with local_file_errors(action="access"):
            return call()
    except OctopusError as exc:
        raise Exit(f"octopus: {exc}", code=exc.exit_code) from None
    except KeyboardInterrupt:  # Ctrl-C between stages (during one, the stage ends it)
        raise Exit("octopus: interrupted (Ctrl-C)", code=INTERRUPTED_EXIT) from None
