"""Python environments on the nodes: SetupVenv (venv + pip), SetupUvVenv (uv), SetupRYEVenv."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from octopus.node import python_for
from octopus.remote.shell import quote_path
from octopus.schema import PathLike, path_text
from octopus.steps.base import AnyStep, Step
from octopus.steps.context import StepContext

if TYPE_CHECKING:
    from octopus.experiment import Experiment
    from octopus.node import Node

# Where octopus installs uv for a node that lacks it: a venv of its own, so neither a system
# Python marked externally managed (PEP 668) nor the user's packages are touched.
UV_HOME = ".octopus/uv"


def python_version(ctx: StepContext, given: str | None = None, default: str = "") -> str:
    """The Python version a step uses: its own, else the node's, else the experiment's."""
    return given or ctx.node.python_version or ctx.experiment.python_version or default


def venv_dir(version: str) -> str:
    """The venv folder SetupVenv makes inside the experiment folder."""
    return f"venv{version}"


def venv_folder(experiment: Experiment, node: Node) -> tuple[str, bool]:
    """The venv `start` activates on the node (relative to the login folder), and whether a
    setup step of the experiment makes it (so that its absence deserves a warning)."""
    folder = experiment.exp_folder
    steps: list[AnyStep] = list(experiment.setup_steps)
    for step in steps:
        if isinstance(step, (SetupUvVenv, SetupRYEVenv)):
            return f"{folder}/.venv", True
        if isinstance(step, SetupVenv):
            version = step.python_version or node.python_version or experiment.python_version
            return f"{folder}/{venv_dir(version or '')}", True
    return f"{folder}/{venv_dir(node.python_version or experiment.python_version or '')}", False


def _pip_specs(requirements: list[str] | None) -> str:
    return " ".join(quote_path(r) for r in requirements or [])


class SetupVenv(Step):
    """Create `venv<python_version>` in the experiment folder (kept if present), install into it."""

    def __init__(
        self,
        requirements: list[str] | None = None,
        force: bool = False,
        use_requirements_txt: bool = False,
        requirements_txt_filename: PathLike = "requirements.txt",
        python_cmd: str | None = None,
        python_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.requirements = list(requirements or [])
        self.force = force
        self.use_requirements_txt = use_requirements_txt
        self.requirements_txt_filename = path_text(requirements_txt_filename)
        self.python_cmd = python_cmd
        self.python_version = python_version

    def commands(self, ctx: StepContext) -> list[str]:
        version = python_version(ctx, self.python_version)
        python = self.python_cmd or python_for(version)
        venv = venv_dir(version)
        steps = [
            f"mkdir -p -- {quote_path(ctx.experiment.exp_folder)}",
            f"cd {quote_path(ctx.experiment.exp_folder)}",
        ]
        if self.force:
            steps.append(f"rm -rf {venv}")
        steps.append(f"{{ [ -x {venv}/bin/python ] || {quote_path(python)} -m venv {venv}; }}")
        pip = f"{venv}/bin/python -m pip install -q --disable-pip-version-check"
        steps.append(f"{pip} --upgrade pip")
        if self.use_requirements_txt:
            steps.append(f"{pip} -r {quote_path(self.requirements_txt_filename)}")
        if self.requirements:
            steps.append(f"{pip} {_pip_specs(self.requirements)}")
        return [" && ".join(steps)]

    def __str__(self) -> str:
        return f"SetupVenv({self.requirements})"


class SetupUvVenv(Step):
    """Create `.venv` in the experiment folder with uv and install into it (uv comes if missing).

    With use_requirements_txt and a uv.lock beside pyproject.toml, `uv sync --frozen` installs
    exactly the locked versions; otherwise requirements go through `uv pip install`.
    """

    def __init__(
        self,
        requirements: list[str] | None = None,
        force: bool = False,
        use_requirements_txt: bool = False,
        requirements_txt_filename: PathLike = "requirements.txt",
        python_version: str | None = None,
        uv_version: str | None = None,
        python_cmd: str = "python3",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.requirements = list(requirements or [])
        self.force = force
        self.use_requirements_txt = use_requirements_txt
        self.requirements_txt_filename = path_text(requirements_txt_filename)
        self.python_version = python_version
        self.uv_version = uv_version
        self.python_cmd = python_cmd

    def commands(self, ctx: StepContext) -> list[str]:
        uv_spec = f"uv=={self.uv_version}" if self.uv_version else "uv"
        uv = '"$octopus_uv"'
        find_uv = (
            "octopus_uv=$(command -v uv || true); "
            f'[ -n "$octopus_uv" ] || octopus_uv="$HOME/{UV_HOME}/bin/uv"; '
            f'[ -x "$octopus_uv" ] || {{ {quote_path(self.python_cmd)} -m venv "$HOME/{UV_HOME}" '
            f'&& "$HOME/{UV_HOME}/bin/python" -m pip install -q --disable-pip-version-check '
            f"{quote_path(uv_spec)}; }}"
        )
        version = self.python_version or ctx.node.python_version
        python = f" --python {quote_path(version)}" if version else ""
        folder = quote_path(ctx.experiment.exp_folder)
        steps = [find_uv, f"mkdir -p -- {folder}", f"cd {folder}"]
        if self.force:
            steps.append("rm -rf .venv")
        steps.append(f"{{ [ -x .venv/bin/python ] || {uv} venv -q{python} .venv; }}")
        install = f"{uv} pip install -q --python .venv/bin/python"
        if self.use_requirements_txt:
            req = quote_path(self.requirements_txt_filename)
            steps.append(
                f"if [ -f uv.lock ] && [ -f pyproject.toml ]; then {uv} sync -q --frozen; "
                f"else {install} -r {req}; fi"
            )
        if self.requirements:
            steps.append(f"{install} {_pip_specs(self.requirements)}")
        return [" && ".join(steps)]


class SetupRYEVenv(Step):
    """Set up `.venv` with rye (pin, add, sync), installing rye first if the node has none.

    Rye is retired in favour of uv: SetupUvVenv does the same job and installs offline from a
    package mirror; this step stays for experiment files that name it.
    """

    def __init__(
        self,
        requirements: list[str] | None = None,
        force: bool = False,
        no_lock: bool = True,
        no_dev: bool = True,
        rye_add: list[str] | None = None,
        rye_version: str | None = None,
        python_version: str = "3.12.7",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.requirements = list(requirements or [])
        self.force = force
        self.no_lock = no_lock
        self.no_dev = no_dev
        self.rye_add = list(rye_add or [])
        self.rye_version = rye_version
        self.python_version = python_version

    def commands(self, ctx: StepContext) -> list[str]:
        version = f"RYE_VERSION={quote_path(self.rye_version)} " if self.rye_version else ""
        install = (
            '{ [ -f "$HOME/.rye/env" ] || { octopus_rye=$(curl -sSf https://rye.astral.sh/get) '
            f'&& printf "%s" "$octopus_rye" | {version}RYE_INSTALL_OPTION=--yes bash; }} '
            '|| { echo "rye is not installed and could not be installed; SetupUvVenv does the '
            'same with uv" >&2; exit 1; }; }'
        )
        sync = (
            "rye sync"
            + (" --no-lock" if self.no_lock else "")
            + (" --force" if self.force else "")
            + (" --no-dev" if self.no_dev else "")
        )
        folder = quote_path(ctx.experiment.exp_folder)
        steps = [f"mkdir -p -- {folder}", f"cd {folder}", install, '. "$HOME/.rye/env"']
        steps += [f"rye add {item}" for item in self.rye_add]
        steps += [f"rye add --no-sync {quote_path(r)}" for r in self.requirements]
        steps += [f"rye pin {quote_path(self.python_version)}", sync]
        return [" && ".join(steps)]
