"""The test hosts' private network: a free 10.77.X.0/24, a bridge, one namespace + veth per host.

Nothing is sent to a host address before it is checked to route into our own bridge, and a
subnet routed anywhere else is never used (docs/ssh.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from octopus.testing.errors import HarnessError
from octopus.testing.host import TestHost
from octopus.testing.process import run

# Third octets tried for the test subnet 10.77.X.0/24; the first one routed nowhere is used.
SUBNET_CHOICES = range(10, 250)
LOCK_FILE = "/run/octopus-testhosts.lock"


def link_names() -> set[str]:
    """The names of every network interface in this machine's namespace."""
    return {link["ifname"] for link in json.loads(run(["ip", "-j", "link"]) or "[]")}


def routed_networks() -> list[ipaddress.IPv4Network]:
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]")
    nets = []
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("default", "") or ":" in dst:
            continue
        with contextlib.suppress(ValueError):
            nets.append(ipaddress.ip_network(dst, strict=False))
    return [n for n in nets if isinstance(n, ipaddress.IPv4Network)]


def free_subnet() -> int:
    """The third octet X of a 10.77.X.0/24 that no route and no interface of ours uses."""
    routed = routed_networks()
    links = link_names()
    for octet in SUBNET_CHOICES:
        net = ipaddress.ip_network(f"10.77.{octet}.0/24")
        taken = any(link.startswith(f"oct{octet}") for link in links)
        if not taken and not any(net.overlaps(r) for r in routed):
            return octet
    raise HarnessError("no free 10.77.X.0/24 subnet for test hosts")


@contextlib.contextmanager
def subnet_lock() -> Iterator[None]:
    """Held while a subnet is chosen and built, so two harnesses never take the same one."""
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def make_network(bridge: str, base: str, hosts: Sequence[TestHost]) -> None:
    """The bridge at `base`.1 and, per host, its namespace with eth0 at its address."""
    batch = [
        f"link add {bridge} type bridge",
        f"addr add {base}.1/24 dev {bridge}",
        f"link set {bridge} up",
    ]
    for host in hosts:
        batch += [
            f"netns add {host.netns}",
            f"link add {host.netns} type veth peer name eth0 netns {host.netns}",
            f"link set {host.netns} master {bridge} up",
        ]
    run(["ip", "-batch", "-"], input="\n".join(batch) + "\n")
    for host in hosts:
        run(
            ["ip", "-n", host.netns, "-batch", "-"],
            input=f"addr add {host.address}/24 dev eth0\nlink set eth0 up\nlink set lo up\n",
        )
    # Check that every host address routes into our bridge before sending a packet there.
    for host in hosts:
        route = run(["ip", "-j", "route", "get", host.address])
        dev = json.loads(route)[0].get("dev")
        if dev != bridge:
            raise HarnessError(f"{host.address} routes via {dev}, not {bridge}")


def remove_network(bridge: str | None, hosts: Sequence[TestHost]) -> None:
    """Delete what make_network made; `bridge` is None when no subnet was ever chosen."""
    batch = []
    if bridge is not None:
        # Deleting the root end of each veth removes both ends now; a namespace's own
        # cleanup is asynchronous and would leave the names taken for a moment.
        links = link_names()
        batch += [f"link del {h.netns}" for h in hosts if h.netns in links]
        if bridge in links:
            batch.append(f"link del {bridge}")
    batch += [f"netns del {h.netns}" for h in hosts if Path(f"/run/netns/{h.netns}").exists()]
    if batch:
        subprocess.run(
            ["ip", "-force", "-batch", "-"],
            input="\n".join(batch) + "\n",
            capture_output=True,
            text=True,
        )
