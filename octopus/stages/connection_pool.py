"""Connections kept across the stages of one run: one login per node for all of `inv run`.

Every stage opens one connection per node on its own. `inv run` goes through several stages
and polls monitor many times; logging in again each time fills auth.log on shared servers and
can trip fail2ban or sshd's MaxStartups. Inside `keeping_connections()`, every stage's fan-out
borrows the node's connection from the pool instead, and the pool closes them at the end.
A connection found dropped is opened again once; if that fails the node is unreachable.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from octopus.node import Node
from octopus.remote.connection import open_connection
from octopus.remote.connector import Connector
from octopus.stages.interrupt import INTERRUPT


class ConnectionPool:
    """Open connections by node name, shared by the stages of one run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Connector] = {}

    def connect(self, node: Node) -> Connector:
        """The node's open connection: the one kept, or a new one (NodeUnreachable if not)."""
        name = node.name or "?"
        with self._lock:
            kept = self._open.pop(name, None)
        if kept is not None:
            if kept.is_active():
                with self._lock:
                    self._open[name] = kept
                return kept
            INTERRUPT.release(kept)
            with contextlib.suppress(Exception):
                kept.close()
        conn = open_connection(node)
        INTERRUPT.hold(conn)
        with self._lock:
            self._open[name] = conn
        return conn

    def drop(self, node: Node) -> None:
        """Forget (and close) a node's connection, e.g. after it failed mid-stage."""
        with self._lock:
            conn = self._open.pop(node.name or "?", None)
        if conn is not None:
            INTERRUPT.release(conn)
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            held, self._open = list(self._open.values()), {}
        for conn in held:
            INTERRUPT.release(conn)
            with contextlib.suppress(Exception):
                conn.close()


_KEPT = threading.local()


def kept_pool() -> ConnectionPool | None:
    """The pool of the run this thread is in, if any."""
    pool: ConnectionPool | None = getattr(_KEPT, "pool", None)
    return pool


@contextlib.contextmanager
def keeping_connections() -> Iterator[ConnectionPool]:
    """Stages run inside share one connection per node; all are closed at the end."""
    pool = ConnectionPool()
    _KEPT.pool = pool
    try:
        yield pool
    finally:
        _KEPT.pool = None
        pool.close()
