"""Time limits and retries on real hosts: `command_timeout` and `command_retries` in the worker
(as GNU parallel's --timeout and --retries), and a step's own `timeout=`."""

from __future__ import annotations

import time
from pathlib import Path

from octopus import Cmd, Experiment, ExperimentTask
from octopus.run.events import CommandState
from tests.conftest import cluster_nodes, run_quiet, wait_for_monitor


def test_command_timeout_and_retries_in_the_worker(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    host.exec("rm -f tries")
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=1)
    flaky = "echo x >> ~/tries; [ $(wc -l < ~/tries) -ge 3 ]"  # fails twice, then passes
    exp = Experiment(
        name="limits",
        nodes=nodes,
        shuffle_seed=0,
        exp_script_gen=None,
        experiment_commands=["sleep 60 & sleep 61; echo never", flaky, "true"],
        command_timeout=1,
        command_retries=2,
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished, timeout=60)
    by_text = {s.command: s for s in report.statuses}
    slow = by_text["sleep 60 & sleep 61; echo never"]
    assert slow.state is CommandState.FAILED and slow.exit_code == 124 and slow.attempts == 3
    assert by_text[flaky].state is CommandState.DONE and by_text[flaky].attempts == 3
    assert by_text["true"].state is CommandState.DONE and by_text["true"].attempts == 1
    # The whole process group went with each timeout: no sleep is left on the node.
    assert "sleep 6" not in host.exec("ps -eo args")


def test_a_step_timeout_ends_its_remote_command(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster)
    exp = Experiment(
        name="steplimit",
        nodes=nodes,
        setup_steps=[Cmd(cmd="sleep 47; touch ~/late", timeout=1), Cmd(cmd="true")],
    )
    began = time.monotonic()
    report = run_quiet(exp, ExperimentTask.SETUP)
    assert time.monotonic() - began < 10
    result = report.results[0]
    assert result.outcome.value == "failed" and result.step == "1 Cmd"
    assert result.message == "timed out after 1s (the step's timeout)"
    time.sleep(0.5)
    assert "sleep 47" not in host.exec("ps -eo args")
