"""Steps that run once on this machine: copies, scripts, commands, Python calls, CSV merging."""

from __future__ import annotations

import csv
import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from octopus.errors import OctopusError
from octopus.schema import PathLike, as_list, path_text
from octopus.steps.base import LocalStep
from octopus.steps.csv_origin import CommandRef, Origins


def _matches(pattern: str) -> list[str]:
    expanded = os.path.expanduser(pattern)
    return sorted(glob.glob(expanded)) if glob.has_magic(expanded) else [expanded]


class LocalCopy(LocalStep):
    """Copy files (wildcards allowed) into destination folders; folders need recursive=True."""

    def __init__(
        self,
        src: PathLike | list[PathLike],
        dest: PathLike | list[PathLike],
        recursive: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.src = as_list(src)
        self.dest = as_list(dest)
        self.recursive = recursive

    def run(self) -> None:
        for pattern, dest in zip(self.src, self.dest, strict=False):
            target = Path(dest).expanduser()
            target.mkdir(parents=True, exist_ok=True)
            for source in map(Path, _matches(pattern)):
                if source.is_dir():
                    if not self.recursive:
                        raise OctopusError(f"LocalCopy: {source} is a folder; set recursive=True")
                    shutil.copytree(source, target / source.name, dirs_exist_ok=True)
                elif source.exists():
                    shutil.copy2(source, target / source.name)
                else:
                    raise OctopusError(f"LocalCopy: {source} does not exist")

    def __str__(self) -> str:
        return f"LocalCopy({self.src}->{self.dest})"


class CreateScript(LocalStep):
    """Write an executable script file here (e.g. to send it with Rsync afterwards)."""

    def __init__(self, scriptname: PathLike = "", script_cmd: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not scriptname:
            raise ValueError("CreateScript needs a scriptname")
        self.scriptname = path_text(scriptname)
        self.script_cmd = script_cmd

    def run(self) -> None:
        path = Path(self.scriptname).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="\n", encoding="utf-8") as fh:
            fh.write(self.script_cmd)
        path.chmod(path.stat().st_mode | 0o755)

    def __str__(self) -> str:
        return f"CreateScript({self.scriptname})"


class LocalCmd(LocalStep):
    """Run a shell command here, exactly as written (after local_cmd_prefix, e.g. `wsl`)."""

    def __init__(self, cmd: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cmd = cmd

    def command(self) -> str:
        return f"{self.local_cmd_prefix} {self.cmd}".strip()

    def describe(self) -> list[str]:
        return [self.command()]

    def run(self) -> None:
        done = subprocess.run(self.command(), shell=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise OctopusError(f"LocalCmd exited with {done.returncode}: {self.cmd}")

    def __str__(self) -> str:
        return f"LocalCmd({self.cmd})"


class LocalMethodCall(LocalStep):
    """Call a Python function here: func(**args) for a dict, func(*args) for a list."""

    def __init__(
        self, func: Callable[..., Any] | None = None, args: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if func is None or not callable(func):
            raise ValueError("LocalMethodCall needs a function (func=...)")
        self.func = func
        self.args = args

    def run(self) -> None:
        if isinstance(self.args, dict):
            self.func(**self.args)
        elif isinstance(self.args, (list, tuple)):
            self.func(*self.args)
        elif self.args is None:
            self.func()
        else:
            self.func(self.args)

    def __str__(self) -> str:
        return f"LocalMethodCall({getattr(self.func, '__name__', self.func)})"


def combine_csv(sources: list[str], target: Path, origins: Origins | None = None) -> int:
    """Merge CSV files into one; columns are the union of headers, in order of first appearance.
    With `origins`, the rows of a file that names its command (csv_origin.py) also get that
    command's `node`, `command_id` and grid parameters (a column the file has wins)."""
    header: dict[str, None] = {}
    added: dict[str, None] = {}
    rows: list[dict[str, str]] = []
    for source in sources:
        ref = origins.of(source) if origins is not None else None
        told = {"node": ref.node, "command_id": str(ref.id), **ref.params} if ref else {}
        with open(source, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for name in reader.fieldnames or []:
                header.setdefault(name, None)
            for row in reader:
                for key, value in told.items():
                    added.setdefault(key, None)
                    row.setdefault(key, _cell(value))
                rows.append(row)
    columns = [*header, *(k for k in added if k not in header)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# How far a node's clock may be behind this machine's before a file it wrote for the current
# delivery would look older than the delivery (pickup keeps the nodes' modification times).
CLOCK_SKEW = 60.0


class CombineCSVFiles(LocalStep):
    """Combine the CSV files each pattern matches into its target file (columns may differ);
    files older than the experiment's delivery are left out unless `all_deliveries`."""

    def __init__(
        self,
        source_files: PathLike | list[PathLike],
        target_file: PathLike | list[PathLike],
        remove: bool = False,
        all_deliveries: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_files = as_list(source_files)
        self.target_file = as_list(target_file)
        self.remove = remove
        self.all_deliveries = all_deliveries
        self.combined: dict[str, int] = {}
        # The experiment's commands, given by pickup: a file that names its command gets
        # that command's node, id and parameters as columns (csv_origin.py).
        self.commands: list[CommandRef] = []
        # When the oldest delivery the nodes hold was made (given by pickup; None: unknown).
        self.delivered_at: float | None = None

    def run(self) -> None:
        for pattern, target in zip(self.source_files, self.target_file, strict=False):
            target_path = Path(target).expanduser()
            files = [
                f
                for f in _matches(pattern)
                if os.path.isfile(f) and Path(f).resolve() != target_path.resolve()
            ]
            older = self._older(files)
            if older:
                files = [f for f in files if f not in older]
                print(
                    f"CombineCSVFiles: {len(older)} file(s) older than the delivery left out "
                    "(all_deliveries=True takes them)"
                )
            if not files:
                print(f"CombineCSVFiles: no files match {pattern}")
                continue
            origins = Origins(self.commands) if self.commands else None
            self.combined[target] = combine_csv(files, target_path, origins)
            print(
                f"CombineCSVFiles: {len(files)} file(s), {self.combined[target]} row(s) -> {target}"
            )
            if self.remove:
                for f in files:
                    os.remove(f)

    def _older(self, files: list[str]) -> set[str]:
        """The files written before the delivery (a node's clock may be CLOCK_SKEW behind)."""
        if self.all_deliveries or self.delivered_at is None:
            return set()
        since = self.delivered_at - CLOCK_SKEW
        return {f for f in files if os.path.getmtime(f) < since}

    def __str__(self) -> str:
        return f"CombineCSVFiles({self.source_files}->{self.target_file})"
