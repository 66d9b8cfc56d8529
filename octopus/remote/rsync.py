"""rsync between here and a node: the options of a transfer, its argument list, and the run.

rsync runs from an argument list, never a shell. Its ssh gets the node's host key rules, or,
inside a stage, a relay into the stage's own connection (rsh_relay), so no second login.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.exceptions import UnexpectedExit
from invoke.runners import Result

from octopus.remote.openssh import askpass_env, ssh_argv
from octopus.remote.rsync_version import RsyncFeatures, local_rsync
from octopus.remote.shell import join, quote_path
from octopus.schema import as_list

if TYPE_CHECKING:
    from octopus.node import Node
    from octopus.remote.connector import Connector


def home_relative(path: str) -> str:
    """`~/x` as the relative `x`, which rsync's remote side (it gets paths unexpanded, with
    --protect-args) and SFTP (it starts in the home folder) both resolve from home."""
    if path in ("~", "~/"):
        return "."
    return path[2:] if path.startswith("~/") else path


_WILDCARDS = re.compile(r"(\[[^\]/]*\]|[*?])")


def _remote_path(path: str, protected: bool) -> str:
    """A path on the node as rsync's remote side gets it: as it is with --protect-args, else
    quoted for the remote shell that splits it (rsync_version.py)."""
    relative = home_relative(path)
    if protected:
        return relative
    # A pattern keeps its wildcards for the remote shell to expand; the rest is quoted.
    pieces = _WILDCARDS.split(relative)
    return "".join(p if _WILDCARDS.fullmatch(p) else shlex.quote(p) for p in pieces if p)


def _remote(node: Node, path: str, protected: bool = True) -> str:
    host = node.ssh_hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    user = f"{node.ssh_username}@" if node.ssh_username else ""
    return f"{user}{host}:{_remote_path(path, protected)}"


@dataclass(frozen=True)
class RsyncOptions:
    """What a transfer does beyond copying: filters, deletion and update rules, the ssh used."""

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    delete: bool = False
    update: bool = False
    ignore_existing: bool = False
    rsync_opts: tuple[str, ...] = ()
    ssh_opts: tuple[str, ...] = ()
    strict_host_keys: bool = True
    ssh_program: str = "ssh"

    @classmethod
    def of(
        cls,
        exclude: str | Iterable[str] = (),
        include: str | Iterable[str] = (),
        rsync_opts: str | Sequence[str] = "",
        ssh_opts: str | Sequence[str] = "",
        **flags: Any,
    ) -> RsyncOptions:
        """From patchwork-style arguments: a string or a list wherever a list is meant."""
        return cls(
            exclude=tuple(as_list(exclude)),
            include=tuple(as_list(include)),
            rsync_opts=tuple(rsync_opts.split() if isinstance(rsync_opts, str) else rsync_opts),
            ssh_opts=tuple(ssh_opts.split() if isinstance(ssh_opts, str) else ssh_opts),
            **flags,
        )

    def flags(self) -> list[str]:
        argv = ["--delete"] if self.delete else []
        argv += ["--update"] if self.update else []
        argv += ["--ignore-existing"] if self.ignore_existing else []
        argv += [f"--include={pattern}" for pattern in self.include]
        argv += [f"--exclude={pattern}" for pattern in self.exclude]
        return argv + list(self.rsync_opts)


def rsync_argv(
    node: Node,
    source: str | Sequence[str],
    target: str,
    options: RsyncOptions | None = None,
    *,
    download: bool = False,
    home: str | None = None,
    files_from: bool = False,
    remote_shell: Sequence[str] | None = None,
    features: RsyncFeatures | None = None,
) -> list[str]:
    """The local rsync argument list for an upload (or `download=True`) between here and node.
    `features`: what the local rsync supports (default: asked of it, rsync_version.py)."""
    options = options or RsyncOptions()
    protected = (features or local_rsync()).protect_args
    argv = ["rsync", "--archive", *(["--protect-args"] if protected else []), *options.flags()]
    if files_from:
        argv += ["--from0", "--files-from=-"]
    sources = as_list(source)
    if node.local:
        base = home or "."

        def here(path: str) -> str:
            relative = home_relative(path)
            return relative if relative.startswith("/") else f"{base}/{relative}"

        if download:
            return argv + [here(s) for s in sources] + [target]
        return argv + sources + [here(target)]
    if remote_shell is not None:
        # Through the open connection: it names host and user itself.
        argv += ["-e", join(remote_shell)]
        if download:
            return argv + [f"octopus-node:{_remote_path(s, protected)}" for s in sources] + [target]
        return argv + sources + [f"octopus-node:{_remote_path(target, protected)}"]
    ssh = ssh_argv(node, options.strict_host_keys)
    ssh[0] = options.ssh_program
    argv += ["-e", join(ssh + list(options.ssh_opts))]
    if download:
        return argv + [_remote(node, s, protected) for s in sources] + [target]
    return argv + sources + [_remote(node, target, protected)]


def _make_target_parent(
    c: Connector, target: str, download: bool, sources: list[str] | None = None
) -> None:
    """Create the directories above the target: rsync itself makes only the last one. A
    download that surely lands in a folder (several sources, a wildcard, a target ending in
    '/') gets that folder made here too: pickup runs one rsync per node at once, and two of
    them making the same folder make one fail with "File exists"."""
    parent = target.rstrip("/") if target.endswith("/") else posixpath.dirname(target)
    if download and sources is not None and (len(sources) > 1 or any(map(_GLOB.search, sources))):
        parent = target.rstrip("/") or target
    if not parent or parent in (".", "~"):
        return
    if download:
        Path(parent).expanduser().mkdir(parents=True, exist_ok=True)
    else:
        c.run(f"mkdir -p -- {quote_path(parent)}", hide=True)


_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Transfer:
    """One rsync run between here and a node: what, where, which way, under which rules.

    `files` limits it to those paths (relative to the source folder); `via_connection` sends
    it through the open SSH connection instead of a new ssh login. A failure raises
    UnexpectedExit unless `warn`, like `Connection.local`.
    """

    source: str | Sequence[str]
    target: str
    options: RsyncOptions = RsyncOptions()  # noqa: RUF009 (frozen, so sharing it is safe)
    download: bool = False
    files: Sequence[str] | None = None
    timeout: float | None = None
    warn: bool = False
    hide: bool = True
    local_cmd_prefix: str = ""
    via_connection: bool = False


def run_transfer(
    c: Connector,
    job: Transfer,
    *,
    home: str | None = None,
    remote_shell: Sequence[str] | None = None,
) -> Result:
    """Run rsync for a connection; connections call this from their `rsync` (`home`: a local
    node's home folder; `remote_shell`: a relay into an open SSH connection)."""
    node = c.node
    argv = rsync_argv(
        node,
        job.source,
        job.target,
        job.options,
        download=job.download,
        home=home,
        files_from=job.files is not None,
        remote_shell=remote_shell,
    )
    _make_target_parent(c, job.target, job.download, as_list(job.source))
    if job.local_cmd_prefix:
        argv = [*shlex.split(job.local_cmd_prefix), *argv]
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=job.timeout,
        input="\0".join(job.files) if job.files is not None else "",
        env=askpass_env(node),
    )
    result = Result(
        stdout=completed.stdout,
        stderr=completed.stderr,
        command=join(argv),
        exited=completed.returncode,
        hide=("stdout", "stderr") if job.hide else (),
    )
    if not job.hide:
        print(completed.stdout, end="")
    if completed.returncode != 0 and not job.warn:
        raise UnexpectedExit(result)
    return result
