"""`exists` and `rsync` with the names and meaning patchwork gave them, for current Fabric.

patchwork 1.0.1 pins fabric<3 (and so invoke<2, which does not import on Python 3.12+), and
its versions quote nothing and turn host key checking off; these quote every path and keep
the node's host key rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from invoke.runners import Result

from octopus.remote.connector import Connector
from octopus.remote.rsync import RsyncOptions, Transfer
from octopus.remote.shell import quote_path


def exists(c: Connector, path: str, sudo: bool = False, runner: Any = None) -> bool:
    """Whether `path` exists on the connection's host (a leading ~/ is the home directory)."""
    command = f"test -e {quote_path(path)}"
    run = runner or (c.sudo if sudo else c.run)
    return bool(run(command, hide=True, warn=True).ok)


def rsync(
    c: Connector,
    source: str | Sequence[str],
    target: str,
    exclude: str | Iterable[str] = (),
    delete: bool = False,
    strict_host_keys: bool = True,
    rsync_opts: str | Sequence[str] = "",
    ssh_opts: str | Sequence[str] = "",
    *,
    include: str | Iterable[str] = (),
    update: bool = False,
    ignore_existing: bool = False,
    download: bool = False,
    timeout: float | None = None,
    warn: bool = False,
    hide: bool = True,
    via_connection: bool = False,
) -> Result:
    """Copy with the local `rsync` between here and the connection's node (upload by default).

    patchwork's rsync, with its arguments; `via_connection` sends it through the open
    connection instead of a new ssh login.
    """
    options = RsyncOptions.of(
        exclude=exclude,
        include=include,
        rsync_opts=rsync_opts,
        ssh_opts=ssh_opts,
        delete=delete,
        update=update,
        ignore_existing=ignore_existing,
        strict_host_keys=strict_host_keys,
    )
    return c.rsync(
        Transfer(
            source,
            target,
            options,
            download=download,
            timeout=timeout,
            warn=warn,
            hide=hide,
            via_connection=via_connection,
        )
    )
