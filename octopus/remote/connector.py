"""The one interface every connection offers, SSH or local: run, quick, put, get, rsync,
close.

Steps and stages hold a `Connector` and never branch on its type; pyinfra's connectors and
Fabric's Connection are the models.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

from invoke.runners import Result

if TYPE_CHECKING:
    from octopus.node import Node
    from octopus.remote.held import Held
    from octopus.remote.quick import Feed, QuickResult
    from octopus.remote.rsync import Transfer


class Connector(Protocol):
    """An open way to one node."""

    @property
    def node(self) -> Node: ...

    @property
    def host(self) -> str: ...

    @property
    def user(self) -> str | None: ...

    def run(self, command: str, **kwargs: Any) -> Result:
        """Run a shell command on the node (Invoke's keyword arguments: hide, warn, timeout)."""
        ...

    def sudo(self, command: str, **kwargs: Any) -> Result: ...

    def quick(
        self, command: str, *, timeout: float | None = None, feed: Feed | None = None
    ) -> QuickResult:
        """Run one of octopus' own short commands, its output kept and never shown, without
        Invoke's runner (remote/quick.py); QuickTimedOut after `timeout` seconds. `feed`
        writes the command's stdin (an upload); without it the command reads nothing."""
        ...

    def hold(
        self, command: str, data: bytes, *, timeout: float | None = None
    ) -> QuickResult | Held:
        """Run `command` with `data` on its stdin until it waits for the client's word
        (remote/held.py): then held, else (it ended first) its result."""
        ...

    def put(
        self, local: str | os.PathLike[str], remote: str | None = None, preserve_mode: bool = True
    ) -> Any: ...

    def get(
        self, remote: str, local: str | os.PathLike[str] | None = None, preserve_mode: bool = True
    ) -> Any: ...

    def rsync(self, job: Transfer) -> Result:
        """Copy between here and the node with the local rsync (remote.rsync.Transfer)."""
        ...

    def is_active(self) -> bool:
        """False once the connection is known to be lost."""
        ...

    def close(self) -> None: ...
