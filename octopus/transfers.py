"""`exists` and `rsync` with the names and meaning patchwork gave them, for current Fabric.

patchwork 1.0.1 pins fabric<3 (and so invoke<2, which does not import on Python 3.12+), and
its versions quote nothing and turn host key checking off; these quote every path and keep
the node's host key rules.
"""

from __future__ import annotations

import functools
import math
import os
import posixpath
import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke.exceptions import UnexpectedExit
from invoke.runners import Result

from octopus.connection import AnyConnection, LocalConnection, NodeConnection
from octopus.node import Node
from octopus.schema import as_list
from octopus.shell import join, quote_path


def exists(c: AnyConnection, path: str, sudo: bool = False, runner: Any = None) -> bool:
    """Whether `path` exists on the connection's host (a leading ~/ is the home directory)."""
    command = f"test -e {quote_path(path)}"
    run = runner or (c.sudo if sudo else c.run)
    return bool(run(command, hide=True, warn=True).ok)


def _ssh_config_quote(value: str) -> str:
    """A value for `ssh -o`, whose parser splits on blanks and reads quotes like ssh_config."""
    if not any(ch in value for ch in " \t\"'\\"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ssh_argv(node: Node, strict_host_keys: bool = True) -> list[str]:
    """The OpenSSH command line that reaches `node` with the same rules as its Fabric connection."""
    from octopus.connection import known_hosts_files

    # BatchMode also turns off SSH_ASKPASS, the one way to hand ssh a key's passphrase.
    argv = ["ssh"] if node.ssh_passphrase else ["ssh", "-o", "BatchMode=yes"]
    if node.ssh_config:
        argv += ["-F", node.ssh_config]
    if node.ssh_port:
        argv += ["-p", str(node.ssh_port)]
    key = node.rsync_private_key or node.ssh_private_key
    if key:
        argv += ["-i", key, "-o", "IdentitiesOnly=yes"]
    if node.ssh_hostkeys:
        argv += ["-o", f"UserKnownHostsFile={_ssh_config_quote(known_hosts_files(node)[0])}"]
    checking = "accept-new" if node.accept_new_hostkeys else "yes"
    argv += [
        "-o",
        f"StrictHostKeyChecking={checking if strict_host_keys else 'no'}",
        "-o",
        f"ConnectTimeout={math.ceil(node.connect_timeout)}",
        "-o",
        f"ServerAliveInterval={node.keepalive}",
    ]
    return argv


def home_relative(path: str) -> str:
    """`~/x` as the relative `x`, which rsync's remote side (it gets paths unexpanded, with
    --protect-args) and SFTP (it starts in the home folder) both resolve from home."""
    if path in ("~", "~/"):
        return "."
    return path[2:] if path.startswith("~/") else path


def _remote(node: Node, path: str) -> str:
    host = node.ssh_hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    user = f"{node.ssh_username}@" if node.ssh_username else ""
    return f"{user}{host}:{home_relative(path)}"


@dataclass(frozen=True)
class RsyncOptions:
    """What a transfer does beyond copying: filters, deletion and update rules, the ssh used."""

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    delete: bool = False
    update: bool = False
    ignore_existing: bool = False
    rsync_opts: tuple[str, ...] = ()
    ssh_opts: tuple[str, ...] = ()
    strict_host_keys: bool = True
    ssh_program: str = "ssh"

    @classmethod
    def of(
        cls,
        exclude: str | Iterable[str] = (),
        include: str | Iterable[str] = (),
        rsync_opts: str | Sequence[str] = "",
        ssh_opts: str | Sequence[str] = "",
        **flags: Any,
    ) -> RsyncOptions:
        """From patchwork-style arguments: a string or a list wherever a list is meant."""
        return cls(
            exclude=tuple(as_list(exclude)),
            include=tuple(as_list(include)),
            rsync_opts=tuple(rsync_opts.split() if isinstance(rsync_opts, str) else rsync_opts),
            ssh_opts=tuple(ssh_opts.split() if isinstance(ssh_opts, str) else ssh_opts),
            **flags,
        )

    def flags(self) -> list[str]:
        argv = ["--delete"] if self.delete else []
        argv += ["--update"] if self.update else []
        argv += ["--ignore-existing"] if self.ignore_existing else []
        argv += [f"--include={pattern}" for pattern in self.include]
        argv += [f"--exclude={pattern}" for pattern in self.exclude]
        return argv + list(self.rsync_opts)


def rsync_argv(
    node: Node,
    source: str | Sequence[str],
    target: str,
    options: RsyncOptions = RsyncOptions(),  # noqa: B008 (frozen, so sharing it is safe)
    *,
    download: bool = False,
    home: str | None = None,
    files_from: bool = False,
    remote_shell: Sequence[str] | None = None,
) -> list[str]:
    """The local rsync argument list for an upload (or `download=True`) between here and node."""
    argv = ["rsync", "--archive", "--protect-args", *options.flags()]
    if files_from:
        argv += ["--from0", "--files-from=-"]
    sources = as_list(source)
    if node.local:
        base = home or "."

        def here(path: str) -> str:
            relative = home_relative(path)
            return relative if relative.startswith("/") else f"{base}/{relative}"

        if download:
            return argv + [here(s) for s in sources] + [target]
        return argv + sources + [here(target)]
    if remote_shell is not None:
        # Through the open connection: it names host and user itself.
        argv += ["-e", join(remote_shell)]
        if download:
            return argv + [f"octopus-node:{home_relative(s)}" for s in sources] + [target]
        return argv + sources + [f"octopus-node:{home_relative(target)}"]
    ssh = ssh_argv(node, options.strict_host_keys)
    ssh[0] = options.ssh_program
    argv += ["-e", join(ssh + list(options.ssh_opts))]
    if download:
        return argv + [_remote(node, s) for s in sources] + [target]
    return argv + sources + [_remote(node, target)]


_ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$OCTOPUS_SSH_PASSPHRASE"\n'


@functools.lru_cache(maxsize=1)
def _askpass_helper() -> Path:
    """The helper script, in a folder only this user can read, made once per process."""
    helper = Path(tempfile.mkdtemp(prefix="octopus-askpass-")) / "askpass"
    fd = os.open(helper, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(fd, "w") as fh:
        fh.write(_ASKPASS)
    return helper


def _askpass_env(node: Node) -> dict[str, str] | None:
    """For a key with a passphrase: let ssh ask a helper that reads it from our environment.

    The passphrase travels only in the environment of this one rsync and its ssh, never on a
    command line or in a file.
    """
    if not node.ssh_passphrase:
        return None
    helper = _askpass_helper()
    return {
        **os.environ,
        "SSH_ASKPASS": str(helper),
        "SSH_ASKPASS_REQUIRE": "force",
        "DISPLAY": os.environ.get("DISPLAY", ":0"),
        "OCTOPUS_SSH_PASSPHRASE": node.ssh_passphrase,
    }


def _make_target_parent(c: AnyConnection, target: str, download: bool) -> None:
    """Create the directories above the target: rsync itself makes only the last one."""
    parent = target.rstrip("/") if target.endswith("/") else posixpath.dirname(target)
    if not parent or parent in (".", "~"):
        return
    if download:
        Path(parent).expanduser().mkdir(parents=True, exist_ok=True)
    else:
        c.run(f"mkdir -p -- {quote_path(parent)}", hide=True)


def rsync(
    c: AnyConnection,
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

    patchwork's rsync, with its arguments; see `transfer` for what else happens.
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
    return transfer(
        c,
        source,
        target,
        options,
        download=download,
        timeout=timeout,
        warn=warn,
        hide=hide,
        via_connection=via_connection,
    )


def transfer(
    c: AnyConnection,
    source: str | Sequence[str],
    target: str,
    options: RsyncOptions = RsyncOptions(),  # noqa: B008 (frozen, so sharing it is safe)
    *,
    download: bool = False,
    files: Sequence[str] | None = None,
    timeout: float | None = None,
    warn: bool = False,
    hide: bool = True,
    local_cmd_prefix: str = "",
    via_connection: bool = False,
) -> Result:
    """Run rsync between here and the connection's node, as an argument list, never a shell.

    `files` limits the transfer to those paths (relative to the source folder).
    `via_connection` sends rsync through the connection itself (no second SSH login) instead
    of a new ssh. Like `Connection.local`, a failure raises UnexpectedExit unless `warn=True`.
    """
    node = c.node
    home = str(c.home) if isinstance(c, LocalConnection) else None
    shell = c.relay().remote_shell() if via_connection and isinstance(c, NodeConnection) else None
    argv = rsync_argv(
        node,
        source,
        target,
        options,
        download=download,
        home=home,
        files_from=files is not None,
        remote_shell=shell,
    )
    _make_target_parent(c, target, download)
    if local_cmd_prefix:
        argv = [*shlex.split(local_cmd_prefix), *argv]
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        input="\0".join(files) if files is not None else "",
        env=_askpass_env(node),
    )
    result = Result(
        stdout=completed.stdout,
        stderr=completed.stderr,
        command=join(argv),
        exited=completed.returncode,
        hide=("stdout", "stderr") if hide else (),
    )
    if not hide:
        print(completed.stdout, end="")
    if completed.returncode != 0 and not warn:
        raise UnexpectedExit(result)
    return result
