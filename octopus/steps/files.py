"""Steps that move or remove files: SCP, Rsync, RsyncCurrentRepo, Remove, RemoveRecursively."""

from __future__ import annotations

import glob
import os
import posixpath
from pathlib import Path
from typing import Any

from octopus.errors import OctopusError
from octopus.gitrepo import repository_files
from octopus.remote.rsync import RsyncOptions, Transfer, home_relative, rsync_argv
from octopus.remote.shell import join, quote_glob, quote_path
from octopus.remote.transfers import exists
from octopus.run.layout import DELIVERABLES, project_root
from octopus.schema import PathLike, as_list, path_text
from octopus.steps.base import Step
from octopus.steps.context import StepContext, StepFailed


def _rsync(
    ctx: StepContext,
    step: Rsync | RsyncCurrentRepo,
    source: str | list[str],
    target: str,
    options: RsyncOptions,
    **extra: Any,
) -> None:
    """rsync for a step: through the stage's connection unless the step names its own ssh."""
    job = Transfer(
        source,
        target,
        options,
        warn=True,
        timeout=ctx.timeout,
        local_cmd_prefix=step.local_cmd_prefix,
        via_connection=step.ssh_path == "ssh",
        **extra,
    )
    result = ctx.connection().rsync(job)
    if not result.ok:
        raise StepFailed.of(result, "rsync")


class SCP(Step):
    """Copy one file to (put) or from the node into the directory `dest`; skips what is there."""

    def __init__(
        self, src: PathLike, dest: PathLike, put: bool = True, force: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.src = os.path.expanduser(path_text(src)) if put else path_text(src)
        self.dest = path_text(dest)
        self.put = put
        self.force = force

    def _target(self) -> str:
        return posixpath.join(self.dest, posixpath.basename(self.src.rstrip("/")))

    def describe(self, ctx: StepContext) -> list[str]:
        arrow = "->" if self.put else "<-"
        return [f"sftp {self.src} {arrow} {self._target() if self.put else self.dest}"]

    def execute(self, ctx: StepContext) -> None:
        conn = ctx.connection()
        target = self._target()
        if self.put:
            if not Path(self.src).is_file():
                raise OctopusError(f"SCP: {self.src} is not a file here (use Rsync for folders)")
            if not self.force and exists(conn, target):
                ctx.say(f"{target} exists, skipped")
                return
            ctx.run(f"mkdir -p -- {quote_path(self.dest)}", show=False)
            conn.put(self.src, home_relative(target))
            ctx.say(f"copied {self.src} -> {target}")
        else:
            local = Path(self.dest).expanduser() / posixpath.basename(self.src.rstrip("/"))
            if not self.force and local.exists():
                ctx.say(f"{local} exists, skipped")
                return
            local.parent.mkdir(parents=True, exist_ok=True)
            conn.get(home_relative(self.src), str(local))
            ctx.say(f"copied {self.src} -> {local}")


class Remove(Step):
    """Remove files (wildcards allowed); `directory=True` removes folders too."""

    def __init__(
        self, files: PathLike | list[PathLike], directory: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.files = as_list(files)
        self.directory = directory

    def commands(self, ctx: StepContext) -> list[str]:
        flags = "-rf" if self.directory else "-f"
        return [f"rm {flags} -- " + " ".join(quote_glob(f) for f in self.files)]


class RemoveRecursively(Step):
    """Delete every file (or folder, search_for_directory) called `name` below root_dir."""

    def __init__(
        self, root_dir: PathLike, name: str, search_for_directory: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.root_dir = path_text(root_dir)
        self.name = name
        self.search_for_directory = search_for_directory

    def commands(self, ctx: StepContext) -> list[str]:
        root = quote_path(self.root_dir)
        name = quote_path(self.name)
        if self.search_for_directory:
            return [f"cd {root} && find . -depth -type d -name {name} -exec rm -rf {{}} +"]
        return [f"cd {root} && find . -type f -name {name} -delete"]


# In a download's destination: the node's name (`dest="results/[node]/"`).
NODE_PLACEHOLDER = "[node]"


class Rsync(Step):
    """Copy folders with rsync: upload (put=True) or download pairs of src and dest.

    Downloads use --update unless told otherwise, so newer local files are never overwritten;
    local files are deleted only with delete=True.
    """

    def __init__(
        self,
        src: PathLike | list[PathLike],
        dest: PathLike | list[PathLike],
        put: bool = False,
        delete: bool = False,
        update: bool | None = None,
        ignore_existing: bool = False,
        skip: bool = False,
        include: PathLike | list[PathLike] | None = None,
        ssh_path: str = "ssh",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.src = as_list(src)
        self.dest = as_list(dest)
        if len(self.src) != len(self.dest):
            raise ValueError(f"src has {len(self.src)} path(s) but dest has {len(self.dest)}")
        self.put = put
        self.delete = delete
        self.update = (not put) if update is None else update
        self.ignore_existing = ignore_existing
        self.skip = skip
        self.include = as_list(include)
        self.ssh_path = ssh_path

    def _options(self) -> RsyncOptions:
        if self.include:
            # Only the named files and folders (and the folders leading to them).
            return RsyncOptions(
                include=(*self.include, "*/"),
                exclude=("*",),
                rsync_opts=("--prune-empty-dirs",),
                delete=self.delete,
                update=self.update,
                ignore_existing=self.ignore_existing,
                ssh_program=self.ssh_path,
            )
        return RsyncOptions(
            delete=self.delete,
            update=self.update,
            ignore_existing=self.ignore_existing,
            ssh_program=self.ssh_path,
        )

    def _pairs(self, node: str = "") -> list[tuple[list[str], str]]:
        """(sources, destination) pairs; a download's `[node]` in dest is the node's name, so
        that files two nodes both have land apart."""
        pairs = []
        for src, dest in zip(self.src, self.dest, strict=True):
            if self.put:
                expanded = os.path.expanduser(src)
                matches = sorted(glob.glob(expanded)) if glob.has_magic(expanded) else [expanded]
                pairs.append((matches, dest))
            else:
                pairs.append(([src], dest.replace(NODE_PLACEHOLDER, node)))
        return pairs

    def describe(self, ctx: StepContext) -> list[str]:
        if self.skip:
            return ["(skipped: skip=True)"]
        home = str(Path.home()) if ctx.node.local else None
        return [
            join(
                rsync_argv(
                    ctx.node, sources, dest, self._options(), download=not self.put, home=home
                )
            )
            for sources, dest in self._pairs(ctx.name)
        ]

    def execute(self, ctx: StepContext) -> None:
        if self.skip:
            ctx.say("skipped (skip=True)")
            return
        for sources, dest in self._pairs(ctx.name):
            if self.put and not sources:
                raise OctopusError(f"Rsync: nothing matches {self.src}")
            _rsync(ctx, self, sources, dest, self._options(), download=not self.put)
            where = "to the node" if self.put else "from the node"
            ctx.say(f"rsync {' '.join(sources)} -> {dest} ({where}): done")


class RsyncCurrentRepo(Step):
    """Send the current folder (`local_folder_path`) to the experiment folder on the node, as
    the original did, with the files git would take: .gitignore is honoured, .git never
    travels, and neither does octopus' own deliverables/ (manifests and logs can hold secrets
    from commands). Run from a subfolder of a repository, it sends that subfolder.
    `gitignore_path` adds the patterns of one more ignore file.
    """

    def __init__(
        self,
        gitignore_path: PathLike | None = None,
        local_folder_path: PathLike = ".",
        ssh_path: str = "ssh",
        delete: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gitignore_path = path_text(gitignore_path) if gitignore_path is not None else None
        self.local_folder_path = path_text(local_folder_path)
        self.ssh_path = ssh_path
        self.delete = delete

    def _root(self) -> Path:
        return Path(self.local_folder_path).expanduser().resolve()

    def _target(self, ctx: StepContext) -> str:
        folder = ctx.experiment.exp_folder_name or self._root().name
        return folder.rstrip("/") + "/"

    def describe(self, ctx: StepContext) -> list[str]:
        return [
            f"rsync the files git sees in {self._root()} -> {self._target(ctx)} "
            "(.gitignore honoured; .git and deliverables/ stay here)"
        ]

    def _files(self, root: Path) -> list[str]:
        """git's files of the folder (relative to it), without octopus' deliverables/."""
        files = repository_files(root)
        deliverables = project_root(root) / DELIVERABLES
        if deliverables == root or root in deliverables.parents:
            inside = deliverables.relative_to(root).as_posix() + "/"
            files = [f for f in files if not f.startswith(inside)]
        return files

    def execute(self, ctx: StepContext) -> None:
        root = self._root()
        files = self._files(root)
        exclude: list[str] = [".git"]
        if self.gitignore_path:
            extra = Path(self.gitignore_path).expanduser()
            exclude += [
                line.strip()
                for line in extra.read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ]
        options = RsyncOptions(
            exclude=tuple(exclude), delete=self.delete, ssh_program=self.ssh_path
        )
        _rsync(ctx, self, f"{root}/", self._target(ctx), options, files=files)
        ctx.say(f"sent {len(files)} file(s) of {root.name} to {self._target(ctx)}")
