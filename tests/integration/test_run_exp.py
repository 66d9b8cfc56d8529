"""run_exp on real hosts with the stand-in: node selection, exact argv, start, monitor, purge."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from octopus import Experiment, ExperimentTask, Node
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.testing.run_exp import install_run_exp
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_quiet

PATH = "/home/octo/bin:/usr/local/bin:/usr/bin:/bin"


@pytest.fixture(scope="module")
def lab():
    with TestCluster(4, session_env={"PATH": PATH}) as cluster:
        install_run_exp(cluster.hosts[0])
        install_run_exp(cluster.hosts[1], "bob Start: 10:00 numa 0 EXCLUSIVE: big training\n")
        install_run_exp(cluster.hosts[2], "alice Start: 10:00 numa 1 SHARED: sweep\n")
        install_run_exp(cluster.hosts[3], "carol Start: 10:00 numa 1 SHARED: other sweep\n")
        yield cluster


def test_select_nodes_keeps_free_and_whitelisted_nodes(
    lab: TestCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    nodes = cluster_nodes(lab, use_run_exp=True)
    gone = Node(
        test_connection=False,
        name="gone",
        **{
            **lab.node_values(lab.hosts[0]),  # type: ignore[arg-type]
            "ssh_hostname": lab.unreachable_address,
            "connect_timeout": 1,
            "use_run_exp": True,
        },
    )
    exp = Experiment(
        name="sel",
        nodes=[*nodes, gone],
        run_exp_white_list_users=["alice"],
        experiment_commands=["true"],
    )
    report = run_quiet(exp, ExperimentTask.SELECT_RUNEXP_NODES)
    assert {r.node: r.outcome.value for r in report.results}["gone"] == "unreachable"
    assert [n.name for n in exp.nodes or []] == ["h1", "h3"]


def test_own_running_experiment_selects_nothing(
    lab: TestCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    host = lab.hosts[0]
    host.write(".run_exp/others", "octo Start: 09:00 numa 0 SHARED: my earlier run\n")
    try:
        exp = Experiment(
            name="own",
            nodes=cluster_nodes(lab, [0, 2], use_run_exp=True),
            run_exp_white_list_users=["alice"],
            experiment_commands=["true"],
        )
        run_quiet(exp, ExperimentTask.SELECT_RUNEXP_NODES)
        assert exp.nodes == []
    finally:
        host.write(".run_exp/others", "")


def test_start_records_the_exact_argv_then_monitor_and_purge(
    lab: TestCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    host = lab.hosts[0]
    nodes = cluster_nodes(
        lab, [0], use_run_exp=True, available_sockets=[0, 1], num_parallel_screens_or_jobs=2
    )
    message = 'Zero-Shot "v2" it\'s $HOME'
    exp = Experiment(
        name="rx",
        nodes=nodes,
        run_exp_message=message,
        use_run_exp_pin=True,
        use_run_exp_exclusive=True,
        run_exp_expected_time="30:13",
        shuffle_seed=0,
        experiment_commands=["echo quick > ~/rx_quick", "sleep 300"],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok

    log = host.home / ".run_exp" / "argv.log"
    deadline = time.monotonic() + 10
    while (
        not log.exists() or len(log.read_text().splitlines()) < 2
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    calls = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert calls == [
        [
            "-m",
            f"{message} (Socket {s})",
            "--numa",
            str(s),
            "--exclusive",
            "--pin",
            "--time",
            "30:13",
            f"./run_exp_s{s}.sh >> output_screen{s} 2>&1",
        ]
        for s in (0, 1)
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = monitor(exp, nodes, output=StageOutput(quiet=True))
        if status.totals["done"] == 1:
            break
        time.sleep(0.2)
    assert status.totals == {
        "done": 1,
        "failed": 0,
        "running": 1,
        "pending": 0,
        "lost": 0,
        "cancelled": 0,
    }
    listing = host.exec("PATH=/home/octo/bin:$PATH run_exp")
    assert "EXCLUSIVE pinned time 30:13" in listing and "(Socket" in listing

    assert run_quiet(exp, ExperimentTask.PURGE).ok
    status = monitor(exp, nodes, output=StageOutput(quiet=True))
    assert status.totals["cancelled"] == 1 and status.totals["running"] == 0  # purged
    assert "sleep 300" not in host.exec("ps -eo args")
