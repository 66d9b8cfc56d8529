"""Step and LocalStep: what a stage is made of.

A remote step says which commands it would run on a node (`commands`), so dry runs and tests
read them without a connection; `execute` runs them through the stage's one connection and
may return a value, which the engine hands back in the node's result. Steps that transfer
files or need Python on this side override `execute` and `describe`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from octopus.errors import ConfigError, OctopusError
from octopus.node import Node
from octopus.steps.context import StepContext
from octopus.steps.registry import register


class _Registered:
    """Registers every concrete step class under its class name, the name YAML files use."""

    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A stage's own steps (deliver's upload, monitor's status read) and classes named
        # with a leading underscore are octopus' internals, not steps an experiment lists.
        internal = cls.__name__.startswith("_") or cls.__module__.startswith("octopus.stages.")
        if not cls.__dict__.get("abstract", False) and not internal:
            register(cls)  # type: ignore[arg-type]


class Step(_Registered):
    """A step that runs on every selected node (those sharing one of its `tags`, if it has any)."""

    abstract = True

    def __init__(
        self,
        tags: Iterable[str] | str | None = None,
        local_cmd_prefix: str = "",
        ignore_errors: bool = False,
        timeout: float | None = None,
    ) -> None:
        if isinstance(tags, str):
            tags = [tags]
        self.tags: set[str] | None = set(tags) if tags is not None else None
        self.local_cmd_prefix = local_cmd_prefix
        # Ansible's name: a failure of this step is reported, and the next steps run anyway.
        self.ignore_errors = ignore_errors
        # Seconds each of its commands may run (None: as long as they need; a silent node is
        # still found within the connection's keepalive bound).
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.timeout = timeout

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

    def execute(self, ctx: StepContext) -> Any:
        """Run the step on one node; the default runs `commands` one after the other.

        A step written for the original octopus implements `_run(node)` instead and calls
        node.run_cmd / file_exists / scp, which then use this stage's connection.
        """
        if type(self)._run is not Step._run:
            # What the original set on every step, for custom steps that read it.
            if getattr(self, "exp_folder_name", None) is None:
                self.exp_folder_name = ctx.experiment.exp_folder
            ctx.node._stage_context = ctx
            try:
                self._run(ctx.node)
            finally:
                ctx.node._stage_context = None
            return None
        for command in self.commands(ctx):
            ctx.run(command)
        return None

    def _run(self, node: Node) -> None:
        """The original octopus' hook for custom steps (see execute)."""
        raise NotImplementedError

    def run(self, node: Node) -> None:
        """Run this step on one node by itself, as the original `step.run(node)` did."""
        # The original's one-off call: a one-step experiment run by the stage engine. Both sit
        # above the steps, so they are imported only when a user calls this.
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

    def __init__(self, local_cmd_prefix: str = "", ignore_errors: bool = False) -> None:
        self.local_cmd_prefix = local_cmd_prefix
        self.ignore_errors = ignore_errors

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


def check_steps(field: str, steps: Sequence[Any] | None) -> list[AnyStep]:
    """A stage's step list as given to Experiment: every item must be a step."""
    result = list(steps or [])
    for index, step in enumerate(result):
        if not isinstance(step, (Step, LocalStep)):
            raise ConfigError(
                f"item {index + 1} is {step!r}, not a step (e.g. Cmd(cmd='...'))", key=field
            )
    return result
