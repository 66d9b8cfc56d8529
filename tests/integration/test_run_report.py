"""`Experiment.run_all`, the whole lifecycle from Python (a project's tasks.py), returns its
report: each stage's per-node results, the commands' state at the end, the exit code."""

from __future__ import annotations

from pathlib import Path

from octopus import Experiment, Node


def test_run_all_returns_each_stage_and_the_final_state(workdir: Path) -> None:
    here = Node(test_connection=False, name="here", local=True, launcher="process")
    experiment = Experiment(
        name="r", experiment_commands=["true", "echo no >&2; exit 3"], nodes=[here]
    )
    report = experiment.run_all(interval=0.2, timeout=60, verbose=False)
    assert report.exit_code == 1 and not report.ok  # a command failed
    assert [r.stage for r in report.stages] == [
        "setup", "deliver", "start", "check-errors", "pickup"
    ]  # fmt: skip
    setup = report.stage("setup")
    assert setup is not None and [(r.node, r.ok) for r in setup.results] == [("here", True)]
    assert report.status is not None and report.status.finished
    totals = report.status.totals
    assert (totals["done"], totals["failed"]) == (1, 1)
    again = experiment.run_all(interval=0.2, timeout=60, verbose=False)  # only the failed one
    assert again.status is not None and again.status.totals["failed"] == 1
    deliver = again.stage("deliver")
    assert deliver is not None and deliver.ok
