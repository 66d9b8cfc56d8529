"""Steps that run shell commands on the nodes, or show what is there."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from octopus.node import python_for
from octopus.remote.shell import quote_glob, quote_path
from octopus.schema import PathLike, as_list, path_text
from octopus.steps.base import Step
from octopus.steps.context import StepContext
from octopus.steps.venvs import python_version, venv_dir


class Cmd(Step):
    """Run a command, or several joined with && (so a `cd` carries over), from the home folder."""

    def __init__(self, cmd: str | list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cmd = as_list(cmd)

    def commands(self, ctx: StepContext) -> list[str]:
        return [" && ".join(self.cmd)] if self.cmd else []

    def __str__(self) -> str:
        return f"Cmd({self.cmd})"


class PythonCmd(Step):
    """Run a command inside the experiment folder with its venv active (created if missing)."""

    def __init__(self, cmd: str, python_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cmd = cmd
        self.python_version = python_version

    def commands(self, ctx: StepContext) -> list[str]:
        # PythonCmd makes its venv itself when missing, and has always defaulted to python3.
        version = python_version(ctx, self.python_version, default="3")
        venv = venv_dir(version)
        python = python_for(version)
        folder = quote_path(ctx.experiment.exp_folder)
        return [
            f"mkdir -p -- {folder} && cd {folder} && "
            f"{{ [ -x {venv}/bin/python ] || {python} -m venv {venv}; }} && "
            f". {venv}/bin/activate && {self.cmd}"
        ]


class ScreenCmd(Step):
    """Start commands in a detached screen session named after the experiment; returns at once.

    With a logfile, each command's output (stdout and stderr) is appended to it.
    """

    def __init__(
        self,
        cmd: str | list[str],
        logfile: PathLike | None = None,
        cleanup_logfile: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cmd = as_list(cmd)
        self.logfile = path_text(logfile) if logfile is not None else None
        self.cleanup_logfile = cleanup_logfile

    def session(self, ctx: StepContext) -> str:
        digest = hashlib.sha1("\n".join(self.cmd).encode()).hexdigest()[:6]
        return ctx.experiment.paths.step_session(digest)

    def commands(self, ctx: StepContext) -> list[str]:
        if self.logfile:
            log = quote_path(self.logfile)
            inner = "; ".join(f"{{ {c}\n}} 2>&1 | tee -a {log}" for c in self.cmd)
        else:
            inner = "; ".join(self.cmd)
        start = f"screen -dmS {self.session(ctx)} bash -c {quote_path(inner)}"
        if self.logfile and self.cleanup_logfile:
            return [f"rm -f -- {quote_path(self.logfile)} && {start}"]
        return [start]


class CheckOutput(Step):
    """Run commands and show their output; a non-zero exit (grep finding nothing) is no failure.

    They run in the experiment's current delivery folder on the node, beside the workers'
    output_screen<i> files (as the original ran them beside those files), or in the home
    folder before anything was delivered.
    """

    def __init__(self, commands: str | list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_commands = as_list(commands)

    def commands(self, ctx: StepContext) -> list[str]:
        current = quote_path(ctx.experiment.paths.remote_current)
        return [
            f'{{ cd "$HOME"/{current} 2>/dev/null || true; }} && {c}' for c in self.check_commands
        ]

    def describe(self, ctx: StepContext) -> list[str]:
        return [f"(in ~/{ctx.experiment.paths.remote_current}) {c}" for c in self.check_commands]

    def execute(self, ctx: StepContext) -> None:
        for command, full in zip(self.check_commands, self.commands(ctx), strict=True):
            result = ctx.run(full, warn=True)
            if not result.ok:
                ctx.say(f"(exit {result.exited}: {command})")


class CountGeneratedFiles(Step):
    """Count the files in each path (newest first) and list the first `list_n_files` of them."""

    def __init__(
        self, path: PathLike | list[PathLike], list_n_files: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.path = as_list(path)
        self.list_n_files = list_n_files

    def commands(self, ctx: StepContext) -> list[str]:
        return [f"ls -1t {quote_glob(p)} 2>/dev/null" for p in self.path]

    def execute(self, ctx: StepContext) -> None:
        for path, command in zip(self.path, self.commands(ctx), strict=True):
            result = ctx.run(command, warn=True, show=False)
            files = [line for line in result.stdout.splitlines() if line.strip()]
            ctx.say(f"{len(files)} file(s) in {path}")
            for name in files[: self.list_n_files]:
                ctx.say(f"  {name}")


_SESSION_LINE = re.compile(r"^\s+(\d+)\.(\S+)\s+\(")


def parse_screen_sessions(listing: str) -> list[tuple[int, str]]:
    """(pid, name) of every session in `screen -ls` output."""
    return [
        (int(m.group(1)), m.group(2))
        for m in (_SESSION_LINE.match(line) for line in listing.splitlines())
        if m
    ]


class CheckActiveScreens(Step):
    """Show how many screen sessions of this experiment (or of the user, all_sessions) are alive."""

    def __init__(self, all_sessions: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.all_sessions = all_sessions

    def commands(self, ctx: StepContext) -> list[str]:
        return ["screen -ls"]

    def execute(self, ctx: StepContext) -> None:
        listing = ctx.run("screen -ls", warn=True, show=False).stdout
        paths = ctx.experiment.paths
        sessions = [
            name
            for _pid, name in parse_screen_sessions(listing)
            if self.all_sessions or paths.is_session(name)
        ]
        ctx.say(f"{len(sessions)} active screen session(s)")
        for name in sessions:
            ctx.say(f"  {name}")
