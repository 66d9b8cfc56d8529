"""Experiment: the commands to run, where, and the steps of each lifecycle stage.

Takes every argument of the original octopus `Experiment(...)`; the same fields can be written
in YAML (see loader.py). `run_task` runs one stage and returns a report per node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octopus.errors import ConfigError, OctopusError, did_you_mean
from octopus.experiment_task import ExperimentTask
from octopus.gitrepo import local_repo_root
from octopus.node import Launcher, Node
from octopus.paths import ExperimentPaths
from octopus.steps.base import AnyStep, LocalStep, Step

if TYPE_CHECKING:
    from octopus.engine import StageReport
    from octopus.monitoring import MonitorReport
    from octopus.output import StageOutput

STEP_LISTS = ("setup_steps", "purge_steps", "monitor_steps", "check_error_steps", "pickup_steps")

STAGE_STEPS = {
    ExperimentTask.SETUP: "setup_steps",
    ExperimentTask.MONITOR: "monitor_steps",
    ExperimentTask.PURGE: "purge_steps",
    ExperimentTask.CHECK_ERRORS: "check_error_steps",
    ExperimentTask.PICKUP: "pickup_steps",
}

# Every argument Experiment takes, with its type as YAML must give it (None: anything).
EXPERIMENT_FIELDS: dict[str, Any] = {
    "name": str | None,
    "experiment_commands": list[str] | None,
    "experiment_prefix": str | None,
    "nodes": None,
    "setup_steps": None,
    "purge_steps": None,
    "monitor_steps": None,
    "check_error_steps": None,
    "pickup_steps": None,
    "exp_folder_name": str | None,
    "use_run_exp": bool,
    "run_exp_message": str,
    "use_run_exp_numa_socket": int | None,
    "run_exp_white_list_users": list[str] | None,
    "use_run_exp_exclusive": bool,
    "use_run_exp_pin": bool,
    "run_exp_expected_time": str | None,
    "slurm_num_parallel_tasks_per_job": int,
    "slurm_num_gpus_per_job": int,
    "slurm_num_cpus_per_job": int,
    "exp_script_gen": None,
    "shuffle_seed": int,
    "screen_or_job_id_offset": int,
    "screens_per_node": int | None,
    "stop_on_error": bool,
    "slurm_options": dict[str, str] | None,
    "python_version": str | None,
    "local_cmd_prefix": str,
    "ssh_path": str,
    "exp_folder_path": str | None,
    "screens_or_jobs_per_node": int | None,
    "slurm_num_cpus_per_task": int | None,
    "run_exp_expected_runtime": str | None,
}


class Experiment:
    """N commands over the selected nodes, with the steps of each stage."""

    def __init__(
        self,
        *,
        experiment_commands: Sequence[str] | None = None,
        experiment_prefix: str | None = "",
        nodes: Sequence[Node | str] | None = None,
        setup_steps: Sequence[AnyStep] | None = None,
        purge_steps: Sequence[AnyStep] | None = None,
        monitor_steps: Sequence[AnyStep] | None = None,
        check_error_steps: Sequence[AnyStep] | None = None,
        pickup_steps: Sequence[AnyStep] | None = None,
        exp_folder_name: str | None = None,
        use_run_exp: bool = False,
        run_exp_message: str = "Experiment",
        use_run_exp_numa_socket: int | None = None,
        run_exp_white_list_users: Sequence[str] | None = None,
        use_run_exp_exclusive: bool = False,
        use_run_exp_pin: bool = False,
        run_exp_expected_time: str | None = None,
        slurm_num_parallel_tasks_per_job: int = 1,
        slurm_num_gpus_per_job: int = 0,
        slurm_num_cpus_per_job: int = 1,
        exp_script_gen: Callable[..., Any] | None = None,
        shuffle_seed: int = 0,
        screen_or_job_id_offset: int = 0,
        screens_per_node: int | None = None,
        stop_on_error: bool = False,
        slurm_options: dict[str, str] | None = None,
        python_version: str | None = None,
        local_cmd_prefix: str = "",
        ssh_path: str = "ssh",
        exp_folder_path: str | None = None,
        screens_or_jobs_per_node: int | None = None,
        slurm_num_cpus_per_task: int | None = None,
        run_exp_expected_runtime: str | None = None,
        name: str | None = None,
        node_tags: Iterable[str] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            key = next(iter(unknown))
            raise ConfigError(
                f"Experiment has no argument '{key}'{did_you_mean(key, EXPERIMENT_FIELDS)}",
                key=key,
            )
        # The original's other names for the same arguments.
        exp_folder_name = exp_folder_name or exp_folder_path
        screens_per_node = screens_per_node or screens_or_jobs_per_node
        if slurm_num_cpus_per_task is not None:
            slurm_num_cpus_per_job = slurm_num_cpus_per_task
        run_exp_expected_time = run_exp_expected_time or run_exp_expected_runtime
        self.python_version = python_version
        self.local_cmd_prefix = local_cmd_prefix
        self.ssh_path = ssh_path
        self.experiment_commands = list(experiment_commands or [])
        self.experiment_prefix = experiment_prefix or ""
        self.nodes: list[Node] | None = None
        self.node_names: list[str] = []
        for entry in nodes or []:
            if isinstance(entry, Node):
                self.nodes = [*(self.nodes or []), entry]
            elif isinstance(entry, str):
                self.node_names.append(entry)
            else:
                raise ConfigError(
                    f"nodes must be Node objects or node names, not {entry!r}", key="nodes"
                )
        if self.nodes is not None and self.node_names:
            raise ConfigError("nodes mixes Node objects and names; use one kind", key="nodes")
        self.node_tags = list(node_tags or [])
        self.setup_steps = _steps("setup_steps", setup_steps)
        self.purge_steps = _steps("purge_steps", purge_steps)
        self.monitor_steps = _steps("monitor_steps", monitor_steps)
        self.check_error_steps = _steps("check_error_steps", check_error_steps)
        self.pickup_steps = _steps("pickup_steps", pickup_steps)
        for step in self.all_steps:
            # As the original did: the experiment's settings reach every step that has none.
            if local_cmd_prefix and not step.local_cmd_prefix:
                step.local_cmd_prefix = local_cmd_prefix
            if ssh_path != "ssh" and getattr(step, "ssh_path", None) == "ssh":
                step.ssh_path = ssh_path  # type: ignore[union-attr]
        self.exp_folder_name = exp_folder_name
        self.use_run_exp = use_run_exp
        self.run_exp_message = run_exp_message
        self.use_run_exp_numa_socket = use_run_exp_numa_socket
        self.run_exp_white_list_users = list(run_exp_white_list_users or [])
        self.use_run_exp_exclusive = use_run_exp_exclusive
        self.use_run_exp_pin = use_run_exp_pin
        self.run_exp_expected_time = run_exp_expected_time
        self.slurm_num_parallel_tasks_per_job = slurm_num_parallel_tasks_per_job
        self.slurm_num_gpus_per_job = slurm_num_gpus_per_job
        self.slurm_num_cpus_per_job = slurm_num_cpus_per_job
        self.exp_script_gen = exp_script_gen
        self.shuffle_seed = shuffle_seed
        self.screen_or_job_id_offset = screen_or_job_id_offset
        self.screens_per_node = screens_per_node
        self.stop_on_error = stop_on_error
        self.slurm_options = _slurm_options(slurm_options or {}, "slurm_options")
        self.name = name or (Path(exp_folder_name).name if exp_folder_name else "experiment")
        self.name_given = name is not None
        self.source: str | None = None

    @property
    def all_steps(self) -> list[AnyStep]:
        return [
            *self.setup_steps,
            *self.purge_steps,
            *self.monitor_steps,
            *self.check_error_steps,
            *self.pickup_steps,
        ]

    # -- where things are -------------------------------------------------------------------

    @property
    def paths(self) -> ExperimentPaths:
        return ExperimentPaths(self.name)

    def launcher_of(self, node: Node) -> str:
        """How this experiment starts workers on the node (use_run_exp here means run_exp)."""
        if self.use_run_exp and node.launcher is not Launcher.SLURM:
            return str(Launcher.RUN_EXP)
        return str(node.launcher)

    def venv_folder(self, node: Node) -> tuple[str, bool]:
        """The venv `start` activates on the node (relative to the login folder), and whether
        a setup step of this experiment makes it (so its absence deserves a warning)."""
        from octopus.steps.venvs import SetupRYEVenv, SetupUvVenv, SetupVenv

        folder = self.exp_folder
        for step in self.setup_steps:
            if isinstance(step, (SetupUvVenv, SetupRYEVenv)):
                return f"{folder}/.venv", True
            if isinstance(step, SetupVenv):
                version = step.python_version or node.python_version or self.python_version
                return f"{folder}/venv{version or ''}", True
        return f"{folder}/venv{node.python_version or self.python_version or ''}", False

    @property
    def delivered(self) -> bool:
        """Whether scripts were delivered from here (deliverables/<exp>/manifest.json exists)."""
        from octopus.manifest import MANIFEST

        return (self.paths.deliverables / MANIFEST).is_file()

    @property
    def exp_folder(self) -> str:
        """The experiment's folder on the nodes: exp_folder_name, else the local repo's name."""
        if self.exp_folder_name:
            return self.exp_folder_name.rstrip("/") or "/"
        return local_repo_root().name

    # -- running stages ---------------------------------------------------------------------

    def select_nodes(
        self,
        names: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
        inventory: str | Path | None = None,
    ) -> list[Node]:
        """The nodes a stage runs on: the experiment's own, narrowed by names and tags."""
        from octopus.inventory import DEFAULT_INVENTORY, Inventory, load_inventory

        if self.nodes is not None:
            pool = Inventory(
                Path(self.source or "<experiment>"), {n.name or "?": n for n in self.nodes}
            )
        else:
            pool = load_inventory(inventory or DEFAULT_INVENTORY)
            if self.node_names or self.node_tags:
                chosen = pool.select(self.node_names or None, self.node_tags or None)
                pool = Inventory(pool.path, {n.name or "?": n for n in chosen})
        return pool.select(names, tags)

    def run_task(
        self,
        task: ExperimentTask | str,
        *,
        nodes: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
        inventory: str | Path | None = None,
        parallel: int | None = None,
        dry_run: bool = False,
        output: StageOutput | None = None,
        force: bool = False,
        resume: bool = False,
        retry_failed: bool = False,
        rebalance: bool = False,
        offline: bool = False,
        as_json: bool = False,
    ) -> StageReport | MonitorReport | None:
        """Run one stage on the selected nodes; prints a summary and returns the report.

        The report's `ok` and `exit_code` say how it went (exit code 1 when a node failed).
        """
        from octopus.output import StageOutput

        task = ExperimentTask(str(task))
        if task is ExperimentTask.PRINT:
            self.print()
            return None
        chosen = self.select_nodes(nodes, tags, inventory)
        quiet = as_json and output is None
        out = output or StageOutput(
            log_path=None if dry_run else self.paths.stage_log(str(task)), quiet=quiet
        )
        try:
            return self._run_stage(
                task,
                chosen,
                out,
                parallel=parallel,
                dry_run=dry_run,
                force=force,
                resume=resume,
                retry_failed=retry_failed,
                rebalance=rebalance,
                offline=offline,
                as_json=as_json,
            )
        finally:
            if output is None:
                out.close()

    def _run_stage(
        self,
        task: ExperimentTask,
        nodes: list[Node],
        out: StageOutput,
        *,
        parallel: int | None,
        dry_run: bool,
        force: bool,
        resume: bool,
        retry_failed: bool,
        rebalance: bool,
        offline: bool,
        as_json: bool,
    ) -> StageReport | MonitorReport:
        from octopus.delivery import deliver
        from octopus.engine import run_stage
        from octopus.monitoring import monitor
        from octopus.output import StageOutput
        from octopus.runexp import select_runexp_nodes
        from octopus.status_view import print_json, print_report
        from octopus.workers import StartOptions, start, stop_step

        if task is ExperimentTask.SELECT_RUNEXP_NODES:
            selected, report = select_runexp_nodes(self, nodes, output=out, parallel=parallel)
            if not dry_run:
                # As the original did: later stages of this Experiment use the selection.
                self.nodes = selected
                self.node_names, self.node_tags = [], []
        elif task is ExperimentTask.DELIVER_SCRIPTS:
            _manifest, report = deliver(
                self, nodes, output=out, parallel=parallel, dry_run=dry_run, force=force
            )
        elif task is ExperimentTask.START:
            options = StartOptions(
                resume=resume, retry_failed=retry_failed, rebalance=rebalance, force=force
            )
            report = start(self, nodes, options, output=out, parallel=parallel, dry_run=dry_run)
        elif task is ExperimentTask.MONITOR and not dry_run and self.delivered:
            status = monitor(
                self,
                nodes,
                output=StageOutput(out.console, quiet=True),
                parallel=parallel,
                offline=offline,
            )
            if as_json:
                print_json(status)
            else:
                print_report(status, out.console)
            if self.monitor_steps and not offline:
                steps_report = run_stage(
                    "monitor",
                    self.monitor_steps,
                    nodes,
                    experiment=self,
                    output=out,
                    parallel=parallel,
                )
                if not as_json:
                    steps_report.print_summary(out.console)
                if not steps_report.ok:
                    status.steps_failed = True
            return status
        elif task is ExperimentTask.PURGE:
            report = run_stage(
                "purge",
                [stop_step(self), *self.purge_steps],
                nodes,
                experiment=self,
                output=out,
                parallel=parallel,
                dry_run=dry_run,
            )
        elif task in STAGE_STEPS:
            report = run_stage(
                str(task),
                getattr(self, STAGE_STEPS[task]),
                nodes,
                experiment=self,
                output=out,
                parallel=parallel,
                dry_run=dry_run,
            )
        else:
            raise OctopusError(f"stage '{task}' is not available for these nodes' launchers")
        if not out.quiet:
            report.print_summary(out.console)
        return report

    def print(self) -> None:
        """Print the experiment commands, one per line (the original PRINT stage)."""
        if not self.experiment_commands:
            print("no experiment commands")
        for command in self.experiment_commands:
            print(command)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, {len(self.experiment_commands)} commands)"


def _steps(field: str, steps: Sequence[AnyStep] | None) -> list[AnyStep]:
    result = list(steps or [])
    for index, step in enumerate(result):
        if not isinstance(step, (Step, LocalStep)):
            raise ConfigError(
                f"item {index + 1} is {step!r}, not a step (e.g. Cmd(cmd='...'))", key=field
            )
    return result


# sbatch options octopus writes itself, from the experiment's slurm_* arguments.
_OWN_SBATCH = {"job-name", "ntasks", "cpus-per-task", "gpus", "error", "output", "e", "o"}


def _slurm_options(options: dict[str, str], key: str) -> dict[str, str]:
    """sbatch options (partition, time, mem, account, qos, constraint, ...) as #SBATCH lines."""
    cleaned = {}
    for name, value in options.items():
        option = str(name).lstrip("-").replace("_", "-")
        if option in _OWN_SBATCH:
            raise ConfigError(f"'{name}' is set by octopus (see slurm_num_* arguments)", key=key)
        if "\n" in str(value):
            raise ConfigError(f"value of '{name}' must be one line", key=key)
        cleaned[option] = str(value)
    return cleaned
