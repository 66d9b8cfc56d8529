"""A node reached over SSH: Fabric with strict host keys, dead-peer bounds, a channel cap.

Facts behind the choices here were measured on our test machines (see docs/ssh.md): Fabric
3.2 loads no known_hosts and accepts any key, a command on a fresh paramiko socket pays
~40 ms of Nagle + delayed ACK, and sshd allows 10 channels per connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import paramiko
from fabric import Connection
from invoke.runners import Result
from paramiko.common import OPEN_FAILED_CONNECT_FAILED

from octopus.remote.fabric_config import FabricConfig
from octopus.remote.held import Held, hold_on_channel
from octopus.remote.hostkeys import CheckKnownHosts
from octopus.remote.key_files import private_key, with_first_key
from octopus.remote.known_hosts_files import known_hosts_files
from octopus.remote.liveness import retry_transient, tune_socket
from octopus.remote.quick import Feed, QuickResult, run_on_channel
from octopus.remote.rsh_relay import ChannelRelay
from octopus.remote.rsync import Transfer, run_transfer
from octopus.remote.runners import StreamingRemote
from octopus.remote.shell import ends_with_channel

if TYPE_CHECKING:
    from octopus.node import Node

# paramiko's transport threads log what ends them (a banner never read, a connection closed
# under them by Ctrl-C) as errors with tracebacks; with no handler, Python prints those on
# stderr. octopus reports every connection's fate itself, in one line: keep them quiet.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

# sshd's default MaxSessions: the 11th concurrent channel on one connection is refused with
# ChannelException(2, 'Connect failed').
MAX_CHANNELS_PER_CONNECTION = 10

# Waits before retrying a channel the server refused to open (about 6 s in all: on a busy
# machine sshd takes a while to free the sessions of channels that just closed).
CHANNEL_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)

T = TypeVar("T")


def _on_class(kind: type, name: str) -> bool:
    """Whether `dir()` of an instance of `kind` lists `name` for its class (as it lists the
    names in the dict of the class and of each class it derives from)."""
    return any(name in vars(klass) for klass in kind.__mro__)


class NodeConnection(Connection):  # type: ignore[misc]  # fabric ships no type hints
    """A Fabric Connection with strict host keys, TCP_NODELAY, keepalive and a channel cap."""

    # A Connection is an Invoke DataProxy: it stores an attribute its class does not have as
    # a config key, merging the whole config again each time (3 ms a connection, paid by
    # every node at every look). These are plain attributes.
    _PLAIN = frozenset({"node", "known_hosts", "_channels", "_relay"})
    connect_kwargs: dict[str, Any]  # (Fabric's own attribute, typed)

    def __setattr__(self, name: str, value: Any) -> None:
        # What DataProxy decides with `name in dir(self)`, a list of some 150 names made
        # anew for each of the 17 attributes Fabric sets when it makes a connection.
        if name in self._PLAIN or name in self.__dict__ or _on_class(type(self), name):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def __init__(self, node: Node) -> None:
        overrides = {"run": {"in_stream": False}, "runners": {"remote": StreamingRemote}}
        config = FabricConfig(runtime_ssh_path=node.ssh_config or None, overrides=overrides)
        connect_kwargs: dict[str, Any] = {}
        if node.ssh_private_key:
            key = private_key(node.ssh_private_key, node.ssh_passphrase)
            if key is not None:
                connect_kwargs["pkey"] = key
            else:  # paramiko loads it, and says what is wrong with it
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
        self._check_host_keys(self)
        # Fabric's authentication strategy, when set, leaves keys to the strategy. A node's own
        # key is loaded above, or left to paramiko to say what is wrong with it.
        if self.authentication.strategy_class is None and not node.ssh_private_key:
            self.connect_kwargs = with_first_key(self.connect_kwargs)
        # Fabric builds ProxyJump hops as plain Connections, which accept any key: make each
        # hop as strict as the node itself.
        hop = self.gateway
        while isinstance(hop, Connection):
            self._check_host_keys(hop)
            if hop.authentication.strategy_class is None:
                hop.connect_kwargs = with_first_key(hop.connect_kwargs)
            hop = hop.gateway
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS_PER_CONNECTION)
        self._relay: ChannelRelay | None = None

    def _check_host_keys(self, conn: Connection) -> None:
        """Judge the server's key by known_hosts, and ask first for the key types it lists."""
        policy = CheckKnownHosts(self.known_hosts, accept_new=self.node.accept_new_hostkeys)
        conn.client.set_missing_host_key_policy(policy)
        conn.connect_kwargs["transport_factory"] = policy.transport_factory(conn.host, conn.port)

    def open(self) -> Any:
        """Connect, retrying transient refusals within connect_timeout (liveness.py)."""
        if self.is_connected:
            return None
        deadline = time.monotonic() + self.connect_timeout
        return retry_transient(lambda: self._open_once(deadline), deadline)

    def _open_once(self, deadline: float) -> Any:
        remaining = max(0.1, deadline - time.monotonic())
        # The banner and the authentication answer within the connect timeout as well: a
        # server that accepts TCP and then says nothing is as dead as one that does not answer.
        self.connect_kwargs["banner_timeout"] = remaining
        self.connect_kwargs["auth_timeout"] = remaining
        try:
            if not self.gateway and "sock" not in self.connect_kwargs:
                # Our own socket, tuned before the key exchange (liveness.tune_socket).
                sock = socket.create_connection((self.host, self.port), timeout=remaining)
                tune_socket(sock, self.node.keepalive)
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
        except BaseException:
            self.client.close()  # a half-open transport must not look connected
            raise
        if self.transport is not None:
            self.transport.set_keepalive(max(1, int(self.node.keepalive)))
        return result

    def is_active(self) -> bool:
        return self.transport is None or bool(self.transport.is_active())

    def relay(self) -> ChannelRelay:
        """A remote shell for rsync through this connection (made on first use)."""
        if self._relay is None:
            self.open()
            assert self.transport is not None
            self._relay = ChannelRelay(self.transport, self._channels)
        return self._relay

    def rsync(self, job: Transfer) -> Result:
        """rsync with this node: through this connection's relay, or a new strict ssh."""
        return run_transfer(
            self, job, remote_shell=self.relay().remote_shell() if job.via_connection else None
        )

    def close(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        super().close()

    def run(self, command: str, **kwargs: Any) -> Result:
        """Run a command that ends, with all it started, when its channel closes early."""
        return cast(Result, self._on_channel(super().run, ends_with_channel(command), **kwargs))

    def sudo(self, command: str, **kwargs: Any) -> Result:
        return cast(Result, self._on_channel(super().sudo, command, **kwargs))

    def quick(
        self, command: str, *, timeout: float | None = None, feed: Feed | None = None
    ) -> QuickResult:
        """Run one of octopus' own commands on a bare channel (remote/quick.py), output kept
        whole, never shown. Without `feed` it ends, with all it started, when its channel
        closes early; with `feed` its stdin is what `feed` sends."""
        self.open()  # as Fabric's run does: a dropped connection is opened again
        wrapped = command if feed is not None else ends_with_channel(command, own=True)
        return self._on_channel(self._quick_once, wrapped, timeout=timeout, feed=feed)

    def hold(
        self, command: str, data: bytes, *, timeout: float | None = None
    ) -> QuickResult | Held:
        """Run `command` (ending in held.wait_for_word) with `data` on its stdin; held on its
        channel once it is ready for its word (remote/held.py), else its result."""
        self.open()
        return self._on_channel(self._hold_once, command, data=data, timeout=timeout)

    def _hold_once(self, command: str, data: bytes, timeout: float | None) -> QuickResult | Held:
        assert self.transport is not None
        chan = self.transport.open_session(timeout=timeout)
        return hold_on_channel(chan, command, data, timeout)

    def _quick_once(self, command: str, timeout: float | None, feed: Feed | None) -> QuickResult:
        assert self.transport is not None
        chan = self.transport.open_session(timeout=timeout)
        return run_on_channel(chan, command, timeout, feed)

    def _on_channel(self, call: Callable[..., T], command: str, **kwargs: Any) -> T:
        """Run on a new channel, at most 10 at once, retrying a refused open.

        sshd frees a session only once both sides have closed its channel, a moment after our
        command returned, so the server can still count a channel we already let go. A refused
        open ran nothing, so retrying it is safe.
        """
        for delay in CHANNEL_RETRY_DELAYS:
            with self._channels:
                try:
                    return call(command, **kwargs)
                except paramiko.SSHException as exc:
                    transport = self.transport
                    if not refused_open(exc, transport is not None and transport.is_active()):
                        raise
            time.sleep(delay)
        with self._channels:
            return call(command, **kwargs)


def refused_open(exc: paramiko.SSHException, connection_up: bool) -> bool:
    """Whether `exc` says the server refused to open a channel, so that nothing ran.

    paramiko keeps one refusal per connection for the opener to pick up: when two opens are
    refused at once, one thread takes the other's ChannelException and the other is left with
    a bare "Unable to open channel." while the connection is still up.
    """
    if isinstance(exc, paramiko.ChannelException):
        return exc.code == OPEN_FAILED_CONNECT_FAILED
    return connection_up and exc.args == ("Unable to open channel.",)
