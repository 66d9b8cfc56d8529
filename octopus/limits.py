"""Ranges of the numbers users write (workers per node, sockets, ports, seconds), checked where
they enter, so that a typo (an extra zero or ten) is refused with the key's name instead of
planning millions of workers or handing a negative port to ssh."""

from __future__ import annotations

from octopus.errors import ConfigError

# Screens or jobs one node may run at once: far beyond any machine's cores, yet small enough
# that planning and writing the scripts of every worker stays quick.
MAX_WORKERS_PER_NODE = 4096
# NUMA sockets: machines have a handful; numactl refuses huge numbers anyway.
MAX_SOCKET = 1023
# Numbers added to worker numbers (`[job_id]`, file and session names): keep them readable.
MAX_OFFSET = 10**9
# A day: longer makes a dead node undetectable in practice (and overflows socket options).
MAX_KEEPALIVE = 86_400


def check_range(
    value: float | None,
    low: int,
    high: int,
    *,
    key: str,
    node: str | None = None,
    unit: str = "",
    nullable: bool = True,
) -> None:
    """ConfigError unless `value` is None or within low..high (inclusive; NaN never is).

    Only numbers are checked: types are the YAML validation's business, and a Python caller's
    `ssh_port="22"` keeps working as it did."""
    if isinstance(value, (int, float)) and not low <= value <= high:
        message = f"must be {low} to {high}{unit}" + (" (or null)" if nullable else "")
        raise ConfigError(message, key=key, node=node)


def check_command_limits(timeout: object, retries: object) -> None:
    """An experiment's command_timeout (positive seconds or None) and command_retries (0-100)."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise ConfigError(
            f"command_timeout must be a positive number of seconds, not {timeout!r}",
            key="command_timeout",
        )
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        raise ConfigError(
            f"command_retries must be a whole number from 0 to 100, not {retries!r}",
            key="command_retries",
        )
