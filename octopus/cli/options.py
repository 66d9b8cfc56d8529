"""Options every task shares, where their defaults come from (flags, then Invoke config), and
what a task does with them: load the experiment and nodes, run a stage, report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octopus.cli.config import MAX_PARALLEL, octopus_settings
from octopus.errors import ConfigError
from octopus.experiment import Experiment
from octopus.experiment_task import ExperimentTask
from octopus.facts import facts_command
from octopus.inventory import load_inventory, select_nodes
from octopus.loader import load_experiment
from octopus.localfiles import local_file_errors, write_atomically
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import exit_code_for
from octopus.stages.dispatch import run_experiment_task
from octopus.stages.options import StageOptions
from octopus.views.nodes import nodes_json, print_nodes
from octopus.views.tables import print_commands


@dataclass(frozen=True)
class Common:
    """The options every stage task takes, with Invoke's config behind them."""

    config: Any
    exp: str | None = None
    inventory: str | None = None
    nodes: str | None = None
    tags: str | None = None
    parallel: int = 0
    dry_run: bool = False
    verbose: bool = False
    plain: bool = False

    def __post_init__(self) -> None:
        # Every task checks the config's octopus: section, whether it reads it or not: a typo
        # there is never ignored (with `inv`, nothing else checks it).
        octopus_settings(self.config)
        if self.plain:  # every console of this run draws its tables in ASCII
            from octopus.console import plain_tables

            plain_tables(True)

    @property
    def inventory_path(self) -> str:
        """--inventory, else the Invoke config key octopus.inventory, else nodes.yaml."""
        return self.inventory or octopus_settings(self.config).inventory

    @property
    def parallel_nodes(self) -> int | None:
        """--parallel, else octopus.parallel from the config, else the engine's default."""
        if not 0 <= self.parallel <= MAX_PARALLEL:
            raise ConfigError(
                f"--parallel must be 0 (the default) to {MAX_PARALLEL} nodes, not {self.parallel}"
            )
        if self.parallel:
            return int(self.parallel)
        return octopus_settings(self.config).parallel or None

    def experiment(self) -> Experiment:
        """--exp, else octopus.exp from the config."""
        name = self.exp or octopus_settings(self.config).exp
        if not name:
            raise ConfigError(
                "which experiment? pass --exp NAME (a file in experiments/) or a path, "
                "or set octopus.exp in invoke.yaml"
            )
        return load_experiment(name)

    def selected_nodes(self) -> list[Node]:
        """The inventory's nodes the options ask for; ConfigError on any problem."""
        return load_inventory(self.inventory_path).select(self.nodes, self.tags)

    def stage(self, stage: ExperimentTask, **flags: Any) -> int:
        """Load the experiment, run one stage on the selected nodes; its exit code."""
        report = run_experiment_task(
            self.experiment(),
            stage,
            nodes=self.nodes,
            tags=self.tags,
            inventory=self.inventory_path,
            options=StageOptions(
                parallel=self.parallel_nodes, dry_run=self.dry_run, verbose=self.verbose, **flags
            ),
        )
        return 0 if report is None or report.ok else report.exit_code

    def probe_nodes(self, as_json: bool) -> int:
        """`inv nodes`: each selected node's facts (what would run, in a dry run)."""
        from rich.text import Text

        from octopus.console import make_console

        chosen = self.selected_nodes()
        out = make_console()
        if self.dry_run:
            for node in chosen:
                where = "locally" if node.local else f"on {node.ssh_hostname}"
                out.print(
                    Text.assemble(
                        (f"{node.name}", "bold"), f": would run {where}: {facts_command(node)}"
                    ),
                    soft_wrap=True,
                )
            return 0
        # Loaded when this task runs, as dispatch loads each stage: other tasks do not pay for it.
        from octopus.stages.nodes import probe_nodes

        results = probe_nodes(chosen, self.parallel_nodes)
        if as_json:
            print(nodes_json(results))
        else:
            print_nodes(results, chosen, out)
        return exit_code_for(results)

    def run_all(
        self,
        interval: float,
        timeout: float,
        strict: bool,
        steal: bool = True,
        notify: tuple[str, ...] = (),
        fresh: bool = False,
        *,
        force: bool = False,
        resume: bool = False,
        retry_failed: bool = False,
    ) -> int:
        """`inv run`: the whole lifecycle on the selected nodes (what succeeded before is
        kept unless `fresh`); force, resume and retry_failed go to its stages, as the
        deliver and start tasks pass them."""
        if interval <= 0:
            raise ConfigError(f"--interval must be more than 0 seconds, not {interval:g}")
        if timeout < 0:
            raise ConfigError(f"--timeout must be 0 (never) or more seconds, not {timeout:g}")
        # Loaded when this task runs, as dispatch loads each stage: other tasks do not pay for it.
        from octopus.stages.run import run_experiment

        experiment = self.experiment()
        chosen = select_nodes(experiment, self.nodes, self.tags, self.inventory_path)
        options = StageOptions(
            parallel=self.parallel_nodes,
            dry_run=self.dry_run,
            verbose=self.verbose,
            notify=notify,
            keep_done=not fresh,
            force=force,
            resume=resume,
            retry_failed=retry_failed,
        )
        return run_experiment(
            experiment,
            chosen,
            options,
            interval=interval,
            timeout=timeout or None,
            strict=strict,
            steal=steal,
        ).exit_code

    def logs(self, ident: str, failed: bool, node: str | None, tail: int) -> int:
        """`inv logs`: the chosen commands' logs, read from their nodes."""
        # Loaded when this task runs, as dispatch loads each stage: other tasks do not pay for it.
        from octopus.stages.logs import show_logs

        words = [w for w in ident.replace(",", " ").split() if w]
        bad = [w for w in words if not w.isdigit()]
        if bad:
            raise ConfigError(f"'{bad[0]}' is not a command id: give numbers, e.g. 17 or 17,940")
        if tail < 0:
            raise ConfigError(f"--tail must be 0 (whole logs) or more lines, not {tail}")
        experiment = self.experiment()
        chosen = select_nodes(experiment, self.nodes, self.tags, self.inventory_path)
        report = show_logs(
            experiment,
            chosen,
            StageOutput(),
            ids=[int(w) for w in words],
            failed=failed,
            node=node,
            tail=tail,
            dry_run=self.dry_run,
        )
        return report.exit_code

    def report(self, open_browser: bool, joblog: bool, where: list[str]) -> int:
        """`inv report`: deliverables/<exp>/report/index.html (and joblog.tsv with --joblog)."""
        # Loaded when this task runs: other tasks do not pay for the report's modules.
        from octopus.views.joblog import joblog_lines
        from octopus.views.report_data import gather, parse_where
        from octopus.views.report_html import write_report

        experiment = self.experiment()
        paths = experiment.paths
        data = gather(paths, experiment.name, parse_where(where))
        write_report(data, paths.report_page)
        print(f"report: {paths.report_page}")
        if joblog:
            with local_file_errors(paths.joblog):
                write_atomically(paths.joblog, "\n".join(joblog_lines(data.statuses)) + "\n")
            print(f"joblog: {paths.joblog}")
        if open_browser:
            import webbrowser

            webbrowser.open(paths.report_page.resolve().as_uri())
        return 0

    def print_commands(self) -> None:
        print_commands(self.experiment().experiment_commands)
