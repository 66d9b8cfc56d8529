"""The stage engine on real hosts: one connection per node, tags, barriers, a node dying."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from octopus import Cmd, Experiment, ExperimentTask, LocalMethodCall, Node
from octopus.results import Outcome
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_inv, run_stage_on, write_inventory


def test_a_stage_uses_one_connection_per_node(cluster: TestCluster):
    nodes = cluster_nodes(cluster)
    before = [h.accepted_logins() for h in cluster.hosts]
    run = run_stage_on(nodes, [Cmd(cmd="true"), Cmd(cmd="hostname"), Cmd(cmd="echo three")])
    assert run.report.ok, run.text
    after = [h.accepted_logins() for h in cluster.hosts]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]


def test_tags_skip_steps_and_nodes(cluster: TestCluster):
    nodes = cluster_nodes(cluster, [0, 1, 2], tags={0: ["gpu"], 1: ["cpu"]})
    run = run_stage_on(
        nodes,
        [
            Cmd(cmd="echo on-gpu > tagged.txt", tags={"gpu"}),
            Cmd(cmd="echo on-cpu-or-gpu >> tagged.txt", tags=["cpu", "gpu"]),
        ],
        name="tags",
    )
    assert [r.outcome for r in run.report.results] == [Outcome.OK, Outcome.OK, Outcome.SKIPPED]
    assert run.report.ok
    assert (cluster.hosts[0].home / "tagged.txt").read_text() == "on-gpu\non-cpu-or-gpu\n"
    assert (cluster.hosts[1].home / "tagged.txt").read_text() == "on-cpu-or-gpu\n"
    assert not (cluster.hosts[2].home / "tagged.txt").exists()
    assert "[1 Cmd] skipped: node has none of tags ['gpu']" in run.lines("h2")


def test_a_local_step_waits_for_every_node(cluster: TestCluster):
    nodes = cluster_nodes(cluster)
    seen: list[list[bool]] = []

    def look() -> None:
        seen.append([(h.home / "barrier.txt").exists() for h in cluster.hosts])

    for h in cluster.hosts:
        (h.home / "barrier.txt").unlink(missing_ok=True)
    run = run_stage_on(
        nodes,
        [
            Cmd(cmd="sleep 0.$(( $(hostname | tr -dc 0-9) * 2 )) && touch barrier.txt"),
            LocalMethodCall(look, None),
            Cmd(cmd="rm barrier.txt"),
        ],
        name="barrier",
    )
    assert run.report.ok, run.text
    assert seen == [[True, True, True, True]]
    assert not any((h.home / "barrier.txt").exists() for h in cluster.hosts)


def test_a_failed_local_step_stops_the_stage(cluster: TestCluster):
    def boom() -> None:
        raise RuntimeError("no results")

    run = run_stage_on(
        cluster_nodes(cluster, [0]),
        [LocalMethodCall(boom), Cmd(cmd="touch after-local.txt")],
        name="localfail",
    )
    assert not run.report.ok and run.report.exit_code == 1
    assert "RuntimeError: no results" in run.report.local_failures[0]
    assert not (cluster.hosts[0].home / "after-local.txt").exists()


def test_dry_run_prints_commands_and_logs_into_nothing(cluster: TestCluster):
    before = [h.accepted_logins() for h in cluster.hosts[:2]]
    run = run_stage_on(
        cluster_nodes(cluster, [0, 1]), [Cmd(cmd="touch dry.txt")], name="dry", dry_run=True
    )
    assert run.report.ok
    assert "[1 Cmd] would run: touch dry.txt" in run.lines("h1")
    assert [h.accepted_logins() for h in cluster.hosts[:2]] == before
    assert not (cluster.hosts[0].home / "dry.txt").exists()


def test_eight_nodes_one_dies_halfway_the_others_finish(make_cluster):
    c = make_cluster(8)
    nodes = cluster_nodes(c)
    victim = c.hosts[2]

    def kill_during_the_second_step() -> None:
        deadline = time.monotonic() + 20
        while not (victim.home / "progress.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the second step (sleep 1.5) is running now
        victim.kill()

    killer = threading.Thread(target=kill_during_the_second_step)
    killer.start()
    started = time.monotonic()
    run = run_stage_on(
        nodes,
        [
            Cmd(cmd="echo started > progress.txt"),
            Cmd(cmd="sleep 1.5"),
            Cmd(cmd="echo finished >> progress.txt"),
        ],
        name="crash",
    )
    killer.join()
    elapsed = time.monotonic() - started
    outcomes = {r.node: r.outcome for r in run.report.results}
    assert outcomes.pop("h3") is Outcome.UNREACHABLE
    assert set(outcomes.values()) == {Outcome.OK}
    assert run.report.exit_code == 1
    dead = next(r for r in run.report.results if r.node == "h3")
    assert dead.step == "2 Cmd" and "connection lost" in dead.message
    for host in c.hosts:
        if host is not victim:
            assert (host.home / "progress.txt").read_text() == "started\nfinished\n"
    assert elapsed < 10


def test_seed_readme_example(cluster: TestCluster):
    """The original README's usage, as written there."""
    host = cluster.hosts[3]
    node = Node(
        ssh_hostname=host.address,
        ssh_username="octo",
        ssh_private_key=str(cluster.client_key),
        hardware_desc="c8220",
        ssh_hostkeys=str(cluster.known_hosts),
        tags={"dmlab"},
        use_run_exp=False,
        use_slurm=False,
        python_version="3",
        num_parallel_screens_or_jobs=2,
        available_sockets=[0, 1],
    )
    e = Experiment(
        screens_per_node=2,
        experiment_commands=["python3 run_benchmark.py --device cuda:[socket]"],
        experiment_prefix="cd zero-shot-learned-db\n",
        nodes=[node],
        setup_steps=[
            Cmd(cmd="mkdir -p zero-shot-learned-db && echo ready > zero-shot-learned-db/setup.txt")
        ],
        exp_folder_name="zero-shot-learned-db",
    )
    task = ExperimentTask.SETUP
    report = e.run_task(task)
    assert report is not None and report.ok
    assert (host.home / "zero-shot-learned-db" / "setup.txt").read_text() == "ready\n"


def test_inv_setup_with_a_yaml_experiment_and_inventory(cluster: TestCluster, tmp_path: Path):
    inventory = write_inventory(
        tmp_path / "nodes.yaml",
        {
            h.name: cluster.node_values(h, tags=["lab"] if h.index < 3 else ["other"])
            for h in cluster.hosts
        },
    )
    (tmp_path / "experiments").mkdir()
    exp = tmp_path / "experiments" / "yamlexp.yaml"
    exp.write_text("""
exp_folder_name: yaml exp
nodes: {tags: [lab]}
experiment_commands: ["echo 1"]
setup_steps:
  - Cmd: {cmd: "mkdir -p 'yaml exp' && hostname > 'yaml exp/host.txt'"}
  - Cmd:
      cmd: "echo only-h1 > 'yaml exp/h1.txt'"
      tags: [h1tag]
""")
    done = run_inv("setup", "--exp", str(exp), "--inventory", str(inventory))
    assert done.returncode == 0, done.stdout + done.stderr
    for h in cluster.hosts[:2]:
        assert (h.home / "yaml exp" / "host.txt").read_text() == f"{h.name}\n"
    assert not (cluster.hosts[3].home / "yaml exp").exists()
    assert "setup: 2 nodes ok in" in done.stdout

    done = run_inv(
        "setup", "--exp", str(exp), "--inventory", str(inventory), "--nodes", "h2", "--dry-run"
    )
    assert done.returncode == 0
    assert "h2: [1 Cmd] would run: mkdir -p 'yaml exp'" in done.stdout
    assert "h1:" not in done.stdout


def test_rsync_steps_use_the_stages_one_connection(cluster: TestCluster, tmp_path: Path):
    """Rsync and RsyncCurrentRepo go through the stage's SSH connection: still one login."""
    import hashlib
    import os
    import subprocess

    from octopus import Rsync, RsyncCurrentRepo

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    big = os.urandom(3 * 1024 * 1024)
    (repo / "data" / "big.bin").write_bytes(big)
    (repo / "main.py").write_text("print('hi')\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    nodes = cluster_nodes(cluster, [0, 1])
    before = [h.accepted_logins() for h in cluster.hosts[:2]]
    run = run_stage_on(
        nodes,
        [
            RsyncCurrentRepo(local_folder_path=str(repo)),
            Rsync(src="relay-repo/data/", dest=f"{tmp_path}/back/", put=False),
            Cmd(cmd="sha256sum relay-repo/data/big.bin"),
        ],
        name="relay",
        exp_folder_name="relay-repo",
    )
    assert run.report.ok, run.text
    after = [h.accepted_logins() for h in cluster.hosts[:2]]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]
    digest = hashlib.sha256(big).hexdigest()
    assert any(line.startswith(digest) for line in run.lines("h1"))
    assert (tmp_path / "back" / "big.bin").read_bytes() == big
