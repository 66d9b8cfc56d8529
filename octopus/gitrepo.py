"""The local git repository octopus is run from: its root, its files as git sees them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from octopus.errors import OctopusError


def _git(root: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def local_repo_root(folder: Path | str = ".") -> Path:
    """The git work tree containing `folder` (the folder itself outside git)."""
    done = _git(Path(folder).expanduser(), "rev-parse", "--show-toplevel")
    return Path(done.stdout.strip()) if done.returncode == 0 else Path(folder).resolve()


def repository_files(root: Path) -> list[str]:
    """The files git would consider part of the work tree: tracked or untracked, not ignored.

    Asking git itself is the only way to honour .gitignore exactly (nested files, negations,
    core.excludesFile, .git/info/exclude); .git is never listed.
    """
    done = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if done.returncode != 0:
        raise OctopusError(
            f"{root} is not a git repository ({done.stderr.strip()}); use Rsync for plain folders"
        )
    names = dict.fromkeys(n for n in done.stdout.split("\0") if n)
    return [n for n in names if (root / n).is_file() or (root / n).is_symlink()]


def commit_info(folder: Path | str = ".") -> dict[str, object]:
    """The commit the experiment code is at and whether the work tree had changes."""
    head = _git(folder, "rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = _git(folder, "status", "--porcelain")
    dirty = bool(status.stdout.strip())
    # What the uncommitted changes amount to (" 2 files changed, 10 insertions(+)").
    stat = _git(folder, "diff", "--shortstat", "HEAD").stdout.strip() if dirty else ""
    return {"commit": head.stdout.strip(), "dirty": dirty, "diffstat": stat}
