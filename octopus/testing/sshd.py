"""One test host's sshd: its folders and keys, its sshd_config, starting it, waiting for it.

sshd runs as PID 1 of its own PID, UTS and mount namespaces inside the host's network
namespace, with the host's own /home, /tmp and /run/screen bind-mounted over the real ones.
A host made with `init` runs a small shell as PID 1 instead, with sshd as its child: sshd can
then die or restart alone while the host's other processes (its workers) go on.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from octopus.testing.errors import HarnessError
from octopus.testing.host import TestHost
from octopus.testing.process import keygen

INNER_SCRIPT = r"""
set -e
hostname "$1"
root="$2"
mount --bind "$root/home" /home
mount --bind "$root/tmp" /tmp
mount --bind "$root/run_screen" /run/screen
exec /usr/sbin/sshd -D -f "$root/sshd_config" -E "$root/sshd.log"
"""

# PID 1 of a host with `init`: starts sshd, then reaps whatever is orphaned to it (a shell's
# wait for its `sleep` reaps any child), so dead processes do not linger as zombies.
INIT_SCRIPT = r"""
set -e
hostname "$1"
root="$2"
mount --bind "$root/home" /home
mount --bind "$root/tmp" /tmp
mount --bind "$root/run_screen" /run/screen
/usr/sbin/sshd -D -f "$root/sshd_config" -E "$root/sshd.log" -o PidFile="$root/sshd.pid" &
set +e
while :; do wait; sleep 1; done
"""


def make_host_dirs(host: TestHost) -> subprocess.Popen[bytes]:
    """Make the host's folders and start making its host key; returns that ssh-keygen."""
    host.root.mkdir(mode=0o755)
    for sub in ("home", "tmp", "run_screen"):
        (host.root / sub).mkdir()
    os.chmod(host.root / "tmp", 0o1777)
    os.chmod(host.root / "run_screen", 0o1777)
    return keygen(host.host_key, host.name)


def authorize(host: TestHost, public_key: str, account: pwd.struct_passwd) -> None:
    """Let `public_key` log in as `account` (a home sshd accepts: not world-writable)."""
    dot_ssh = host.home / ".ssh"
    dot_ssh.mkdir(parents=True)
    (dot_ssh / "authorized_keys").write_text(public_key)
    os.chmod(dot_ssh, 0o700)
    os.chmod(dot_ssh / "authorized_keys", 0o600)
    os.chmod(host.home, 0o750)
    for path in (host.home, dot_ssh, dot_ssh / "authorized_keys"):
        os.chown(path, account.pw_uid, account.pw_gid)


def sshd_config(
    host: TestHost,
    user: str,
    wheelhouse: Path,
    session_env: dict[str, str],
    sshd_options: dict[str, str],
) -> str:
    """The host's sshd_config: key-only logins for `user`; `sshd_options` override the rest."""
    options = {
        "ListenAddress": host.address,
        "Port": str(host.port),
        "HostKey": str(host.host_key),
        "PidFile": "none",
        "AuthorizedKeysFile": ".ssh/authorized_keys",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "UsePAM": "no",
        "PermitRootLogin": "no",
        "AllowUsers": user,
        "Subsystem": "sftp internal-sftp",
        "PrintMotd": "no",
        "LogLevel": "INFO",
        # The hosts reach no package index (docs/ssh.md): pip and uv install from the
        # cluster's wheelhouse instead of waiting out network timeouts.
        "SetEnv": " ".join(
            [
                "PIP_NO_INDEX=1",
                f"PIP_FIND_LINKS={wheelhouse}",
                "PIP_DISABLE_PIP_VERSION_CHECK=1",
                "UV_OFFLINE=1",
                f"UV_FIND_LINKS={wheelhouse}",
                "UV_PYTHON_DOWNLOADS=never",
                *(f"{key}={value}" for key, value in session_env.items()),
            ]
        ),
        **sshd_options,
    }
    return "".join(f"{key} {value}\n" for key, value in options.items())


def start_sshd(host: TestHost) -> None:
    """Start the host's sshd in its namespaces; its start-up errors go to start.log."""
    with open(host.root / "start.log", "wb") as log:
        host.process = _spawn(host, log)


def _spawn(host: TestHost, log: IO[bytes]) -> subprocess.Popen[bytes]:
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
            INIT_SCRIPT if host.init else INNER_SCRIPT,
            "sh",
            host.name,
            str(host.root),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )


def wait_ready(hosts: Sequence[TestHost], timeout: float = 20) -> None:
    """Wait until every host accepts TCP on its port; a sshd that exits is a HarnessError."""
    deadline = time.monotonic() + timeout
    pending = list(hosts)
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
                with socket.create_connection((host.address, host.port), timeout=0.5):
                    pass
            except OSError:
                still.append(host)
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise HarnessError(f"test hosts not up: {[h.name for h in pending]}")
            time.sleep(0.02)
