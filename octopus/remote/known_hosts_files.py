"""Which known_hosts files a node's host key is looked up in, as ssh picks them.

The node's `ssh_hostkeys` (one path or a list) is the whole set when given. Otherwise the
ssh_config that reaches the node decides: UserKnownHostsFile (default `~/.ssh/known_hosts
~/.ssh/known_hosts2`) and GlobalKnownHostsFile (default `/etc/ssh/ssh_known_hosts
/etc/ssh/ssh_known_hosts2`), each a list of files or `none`. The same set goes to the ssh
that rsync runs, so both ways of reaching a node trust the same keys.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octopus.node import Node

DEFAULT_USER_FILES = "~/.ssh/known_hosts ~/.ssh/known_hosts2"
DEFAULT_GLOBAL_FILES = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"


@dataclass(frozen=True)
class KnownHostsFiles:
    """The user's files (new keys are added to the first) and the system-wide ones."""

    user: tuple[str, ...]
    system: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.user + self.system

    @property
    def append_to(self) -> str | None:
        """Where accept-new writes: the first user file, as ssh does."""
        return self.user[0] if self.user else None

    def __str__(self) -> str:
        return " ".join(self.all) if self.all else "no known_hosts file"


def hostkeys_paths(value: str | list[str] | None) -> list[str]:
    """A path option (ssh_hostkeys takes one path or a list) as a list of paths."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def split_files(value: str) -> list[str]:
    """A UserKnownHostsFile/GlobalKnownHostsFile value: files split on blanks, quotes kept."""
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def expand_file(path: str, config: Mapping[str, Any]) -> str:
    """ssh's expansion of a known_hosts path: `~`, `${VAR}` and the %-tokens it allows."""
    host = str(config.get("hostname", ""))
    tokens = {
        "%": "%",
        "d": os.path.expanduser("~"),
        "u": getpass.getuser(),
        "h": host,
        "n": host,
        "p": str(config.get("port", 22)),
        "r": str(config.get("user", getpass.getuser())),
    }
    path = re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), path)
    path = re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), m.group(0)), path)
    return os.path.expanduser(path)


def _configured(config: Mapping[str, Any], key: str, default: str) -> tuple[str, ...]:
    value = config.get(key)
    raw = default if value is None else " ".join(value) if isinstance(value, list) else value
    files = split_files(str(raw))
    if [f.lower() for f in files] == ["none"]:
        return ()
    return tuple(expand_file(f, config) for f in files)


def known_hosts_files(node: Node, ssh_config: Mapping[str, Any] | None = None) -> KnownHostsFiles:
    """Where this node's host keys are looked up: ssh_hostkeys, else ssh_config's files."""
    explicit = hostkeys_paths(node.ssh_hostkeys)
    if explicit:
        return KnownHostsFiles(tuple(explicit))
    config = ssh_config or {}
    return KnownHostsFiles(
        _configured(config, "userknownhostsfile", DEFAULT_USER_FILES),
        _configured(config, "globalknownhostsfile", DEFAULT_GLOBAL_FILES),
    )


def node_ssh_config(node: Node) -> dict[str, Any]:
    """The ssh_config settings for the node's host, read as its Fabric connection reads them."""
    # Loaded when an ssh_config is read: node.py imports this module for hostkeys_paths, and
    # a Node must not pull in Fabric (the task list loads without the SSH stack).
    from octopus.remote.fabric_config import FabricConfig

    config = FabricConfig(runtime_ssh_path=node.ssh_config or None)
    return dict(config.base_ssh_config.lookup(node.ssh_hostname or ""))
