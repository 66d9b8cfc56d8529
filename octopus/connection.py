"""A connection per Node: Fabric over SSH with strict host keys, or a local stand-in.

Both kinds offer `run`, `put`, `get`, `open`, `close` and `node`, so steps never know which
one they hold. Facts behind the choices here were measured on our machines
(shared/notes/ssh-here.md): Fabric 3.2 loads no known_hosts and accepts any key, a command on
a fresh paramiko socket pays ~40 ms of Nagle + delayed ACK, sshd allows 10 channels per
connection.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import shlex
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, cast

import paramiko
from fabric import Config, Connection
from invoke import Context
from invoke.runners import Result
from paramiko.common import OPEN_FAILED_CONNECT_FAILED

from octopus.errors import OctopusError
from octopus.hostkeys import CheckKnownHosts, HostKeyError
from octopus.node import Node
from octopus.rsh_relay import ChannelRelay

# sshd's default MaxSessions: the 11th concurrent channel on one connection is refused with
# ChannelException(2, 'Connect failed').
MAX_CHANNELS_PER_CONNECTION = 10

# Waits before retrying a channel the server refused to open (about 1.5 s in all).
CHANNEL_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


def known_hosts_files(node: Node, ssh_config: dict[str, Any] | None = None) -> list[str]:
    """Where this node's host keys are looked up: ssh_hostkeys, else ssh_config's, else ~/.ssh."""
    if node.ssh_hostkeys:
        return [node.ssh_hostkeys]
    configured = (ssh_config or {}).get("userknownhostsfile")
    if configured:
        return [os.path.expanduser(p) for p in str(configured).split()]
    return [os.path.expanduser("~/.ssh/known_hosts")]


class NodeConnection(Connection):
    """A Fabric Connection with strict host keys, TCP_NODELAY, keepalive and a channel cap."""

    def __init__(self, node: Node) -> None:
        overrides = {"run": {"in_stream": False}}
        config = (
            Config(runtime_ssh_path=node.ssh_config, overrides=overrides)
            if node.ssh_config
            else Config(overrides=overrides)
        )
        connect_kwargs: dict[str, Any] = {}
        if node.ssh_private_key:
            connect_kwargs["key_filename"] = [node.ssh_private_key]
        if node.ssh_passphrase:
            connect_kwargs["passphrase"] = node.ssh_passphrase
        super().__init__(
            host=node.ssh_hostname or "",
            user=node.ssh_username,
            port=node.ssh_port,
            config=config,
            connect_timeout=node.connect_timeout,
            connect_kwargs=connect_kwargs,
        )
        self.node = node
        self.known_hosts = known_hosts_files(node, dict(self.ssh_config))
        self._check_host_keys(self.client)
        # Fabric builds ProxyJump hops as plain Connections, which accept any key: make each
        # hop as strict as the node itself.
        hop = self.gateway
        while isinstance(hop, Connection):
            self._check_host_keys(hop.client)
            hop = hop.gateway
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS_PER_CONNECTION)
        self._relay: ChannelRelay | None = None

    def _check_host_keys(self, client: paramiko.SSHClient) -> None:
        client.set_missing_host_key_policy(
            CheckKnownHosts(self.known_hosts, accept_new=self.node.accept_new_hostkeys)
        )

    def open(self) -> Any:
        if self.is_connected:
            return None
        if not self.gateway and "sock" not in self.connect_kwargs:
            # Our own socket, so TCP_NODELAY is set before the key exchange too.
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connect_kwargs["sock"] = sock
            try:
                result = super().open()
            except BaseException:
                sock.close()
                raise
            finally:
                del self.connect_kwargs["sock"]
        else:
            result = super().open()
        if self.transport is not None:
            self.transport.set_keepalive(self.node.keepalive)
        return result

    def relay(self) -> ChannelRelay:
        """A remote shell for rsync through this connection (made on first use)."""
        if self._relay is None:
            self.open()
            assert self.transport is not None
            self._relay = ChannelRelay(self.transport, self._channels)
        return self._relay

    def close(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        super().close()

    def run(self, command: str, **kwargs: Any) -> Result:
        return self._on_channel(super().run, command, **kwargs)

    def sudo(self, command: str, **kwargs: Any) -> Result:
        return self._on_channel(super().sudo, command, **kwargs)

    def _on_channel(self, call: Any, command: str, **kwargs: Any) -> Result:
        """Run on a new channel, at most 10 at once, retrying a refused open.

        sshd frees a session only once both sides have closed its channel, a moment after our
        command returned, so the server can still count a channel we already let go. A refused
        open ran nothing, so retrying it is safe.
        """
        for delay in CHANNEL_RETRY_DELAYS:
            with self._channels:
                try:
                    return cast(Result, call(command, **kwargs))
                except paramiko.ChannelException as exc:
                    if exc.code != OPEN_FAILED_CONNECT_FAILED:
                        raise
            time.sleep(delay)
        with self._channels:
            return cast(Result, call(command, **kwargs))


def _finished(result: Result | None) -> Result:
    """Invoke returns None only for `disown=True`, which octopus never passes."""
    if result is None:
        raise RuntimeError("command was disowned; no result")
    return result


class LocalConnection:
    """The stand-in for a `local: true` node: runs on this machine, from the node's home.

    Relative paths mean the same as on a remote node (relative to the home directory), so an
    experiment moves between `local` and real nodes unchanged.
    """

    host = "localhost"
    is_connected = True

    def __init__(self, node: Node, home: str | os.PathLike[str] | None = None) -> None:
        self.node = node
        self.home = Path(home) if home is not None else Path.home()
        self.user = getpass.getuser()
        self.original_host = "localhost"
        self._context = Context(Config(overrides={"run": {"in_stream": False}}))

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

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

    def local(self, command: str, **kwargs: Any) -> Result:
        return _finished(self._context.run(command, **kwargs))

    def put(
        self, local: str | os.PathLike[str], remote: str | None = None, preserve_mode: bool = True
    ) -> Path:
        source = Path(local)
        target = self._path(remote) if remote else self.home / source.name
        if str(remote or "").endswith("/") or target.is_dir():
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copy2 if preserve_mode else shutil.copyfile)(source, target)
        return target

    def get(
        self, remote: str, local: str | os.PathLike[str] | None = None, preserve_mode: bool = True
    ) -> Path:
        source = self._path(remote)
        target = Path(local) if local else Path.cwd() / source.name
        if str(local or "").endswith("/") or target.is_dir():
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copy2 if preserve_mode else shutil.copyfile)(source, target)
        return target


AnyConnection = NodeConnection | LocalConnection


def connection_for(node: Node) -> AnyConnection:
    """A connection object for the node; SSH connections open on first use, as Fabric's do."""
    return LocalConnection(node) if node.local else NodeConnection(node)


class NodeUnreachable(OctopusError):
    """A node could not be connected to; the message says why and how to fix it, in one line."""

    def __init__(self, node: Node, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(f"{node.name}: {reason}")


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _address(conn: NodeConnection) -> str:
    return f"{conn.host}:{conn.port}"


def explain_connect_error(conn: NodeConnection, exc: BaseException) -> str:
    """One line on why connecting failed and what to do about it; never includes a secret."""
    node = conn.node
    where = _address(conn)
    if isinstance(exc, HostKeyError):
        port = f"-p {conn.port} " if conn.port != 22 else ""
        return (
            f"host key of {exc.hostname} is unknown ({fingerprint(exc.key)}); nothing was run. "
            f"If it is right, add it with `ssh-keyscan {port}{conn.host} >> {exc.known_hosts[0]}`"
            " or set accept_new_hostkeys: true for this node"
        )
    if isinstance(exc, paramiko.BadHostKeyException):
        files = " ".join(conn.known_hosts)
        return (
            f"host key of {exc.hostname} has CHANGED (server sent {fingerprint(exc.key)}, "
            f"{files} has {fingerprint(exc.expected_key)}); nothing was run. If the machine was "
            "reinstalled, remove the old key with "
            f"`ssh-keygen -R {exc.hostname} -f {conn.known_hosts[0]}`"
        )
    if isinstance(exc, paramiko.PasswordRequiredException):
        return (
            f"private key {node.ssh_private_key} is encrypted: give its passphrase "
            "(ssh_passphrase) or load it into ssh-agent"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        key = node.ssh_private_key or "the default keys"
        return (
            f"{where} refused login as {conn.user} with {key}; "
            "check ssh_username and ssh_private_key"
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer from {where} within {node.connect_timeout:g}s (connect_timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection: is sshd running and is ssh_port right?"
    if isinstance(exc, socket.gaierror):
        return f"unknown host name '{conn.host}': check ssh_hostname"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    if isinstance(exc, paramiko.SSHException):
        return f"SSH with {where} failed: {exc}"
    return f"connecting to {where} failed: {type(exc).__name__}: {exc}"


def open_connection(node: Node) -> AnyConnection:
    """An open connection to the node, or NodeUnreachable with a message that says what to fix."""
    conn = connection_for(node)
    if isinstance(conn, LocalConnection):
        return conn
    try:
        conn.open()
    except Exception as exc:  # every way of not connecting becomes one clear line
        conn.close()
        raise NodeUnreachable(node, explain_connect_error(conn, exc)) from exc
    return conn
