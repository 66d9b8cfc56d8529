"""What steps written for the original octopus rely on: experiment attributes on the step,
the Node methods they call, and stages that go on after a failing step where the original did
(purge, check-errors, or any step with ignore_errors=True)."""

from __future__ import annotations

from octopus import Cmd, ExperimentTask, LocalMethodCall, Node, Step
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_stage_on, wait_for


class ListFolder(Step):
    """A custom step the original way: reads self.exp_folder_name, calls the Node's methods."""

    def _run(self, node: Node) -> None:
        node.run_cmd([f"mkdir -p ~/{self.exp_folder_name}", f"ls -d ~/{self.exp_folder_name}"])
        node.run_screen_cmd(["echo from-screen"], logfile="screen.log", recreate_logfile=True)
        node.connect_ssh_client()
        _, out, _ = node.ssh_client.exec_command("echo via-paramiko > ~/paramiko.txt")
        out.channel.recv_exit_status()


def test_custom_steps_see_the_experiment_and_the_original_node_methods(cluster: TestCluster):
    host = cluster.hosts[0]
    run = run_stage_on(cluster_nodes(cluster, [0]), [ListFolder()], exp_folder_name="origexp")
    assert run.report.ok, run.text
    assert any(line.endswith("/home/octo/origexp") for line in run.lines("h1"))
    assert wait_for(lambda: (host.home / "screen.log").exists())
    assert wait_for(lambda: (host.home / "screen.log").read_text() == "from-screen\n")
    assert (host.home / "paramiko.txt").read_text() == "via-paramiko\n"


def test_purge_and_check_errors_go_on_after_a_failing_step(cluster: TestCluster):
    host = cluster.hosts[1]
    nodes = cluster_nodes(cluster, [1])
    for task, marker in ((ExperimentTask.PURGE, "purged"), (ExperimentTask.CHECK_ERRORS, "chk")):
        run = run_stage_on(
            nodes, [Cmd(cmd="exit 4"), Cmd(cmd=f"touch ~/{marker}")], name="goon", task=task
        )
        assert (host.home / marker).exists()
        [result] = run.report.results
        assert result.outcome == "warning" and run.report.ok and run.report.exit_code == 0
        assert "exited with 4" in result.message


def test_setup_stops_a_node_at_its_first_failure_unless_the_step_ignores_errors(
    cluster: TestCluster,
):
    host = cluster.hosts[2]
    nodes = cluster_nodes(cluster, [2])
    stopped = run_stage_on(nodes, [Cmd(cmd="exit 5"), Cmd(cmd="touch ~/never")])
    assert stopped.report.results[0].outcome == "failed" and not (host.home / "never").exists()
    went_on = run_stage_on(
        nodes,
        [
            Cmd(cmd="exit 5", ignore_errors=True),
            LocalMethodCall(func=lambda: 1 / 0, ignore_errors=True),
            Cmd(cmd="touch ~/after"),
        ],
    )
    assert went_on.report.ok and went_on.report.results[0].outcome == "warning"
    assert (host.home / "after").exists()
    assert "ZeroDivisionError" in went_on.report.local_warnings[0]
