"""One place decides how a node is reached: an SSH connection, or the local stand-in.

`open_connection` turns every way of not connecting into NodeUnreachable with one line that
says what to fix; it never includes a secret.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
from shlex import quote
from typing import TYPE_CHECKING

import paramiko

from octopus.errors import OctopusError
from octopus.remote.hostkeys import HostKeyChanged, HostKeyError, HostKeyRevoked
from octopus.remote.known_hosts import split_lookup_name
from octopus.remote.local import LocalConnection
from octopus.remote.ssh import NodeConnection

if TYPE_CHECKING:
    from octopus.node import Node

AnyConnection = NodeConnection | LocalConnection

# paramiko logs a node that went away ("Socket exception: Bad file descriptor (9)") and,
# with no handler of the program's own, Python prints that on stderr between octopus' lines.
# What happened to a node is octopus' to say (in its table, in one line): paramiko's records
# go nowhere unless the program configures logging itself.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class NodeUnreachable(OctopusError):
    """A node could not be connected to; the message says why and how to fix it, in one line."""

    def __init__(self, node: Node, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(f"{node.name}: {reason}")


def connection_for(node: Node) -> AnyConnection:
    """A connection object for the node; SSH connections open on first use, as Fabric's do."""
    return LocalConnection(node) if node.local else NodeConnection(node)


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


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def explain_connect_error(conn: NodeConnection, exc: BaseException) -> str:
    """One line on why connecting failed and what to do about it; never includes a secret."""
    node = conn.node
    where = f"{conn.host}:{conn.port}"
    if isinstance(exc, HostKeyRevoked):
        return (
            f"host key of {exc.hostname} is REVOKED ({fingerprint(exc.key)}, @revoked in "
            f"{exc.where}); nothing was run. Ask the node's administrators for its current key"
        )
    if isinstance(exc, HostKeyError):
        # The host that showed the key: the node, or a ProxyJump hop on the way to it.
        host, port = split_lookup_name(exc.hostname)
        port_option = f"-p {port} " if port != 22 else ""
        target = quote(exc.known_hosts.append_to or "~/.ssh/known_hosts")
        return (
            f"host key of {exc.hostname} is unknown ({fingerprint(exc.key)})"
            + (f": {exc.note}" if exc.note else "")
            + f"; searched {exc.known_hosts}; nothing was run. If it is right, add it with "
            f"`ssh-keyscan {port_option}{host} >> {target}` "
            "or set accept_new_hostkeys: true for this node"
        )
    if isinstance(exc, HostKeyChanged):
        return (
            f"host key of {exc.hostname} has CHANGED (server sent {fingerprint(exc.key)}, "
            f"{exc.where} has {fingerprint(exc.expected_key)}); nothing was run. If the machine "
            "was reinstalled, remove the old key with "
            f"`ssh-keygen -R {exc.hostname} -f {quote(exc.path)}`"
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
