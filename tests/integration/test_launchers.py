"""Launchers and purge on real hosts: process and screen workers, refusals, --force, rebalance."""

from __future__ import annotations

from pathlib import Path

from octopus import Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.testing.sshhosts import TestHost
from tests.conftest import cluster_nodes, run_quiet, wait_for


def processes(host: TestHost, pattern: str) -> list[str]:
    listing = host.exec("ps -eo pid=,args=")
    return [line for line in listing.splitlines() if pattern in line and "ps -eo" not in line]


def test_process_launcher_purge_stops_only_this_experiment(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster, launcher="process", num_parallel_screens_or_jobs=2)
    # Commands that ignore SIGHUP and SIGTERM would survive a polite stop; purge must not care.
    slow = Experiment(
        name="slow",
        nodes=nodes,
        experiment_commands=["trap '' HUP TERM; sleep 301", "trap '' HUP TERM; sleep 302"],
    )
    other = Experiment(name="other", nodes=nodes, experiment_commands=["sleep 303"])
    for exp in (slow, other):
        assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
        assert run_quiet(exp, ExperimentTask.START).ok
    assert wait_for(lambda: len(processes(host, "sleep 30")) == 3)
    host.exec("sleep 399 >/dev/null 2>&1 &")  # the user's own process, not octopus'

    # Delivering again while workers run is refused everywhere, and changes nothing.
    before = (workdir / "deliverables" / "slow" / "manifest.json").read_text()
    report = run_quiet(slow, ExperimentTask.DELIVER_SCRIPTS)
    assert not report.ok and "still running" in report.local_failures[0]
    assert (workdir / "deliverables" / "slow" / "manifest.json").read_text() == before

    status = monitor(slow, nodes, output=StageOutput(quiet=True))
    assert status.totals["running"] == 2

    assert run_quiet(slow, ExperimentTask.PURGE).ok
    assert wait_for(lambda: not processes(host, "sleep 301") and not processes(host, "sleep 302"))
    assert processes(host, "sleep 303") and processes(host, "sleep 399")
    status = monitor(slow, nodes, output=StageOutput(quiet=True))
    # Stopped on purpose: cancelled, not lost, and no failure for cron.
    assert status.totals["cancelled"] == 2 and status.totals["lost"] == 0
    assert status.exit_code == 0

    # --force delivers over running workers by stopping them first.
    assert run_quiet(other, ExperimentTask.DELIVER_SCRIPTS, force=True).ok
    assert wait_for(lambda: not processes(host, "sleep 303"))
    assert processes(host, "sleep 399")


def test_screen_start_force_restarts_a_running_worker(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster)
    exp = Experiment(name="forced", nodes=nodes, experiment_commands=["sleep 311"])
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    assert wait_for(lambda: len(processes(host, "sleep 311")) == 1)
    first = processes(host, "sleep 311")
    refused = run_quiet(exp, ExperimentTask.START)
    assert not refused.ok and "s0 still running" in refused.results[0].message
    assert run_quiet(exp, ExperimentTask.START, force=True).ok
    assert wait_for(
        lambda: len(processes(host, "sleep 311")) == 1 and processes(host, "sleep 311") != first
    )
    assert run_quiet(exp, ExperimentTask.PURGE).ok
    assert wait_for(lambda: not processes(host, "sleep 311"))


def test_rebalance_moves_work_off_a_dead_node(make_cluster, workdir: Path):
    cluster = make_cluster(3)
    nodes = cluster_nodes(cluster, connect_timeout=2)
    commands = [f"sleep 0.2; echo {n} >> ~/ran.txt" for n in range(12)]
    exp = Experiment(name="moving", nodes=nodes, experiment_commands=commands)
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    cluster.hosts[1].kill()  # h2 dies before it ran anything
    started = run_quiet(exp, ExperimentTask.START)
    assert [r.outcome.value for r in started.results] == ["ok", "unreachable", "ok"]

    status = monitor(exp, nodes, output=StageOutput(quiet=True))
    assert "h2" in status.unreachable and status.exit_code == 1
    report = run_quiet(exp, ExperimentTask.START, rebalance=True)
    assert [r.outcome.value for r in report.results] == ["ok", "unreachable", "ok"]

    def all_ran() -> bool:
        ran = [
            int(x)
            for h in (cluster.hosts[0], cluster.hosts[2])
            if (h.home / "ran.txt").exists()
            for x in (h.home / "ran.txt").read_text().split()
        ]
        return sorted(ran) == list(range(12))

    assert wait_for(all_ran, timeout=30)
    up = [n for n in nodes if n.name != "h2"]
    status = monitor(exp, up, output=StageOutput(quiet=True))
    assert status.totals["done"] == 12


def test_start_warns_when_the_experiments_venv_is_missing(make_cluster, workdir: Path):
    from octopus import SetupVenv

    cluster = make_cluster(1)
    nodes = cluster_nodes(cluster, python_version="3")
    exp = Experiment(
        name="novenv",
        nodes=nodes,
        exp_folder_name="novenv",
        setup_steps=[SetupVenv()],  # never run: the venv is not there
        experiment_commands=['echo "${VIRTUAL_ENV:-none}" > ~/venv_seen'],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    report = run_quiet(exp, ExperimentTask.START)
    assert report.ok
    assert "no venv at ~/novenv/venv3: the scripts run without it" in report.results[0].message
    host = cluster.hosts[0]
    assert wait_for(lambda: (host.home / "venv_seen").exists())
    assert (host.home / "venv_seen").read_text() == "none\n"


def test_deliver_refused_by_one_busy_node_leaves_every_node_as_it_was(make_cluster, workdir: Path):
    """Workers run on h1 only: deliver is refused, and h2, which took the upload in the same
    command as its check, removes it again and keeps its current delivery."""
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    nodes = cluster_nodes(cluster, launcher="process")
    exp = Experiment(
        name="busy",
        nodes=nodes,
        experiment_commands=['[ "$(hostname)" = h1 ] && sleep 304; true'] * 2,
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    assert wait_for(lambda: len(processes(h1, "sleep 304")) == 1)
    current = h2.home / exp.paths.remote_current
    kept = current.resolve()
    report = run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS)
    outcomes = {r.node: r for r in report.results}
    assert not report.ok and "h1: process" in report.local_failures[0]
    assert outcomes["h1"].message.startswith("still running: process")
    assert outcomes["h2"].outcome.value == "ok"
    assert current.resolve() == kept
    assert [p.name for p in (current.parent / "deliveries").iterdir()] == [kept.name]
    assert run_quiet(exp, ExperimentTask.PURGE).ok
    assert wait_for(lambda: not processes(h1, "sleep 304"))
