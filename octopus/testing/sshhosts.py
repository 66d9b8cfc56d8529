"""Independent SSH test hosts on this machine, each with its own network namespace.

One host = a network namespace with a veth on a private bridge, and an sshd that is PID 1 of
its own PID, UTS and mount namespaces: its own hostname, process list, /home, /tmp and
/run/screen. Killing that sshd takes every process of the host with it, which is how a node
crash looks; with `init=True` a small shell is PID 1 instead, so sshd can die alone. The
design and the traps it avoids are in docs/ssh.md.

This module is the public face of the harness; the parts live beside it:
`cluster` (TestCluster: N hosts and the client's known_hosts/ssh_config), `host` (TestHost),
`sshd` (one host's sshd and folders), `network` (subnet, bridge, namespaces), `machine`
(root, tools, login user), `process` (checked runs, keys, a host's PID 1), `errors`.

Only processes started here are stopped, by the PID recorded at start.
"""

from __future__ import annotations

from octopus.testing.cluster import TestCluster, test_cluster
from octopus.testing.errors import HarnessError
from octopus.testing.host import TestHost
from octopus.testing.machine import STATE_PARENT, TEST_USER, ensure_user, require_root
from octopus.testing.network import LOCK_FILE, SUBNET_CHOICES
from octopus.testing.process import inner_pid as _inner_pid

__all__ = [
    "LOCK_FILE",
    "STATE_PARENT",
    "SUBNET_CHOICES",
    "TEST_USER",
    "HarnessError",
    "TestCluster",
    "TestHost",
    "_inner_pid",
    "ensure_user",
    "require_root",
    "test_cluster",
]
