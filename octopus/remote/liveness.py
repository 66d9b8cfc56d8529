"""How long octopus waits for a node that went silent, and which refusals are worth a retry.

A peer that vanishes (link down, host powered off, a partition) sends nothing, not even a
reset. Left to the kernel's defaults, a connection with unacknowledged data dies only after
about 15 retransmissions (tcp_retries2, some 15 minutes), and an idle one never. So every
socket octopus opens gets:

- TCP_USER_TIMEOUT = keepalive: data (our SSH keepalive included) unacknowledged that long
  fails the socket, whatever the connection was doing;
- TCP keepalive after `keepalive` idle seconds, for the moment before SSH's keepalive;
- and the SSH transport sends a keepalive every `keepalive` quiet seconds.

A silent peer is then detected at most 2 x keepalive after it went quiet (the next keepalive,
then the user timeout), and a connect at most connect_timeout after it began: the bound the
README states. A closed transport closes its channels, so every read waiting on it returns.
"""

from __future__ import annotations

import contextlib
import errno
import random
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import paramiko

T = TypeVar("T")


def tune_socket(sock: socket.socket, keepalive: float) -> None:
    """TCP_NODELAY (a command pays ~40 ms of Nagle and delayed ACK without it) and the dead
    peer bounds described above; options this kernel lacks are left out."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    seconds = max(1, int(keepalive))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", seconds),
        ("TCP_KEEPINTVL", seconds),
        ("TCP_KEEPCNT", 1),
        ("TCP_USER_TIMEOUT", seconds * 1000),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def ack_now(sock: object) -> None:
    """Acknowledge what the socket has received at once, not up to 40 ms later.

    OpenSSH's sshd leaves Nagle on for a session without a terminal. Right after the login it
    sends a debug message (the options of the authorized key) that the client never answers,
    so the kernel holds its acknowledgement back (delayed ACK), and Nagle holds the server's
    next small packet (the answer to the first channel) until that acknowledgement comes: a
    node's first command waited 40 ms for nothing (7 ms against 49 ms here). TCP_QUICKACK
    sends the pending acknowledgement now. A socket that is no TCP socket of this kernel (a
    ProxyJump channel, a ProxyCommand) is left as it is."""
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is None or not isinstance(sock, socket.socket):
        return
    with contextlib.suppress(OSError):  # closed meanwhile, or not TCP after all (UNIX)
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)


def is_transient(exc: BaseException) -> bool:
    """A refusal that says the server is there but busy or restarting: sshd's MaxStartups
    drops a new connection before its banner (reset, or paramiko's "Error reading SSH
    protocol banner"), and a restarting sshd refuses for a moment. A timeout is not one: the
    node did not answer for the whole connect timeout already."""
    if isinstance(exc, (ConnectionRefusedError, ConnectionResetError, EOFError)):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.ECONNRESET):
        return True
    if isinstance(exc, paramiko.SSHException) and not isinstance(
        exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)
    ):
        text = str(exc)
        return "protocol banner" in text or "Connection reset" in text
    return False


# Backoff between tries: doubling from 0.2 s, each pause drawn at random from 0.5 to 1.5 times
# its step (jitter, so 24 clients refused at once do not come back at once).
FIRST_PAUSE = 0.2


def retry_transient(attempt: Callable[[], T], deadline: float) -> T:
    """`attempt()` again after a transient refusal, with jittered backoff, until `deadline`
    (time.monotonic()); then the last refusal is raised."""
    pause = FIRST_PAUSE
    while True:
        try:
            return attempt()
        except Exception as exc:
            wait = pause * random.uniform(0.5, 1.5)
            if not is_transient(exc) or time.monotonic() + wait >= deadline:
                raise
        time.sleep(wait)
        pause *= 2
