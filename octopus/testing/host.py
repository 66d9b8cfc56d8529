"""One running test host, seen from this machine: its files, its sshd log, commands inside it."""

from __future__ import annotations

import os
import pwd
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from octopus.testing.errors import HarnessError
from octopus.testing.machine import TEST_USER
from octopus.testing.process import inner_pid, keygen


@dataclass
class TestHost:
    """One running test host; its files are visible from here under `root`."""

    __test__ = False  # not a pytest test class

    name: str
    index: int
    address: str
    netns: str
    root: Path
    port: int = 22
    process: subprocess.Popen[bytes] | None = None
    init: bool = False  # PID 1 is a shell, sshd its child: sshd can stop alone (sshd.py)

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
    def host_key(self) -> Path:
        return self.root / "ssh_host_ed25519_key"

    @property
    def host_key_pub(self) -> str:
        return self.host_key.with_suffix(".pub").read_text().split()[1]

    @property
    def host_certificate(self) -> Path:
        """Where sshd finds the host certificate (it presents one only if the file exists)."""
        return self.root / "ssh_host_ed25519_key-cert.pub"

    @property
    def known_hosts_name(self) -> str:
        """The host as a known_hosts line names it: `address`, or `[address]:port`."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

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
            str(inner_pid(self.process.pid)),
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

    def set_link(self, up: bool, side: str = "bridge") -> None:
        """Cut the host off the network, or reconnect it: a partition. Its processes go on
        running. `side`: "bridge" sets the root end of its veth down (the switch port dies),
        "netns" its own eth0 (the host's interface dies; the host itself sees it)."""
        state = "up" if up else "down"
        argv = ["ip", "link", "set", self.netns, state]
        if side == "netns":
            argv = ["ip", "-n", self.netns, "link", "set", "eth0", state]
        elif side != "bridge":
            raise HarnessError(f"set_link: side must be 'bridge' or 'netns', not {side!r}")
        # The address stays on eth0, so its subnet's route returns with the link.
        subprocess.run(argv, check=True, capture_output=True)

    def kill(self) -> None:
        """Stop the host at once, every process on it included: a node crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def mount_tmpfs(self, path: str, size: str) -> None:
        """Mount a tmpfs of `size` (as mount(8) reads it: 512k, 1m) owned by the login user
        over `path` in its home, inside the host only: a small disk that fills up. From
        outside, `home` still shows the folder beneath; read the tmpfs with `exec`."""
        inside = shlex.quote(f"/home/{TEST_USER}/{path}")
        account = pwd.getpwnam(TEST_USER)
        self.exec(f"mkdir -p {inside}")
        options = f"size={size},mode=0755,uid={account.pw_uid},gid={account.pw_gid}"
        self.exec(f"mount -t tmpfs -o {options} octopus-test {inside}", user="root")

    def umount(self, path: str) -> None:
        """Undo mount_tmpfs: what was written on that small disk goes with it."""
        self.exec(f"umount {shlex.quote(f'/home/{TEST_USER}/{path}')}", user="root")

    def stop_sshd(self) -> None:
        """Kill -9 the host's sshd alone (a host made with init): new logins are refused,
        the sessions it already forked and every other process of the host go on."""
        if not self.init:
            raise HarnessError(f"{self.name}: sshd is PID 1 here; start the cluster with init")
        self.exec(f"kill -9 $(cat {shlex.quote(str(self.root / 'sshd.pid'))})", user="root")
        deadline = time.monotonic() + 10
        while self._accepts():
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: sshd still accepts after kill -9")
            time.sleep(0.05)

    def start_sshd(self, timeout: float = 10) -> None:
        """Start the host's sshd again after stop_sshd, with its config and host key as they
        are now (a new key makes a changed host key)."""
        files = [str(self.root / n) for n in ("sshd_config", "sshd.log", "sshd.pid")]
        argv = ["/usr/sbin/sshd", "-f", files[0], "-E", files[1], "-o", f"PidFile={files[2]}"]
        self.exec(shlex.join(argv), user="root")
        deadline = time.monotonic() + timeout
        while not self._accepts():
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: sshd did not come back")
            time.sleep(0.05)

    def change_host_key(self) -> None:
        """Give the host a new key, the old one kept aside, and restart its sshd alone (a host
        made with init): clients that know the old key see it change."""
        self.stop_sshd()
        for key in self._key_files():
            key.rename(key.with_name(key.name + ".old"))
        if keygen(self.host_key, self.name).wait() != 0:
            raise HarnessError("ssh-keygen failed")
        self.start_sshd()

    def restore_host_key(self) -> None:
        """Undo change_host_key: the old key back, sshd restarted alone."""
        self.stop_sshd()
        for key in self._key_files():
            key.with_name(key.name + ".old").replace(key)
        self.start_sshd()

    def _key_files(self) -> list[Path]:
        return [self.host_key, self.host_key.with_name(self.host_key.name + ".pub")]

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.address, self.port), timeout=0.5):
                return True
        except OSError:
            return False
