"""The original octopus' Node methods, which custom steps call from `_run(node)`: run_cmd,
run_screen_cmd, file_exists, scp, connect_ssh_client and the ssh_client attribute.

Inside a stage they use the stage's connection (a failure then fails the node's step);
outside one they open a connection of their own.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator
from typing import Any

from octopus.errors import OctopusError
from octopus.remote.connection import AnyConnection, open_connection
from octopus.remote.rsync import home_relative
from octopus.remote.shell import join, quote_path
from octopus.remote.transfers import exists


class OriginalNodeMethods:
    """Mixed into Node: the methods the original Node had."""

    _stage_context: Any = None  # set by the engine while a custom step runs on this node
    _own_connection: AnyConnection | None = None  # connect_ssh_client outside a stage

    def _context(self) -> Any:
        return self._stage_context

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """The stage's connection inside a stage; otherwise one of its own, closed after."""
        ctx = self._context()
        if ctx is not None:
            yield ctx.connection()
            return
        if self._own_connection is not None:
            yield self._own_connection
            return
        conn = open_connection(self)  # type: ignore[arg-type]
        try:
            yield conn
        finally:
            conn.close()

    def run_cmd(self, commands: list[str] | str, return_response: bool = False) -> Any:
        """Run commands joined with &&; with return_response, return the output lines."""
        command = " && ".join([commands] if isinstance(commands, str) else commands)
        ctx = self._context()
        if ctx is not None:
            result = ctx.run(command, show=not return_response)
        else:
            with self._connection() as conn:
                result = conn.run(command, hide=return_response, warn=False)
        return result.stdout.splitlines(keepends=True) if return_response else None

    def run_screen_cmd(
        self, commands: list[str] | str, logfile: str | None = None, recreate_logfile: bool = False
    ) -> None:
        """Start commands in a detached screen session (`bash -c`), each one's output appended
        to `logfile` as well; `recreate_logfile` removes the old log first."""
        listed = [commands] if isinstance(commands, str) else list(commands)
        parts = [f"rm -f -- {quote_path(logfile)}"] if logfile and recreate_logfile else []
        parts += [
            f"{{ {cmd}\n}} 2>&1 | tee -a {quote_path(logfile)}" if logfile else cmd
            for cmd in listed
        ]
        self.run_cmd(join(["screen", "-dm", "bash", "-c", "; ".join(parts)]))

    def file_exists(self, file_to_check: str) -> bool:
        """Whether a path exists on the node (`~/` and `$HOME/` mean the home folder)."""
        path = "~/" + file_to_check[6:] if file_to_check.startswith("$HOME/") else file_to_check
        with self._connection() as conn:
            return exists(conn, path)

    def scp(self, src: str, dest: str, put: bool = True) -> None:
        """Copy one file into folder `dest` on the node (put) or here (put=False), over SFTP."""
        src, dest = os.fspath(src), os.fspath(dest)
        name = os.path.basename(src.rstrip("/"))
        with self._connection() as conn:
            if put:
                conn.run(f"mkdir -p -- {quote_path(dest or '.')}", hide=True)
                conn.put(os.path.expanduser(src), home_relative(posixpath.join(dest or ".", name)))
            else:
                os.makedirs(os.path.expanduser(dest), exist_ok=True)
                conn.get(home_relative(src), os.path.join(os.path.expanduser(dest), name))

    def connect_ssh_client(self) -> None:
        """Make `ssh_client` usable: the stage's connection inside a stage, else one opened
        now (strict host keys, as every connection of octopus) and kept until close."""
        if self._context() is None and self._own_connection is None:
            self._own_connection = open_connection(self)  # type: ignore[arg-type]
        _ = self.ssh_client

    @property
    def ssh_client(self) -> Any:
        """The paramiko SSHClient of the node's current connection (the original attribute)."""
        ctx = self._context()
        conn = ctx.connection() if ctx is not None else self._own_connection
        if conn is None:
            return None
        client = getattr(conn, "client", None)
        if client is None:
            raise OctopusError("a local node has no SSH client; use run_cmd instead")
        getattr(conn, "open", lambda: None)()
        return client
