"""Workers where the hardware is, on real hosts through `inv`: `auto` runs one worker per CPU
the host reports, `inv nodes` shows how busy each host is, and a node asking for more GPUs
than it has is refused at deliver by name (the test hosts have no GPU; the GPU split is
tested in tests/unit/test_hardware.py and test_gpu_workers.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from octopus import Experiment, ExperimentTask, Node
from octopus.run import ledger_store
from octopus.run.ledger_store import status_of
from octopus.testing.sshhosts import TestCluster
from tests.conftest import (
    latest_delivery,
    run_inv,
    run_quiet,
    wait_for_monitor,
    write_inventory,
)

CPUS = len(os.sched_getaffinity(0))  # the test hosts share this machine's CPUs and kernel
WIDE = {"COLUMNS": "220"}


def local_who_users() -> list[str]:
    """Who is logged in, as this machine's `who` says (the hosts share its /run/utmp)."""
    lines = subprocess.run(["who"], capture_output=True, text=True).stdout.splitlines()
    return list(dict.fromkeys(line.split()[0] for line in lines if line.split()))


def project(tmp_path: Path, commands: list[str]) -> Path:
    """A user's project folder with experiments/hw.yaml."""
    (tmp_path / "experiments").mkdir(parents=True, exist_ok=True)
    (tmp_path / "tasks.py").write_text("from octopus.tasks import ns\n")
    (tmp_path / "experiments" / "hw.yaml").write_text(json.dumps({"experiment_commands": commands}))
    return tmp_path


def test_inv_nodes_shows_free_memory_disk_load_users_and_workers(
    cluster: TestCluster, tmp_path: Path
):
    auto, short = cluster.hosts[0], cluster.hosts[1]
    inventory = write_inventory(
        tmp_path / "nodes.yaml",
        {
            "auto": cluster.node_values(auto, num_parallel_screens_or_jobs="auto"),
            "short": cluster.node_values(short, gpus_per_worker=1),
        },
    )
    done = run_inv("nodes", "--inventory", str(inventory), "--json")
    assert done.returncode == 1, done.stdout + done.stderr  # `short` lacks GPUs
    report = {n["node"]: n for n in json.loads(done.stdout)["nodes"]}
    facts = report["auto"]["facts"]
    assert report["auto"]["outcome"] == "ok"
    assert facts["cpus"] == CPUS and facts["workers"] == CPUS and facts["gpus"] == 0
    meminfo = Path("/proc/meminfo").read_text()
    assert facts["mem_total_kb"] == int(meminfo.split("MemTotal:")[1].split()[0])
    assert 0 < facts["mem_free_kb"] <= facts["mem_total_kb"]
    home = os.statvfs(auto.home)  # the host's own /home, seen from outside
    assert facts["home_total_kb"] == home.f_blocks * home.f_frsize // 1024
    assert 0 < facts["home_free_kb"] <= facts["home_total_kb"]
    assert len(facts["load"]) == 3 and all(x >= 0 for x in facts["load"])
    assert facts["users"] == local_who_users()
    assert report["short"]["outcome"] == "failed"
    assert report["short"]["message"] == (
        "gpus_per_worker is 1 but the node has 0 GPU(s) (inv nodes counts them with nvidia-smi)"
    )

    done = run_inv("nodes", "--inventory", str(inventory), "--nodes", "auto", env=WIDE)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next(line for line in done.stdout.splitlines() if "mem free" in line)
    for column in ("cpus", "gpus", "workers", "home free", "load", "users"):
        assert column in header
    # Off a terminal the table is drawn in ASCII.
    row = next(line for line in done.stdout.splitlines() if line.startswith("| auto"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[7] == str(CPUS) and cells[8].endswith("G") and len(cells[10].split()) == 3


def test_auto_runs_one_worker_per_cpu_and_the_record_keeps_the_count(
    cluster: TestCluster, tmp_path: Path
):
    host = cluster.hosts[2]
    inventory = write_inventory(
        tmp_path / "nodes.yaml",
        {"h3": cluster.node_values(host, num_parallel_screens_or_jobs="auto")},
    )
    work = project(tmp_path, [f"sleep 0.3; echo {i} [job_id] >> ~/hw_ran" for i in range(8)])
    done = run_inv(
        "run", "--exp", "hw", "--inventory", str(inventory), "--verbose", cwd=work, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{CPUS} CPU(s), 0 GPU(s): {CPUS} worker(s)" in done.stdout
    manifest = latest_delivery(work / "deliverables" / "hw" / "manifest.json")
    assert len(manifest.workers_of("h3")) == CPUS
    assert manifest.hardware == {"h3": {"cpus": CPUS, "gpus": 0}}
    stored = ledger_store.read(work / "deliverables" / "hw" / "ledger.sqlite")
    assert stored is not None
    statuses = [status_of(row) for row in stored[1]]
    assert [s.state.value for s in statuses] == ["done"] * 8
    assert {s.worker for s in statuses} == set(range(CPUS))  # every worker took commands
    ran = (host.home / "hw_ran").read_text().split("\n")
    assert sorted(int(line.split()[0]) for line in ran if line) == list(range(8))
    assert {line.split()[1] for line in ran if line} == {str(w) for w in range(CPUS)}

    # A later `inv start --resume` (fresh Node objects) plans from the recorded count.
    done = run_inv("start", "--exp", "hw", "--inventory", str(inventory), "--resume", cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr


def test_deliver_refuses_by_name_a_node_with_fewer_gpus_than_a_worker_asks_for(
    cluster: TestCluster, tmp_path: Path
):
    inventory = write_inventory(
        tmp_path / "nodes.yaml",
        {
            "plain": cluster.node_values(cluster.hosts[3]),
            "gpuless": cluster.node_values(cluster.hosts[1], gpus_per_worker=2),
        },
    )
    work = project(tmp_path, ["echo one", "echo two"])
    done = run_inv("deliver", "--exp", "hw", "--inventory", str(inventory), cwd=work, env=WIDE)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "node 'gpuless': key 'gpus_per_worker': is 2 but the node has 0 GPU(s) "
        "(inv nodes counts them with nvidia-smi)"
    ) in done.stdout
    assert "gpuless kept their previous delivery" in done.stdout
    manifest = latest_delivery(work / "deliverables" / "hw" / "manifest.json")
    assert manifest.delivered == ["plain"]
    assert manifest.hardware == {}  # a count no node reported is not kept

    # A dry run connects nowhere: a node never counted is planned with one worker, and says so.
    done = run_inv(
        "deliver", "--exp", "hw", "--inventory", str(inventory), "--dry-run", cwd=work, env=WIDE
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gpuless: dry run: planned with 1 worker (deliver counts them)" in done.stdout
    assert "gpuless: would write run_exp_s0.sh: 1 command(s)" in done.stdout

    # [gpu] where a node gives its workers no GPUs: one line, exit 2, before any login.
    logins = cluster.hosts[1].accepted_logins()
    work = project(tmp_path / "other", ["python3 train.py --gpus [gpu]"])
    done = run_inv("deliver", "--exp", "hw", "--inventory", str(inventory), cwd=work)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "octopus: key 'experiment_commands': [gpu] in a command, but node(s) plain give their "
        "workers no GPUs: set gpus_per_worker for them in nodes.yaml, or leave them out (--nodes)"
    )
    assert cluster.hosts[1].accepted_logins() == logins  # gpuless was not even counted
    assert not (work / "deliverables" / "hw" / "manifest.json").exists()


def test_the_python_api_takes_auto_on_a_local_node(tmp_path: Path, monkeypatch):
    """`Node(num_parallel_screens_or_jobs="auto")` through Experiment.run_task, on this machine."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    here = Node(name="here", local=True, num_parallel_screens_or_jobs="auto")
    exp = Experiment(
        name="hwapi",
        nodes=[here],
        experiment_commands=[f"sleep 0.2; echo {i} [job_id] >> ~/ran" for i in range(6)],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert here.num_workers == CPUS
    assert run_quiet(exp, ExperimentTask.START).ok
    report = wait_for_monitor(exp, [here], lambda r: r.finished)
    assert report.totals["done"] == 6
    ran = (home / "ran").read_text().split("\n")
    assert {line.split()[1] for line in ran if line} == {str(w) for w in range(CPUS)}
