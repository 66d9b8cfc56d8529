"""Host key checking for paramiko clients against known_hosts files, as OpenSSH does it.

Every key a server shows goes through one policy: known and equal -> go on; known and
different -> BadHostKeyException (the key changed); unknown -> refused, or remembered when
the node accepts new keys. The files are parsed once and shared by all connections (a
32-node stage would otherwise parse the same file 32 times); an edited file is read again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko

if TYPE_CHECKING:
    from octopus.node import Node

_cache: dict[str, tuple[tuple[int, int], paramiko.HostKeys]] = {}
_lock = threading.Lock()


def known_hosts_files(node: Node, ssh_config: dict[str, Any] | None = None) -> list[str]:
    """Where this node's host keys are looked up: ssh_hostkeys, else ssh_config's, else ~/.ssh."""
    if node.ssh_hostkeys:
        return [node.ssh_hostkeys]
    configured = (ssh_config or {}).get("userknownhostsfile")
    if configured:
        return [os.path.expanduser(p) for p in str(configured).split()]
    return [os.path.expanduser("~/.ssh/known_hosts")]


class HostKeyError(paramiko.SSHException):
    """The node's host key is unknown (and accepting new keys was not asked for)."""

    def __init__(
        self,
        hostname: str,
        key: paramiko.PKey,
        known_hosts: list[str],
        detail: str = "is not in known_hosts",
    ) -> None:
        self.hostname = hostname
        self.key = key
        self.known_hosts = known_hosts
        super().__init__(f"host key for {hostname} {detail}")


def known_host_keys(path: str) -> paramiko.HostKeys:
    """The parsed file, from the cache while the file is unchanged (empty when missing)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return paramiko.HostKeys()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, paramiko.HostKeys(path))
            _cache[path] = cached
        return cached[1]


class CheckKnownHosts(paramiko.MissingHostKeyPolicy):
    """Decides on every server key (the client itself holds no known keys)."""

    def __init__(self, files: list[str], accept_new: bool = False) -> None:
        self.files = files
        self.accept_new = accept_new

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        other_types = False
        for path in self.files:
            known = known_host_keys(path).lookup(hostname)
            if not known:
                continue
            expected = known.get(key.get_name())
            if expected is None:
                other_types = True
                continue
            if expected == key:
                return
            raise paramiko.BadHostKeyException(hostname, key, expected)
        if other_types:
            raise HostKeyError(
                hostname,
                key,
                self.files,
                f"has a {key.get_name()} key that known_hosts does not list "
                "(it lists other key types)",
            )
        if not self.accept_new:
            raise HostKeyError(hostname, key, self.files)
        remember(self.files[0], hostname, key)


def remember(path: str, hostname: str, key: paramiko.PKey) -> None:
    """OpenSSH's accept-new: append one line (parallel connections keep each other's)."""
    target = Path(path)
    with _lock:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
