"""The stand-in connection for a `local: true` node: this machine, from the node's home folder.

Relative paths mean the same as on a remote node (relative to the home directory), so an
experiment moves between `local` and real nodes unchanged.
"""

from __future__ import annotations

import getpass
import io
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.context import Context
from invoke.runners import Result

from octopus.remote.fabric_config import FabricConfig
from octopus.remote.held import Held, end_session, hold_process
from octopus.remote.quick import Feed, QuickResult, QuickTimedOut
from octopus.remote.rsync import Transfer, run_transfer
from octopus.remote.runners import StreamingLocal

if TYPE_CHECKING:
    from octopus.node import Node


def _finished(result: Result | None) -> Result:
    """Invoke returns None only for `disown=True`, which octopus never passes."""
    if result is None:
        raise RuntimeError("command was disowned; no result")
    return result


class LocalConnection:
    """Runs on this machine with the same run/put/get/rsync as an SSH connection."""

    host = "localhost"
    is_connected = True

    def __init__(self, node: Node, home: str | os.PathLike[str] | None = None) -> None:
        self.node = node
        self.home = Path(home) if home is not None else Path.home()
        self.user: str | None = getpass.getuser()
        self.original_host = "localhost"
        self._context = Context(
            FabricConfig(
                overrides={"run": {"in_stream": False}, "runners": {"local": StreamingLocal}}
            )
        )

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def is_active(self) -> bool:
        return True

    def __enter__(self) -> LocalConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _path(self, path: str | os.PathLike[str]) -> Path:
        p = Path(os.path.expanduser(str(path)))
        return p if p.is_absolute() else self.home / p

    def run(self, command: str, **kwargs: Any) -> Result:
        return _finished(
            self._context.run(f"cd {shlex.quote(str(self.home))} && {command}", **kwargs)
        )

    def sudo(self, command: str, **kwargs: Any) -> Result:
        return _finished(self._context.sudo(command, **kwargs))

    def quick(
        self, command: str, *, timeout: float | None = None, feed: Feed | None = None
    ) -> QuickResult:
        """One of octopus' own commands in a subprocess (no Invoke runner threads), in a
        session of its own so that a timeout ends it with everything it started."""
        data = io.BytesIO()
        if feed is not None:
            feed(data.write)
        proc = self._session(command, with_stdin=feed is not None)
        try:
            out, err = proc.communicate(data.getvalue() if feed is not None else None, timeout)
        except subprocess.TimeoutExpired:
            end_session(proc)
            proc.communicate()
            raise QuickTimedOut(timeout or 0) from None
        return QuickResult.of(proc.returncode, out, err)

    def hold(
        self, command: str, data: bytes, *, timeout: float | None = None
    ) -> QuickResult | Held:
        """As the SSH connection's `hold`, in a process of its own session."""
        return hold_process(self._session(command, with_stdin=True), data, timeout)

    def _session(self, command: str, with_stdin: bool) -> subprocess.Popen[bytes]:
        """`command` run by bash in the home folder, in a session of its own (so that a
        timeout ends it with everything it started), its output read through pipes; its
        stdin a pipe too `with_stdin`, else it reads nothing."""
        return subprocess.Popen(
            f"cd {shlex.quote(str(self.home))} && {command}",
            shell=True,
            executable="/bin/bash",
            stdin=subprocess.PIPE if with_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def local(self, command: str, **kwargs: Any) -> Result:
        return _finished(self._context.run(command, **kwargs))

    def put(
        self, local: str | os.PathLike[str], remote: str | None = None, preserve_mode: bool = True
    ) -> Path:
        return self._copy(
            Path(local),
            self._path(remote) if remote else None,
            remote or "",
            preserve_mode,
            default_dir=self.home,
        )

    def get(
        self, remote: str, local: str | os.PathLike[str] | None = None, preserve_mode: bool = True
    ) -> Path:
        return self._copy(
            self._path(remote),
            Path(local) if local else None,
            str(local or ""),
            preserve_mode,
            default_dir=Path.cwd(),
        )

    @staticmethod
    def _copy(
        source: Path, target: Path | None, spelled: str, preserve_mode: bool, default_dir: Path
    ) -> Path:
        """Copy one file as Fabric's put/get do: into a folder target, or as the target."""
        target = target if target is not None else default_dir / source.name
        if spelled.endswith("/") or target.is_dir():
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copy2 if preserve_mode else shutil.copyfile)(source, target)
        return target

    def rsync(self, job: Transfer) -> Result:
        """rsync between two folders of this machine; paths on the node side start at home."""
        return run_transfer(self, job, home=str(self.home))
