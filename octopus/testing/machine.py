"""What this machine must offer before test hosts can start: root, the tools, the login user."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from octopus.testing.errors import HarnessError
from octopus.testing.process import run

TEST_USER = "octo"
# Below /var/tmp, not /tmp: each host mounts its own /tmp, and sshd must still find its
# config and keys after that (docs/ssh.md, gotcha 7).
STATE_PARENT = "/var/tmp"


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
        run(
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
        # in even with a key (docs/ssh.md, gotcha 2); '*' means "no password" without locking.
        run(["usermod", "-p", "*", name])
        return pwd.getpwnam(name)


def make_run_dirs() -> None:
    """The runtime folders sshd and screen insist on (docs/ssh.md, gotchas 1 and 3)."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    Path("/run/screen").mkdir(mode=0o777, exist_ok=True)
