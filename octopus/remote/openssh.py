"""The OpenSSH client as octopus runs it: the argument list that reaches a node with the same
rules as its Fabric connection, and the hand-off of a key's passphrase."""

from __future__ import annotations

import functools
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from octopus.remote.known_hosts_files import known_hosts_files, node_ssh_config

if TYPE_CHECKING:
    from octopus.node import Node


def _ssh_config_quote(value: str) -> str:
    """A value for `ssh -o`, whose parser splits on blanks and reads quotes like ssh_config."""
    if not any(ch in value for ch in " \t\"'\\"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def known_hosts_options(node: Node) -> list[str]:
    """`-o` options that give ssh exactly the known_hosts files octopus checks keys against.

    Set even when they repeat ssh_config, so that both read the files alike (lists, `~`,
    quoting); a list left empty becomes /dev/null, which ssh reads as an empty file.
    """
    config = {} if node.ssh_hostkeys else node_ssh_config(node)
    files = known_hosts_files(node, config)
    options = []
    for name, paths in (("UserKnownHostsFile", files.user), ("GlobalKnownHostsFile", files.system)):
        value = " ".join(_ssh_config_quote(p) for p in paths) if paths else os.devnull
        options += ["-o", f"{name}={value}"]
    return options


def ssh_argv(node: Node, strict_host_keys: bool = True) -> list[str]:
    """The OpenSSH command line that reaches `node` with the same rules as its Fabric connection."""
    # BatchMode also turns off SSH_ASKPASS, the one way to hand ssh a key's passphrase.
    argv = ["ssh"] if node.ssh_passphrase else ["ssh", "-o", "BatchMode=yes"]
    if node.ssh_config:
        argv += ["-F", node.ssh_config]
    if node.ssh_port:
        argv += ["-p", str(node.ssh_port)]
    key = node.rsync_private_key or node.ssh_private_key
    if key:
        argv += ["-i", key, "-o", "IdentitiesOnly=yes"]
    argv += known_hosts_options(node)
    checking = "accept-new" if node.accept_new_hostkeys else "yes"
    argv += [
        "-o",
        f"StrictHostKeyChecking={checking if strict_host_keys else 'no'}",
        "-o",
        f"ConnectTimeout={math.ceil(node.connect_timeout)}",
        "-o",
        f"ServerAliveInterval={node.keepalive}",
        "-o",
        "ServerAliveCountMax=2",  # a silent node: given up after 2 x keepalive, as octopus' own
    ]
    return argv


_ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$OCTOPUS_SSH_PASSPHRASE"\n'


@functools.lru_cache(maxsize=1)
def _askpass_helper() -> Path:
    """The helper script, in a folder only this user can read, made once per process."""
    helper = Path(tempfile.mkdtemp(prefix="octopus-askpass-")) / "askpass"
    fd = os.open(helper, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(fd, "w") as fh:
        fh.write(_ASKPASS)
    return helper


def askpass_env(node: Node) -> dict[str, str] | None:
    """For a key with a passphrase: let ssh ask a helper that reads it from our environment.

    The passphrase travels only in the environment of this one process and its ssh, never on
    a command line or in a file.
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
