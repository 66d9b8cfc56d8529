"""Commands and processes the harness starts: checked runs, key generation, a host's PID 1."""

from __future__ import annotations

import subprocess
from pathlib import Path

from octopus.testing.errors import HarnessError


def run(argv: list[str], input: str | None = None) -> str:
    """Run a command to completion and return its stdout; a non-zero exit is a HarnessError."""
    done = subprocess.run(argv, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def keygen(path: Path, comment: str) -> subprocess.Popen[bytes]:
    """Start making an ed25519 key pair without a passphrase (several run side by side)."""
    return subprocess.Popen(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
    )


def inner_pid(outer_pid: int) -> int:
    """The host's PID 1 (sshd), the only child of the `unshare` we started."""
    children = Path(f"/proc/{outer_pid}/task/{outer_pid}/children").read_text().split()
    if not children:
        raise HarnessError(f"test host process {outer_pid} has no sshd child")
    return int(children[0])
