"""`inv nodes` as users run it: real hosts, an unreachable one, bad input, Invoke config."""

from __future__ import annotations

import json
from pathlib import Path

from octopus.testing.sshhosts import TestCluster
from tests.conftest import run_inv, write_inventory


def test_inv_list_shows_the_tasks():
    done = run_inv("--list")
    assert done.returncode == 0, done.stderr
    assert "nodes" in done.stdout


def test_inv_nodes_reports_every_node_and_fails_for_the_unreachable(
    cluster: TestCluster, tmp_path: Path
):
    nodes = {h.name: cluster.node_values(h, tags=["lab"]) for h in cluster.hosts[:3]}
    nodes["gone"] = cluster.node_values(
        cluster.hosts[0], ssh_hostname=cluster.unreachable_address, connect_timeout=1
    )
    inventory = write_inventory(tmp_path / "nodes.yaml", nodes)

    done = run_inv("nodes", "--inventory", str(inventory), "--json")
    assert done.returncode == 1, done.stderr
    report = {n["node"]: n for n in json.loads(done.stdout)["nodes"]}
    assert [report[h]["outcome"] for h in ("h1", "h2", "h3", "gone")] == [
        "ok",
        "ok",
        "ok",
        "unreachable",
    ]
    facts = report["h2"]["facts"]
    assert facts["hostname"] == "h2" and facts["cpus"] >= 1
    assert {"screen", "rsync", "python3"} <= set(facts["tools"])

    done = run_inv("nodes", "--inventory", str(inventory), "--tags", "lab")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 nodes: 3 ok" in done.stdout and "h3" in done.stdout


def test_inv_nodes_flags_a_node_without_its_launcher_tool(cluster: TestCluster, tmp_path: Path):
    nodes = {"h1": cluster.node_values(cluster.hosts[0], launcher="run_exp")}
    done = run_inv("nodes", "--inventory", str(write_inventory(tmp_path / "n.yaml", nodes)))
    assert done.returncode == 1
    assert "run_exp not found" in done.stdout


def test_bad_inventory_exits_2_with_one_line(tmp_path: Path):
    bad = tmp_path / "nodes.yaml"
    bad.write_text("nodes:\n  a:\n    ssh_hostname: x\n    tag: [gpu]\n")
    done = run_inv("nodes", "--inventory", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"octopus: {bad}:4: node 'a': key 'tag': unknown key (did you mean 'tags'?)"
    )


def test_unknown_node_name_exits_2(tmp_path: Path):
    done = run_inv("nodes", "--nodes", "locl")
    assert done.returncode == 2
    assert "unknown node 'locl' (did you mean 'local'?)" in done.stderr


def test_inventory_from_invoke_config_env_var(tmp_path: Path):
    inventory = write_inventory(tmp_path / "elsewhere.yaml", {"here": {"local": True}})
    done = run_inv("nodes", env={"INVOKE_OCTOPUS_INVENTORY": str(inventory)})
    assert done.returncode == 0, done.stderr
    assert "here" in done.stdout and "1 node: 1 ok" in done.stdout


def test_dry_run_prints_and_connects_nowhere(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[3]
    logins = host.accepted_logins()
    inventory = write_inventory(tmp_path / "n.yaml", {"h4": cluster.node_values(host)})
    done = run_inv("nodes", "--inventory", str(inventory), "--dry-run")
    assert done.returncode == 0
    assert done.stdout.startswith("h4: would run on 10.77.")
    assert host.accepted_logins() == logins


def test_shipped_inventory_works_on_a_fresh_checkout():
    done = run_inv("nodes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "local" in done.stdout and "1 node: 1 ok" in done.stdout
