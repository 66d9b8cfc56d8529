"""`inv run` logs in once per node for the whole run: setup, deliver, start, every poll of
the wait, check-errors and pickup share one connection (counted in sshd's own log)."""

from __future__ import annotations

from pathlib import Path

from octopus import Cmd, Experiment, Rsync
from octopus.stages.options import StageOptions
from octopus.stages.run import run_experiment
from tests.conftest import cluster_nodes


def test_inv_run_logs_in_once_per_node(make_cluster, workdir: Path):
    cluster = make_cluster(2)
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=1)
    exp = Experiment(
        name="onelogin",
        nodes=nodes,
        experiment_commands=[f"sleep 0.5; echo {i} > ~/one_{i}.txt" for i in range(6)],
        setup_steps=[Cmd(cmd="mkdir -p ~/onelogin")],
        check_error_steps=[Cmd(cmd="true")],
        pickup_steps=[Rsync(src=["~/one_*.txt"], dest=[str(workdir / "picked")], put=False)],
    )
    before = {h.name: h.accepted_logins() for h in cluster.hosts}
    code = run_experiment(exp, nodes, StageOptions(), interval=0.3, timeout=60).exit_code
    assert code == 0
    logins = {h.name: h.accepted_logins() - before[h.name] for h in cluster.hosts}
    assert logins == {"h1": 1, "h2": 1}, logins  # several polls happened, still one login
    assert len(list((workdir / "picked").glob("one_*.txt"))) == 6
