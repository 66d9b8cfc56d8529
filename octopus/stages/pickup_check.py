"""Pickup never loses a file: before anything is brought home, each node lists what its
downloads would write, and a file two nodes would both write to one place stops the pickup,
naming both nodes and the fix (`[node]` in the destination). Destinations with `[node]` are
each node's own and need no look. A run on one node never collides."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence

from octopus.errors import ConfigError
from octopus.remote.shell import quote_path
from octopus.run.layout import MARK
from octopus.stages.engine import Fanout
from octopus.steps.base import AnyStep, Step
from octopus.steps.context import StepContext, StepFailed
from octopus.steps.files import NODE_PLACEHOLDER, Rsync

# (step index, pair index) -> (source on the node, destination at home, include patterns)
Shared = dict[tuple[int, int], tuple[str, str, list[str]]]


def shared_downloads(steps: Sequence[AnyStep]) -> Shared:
    """The downloads whose destination every node shares (no `[node]` in it)."""
    shared: Shared = {}
    for index, step in enumerate(steps):
        if not isinstance(step, Rsync) or step.put or step.skip:
            continue
        for pair, (src, dest) in enumerate(zip(step.src, step.dest, strict=True)):
            if NODE_PLACEHOLDER not in dest:
                shared[(index, pair)] = (src, dest, list(step.include))
    return shared


class ListDownloads(Step):
    """Prints, per shared download, the files its source holds on the node (as paths under
    the destination: a source ending in `/` gives its contents, else itself)."""

    label = "list what pickup brings home"

    def __init__(self, shared: Shared) -> None:
        super().__init__()
        self.shared = shared

    def command(self) -> str:
        parts = []
        for number, (src, _, _) in enumerate(self.shared.values()):
            contents = src.endswith("/")
            path = src.rstrip("/") or "/"
            parent, base = (path, ".") if contents else posixpath.split(path)
            parts.append(
                f'printf "\\n{MARK} files {number}\\n"; '
                f"(cd {quote_path(parent or '.')} 2>/dev/null && "
                f"find {quote_path(base)} -type f 2>/dev/null)"
            )
        return "; ".join(parts) + "; true"

    def describe(self, ctx: StepContext) -> list[str]:
        return [self.command()]

    def execute(self, ctx: StepContext) -> dict[int, list[str]]:
        result = ctx.quick(self.command(), timeout=120)
        if not result.ok:
            raise StepFailed.of(result, "listing what pickup would bring home")
        found: dict[int, list[str]] = {}
        current = -1
        for line in result.stdout.splitlines():
            words = line.split()
            if len(words) == 3 and words[:2] == [MARK, "files"] and words[2].isdigit():
                current = int(words[2])
                found[current] = []
            elif line and current >= 0:
                found[current].append(posixpath.normpath(line))
        return found


def check_collisions(fan: Fanout, steps: Sequence[AnyStep]) -> None:
    """ConfigError (nothing brought home yet) when two nodes would write one file."""
    shared = shared_downloads(steps)
    if not shared or len(fan.alive) < 2 or fan.dry_run:
        return
    fan.remote([ListDownloads(shared)])
    listed = fan.data()
    for number, (src, dest, include) in enumerate(shared.values()):
        writers: dict[str, str] = {}
        for node in sorted(listed):
            files = listed[node].get(number, []) if isinstance(listed[node], dict) else []
            for path in files:
                if include and not _included(path, include):
                    continue
                other = writers.setdefault(path, node)
                if other != node:
                    target = posixpath.join(dest, path)
                    fixed = posixpath.join(dest.rstrip("/") or ".", NODE_PLACEHOLDER) + "/"
                    raise ConfigError(
                        f"pickup: {target} would be written by both {other} and {node} "
                        f"(Rsync {src} -> {dest}); nothing was brought home. Put "
                        f"{NODE_PLACEHOLDER} in the destination (dest='{fixed}') so that "
                        "each node's files go apart",
                        key="pickup_steps",
                    )


def _included(path: str, patterns: list[str]) -> bool:
    """Whether rsync's include patterns (as the Rsync step gives them) take this file."""
    name = posixpath.basename(path)
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(name, p) for p in patterns)
