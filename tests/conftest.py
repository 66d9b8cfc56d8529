"""Shared fixtures: real SSH test hosts (started here, stopped by PID) and inventory writers."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from octopus import Experiment, ExperimentTask, Node
from octopus.results import StageReport
from octopus.run import ledger_store
from octopus.run.deliveries import Deliveries
from octopus.run.ledger_store import status_of
from octopus.run.manifest import Manifest
from octopus.testing.sshhosts import TestCluster

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cluster() -> Iterator[TestCluster]:
    """Four independent hosts shared by tests that do not break them."""
    with TestCluster(4) as started:
        yield started


@pytest.fixture
def make_cluster() -> Iterator[object]:
    """Start a private cluster for a test that kills or changes hosts."""
    started: list[TestCluster] = []

    def make(count: int, **options: object) -> TestCluster:
        c = TestCluster(count, **options)  # type: ignore[arg-type]
        started.append(c)
        c.start()
        return c

    yield make
    for c in started:
        c.stop()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own project folder, as the current one: deliverables/ lands in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def latest_delivery(path: Path) -> Manifest:
    """The newest delivery in an experiment's record (deliverables/<exp>/manifest.json)."""
    manifest = Deliveries.read(path).latest
    assert manifest is not None
    return manifest


def ledger_states(path: Path) -> list[tuple[str, str]]:
    """(node, state) of every command in an experiment's ledger (deliverables/<exp>/...)."""
    stored = ledger_store.read(path)
    assert stored is not None, f"no ledger at {path}"
    return [(status_of(row).node, status_of(row).state.value) for row in stored[1]]


def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> bool:
    """Poll until predicate() holds or the timeout passes; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def write_inventory(
    path: Path, nodes: dict[str, dict[str, object]], defaults: dict[str, object] | None = None
) -> Path:
    data: dict[str, object] = {"nodes": nodes}
    if defaults:
        data["defaults"] = defaults
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_inv(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `inv ...` the way a user does, from the checkout (its tasks.py)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cluster_nodes(
    cluster: TestCluster,
    indexes: list[int] | None = None,
    tags: dict[int, list[str]] | None = None,
    **extra: object,
) -> list[Node]:
    """Nodes for some of a cluster's hosts (all by default), named h1..hN."""
    chosen = range(len(cluster.hosts)) if indexes is None else indexes
    return [
        Node(
            test_connection=False,
            name=cluster.hosts[i].name,
            tags=set((tags or {}).get(i, [])),
            **cluster.node_values(cluster.hosts[i], **extra),
        )  # type: ignore[arg-type]
        for i in chosen
    ]


@dataclass
class StageRun:
    report: StageReport
    text: str

    def lines(self, node: str) -> list[str]:
        prefix = f"{node}: "
        return [line[len(prefix) :] for line in self.text.splitlines() if line.startswith(prefix)]


def run_stage_on(
    nodes: list[Node],
    steps: list[object],
    *,
    name: str = "t",
    task: ExperimentTask = ExperimentTask.SETUP,
    dry_run: bool = False,
    **experiment: object,
) -> StageRun:
    """Run one stage of an experiment built from `steps`, capturing what it prints."""
    from octopus.output import StageOutput

    field = {
        ExperimentTask.SETUP: "setup_steps",
        ExperimentTask.PURGE: "purge_steps",
        ExperimentTask.MONITOR: "monitor_steps",
        ExperimentTask.PICKUP: "pickup_steps",
        ExperimentTask.CHECK_ERRORS: "check_error_steps",
    }[task]
    exp = Experiment(nodes=nodes, name=name, **{field: steps}, **experiment)  # type: ignore[arg-type]
    buffer = io.StringIO()
    out = StageOutput(Console(file=buffer, width=200, no_color=True), log_path=None)
    report = exp.run_task(task, output=out, dry_run=dry_run)
    assert report is not None
    return StageRun(report, buffer.getvalue())


def run_quiet(exp: Experiment, task: ExperimentTask, **options: object) -> Any:
    """Run one stage printing nothing; returns its report."""
    from octopus.output import StageOutput

    report = exp.run_task(task, output=StageOutput(quiet=True), **options)  # type: ignore[arg-type]
    assert report is not None
    return report


def wait_for_monitor(
    exp: Experiment, nodes: list[Node], predicate: Callable[[Any], bool], timeout: float = 60
) -> Any:
    """Monitor until the report satisfies predicate (or the timeout passes); the last report."""
    from octopus.output import StageOutput
    from octopus.stages.monitor import monitor

    deadline = time.monotonic() + timeout
    while True:
        report = monitor(exp, nodes, output=StageOutput(quiet=True))
        if predicate(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.3)
