"""N test hosts started together, and the client-side files that reach them.

The cluster picks a free subnet, makes the hosts' network, their folders and keys, starts
their sshd, and writes the client key, a known_hosts file and an ssh_config (aliases h1..hN).
Only processes it started are stopped, by the PID recorded at start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from octopus.testing.errors import HarnessError
from octopus.testing.host import TestHost
from octopus.testing.machine import (
    STATE_PARENT,
    TEST_USER,
    ensure_user,
    make_run_dirs,
    require_root,
)
from octopus.testing.network import free_subnet, make_network, remove_network, subnet_lock
from octopus.testing.process import keygen, run
from octopus.testing.sshd import authorize, make_host_dirs, sshd_config, start_sshd, wait_ready


@dataclass
class TestCluster:
    """N test hosts plus the client-side files that reach them (key, known_hosts, ssh_config)."""

    __test__ = False  # not a pytest test class

    count: int
    user: str = TEST_USER
    sshd_options: dict[str, str] = field(default_factory=dict)
    session_env: dict[str, str] = field(default_factory=dict)
    port: int = 22
    host_certificates: bool = False
    # PID 1 of each host is a small init with sshd as its child (TestHost.stop_sshd).
    init: bool = False
    hosts: list[TestHost] = field(default_factory=list)
    state: Path | None = None
    octet: int | None = None
    started_in: float = 0.0

    @property
    def bridge(self) -> str:
        return f"oct{self.octet}br"

    @property
    def client_key(self) -> Path:
        assert self.state is not None
        return self.state / "client" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        assert self.state is not None
        return self.state / "client" / "known_hosts"

    @property
    def host_ca(self) -> Path:
        """The CA key that signs the hosts' certificates (with host_certificates=True)."""
        return self._state() / "client" / "host_ca"

    @property
    def ssh_config(self) -> Path:
        assert self.state is not None
        return self.state / "client" / "ssh_config"

    @property
    def wheelhouse(self) -> Path:
        """Wheels the hosts install from: they have no route to a package index."""
        return self._state() / "wheelhouse"

    @property
    def bridge_address(self) -> str:
        """This machine as the hosts see it (for servers a test starts for them)."""
        return f"10.77.{self.octet}.1"

    @property
    def unreachable_address(self) -> str:
        """An address inside the test subnet where no host answers (connects time out)."""
        return f"10.77.{self.octet}.250"

    def __enter__(self) -> TestCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        require_root()
        account = ensure_user(self.user)
        self.state = Path(tempfile.mkdtemp(prefix="octopus-testhosts-", dir=STATE_PARENT))
        os.chmod(self.state, 0o755)
        make_run_dirs()
        try:
            with subnet_lock():
                self.octet = free_subnet()
                self._make_network()
            self._make_files(account)
            for host in self.hosts:
                start_sshd(host)
            wait_ready(self.hosts)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def _make_network(self) -> None:
        base = f"10.77.{self.octet}"
        self.hosts = [
            TestHost(
                name=f"h{i}",
                index=i,
                address=f"{base}.{10 + i}",
                netns=f"oct{self.octet}h{i}",
                root=self._state() / f"h{i}",
                port=self.port,
                init=self.init,
            )
            for i in range(1, self.count + 1)
        ]
        make_network(self.bridge, base, self.hosts)

    def _state(self) -> Path:
        assert self.state is not None
        return self.state

    def _make_files(self, account: pwd.struct_passwd) -> None:
        client = self._state() / "client"
        client.mkdir(mode=0o700)
        self.wheelhouse.mkdir(mode=0o755)
        keygens = [keygen(self.client_key, "octopus-test-client")]
        if self.host_certificates:
            keygens.append(keygen(self.host_ca, "octopus-test-host-ca"))
        keygens += [make_host_dirs(host) for host in self.hosts]
        for proc in keygens:
            if proc.wait() != 0:
                raise HarnessError("ssh-keygen failed")
        public = self.client_key.with_suffix(".pub").read_text()
        sshd_options = dict(self.sshd_options)
        for host in self.hosts:
            authorize(host, public, account)
            if self.host_certificates:
                self.sign_host_key(host, self.host_ca)
                sshd_options.setdefault("HostCertificate", str(host.host_certificate))
            config = sshd_config(host, self.user, self.wheelhouse, self.session_env, sshd_options)
            (host.root / "sshd_config").write_text(config)
        self.write_known_hosts(self.known_hosts)
        self.write_ssh_config(self.ssh_config)

    def sign_host_key(
        self,
        host: TestHost,
        ca_key: Path,
        principals: tuple[str, ...] | None = None,
        validity: str | None = None,
    ) -> Path:
        """(Re)write the host's certificate, signed by `ca_key` for `principals` (default: its
        address and name). sshd reads it at start: `reboot` the host after changing it."""
        names = principals if principals is not None else (host.address, host.name)
        argv = ["ssh-keygen", "-q", "-s", str(ca_key), "-I", host.name, "-h"]
        argv += ["-n", ",".join(names)] if names else []
        argv += ["-V", validity] if validity else []
        run([*argv, str(host.host_key.with_suffix(".pub"))])
        return host.host_certificate

    def write_known_hosts(self, path: Path, wrong_key_for: tuple[str, ...] = ()) -> Path:
        """A known_hosts file for the hosts; those named in `wrong_key_for` get a foreign key."""
        foreign = None
        if wrong_key_for:
            keyfile = self._state() / "client" / "foreign_key"
            if not keyfile.exists() and keygen(keyfile, "foreign").wait() != 0:
                raise HarnessError("ssh-keygen failed")
            foreign = keyfile.with_suffix(".pub").read_text().split()[1]
        lines = [
            f"{h.known_hosts_name} ssh-ed25519 "
            f"{foreign if h.name in wrong_key_for else h.host_key_pub}\n"
            for h in self.hosts
        ]
        path.write_text("".join(lines))
        return path

    def write_ssh_config(self, path: Path) -> Path:
        """An ssh_config with one alias per host (h1..hN), strict checking, batch mode."""
        blocks = [
            f"Host {h.name}\n  HostName {h.address}\n  Port {h.port}\n  User {self.user}\n"
            f"  IdentityFile {self.client_key}\n  UserKnownHostsFile {self.known_hosts}\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n"
            for h in self.hosts
        ]
        path.write_text("\n".join(blocks))
        return path

    def node_values(self, host: TestHost, **extra: object) -> dict[str, object]:
        """Node arguments that reach `host` directly (no ssh_config needed)."""
        return {
            "ssh_hostname": host.address,
            "ssh_username": self.user,
            "ssh_private_key": str(self.client_key),
            "ssh_hostkeys": str(self.known_hosts),
            "connect_timeout": 5,
            **({"ssh_port": host.port} if host.port != 22 else {}),
            **extra,
        }

    def reboot(self, host: TestHost) -> None:
        """Start a crashed (killed) host again: its files as they were, none of its processes,
        as after a power cycle."""
        host.kill()
        start_sshd(host)
        wait_ready([host])

    def stop(self) -> None:
        """Stop every host this cluster started (by PID), then remove its network and files."""
        for host in self.hosts:
            with contextlib.suppress(Exception):
                host.kill()
        remove_network(self.bridge if self.octet is not None else None, self.hosts)
        if self.state is not None and self.state.exists():
            shutil.rmtree(self.state, ignore_errors=True)


@contextlib.contextmanager
def test_cluster(count: int, **options: object) -> Iterator[TestCluster]:
    """Start `count` test hosts for the duration of a with-block."""
    cluster = TestCluster(count, **options)  # type: ignore[arg-type]
    with cluster:
        yield cluster
