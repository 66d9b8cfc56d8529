"""What a stage is asked to do beyond its experiment and nodes: the tasks' flags, as one value."""

from __future__ import annotations

from dataclasses import dataclass

from octopus.run.start_policy import StartOptions


@dataclass(frozen=True)
class StageOptions:
    """Flags of the stage tasks; each stage reads the ones that concern it."""

    parallel: int | None = None  # nodes worked on at once (None: the engine's default)
    dry_run: bool = False  # print what would run on each node, change nothing
    force: bool = False  # deliver/start: stop running workers first
    replan: bool = False  # deliver: plan every command over the chosen nodes only
    resume: bool = False  # start: only commands not finished yet
    retry_failed: bool = False  # start: the failed commands again
    rebalance: bool = False  # start: the work of unreachable nodes to reachable ones
    steal: bool = False  # start, monitor: idle nodes take unclaimed commands of backlogged ones
    offline: bool = False  # monitor: the ledger only, no connection
    as_json: bool = False  # monitor: one JSON object instead of tables
    notify: tuple[str, ...] = ()  # monitor, run: more notification targets (--notify)
    verbose: bool = True  # every node's lines and every stage's table (the CLI: --verbose)
    keep_done: bool = False  # deliver: do not run again what succeeded (run, unless --fresh)
    # The experiment's own nodes when --nodes/--tags narrowed them (empty: not narrowed);
    # deliver asks for --replan before it leaves any of them out.
    all_nodes: tuple[str, ...] = ()

    @property
    def start(self) -> StartOptions:
        return StartOptions(
            resume=self.resume,
            retry_failed=self.retry_failed,
            rebalance=self.rebalance,
            force=self.force,
            steal=self.steal,
        )
