"""Slurm on a real single-node cluster (munge, slurmctld, slurmd); a test host is the login node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from octopus import Experiment, ExperimentTask, KillAllSlurmJobs
from octopus.run.events import parse_events
from octopus.testing.slurm import TestSlurm, slurm_state_dir
from octopus.testing.sshhosts import TestCluster
from octopus.views.monitor import as_json
from tests.conftest import cluster_nodes, run_quiet, wait_for_monitor


@pytest.fixture(scope="module")
def slurm() -> Iterator[tuple[TestCluster, TestSlurm]]:
    root = slurm_state_dir()
    cluster = TestCluster(1, session_env={"SLURM_CONF": str(root / "slurm.conf")})
    cluster.start()
    daemons = TestSlurm(cluster.hosts[0], root)
    try:
        daemons.start()
        yield cluster, daemons
    finally:
        daemons.stop()
        cluster.stop()


def job_state(report, worker: str = "h1/s0") -> str:
    """The Slurm state monitor last saw for a worker's job."""
    return report.ledger.workers.get(worker, {}).get("state", "")


def test_a_job_of_two_parallel_tasks(slurm, workdir: Path):
    cluster, _ = slurm
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster, launcher="slurm", num_parallel_screens_or_jobs=1)
    exp = Experiment(
        name="par",
        nodes=nodes,
        slurm_num_parallel_tasks_per_job=2,
        slurm_num_cpus_per_job=1,
        shuffle_seed=0,
        slurm_options={"time": "00:05:00"},
        experiment_commands=[f"sleep 1; echo $SLURM_JOB_ID > ~/par_{n}" for n in range(4)],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    script = (workdir / "deliverables" / "par" / "h1" / "run_exp_s0.sh").read_text()
    for line in (
        f"#SBATCH --job-name={exp.paths.worker_session(0)}",
        "#SBATCH --ntasks=2",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH -e job_0.err",
        "#SBATCH -o job_0.out",
        "#SBATCH --time=00:05:00",
    ):
        assert line + "\n" in script
    assert "--gpus" not in script

    started = run_quiet(exp, ExperimentTask.START)
    assert started.ok
    [job_id] = started.data()["h1"].submitted.values()
    # Commands can all be done a moment before Slurm calls the job completed.
    report = wait_for_monitor(exp, nodes, lambda r: r.finished and job_state(r) == "COMPLETED")
    assert report.totals["done"] == 4 and report.exit_code == 0
    data = as_json(report)
    assert data["nodes"]["h1"]["workers"]["s0"]["slurm"]["job_id"] == job_id
    assert data["nodes"]["h1"]["workers"]["s0"]["slurm"]["state"] == "COMPLETED"
    assert {(host.home / f"par_{n}").read_text().strip() for n in range(4)} == {job_id}
    events = parse_events(
        (host.home / exp.paths.remote_current / "state" / "s0.events").read_text()
    )
    first, second = events.attempts[0][0], events.attempts[1][0]
    assert second.started < first.ended  # the two tasks ran at the same time


def test_a_cancelled_job_leaves_its_unfinished_commands_cancelled_and_resume_submits_them(
    slurm, workdir: Path
):
    cluster, daemons = slurm
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster, launcher="slurm", num_parallel_screens_or_jobs=1)
    exp = Experiment(
        name="cancel",
        nodes=nodes,
        shuffle_seed=0,
        experiment_commands=[f"echo {n} >> ~/cancel_runs; sleep 1" for n in range(4)],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    first = run_quiet(exp, ExperimentTask.START)
    assert first.ok
    wait_for_monitor(exp, nodes, lambda r: r.totals["done"] >= 1 and r.totals["running"] == 1)
    assert run_quiet(exp, ExperimentTask.PURGE).ok  # scancel by the experiment's job names

    report = wait_for_monitor(
        exp, nodes, lambda r: r.totals["running"] == 0 and job_state(r) == "CANCELLED"
    )
    data = as_json(report)
    assert data["nodes"]["h1"]["workers"]["s0"]["slurm"]["state"] == "CANCELLED"
    done = report.totals["done"]
    assert report.totals == {
        "done": done,
        "failed": 0,
        "running": 0,
        "pending": 0,
        "lost": 0,
        "cancelled": 4 - done,  # stopped on purpose: not lost, and --resume runs them
    }
    assert report.exit_code == 0
    assert 1 <= done < 4

    resumed = run_quiet(exp, ExperimentTask.START, resume=True)
    assert resumed.ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished)
    assert report.totals["done"] == 4
    runs = [int(x) for x in (host.home / "cancel_runs").read_text().split()]
    # Only what had not finished ran again (the command cancelled midway, once more).
    assert sorted(set(runs)) == [0, 1, 2, 3] and len(runs) <= 5
    jobs = [first.data()["h1"].submitted["s0"], resumed.data()["h1"].submitted["s0"]]
    assert len(set(jobs)) == 2
    assert exp.paths.session_prefix not in daemons.squeue("-h", "-o", "%j")


def test_asking_for_gpus_on_a_node_without_them_fails_with_slurms_reason(slurm, workdir: Path):
    cluster, _ = slurm
    nodes = cluster_nodes(cluster, launcher="slurm")
    exp = Experiment(
        name="gpu", nodes=nodes, slurm_num_gpus_per_job=1, experiment_commands=["nvidia-smi"]
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    started = time.monotonic()
    report = run_quiet(exp, ExperimentTask.START)
    assert time.monotonic() - started < 20
    result = report.results[0]
    assert not report.ok and result.exit_code == 1
    assert "Invalid generic resource (gres) specification" in result.stderr_tail


def test_kill_all_slurm_jobs_cancels_this_experiments_jobs_only(slurm, workdir: Path):
    cluster, daemons = slurm
    nodes = cluster_nodes(cluster, launcher="slurm")
    # The step in a stage of its own (inv purge would cancel the jobs by itself anyway).
    mine = Experiment(
        name="mine",
        nodes=nodes,
        experiment_commands=["sleep 120"],
        check_error_steps=[KillAllSlurmJobs()],
    )
    theirs = Experiment(name="theirs", nodes=nodes, experiment_commands=["sleep 121"])
    for exp in (mine, theirs):
        assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
        assert run_quiet(exp, ExperimentTask.START).ok
    names = daemons.squeue("-h", "-o", "%j").split()
    my_job, their_job = mine.paths.worker_session(0), theirs.paths.worker_session(0)
    assert {my_job, their_job} <= set(names)
    assert run_quiet(mine, ExperimentTask.CHECK_ERRORS).ok
    deadline = time.monotonic() + 20
    while my_job in daemons.squeue("-h", "-o", "%j").split():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert their_job in daemons.squeue("-h", "-o", "%j").split()
    assert run_quiet(theirs, ExperimentTask.PURGE).ok
