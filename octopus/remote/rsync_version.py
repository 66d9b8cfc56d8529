"""What the rsync on this machine can do, asked once: `rsync --version`.

octopus' rsync argument lists use `--protect-args` (rsync 3.0, 2008; named `--secluded-args`
from 3.2.4, which keeps the old name), so that a remote path reaches the node's rsync as one
word, never split or expanded by the remote shell. macOS still ships rsync 2.6.9 (or
openrsync, which speaks as 2.6.9) without it: there each remote path is quoted for the
remote shell instead, which gives the same path.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass

# The first version that has --protect-args.
PROTECT_ARGS_SINCE = (3, 0)


@dataclass(frozen=True)
class RsyncFeatures:
    """What the local rsync supports, as far as octopus' argument lists care."""

    version: tuple[int, ...]
    protect_args: bool


def parse_version(text: str) -> tuple[int, ...]:
    """The version `rsync --version` names on its first line (`rsync  version 3.2.7 ...`,
    openrsync's `openrsync: protocol version 29` / `rsync version 2.6.9 compatible`); ()
    when it names none."""
    for line in text.splitlines()[:3]:
        found = re.search(r"\brsync\s+version\s+v?(\d+(?:\.\d+)+)", line)
        if found:
            return tuple(int(part) for part in found.group(1).split("."))
    return ()


def features_of(text: str) -> RsyncFeatures:
    """The features of the rsync whose `--version` printed `text`; one that names no version
    is taken to be current (it is not the old one whose lack octopus works around)."""
    version = parse_version(text)
    return RsyncFeatures(version, not version or version[:2] >= PROTECT_ARGS_SINCE)


@functools.cache
def local_rsync() -> RsyncFeatures:
    """The features of the rsync on PATH here (asked once per process)."""
    try:
        done = subprocess.run(
            ["rsync", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return features_of("")  # no rsync: running it will say so, with the fix
    return features_of(done.stdout)
