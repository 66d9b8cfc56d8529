"""Independent SSH test hosts on this machine, each with its own network namespace.

One host = a network namespace with a veth on a private bridge, and an sshd that is PID 1 of
its own PID, UTS and mount namespaces: its own hostname, process list, /home, /tmp and
/run/screen. Killing that sshd takes every process of the host with it, which is how a node
crash looks. The design and the traps it avoids are in shared/notes/ssh-here.md.

Only processes started here are stopped, by the PID recorded at start.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

TEST_USER = "octo"
# Third octets tried for the test subnet 10.77.X.0/24; the first one routed nowhere is used.
SUBNET_CHOICES = range(10, 250)
LOCK_FILE = "/run/octopus-testhosts.lock"
# Below /var/tmp, not /tmp: each host mounts its own /tmp, and sshd must still find its
# config and keys after that (shared/notes/ssh-here.md, gotcha 7).
STATE_PARENT = "/var/tmp"


class HarnessError(RuntimeError):
    """The test hosts could not be set up on this machine."""


def _run(argv: list[str], input: str | None = None) -> str:
    done = subprocess.run(argv, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def require_root() -> None:
    if os.geteuid() != 0:
        raise HarnessError("SSH test hosts need root (network namespaces, bind mounts)")
    for tool in ("sshd", "ssh-keygen", "ip", "unshare", "nsenter", "screen", "rsync"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise HarnessError(f"'{tool}' is missing: run scripts/setup.sh --test")


def ensure_user(name: str = TEST_USER) -> pwd.struct_passwd:
    """The login user every test host has, as one account on a real cluster would be."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        _run(
            [
                "useradd",
                "--no-create-home",
                "--home-dir",
                f"/home/{name}",
                "--shell",
                "/bin/bash",
                name,
            ]
        )
        # useradd leaves the password locked, and with UsePAM no a locked account cannot log
        # in even with a key (gotcha 2); '*' means "no password" without locking.
        _run(["usermod", "-p", "*", name])
        return pwd.getpwnam(name)


def _routed_networks() -> list[ipaddress.IPv4Network]:
    routes = json.loads(_run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]")
    nets = []
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("default", "") or ":" in dst:
            continue
        with contextlib.suppress(ValueError):
            nets.append(ipaddress.ip_network(dst, strict=False))
    return [n for n in nets if isinstance(n, ipaddress.IPv4Network)]


def _free_subnet() -> int:
    routed = _routed_networks()
    links = {link["ifname"] for link in json.loads(_run(["ip", "-j", "link"]) or "[]")}
    for octet in SUBNET_CHOICES:
        net = ipaddress.ip_network(f"10.77.{octet}.0/24")
        taken = any(link.startswith(f"oct{octet}") for link in links)
        if not taken and not any(net.overlaps(r) for r in routed):
            return octet
    raise HarnessError("no free 10.77.X.0/24 subnet for test hosts")


@dataclass
class TestHost:
    """One running test host; its files are visible from here under `root`."""

    __test__ = False  # not a pytest test class

    name: str
    index: int
    address: str
    netns: str
    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def home(self) -> Path:
        """The login user's home directory as seen from outside the host."""
        return self.root / "home" / TEST_USER

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def sshd_log(self) -> Path:
        return self.root / "sshd.log"

    @property
    def host_key_pub(self) -> str:
        return (self.root / "ssh_host_ed25519_key.pub").read_text().split()[1]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def write(self, path: str, text: str) -> Path:
        """Write a file in the login user's home (parents made), owned by that user."""
        target = self.home / path
        account = pwd.getpwnam(TEST_USER)
        missing = [
            p for p in [target, *target.parents] if not p.exists() and self.home in p.parents
        ]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        for created in {target, *missing}:
            os.chown(created, account.pw_uid, account.pw_gid)
        return target

    def accepted_logins(self) -> int:
        """How many logins sshd accepted so far (its 'Accepted publickey' log lines)."""
        if not self.sshd_log.exists():
            return 0
        return self.sshd_log.read_text(errors="replace").count("Accepted publickey")

    def exec(self, command: str, user: str = TEST_USER, timeout: float = 30) -> str:
        """Run a command inside the host (its namespaces) as `user`, bypassing SSH."""
        if not self.alive or self.process is None:
            raise HarnessError(f"{self.name} is not running")
        argv = [
            "nsenter",
            "--target",
            str(_inner_pid(self.process.pid)),
            "--all",
            "setpriv",
            f"--reuid={user}",
            f"--regid={user}",
            "--init-groups",
            "--reset-env",
            "sh",
            "-c",
            f"cd ~ 2>/dev/null; {command}",
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise HarnessError(f"{self.name}: {command!r} failed: {done.stderr.strip()}")
        return done.stdout

    def kill(self) -> None:
        """Stop the host at once, every process on it included: a node crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _keygen(path: Path, comment: str) -> subprocess.Popen[bytes]:
    """Start making an ed25519 key pair without a passphrase (several run side by side)."""
    return subprocess.Popen(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
    )


def _inner_pid(outer_pid: int) -> int:
    """The host's PID 1 (sshd), the only child of the `unshare` we started."""
    children = Path(f"/proc/{outer_pid}/task/{outer_pid}/children").read_text().split()
    if not children:
        raise HarnessError(f"test host process {outer_pid} has no sshd child")
    return int(children[0])


_INNER_SCRIPT = r"""
set -e
hostname "$1"
root="$2"
mount --bind "$root/home" /home
mount --bind "$root/tmp" /tmp
mount --bind "$root/run_screen" /run/screen
exec /usr/sbin/sshd -D -f "$root/sshd_config" -E "$root/sshd.log"
"""


@dataclass
class TestCluster:
    """N test hosts plus the client-side files that reach them (key, known_hosts, ssh_config)."""

    __test__ = False  # not a pytest test class

    count: int
    user: str = TEST_USER
    sshd_options: dict[str, str] = field(default_factory=dict)
    session_env: dict[str, str] = field(default_factory=dict)
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
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        Path("/run/screen").mkdir(mode=0o777, exist_ok=True)
        try:
            with open(LOCK_FILE, "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self.octet = _free_subnet()
                self._make_network()
            self._make_files(account)
            for host in self.hosts:
                self._start_sshd(host)
            self._wait_ready()
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
            )
            for i in range(1, self.count + 1)
        ]
        batch = [
            f"link add {self.bridge} type bridge",
            f"addr add {base}.1/24 dev {self.bridge}",
            f"link set {self.bridge} up",
        ]
        for host in self.hosts:
            batch += [
                f"netns add {host.netns}",
                f"link add {host.netns} type veth peer name eth0 netns {host.netns}",
                f"link set {host.netns} master {self.bridge} up",
            ]
        _run(["ip", "-batch", "-"], input="\n".join(batch) + "\n")
        for host in self.hosts:
            _run(
                ["ip", "-n", host.netns, "-batch", "-"],
                input=f"addr add {host.address}/24 dev eth0\nlink set eth0 up\nlink set lo up\n",
            )
        # Check that every host address routes into our bridge before sending a packet there.
        for host in self.hosts:
            route = _run(["ip", "-j", "route", "get", host.address])
            dev = json.loads(route)[0].get("dev")
            if dev != self.bridge:
                raise HarnessError(f"{host.address} routes via {dev}, not {self.bridge}")

    def _state(self) -> Path:
        assert self.state is not None
        return self.state

    def _make_files(self, account: pwd.struct_passwd) -> None:
        client = self._state() / "client"
        client.mkdir(mode=0o700)
        self.wheelhouse.mkdir(mode=0o755)
        keygens = [_keygen(self.client_key, "octopus-test-client")]
        for host in self.hosts:
            host.root.mkdir(mode=0o755)
            for sub in ("home", "tmp", "run_screen"):
                (host.root / sub).mkdir()
            os.chmod(host.root / "tmp", 0o1777)
            os.chmod(host.root / "run_screen", 0o1777)
            keygens.append(_keygen(host.root / "ssh_host_ed25519_key", host.name))
        for proc in keygens:
            if proc.wait() != 0:
                raise HarnessError("ssh-keygen failed")
        public = self.client_key.with_suffix(".pub").read_text()
        for host in self.hosts:
            dot_ssh = host.home / ".ssh"
            dot_ssh.mkdir(parents=True)
            (dot_ssh / "authorized_keys").write_text(public)
            os.chmod(dot_ssh, 0o700)
            os.chmod(dot_ssh / "authorized_keys", 0o600)
            os.chmod(host.home, 0o750)
            for path in (host.home, dot_ssh, dot_ssh / "authorized_keys"):
                os.chown(path, account.pw_uid, account.pw_gid)
            (host.root / "sshd_config").write_text(self._sshd_config(host))
        self.write_known_hosts(self.known_hosts)
        self.write_ssh_config(self.ssh_config)

    def _sshd_config(self, host: TestHost) -> str:
        options = {
            "ListenAddress": host.address,
            "Port": "22",
            "HostKey": str(host.root / "ssh_host_ed25519_key"),
            "PidFile": "none",
            "AuthorizedKeysFile": ".ssh/authorized_keys",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "UsePAM": "no",
            "PermitRootLogin": "no",
            "AllowUsers": self.user,
            "Subsystem": "sftp internal-sftp",
            "PrintMotd": "no",
            "LogLevel": "INFO",
            # The hosts reach no package index (shared/notes/ssh-here.md): pip and uv install
            # from the cluster's wheelhouse instead of waiting out network timeouts.
            "SetEnv": " ".join(
                [
                    "PIP_NO_INDEX=1",
                    f"PIP_FIND_LINKS={self.wheelhouse}",
                    "PIP_DISABLE_PIP_VERSION_CHECK=1",
                    "UV_OFFLINE=1",
                    f"UV_FIND_LINKS={self.wheelhouse}",
                    "UV_PYTHON_DOWNLOADS=never",
                    *(f"{key}={value}" for key, value in self.session_env.items()),
                ]
            ),
            **self.sshd_options,
        }
        return "".join(f"{key} {value}\n" for key, value in options.items())

    def _start_sshd(self, host: TestHost) -> None:
        with open(host.root / "start.log", "wb") as log:
            host.process = self._spawn(host, log)

    def _spawn(self, host: TestHost, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{host.netns}",
                "unshare",
                "--uts",
                "--pid",
                "--mount",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "sh",
                "-c",
                _INNER_SCRIPT,
                "sh",
                host.name,
                str(host.root),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.hosts)
        while pending:
            still = []
            for host in pending:
                if host.process is not None and host.process.poll() is not None:
                    log = (
                        (host.root / "start.log").read_text() + host.sshd_log.read_text()
                        if host.sshd_log.exists()
                        else (host.root / "start.log").read_text()
                    )
                    raise HarnessError(f"{host.name}: sshd exited: {log.strip()}")
                try:
                    with socket.create_connection((host.address, 22), timeout=0.5):
                        pass
                except OSError:
                    still.append(host)
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise HarnessError(f"test hosts not up: {[h.name for h in pending]}")
                time.sleep(0.02)

    def write_known_hosts(self, path: Path, wrong_key_for: tuple[str, ...] = ()) -> Path:
        """A known_hosts file for the hosts; those named in `wrong_key_for` get a foreign key."""
        foreign = None
        if wrong_key_for:
            keyfile = self._state() / "client" / "foreign_key"
            if not keyfile.exists() and _keygen(keyfile, "foreign").wait() != 0:
                raise HarnessError("ssh-keygen failed")
            foreign = keyfile.with_suffix(".pub").read_text().split()[1]
        lines = [
            f"{h.address} ssh-ed25519 {foreign if h.name in wrong_key_for else h.host_key_pub}\n"
            for h in self.hosts
        ]
        path.write_text("".join(lines))
        return path

    def write_ssh_config(self, path: Path) -> Path:
        """An ssh_config with one alias per host (h1..hN), strict checking, batch mode."""
        blocks = [
            f"Host {h.name}\n  HostName {h.address}\n  User {self.user}\n"
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
            **extra,
        }

    def stop(self) -> None:
        """Stop every host this cluster started (by PID), then remove its network and files."""
        for host in self.hosts:
            with contextlib.suppress(Exception):
                host.kill()
        batch = []
        if self.octet is not None:
            # Deleting the root end of each veth removes both ends now; a namespace's own
            # cleanup is asynchronous and would leave the names taken for a moment.
            links = {link["ifname"] for link in json.loads(_run(["ip", "-j", "link"]) or "[]")}
            batch += [f"link del {h.netns}" for h in self.hosts if h.netns in links]
            if self.bridge in links:
                batch.append(f"link del {self.bridge}")
        batch += [
            f"netns del {h.netns}" for h in self.hosts if Path(f"/run/netns/{h.netns}").exists()
        ]
        if batch:
            subprocess.run(
                ["ip", "-force", "-batch", "-"],
                input="\n".join(batch) + "\n",
                capture_output=True,
                text=True,
            )
        if self.state is not None and self.state.exists():
            shutil.rmtree(self.state, ignore_errors=True)


@contextlib.contextmanager
def test_cluster(count: int, **options: object) -> Iterator[TestCluster]:
    """Start `count` test hosts for the duration of a with-block."""
    cluster = TestCluster(count, **options)  # type: ignore[arg-type]
    with cluster:
        yield cluster
