"""Step and LocalStep: what a stage is made of, and the registry YAML names resolve through.

A remote step says which commands it would run on a node (`commands`), so dry runs and tests
read them without a connection; `execute` runs them through the stage's one connection.
Steps that transfer files or need Python on this side override `execute` and `describe`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from invoke.runners import Result

from octopus.errors import ConfigError, OctopusError, did_you_mean
from octopus.node import Node
from octopus.schema import matches, type_name

if TYPE_CHECKING:
    from octopus.connection import AnyConnection
    from octopus.experiment import Experiment
    from octopus.output import StageOutput

# A step command may legitimately run long (pip installs, dataset downloads); an hour is the
# default ceiling so a hung node cannot hold a stage forever. Steps and config can change it.
DEFAULT_COMMAND_TIMEOUT = 3600.0

_registry: dict[str, type[Step] | type[LocalStep]] = {}


class StepFailed(OctopusError):
    """A step's command failed on a node; carries what the summary shows."""

    def __init__(self, message: str, exit_code: int | None = None, stderr_tail: str = "") -> None:
        self.code = exit_code
        self.stderr_tail = stderr_tail
        super().__init__(message)


class StepContext:
    """What a step gets on one node: the node, the stage's connection, the experiment, output."""

    def __init__(
        self,
        node: Node,
        conn: AnyConnection | None,
        experiment: Experiment,
        output: StageOutput,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self.node = node
        self.conn = conn
        self.experiment = experiment
        self.output = output
        self.timeout = timeout
        self.warnings: list[str] = []

    @property
    def name(self) -> str:
        return self.node.name or "?"

    def connection(self) -> AnyConnection:
        if self.conn is None:
            raise OctopusError("this step needs a connection, but none was opened (dry run?)")
        return self.conn

    def run(
        self, command: str, *, warn: bool = False, show: bool = True, timeout: float | None = None
    ) -> Result:
        """Run a command on the node, its output shown line by line; a failure raises StepFailed."""
        out = self.output.writer(self.name, "out")
        err = self.output.writer(self.name, "err")
        try:
            result = self.connection().run(
                command,
                hide=not show,
                warn=True,
                out_stream=out if show else None,
                err_stream=err if show else None,
                timeout=timeout or self.timeout,
            )
        finally:
            out.finish()
            err.finish()
        if not result.ok and not warn:
            tail = "\n".join(line for line in result.stderr.splitlines() if line.strip())
            raise StepFailed(
                f"exited with {result.exited}",
                exit_code=result.exited,
                stderr_tail="\n".join(tail.splitlines()[-5:]),
            )
        return result

    def say(self, text: str) -> None:
        self.output.line(self.name, text)

    def warn(self, text: str) -> None:
        """A line now, and a note in the stage summary for this node."""
        self.warnings.append(text)
        self.output.line(self.name, f"warning: {text}", "err")


def _check_arguments(cls: type, args: dict[str, Any], where: dict[str, Any]) -> list[ConfigError]:
    """Match YAML arguments against the step's constructor: names and types."""
    params: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    # Walk up while a constructor passes **kwargs on, as the original steps do.
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        for name, p in signature.parameters.items():
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.setdefault(name, p)
        try:
            for name, hint in typing.get_type_hints(init).items():
                hints.setdefault(name, hint)
        except Exception:  # a user's step with hints we cannot resolve: check names only
            pass
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
    errors = []
    step = cls.__name__
    for key, value in args.items():
        if key not in params:
            valid = ", ".join(params) or "none"
            errors.append(
                ConfigError(
                    f"step {step} has no argument '{key}'{did_you_mean(key, params)}; "
                    f"valid: {valid}",
                    key=key,
                    **where,
                )
            )
            continue
        hint = hints.get(key)
        if hint is not None and not matches(value, hint):
            errors.append(
                ConfigError(
                    f"step {step}: argument '{key}' must be {type_name(hint)}, not {value!r}",
                    key=key,
                    **where,
                )
            )
    missing = [
        name
        for name, p in params.items()
        if p.default is inspect.Parameter.empty and name not in args
    ]
    if missing:
        errors.append(ConfigError(f"step {step} needs argument(s): {', '.join(missing)}", **where))
    return errors


class _Registered:
    """Registers every concrete step class under its class name, the name YAML files use."""

    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Classes named with a leading underscore are octopus' own stage internals.
        if not cls.__dict__.get("abstract", False) and not cls.__name__.startswith("_"):
            _registry[cls.__name__] = cls  # type: ignore[assignment]


class Step(_Registered):
    """A step that runs on every selected node (those sharing one of its `tags`, if it has any)."""

    abstract = True

    def __init__(self, tags: Iterable[str] | str | None = None, local_cmd_prefix: str = "") -> None:
        if isinstance(tags, str):
            tags = [tags]
        self.tags: set[str] | None = set(tags) if tags is not None else None
        self.local_cmd_prefix = local_cmd_prefix

    label: ClassVar[str] = ""

    @property
    def step_name(self) -> str:
        return self.label or type(self).__name__

    def applies_to(self, node: Node) -> bool:
        return self.tags is None or bool(self.tags & node.tags)

    def commands(self, ctx: StepContext) -> list[str]:
        """The shell commands this step runs on the node, in order."""
        return []

    def describe(self, ctx: StepContext) -> list[str]:
        """What a dry run prints for this node: by default the commands themselves."""
        if type(self)._run is not Step._run:
            return [f"{self.step_name}._run(node) (a custom step: its commands are not known)"]
        return self.commands(ctx)

    def execute(self, ctx: StepContext) -> None:
        """Run the step on one node; the default runs `commands` one after the other.

        A step written for the original octopus implements `_run(node)` instead and calls
        node.run_cmd / file_exists / scp, which then use this stage's connection.
        """
        if type(self)._run is not Step._run:
            ctx.node._stage_context = ctx  # type: ignore[attr-defined]
            try:
                self._run(ctx.node)
            finally:
                ctx.node._stage_context = None  # type: ignore[attr-defined]
            return
        for command in self.commands(ctx):
            ctx.run(command)

    def _run(self, node: Node) -> None:
        """The original octopus' hook for custom steps (see execute)."""
        raise NotImplementedError

    def run(self, node: Node) -> None:
        """Run this step on one node by itself, as the original `step.run(node)` did."""
        from octopus.experiment import Experiment
        from octopus.experiment_task import ExperimentTask

        report = Experiment(nodes=[node], setup_steps=[self], name="step").run_task(
            ExperimentTask.SETUP
        )
        if report is not None and not report.ok:
            raise OctopusError(f"{self.step_name} failed on {node.name}")

    def __str__(self) -> str:
        return self.step_name


class LocalStep(_Registered):
    """A step that runs once on this machine; remote steps before it finish on every node first."""

    abstract = True

    def __init__(self, local_cmd_prefix: str = "") -> None:
        self.local_cmd_prefix = local_cmd_prefix

    label: ClassVar[str] = ""

    @property
    def step_name(self) -> str:
        return self.label or type(self).__name__

    def describe(self) -> list[str]:
        return [str(self)]

    def run(self) -> None:
        raise NotImplementedError(f"{self.step_name} does not implement run()")

    def __str__(self) -> str:
        return self.step_name


AnyStep = Step | LocalStep


def step_names() -> list[str]:
    return sorted(_registry)


def step_class(name: str) -> type[Step] | type[LocalStep]:
    try:
        return _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown step '{name}'{did_you_mean(name, _registry)}; valid steps: "
            f"{', '.join(step_names())}"
        ) from None


def build_step(
    name: str, args: dict[str, Any] | None, *, file: str | None = None, line: int | None = None
) -> AnyStep:
    """A step from its YAML form (`- Name: {arg: value}`), with every argument checked."""
    where: dict[str, Any] = {"file": file, "line": line}
    try:
        cls = step_class(name)
    except ConfigError as exc:
        raise exc.located(file=file, line=line) from None
    arguments = dict(args or {})
    errors = _check_arguments(cls, arguments, where)
    if errors:
        from octopus.errors import raise_all

        raise_all(errors)
    try:
        return cls(**arguments)
    except ConfigError as exc:
        raise exc.located(file=file, line=line) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"step {name}: {exc}", file=file, line=line) from None
