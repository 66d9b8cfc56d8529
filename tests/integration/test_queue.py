"""A node's shared queue on a real host: one worker hangs, the other drains the rest of the
queue; the hung worker's session is killed, its command shows lost, and `start --resume`
runs it once more. Every command finishes exactly once, and the lost try's stdout and stderr
are kept."""

from __future__ import annotations

from pathlib import Path

from octopus import Experiment, ExperimentTask
from tests.conftest import cluster_nodes, run_quiet, wait_for_monitor

TOTAL = 12


def test_a_killed_worker_leaves_one_command_lost_and_resume_runs_it_once(
    make_cluster, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cluster = make_cluster(1)
    (host,) = cluster.hosts
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=2)
    exp = Experiment(
        name="queue",
        nodes=nodes,
        experiment_commands=[
            f"echo try {n}; echo warn {n} >&2; "
            f"if [ -f ~/hang_{n} ]; then rm -f ~/hang_{n}; sleep 300; fi; "
            f"echo {n} >> ~/ran.txt"
            for n in range(TOTAL)
        ],
    )
    host.write("hang_0", "")
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    report = wait_for_monitor(
        exp, nodes, lambda r: r.totals["done"] == TOTAL - 1 and r.totals["running"] == 1
    )
    assert report.totals["pending"] == 0  # the other worker took the whole rest of the queue
    (hung,) = [s for s in report.statuses if s.state.value == "running"]
    host.exec(f"screen -S {exp.paths.worker_session(hung.worker)} -X quit")
    report = wait_for_monitor(exp, nodes, lambda r: r.totals["running"] == 0)
    assert report.totals["lost"] == 1 and report.totals["done"] == TOTAL - 1

    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished)
    assert report.totals["done"] == TOTAL and report.exit_code == 0
    ran = sorted(int(x) for x in (host.home / "ran.txt").read_text().split())
    assert ran == list(range(TOTAL))  # each once: none lost, none twice
    logs = next((host.home / ".octopus").glob("queue@*/current/logs"))
    assert (logs / f"{hung.id}.out.earlier").read_text() == "try 0\n"
    assert (logs / f"{hung.id}.out").read_text() == "try 0\n"
    assert (logs / f"{hung.id}.err.earlier").read_text() == "warn 0\n"
    assert (logs / f"{hung.id}.err").read_text() == "warn 0\n"
