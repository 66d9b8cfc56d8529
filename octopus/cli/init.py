"""`octopus init`: a project folder that runs an experiment right away.

It writes what a project needs beside its code: nodes.yaml (this machine as the `local` node,
and an SSH node to fill in), experiments/example.yaml, a tasks.py that gives `inv` octopus'
tasks (with room for the project's own), and an invoke.yaml. A file that is already there is
kept as it is: init never overwrites.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from octopus.cli.arguments import OctopusTask
from octopus.cli.one_line import one_line
from octopus.localfiles import local_file_errors, make_folder

# Each file init writes: its path in the project, and its template among the package's files
# (tasks.py is kept under another name there, so that it is no module of octopus).
STARTER = {
    "nodes.yaml": "nodes.yaml",
    "experiments/example.yaml": "experiments/example.yaml",
    "tasks.py": "tasks.py.in",
    "invoke.yaml": "invoke.yaml",
}


@dataclass(frozen=True)
class Made:
    """What init did in a folder: the files it wrote and those it left as they were."""

    written: list[str]
    kept: list[str]


def starter_text(template: str) -> str:
    """A starter file's text."""
    return resources.files("octopus.cli").joinpath("starter", template).read_text("utf-8")


def init_project(folder: Path) -> Made:
    """Write the starter files into `folder`, keeping every file that exists."""
    written, kept = [], []
    for name, template in STARTER.items():
        target = folder / name
        make_folder(target.parent)
        with local_file_errors(target):
            try:  # an exclusive create: a file that is there, or made meanwhile, is kept
                handle = target.open("x", encoding="utf-8", newline="\n")
            except FileExistsError:
                kept.append(name)
                continue
            with handle:
                handle.write(starter_text(template))
        written.append(name)
    return Made(written, kept)


@task(
    help={"folder": "the project folder to write into (default: the current one)"},
    klass=OctopusTask,
)
def init(c: Context, folder: str = ".") -> None:
    """Start a project here: nodes.yaml, experiments/example.yaml, tasks.py, invoke.yaml."""

    def body() -> int:
        where = Path(folder)
        made = init_project(where)
        for name in made.written:
            print(f"wrote {where / name}")
        for name in made.kept:
            print(f"kept {where / name} (it exists: init never overwrites)")
        run = "octopus run --exp=example"
        print(f"next: {run}" if where == Path(".") else f"next: cd {where} && {run}")
        return 0

    one_line(body)
