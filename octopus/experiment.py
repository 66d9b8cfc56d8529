"""Experiment: the commands to run, where, and the steps of each lifecycle stage, as a value.

One declaration below gives the constructor (every argument of the original octopus
`Experiment(...)`), the YAML schema (loader.py reads the same fields) and the table of fields
in the README (`fields_table`), so the three cannot drift apart. Running a stage is the
stages' job: `run_task` hands the experiment to them.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octopus.errors import ConfigError, one_line_errors
from octopus.experiment_task import ExperimentTask
from octopus.launchers.sbatch_options import check_options
from octopus.limits import (
    MAX_OFFSET,
    MAX_SOCKET,
    MAX_WORKERS_PER_NODE,
    check_command_limits,
    check_range,
)
from octopus.names import check_name
from octopus.node import Launcher, Node
from octopus.notify.targets import targets_of
from octopus.run.grid import expand
from octopus.run.layout import ExperimentPaths
from octopus.run.placeholders import check_placeholders
from octopus.run.schedule import check_schedule
from octopus.schema import path_text, reject_unknown_arguments
from octopus.steps.base import AnyStep, check_steps

if TYPE_CHECKING:
    from octopus.results import MonitorReport, RunReport, StageReport

# How a field is written in YAML, beyond its type: a step list, node selection, or not at all.
STEPS = "steps"
NODES = "nodes"
PYTHON_ONLY = "python only"
NOT_IN_YAML = "not in yaml"


def _field(
    default: Any,
    help: str,
    *,
    kind: str = "",
    alias_of: str = "",
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A field with its documentation (`help`), how YAML gives it, and the field it is another
    name for (`alias_of`: the original had several names for some arguments)."""
    metadata = {"help": help, "kind": kind, "alias_of": alias_of}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@reject_unknown_arguments
@dataclass(kw_only=True, eq=False)
class Experiment:
    """N commands over the selected nodes, with the steps of each stage."""

    experiment_commands: list[str] = _field(
        None,
        "experiment commands to execute (placeholders: `[job_id]`, `[socket]`, `[gpu]`)",
        factory=list,
    )
    experiment_prefix: str = _field("", "commands run before each worker's commands (e.g. `cd`)")
    nodes: list[Node] | None = _field(
        None, "Node objects, or in YAML node names or `{names, tags}` (default: all)", kind=NODES
    )
    setup_steps: list[AnyStep] = _field(None, "steps of `inv setup`", kind=STEPS, factory=list)
    purge_steps: list[AnyStep] = _field(
        None, "steps of `inv purge`, after the workers are stopped", kind=STEPS, factory=list
    )
    monitor_steps: list[AnyStep] = _field(
        None, "steps of `inv monitor`, after the state table", kind=STEPS, factory=list
    )
    check_error_steps: list[AnyStep] = _field(
        None, "steps of `inv check-errors`", kind=STEPS, factory=list
    )
    pickup_steps: list[AnyStep] = _field(
        None, "steps of `inv pickup` (bring results home)", kind=STEPS, factory=list
    )
    exp_folder_name: str | None = _field(
        None, "the experiment's folder on the nodes (default: the local repository's name)"
    )
    use_run_exp: bool = _field(False, "start workers with the `run_exp` reservation tool")
    run_exp_message: str = _field("Experiment", "message shown in run_exp reservations")
    use_run_exp_numa_socket: int | None = _field(
        None, "NUMA socket for run_exp (default: the worker's)"
    )
    run_exp_white_list_users: list[str] = _field(
        None, "users a node may be shared with (`inv select-nodes`)", factory=list
    )
    use_run_exp_exclusive: bool = _field(False, "ask run_exp for exclusive node access")
    use_run_exp_pin: bool = _field(False, "ask run_exp to pin to the NUMA socket (numactl)")
    run_exp_expected_time: str | None = _field(None, "expected runtime for run_exp (`H:M`)")
    slurm_num_parallel_tasks_per_job: int = _field(1, "commands run at once in one Slurm job")
    slurm_num_gpus_per_job: int = _field(0, "GPUs each Slurm job asks for")
    slurm_num_cpus_per_job: int = _field(1, "CPUs per task of each Slurm job")
    exp_script_gen: Callable[..., Any] | None = _field(
        None,
        "function splitting commands over workers (seed generators or your own)",
        kind=PYTHON_ONLY,
    )
    grid: dict[str, list[Any]] = _field(
        None, "each `{name}` in a command takes every value: `{seed: [1, 2]}`", factory=dict
    )
    zip: dict[str, list[Any]] = _field(  # noqa: A003 (YAML's key)
        None, "lists taken in lockstep: `{lr: [0.1, 0.01], epochs: [10, 20]}`", factory=dict
    )
    shuffle_seed: int = _field(0, "seed for shuffling commands over workers")
    screen_or_job_id_offset: int = _field(0, "added to every worker's number (`[job_id]`)")
    screens_per_node: int | None = _field(None, "workers per node (default: the node's own)")
    stop_on_error: bool = _field(False, "a worker stops at its first failing command")
    schedule: str | None = _field(
        None,
        "`queue`: a node's workers take the next command from one shared queue; `fixed`: "
        "each runs its own share (default: `queue`, `fixed` with `exp_script_gen`)",
    )
    command_timeout: float | None = _field(
        None, "seconds a command may run; then it is stopped and fails with exit 124"
    )
    command_retries: int = _field(0, "how often a failed command runs again")
    live_output: bool = _field(False, "`output_screen<i>` shows a command's stdout as it comes")
    slurm_options: dict[str, str] = _field(
        None, "more sbatch options (`{partition: gpu, time: '04:00:00'}`)", factory=dict
    )
    notify: dict[str, Any] = _field(
        None,
        "where to say that it ended or first failed: `email`, `webhook`, `command`",
        factory=dict,
    )
    python_version: str | None = _field(None, 'Python of the venv steps (`"3.10"`)')
    local_cmd_prefix: str = _field("", "prefix of local commands (e.g. `wsl`), given to every step")
    ssh_path: str = _field("ssh", "ssh program of the rsync steps")
    name: str = _field("", "the experiment's name (default: its file's name)")
    # The original's other names for some arguments.
    exp_folder_path: str | None = _field(None, "", alias_of="exp_folder_name")
    screens_or_jobs_per_node: int | None = _field(None, "", alias_of="screens_per_node")
    slurm_num_cpus_per_task: int | None = _field(None, "", alias_of="slurm_num_cpus_per_job")
    run_exp_expected_runtime: str | None = _field(None, "", alias_of="run_exp_expected_time")
    # Node selection by name and tag, as YAML's `nodes:` gives it.
    node_names: list[str] = _field(None, "", kind=NOT_IN_YAML, factory=list)
    node_tags: list[str] = _field(None, "", kind=NOT_IN_YAML, factory=list)
    # Set by the loader: the file the experiment came from.
    source: str | None = field(default=None, init=False)
    name_given: bool = field(default=False, init=False)
    command_params: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        # pathlib.Path values (as the original's users pass them) become text here, once.
        folder = self.exp_folder_name or self.exp_folder_path
        self.exp_folder_name = path_text(folder) if folder else None
        self.screens_per_node = self.screens_per_node or self.screens_or_jobs_per_node
        check_range(self.screens_per_node, 1, MAX_WORKERS_PER_NODE, key="screens_per_node")
        check_range(self.screen_or_job_id_offset, 0, MAX_OFFSET, key="screen_or_job_id_offset")
        check_range(self.use_run_exp_numa_socket, 0, MAX_SOCKET, key="use_run_exp_numa_socket")
        if self.slurm_num_cpus_per_task is not None:
            self.slurm_num_cpus_per_job = self.slurm_num_cpus_per_task
        self.run_exp_expected_time = self.run_exp_expected_time or self.run_exp_expected_runtime
        self.experiment_prefix = self.experiment_prefix or ""
        commands = list(self.experiment_commands or [])
        check_placeholders(commands, self.experiment_prefix, self.exp_script_gen)
        # A grid's templates become their commands here; each one's parameters are kept.
        self.experiment_commands, self.command_params = expand(commands, self.grid, self.zip)
        self.run_exp_white_list_users = list(self.run_exp_white_list_users or [])
        self._split_nodes()
        for name in STEP_FIELDS:
            setattr(self, name, check_steps(name, getattr(self, name)))
        for step in self.all_steps:
            # As the original did: the experiment's settings reach every step that has none.
            if getattr(step, "exp_folder_name", None) is None:
                step.exp_folder_name = self.exp_folder_name  # type: ignore[union-attr]
            if self.local_cmd_prefix and not step.local_cmd_prefix:
                step.local_cmd_prefix = self.local_cmd_prefix
            if self.ssh_path != "ssh" and getattr(step, "ssh_path", None) == "ssh":
                step.ssh_path = self.ssh_path  # type: ignore[union-attr]
        self.slurm_options = check_options(self.slurm_options or {}, "slurm_options")
        self.schedule = check_schedule(self.schedule, self.exp_script_gen)
        check_command_limits(self.command_timeout, self.command_retries)
        targets_of(self.notify)  # a wrong target is refused here, not when it is due
        self.name_given = bool(self.name)
        if not self.name:
            folder = (self.exp_folder_name or "").rstrip("/").rsplit("/", 1)[-1]
            self.name = folder or "experiment"
        check_name("experiment name", self.name, key="name")

    def _split_nodes(self) -> None:
        """`nodes` may hold Node objects or node names (not both): names go to node_names."""
        given: Sequence[Any] | None = self.nodes
        if given is None:
            return
        objects = [n for n in given if isinstance(n, Node)]
        names = [n for n in given if isinstance(n, str)]
        other = [n for n in given if not isinstance(n, (Node, str))]
        if other:
            raise ConfigError(
                f"nodes must be Node objects or node names, not {other[0]!r}", key="nodes"
            )
        if objects and names:
            raise ConfigError("nodes mixes Node objects and names; use one kind", key="nodes")
        self.nodes = objects if objects or not names else None
        self.node_names = [*self.node_names, *names]

    # -- what it is made of ------------------------------------------------------------------

    @property
    def all_steps(self) -> list[AnyStep]:
        return [step for name in STEP_FIELDS for step in getattr(self, name)]

    def steps_of(self, stage: ExperimentTask) -> list[AnyStep]:
        """The experiment's own steps of a stage (none for deliver, start and print)."""
        name = STAGE_STEPS.get(stage)
        return list(getattr(self, name)) if name else []

    @property
    def paths(self) -> ExperimentPaths:
        return ExperimentPaths(self.name)

    def launcher_of(self, node: Node) -> str:
        """How this experiment starts workers on the node (use_run_exp here means run_exp)."""
        if self.use_run_exp and node.launcher is not Launcher.SLURM:
            return str(Launcher.RUN_EXP)
        return str(node.launcher)

    @property
    def exp_folder(self) -> str:
        """The experiment's folder on the nodes: exp_folder_name, else the current folder's
        name (the folder RsyncCurrentRepo sends, as the original did)."""
        if self.exp_folder_name:
            return self.exp_folder_name.rstrip("/") or "/"
        return Path.cwd().name

    def use_nodes(self, nodes: list[Node]) -> None:
        """From now on, run on exactly these nodes (what select-nodes found free)."""
        self.nodes = list(nodes)
        self.node_names, self.node_tags = [], []

    # -- running stages ------------------------------------------------------------------------

    def run_task(
        self, task: ExperimentTask | str, **options: Any
    ) -> StageReport | MonitorReport | None:
        """Run one stage on the experiment's nodes; prints a summary and returns the report.

        The report's `ok` and `exit_code` say how it went (exit code 1 when a node failed).
        Keyword options: `nodes`, `tags`, `inventory` narrow the nodes, `output` is a
        StageOutput, and the rest are StageOptions (dry_run, parallel, force, resume, ...).
        """
        one_line_errors()  # a script calling run_task gets octopus' errors as one line
        # The stages run experiments, so they sit above this module: imported when a stage runs.
        from octopus.stages.dispatch import run_experiment_task
        from octopus.stages.options import StageOptions

        selection = {k: options.pop(k) for k in ("nodes", "tags", "inventory") if k in options}
        output = options.pop("output", None)
        return run_experiment_task(
            self, task, **selection, options=StageOptions(**options), output=output
        )

    def run_all(self, **options: Any) -> RunReport:
        """The whole lifecycle, as `inv run`; returns its report (each stage's, the state at
        the end, the exit code). Options: stages/run.py run_all."""
        one_line_errors()
        from octopus.stages.run import run_all  # as in run_task

        return run_all(self, **options)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, {len(self.experiment_commands)} commands)"


STAGE_STEPS = {
    ExperimentTask.SETUP: "setup_steps",
    ExperimentTask.MONITOR: "monitor_steps",
    ExperimentTask.PURGE: "purge_steps",
    ExperimentTask.CHECK_ERRORS: "check_error_steps",
    ExperimentTask.PICKUP: "pickup_steps",
}
STEP_FIELDS = ("setup_steps", "purge_steps", "monitor_steps", "check_error_steps", "pickup_steps")


@functools.cache  # resolving the hints costs more than reading a small file; read-only
def yaml_fields() -> dict[str, tuple[Any, str]]:
    """Every field YAML may give: name -> (type hint, kind)."""
    hints = typing.get_type_hints(Experiment)
    return {
        f.name: (hints[f.name], f.metadata.get("kind", ""))
        for f in dataclasses.fields(Experiment)
        if f.init and f.metadata.get("kind") != NOT_IN_YAML
    }
