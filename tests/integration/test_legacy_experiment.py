"""An experiment file written for the original octopus runs unchanged (issue: existing files)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from octopus.run.deliveries import Deliveries
from octopus.testing.sshhosts import TestCluster, TestHost
from octopus.testing.wheels import build_wheel
from tests.conftest import ledger_states, run_inv, wait_for

LEGACY = Path(__file__).parent / "legacy"


def make_repo(root: Path) -> Path:
    repo = root / "legacy-repo"
    repo.mkdir()
    shutil.copy(LEGACY / "legacy_exp.py", repo / "legacy_exp.py")
    shutil.copy(LEGACY / "job.py", repo / "job.py")
    (repo / "requirements.txt").write_text("octotiny\n")
    (repo / ".gitignore").write_text("picked/\ndeliverables/\n__pycache__/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.email=t@e",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "init",
        ],
        check=True,
    )
    return repo


def wait_for_results(cluster: TestCluster, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sum(
            len(list((h.home / "legacy-exp" / "results").glob("r_*.csv")))
            for h in cluster.hosts[:2]
            if (h.home / "legacy-exp" / "results").exists()
        )
        if found == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"results did not appear ({found} of {count})")


def check_run(cluster: TestCluster, repo: Path) -> dict[str, str]:
    for host in cluster.hosts[:2]:
        exp = host.home / "legacy-exp"
        # Rsync put setup.sh in the home folder, where ScreenCmd ran it.
        assert (host.home / "setup_done.txt").read_text() == "setup-ran\n"
        assert (host.home / "setup.log").exists()
        assert not (exp / ".git").exists() and (exp / "job.py").exists()
        assert (host.home / "markers" / "m1.seen").read_text() == f"seen {host.address}\n"
    assert not (repo / "setup.sh").exists()  # LocalMethodCall(os.remove, ...)
    rows = {}
    for csv in sorted((repo / "picked" / "results").glob("r_*.csv")):
        seed, device, venv, value = csv.read_text().splitlines()[1].split(",")
        assert venv == "venv3" and value == "legacy"  # commands ran inside SetupVenv's venv
        rows[seed] = device
    assert sorted(rows) == [str(i) for i in range(6)]
    return rows


def clean_hosts(cluster: TestCluster) -> None:
    for host in cluster.hosts[:2]:
        host.exec("rm -rf legacy-exp markers .octopus setup_done.txt setup.log setup.sh")


def test_original_experiment_file_runs_unchanged(cluster: TestCluster, tmp_path: Path):
    build_wheel(cluster.wheelhouse, "octotiny", "1.0", value="legacy")
    repo = make_repo(tmp_path)
    hosts = [h.address for h in cluster.hosts[:2]]
    env = {
        **os.environ,
        "HOSTS": ",".join(hosts),
        "SSH_USERNAME": cluster.user,
        "SSH_KEY": str(cluster.client_key),
        "SSH_KNOWN_HOSTS": str(cluster.known_hosts),
    }
    clean_hosts(cluster)

    def legacy(*tasks: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "legacy_exp.py", "--task", *tasks],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    legacy("setup", "deliver", "start")
    wait_for_results(cluster, 6)
    done = legacy("monitor", "check_errors", "pickup")
    assert "6 done" in done.stdout and "active screen session" in done.stdout
    first = check_run(cluster, repo)

    # The same experiment as a module under experiments/, through inv, gives the same result.
    clean_hosts(cluster)
    shutil.rmtree(repo / "picked")
    (repo / "experiments").mkdir()
    (repo / "experiments" / "legacy.py").write_text(
        "import os, sys\nsys.path.insert(0, os.getcwd())\nfrom legacy_exp import build\n"
        "experiment = build(os.environ['HOSTS'].split(','))\n"
    )
    (repo / "tasks.py").write_text("from octopus.tasks import ns\n")
    for task in ("setup", "deliver", "start"):
        done = run_inv(task, "--exp", "legacy", cwd=repo, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    wait_for_results(cluster, 6)
    for task in ("monitor", "check-errors", "pickup"):
        done = run_inv(task, "--exp", "legacy", cwd=repo, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    assert check_run(cluster, repo) == first
    assert run_inv("purge", "--exp", "legacy", cwd=repo, env=env).returncode == 0


def test_a_paths_class_and_a_run_from_a_subfolder(cluster: TestCluster, tmp_path: Path):
    repo = tmp_path / "project"
    (repo / "src").mkdir(parents=True)
    shutil.copy(LEGACY / "paths_exp.py", repo / "src" / "paths_exp.py")
    main = "import sys, os\nos.makedirs('runs', exist_ok=True)\n"
    (repo / "main.py").write_text(main + "open(f'runs/r_{sys.argv[2]}.txt', 'w').write('root')\n")
    (repo / "src" / "main.py").write_text(
        main + "open(f'runs/r_{sys.argv[2]}.txt', 'w').write('src')\n"
    )
    (repo / "src" / "ignored.log").write_text("no\n")
    (repo / ".gitignore").write_text("*.log\npicked/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    host = cluster.hosts[3]
    host.exec("rm -rf legacy2 stamp.txt checked .octopus")
    env = {
        **os.environ,
        "HOSTS": host.address,
        "SSH_USERNAME": cluster.user,
        "SSH_KEY": str(cluster.client_key),
        "SSH_KNOWN_HOSTS": str(cluster.known_hosts),
    }

    def legacy(*tasks: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "paths_exp.py", "--task", *tasks],
            cwd=repo / "src",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    legacy("setup", "deliver", "start")
    sent = sorted(p.name for p in (host.home / "legacy2").iterdir() if p.name != "runs")
    assert sent == ["main.py", "paths_exp.py"]  # the subfolder, git's view, no deliverables/
    assert (host.home / "stamp.txt").read_text() == "legacy2\n"
    deadline = time.monotonic() + 30
    while len(list((host.home / "legacy2" / "runs").glob("r_*.txt"))) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    done = legacy("monitor", "check_errors", "pickup", "purge")
    assert "4 done" in done.stdout and (host.home / "checked").exists()
    assert "warning" in done.stdout
    picked = repo / "src" / "picked" / "runs"
    assert sorted(p.read_text() for p in picked.glob("r_*.txt")) == ["src"] * 4


def test_one_experiment_per_node_sharing_a_folder(cluster: TestCluster, tmp_path: Path):
    """A runner builds an Experiment per node, all named `pernode`, and runs each task in an
    invocation of its own: every node keeps its own delivery, state and monitor line."""
    project = tmp_path / "pernode-project"
    project.mkdir()
    shutil.copy(LEGACY / "per_node_exp.py", project / "per_node_exp.py")
    first, second, never = cluster.hosts[1], cluster.hosts[2], cluster.hosts[0]
    for host in (first, second):
        host.exec("rm -rf pernode .octopus/pernode*")
    env = {
        **os.environ,
        "HOSTS": f"{first.address},{second.address}",
        "SSH_USERNAME": cluster.user,
        "SSH_KEY": str(cluster.client_key),
        "SSH_KNOWN_HOSTS": str(cluster.known_hosts),
    }

    def legacy(task: str, *more: str, hosts: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "per_node_exp.py", "--task", task, *more],
            cwd=project,
            env={**env, **({"HOSTS": hosts} if hosts else {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def outputs(host: TestHost) -> list[str]:
        return sorted(p.name for p in (host.home / "pernode" / "out").glob("*.txt"))

    def wait_outputs(host: TestHost, count: int) -> None:
        assert wait_for(lambda: len(outputs(host)) == count, timeout=30), outputs(host)

    for task in ("setup", "deliver", "start"):
        done = legacy(task)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    wait_outputs(first, 5)  # node 0 has 5 commands of its own, node 1 has 6
    wait_outputs(second, 6)
    assert outputs(first) == [f"n0_c{i}.txt" for i in range(5)]
    assert outputs(second) == [f"n1_c{i}.txt" for i in range(6)]

    record_file = project / "deliverables" / "pernode" / "manifest.json"
    record = Deliveries.read(record_file)
    held = record.by_node
    a, b = first.address, second.address  # the nodes' names
    assert sorted(held) == sorted([a, b]) and held[a] != held[b]
    assert sorted(e.id for e in record.plan.entries) == list(range(11))  # unique ids
    assert wait_for(lambda: "5 done" in legacy("monitor").stdout, timeout=30)
    monitored = legacy("monitor").stdout
    tables = monitored.split("pernode (delivery")[1:]
    assert len(tables) == 2  # one table per experiment, each with its own node only
    assert a in tables[0] and b not in tables[0] and "5 done" in tables[0]
    assert b in tables[1] and a not in tables[1] and "6 done" in tables[1]
    assert all("0 running, 0 pending, 0 lost" in table for table in tables)

    # Delivering again to the second node replaces its record only.
    second.exec("rm -rf pernode/out/*")
    redo = legacy("deliver", "--count", "7", "--only", second.address)
    assert redo.returncode == 0, redo.stdout + redo.stderr
    record = Deliveries.read(record_file)
    assert record.by_node[a] == held[a] and record.by_node[b] != held[b]
    assert len(record.of(b).plan.entries) == 8 and len(record.of(a).plan.entries) == 5
    assert legacy("start", "--only", second.address).returncode == 0
    wait_outputs(second, 8)
    assert wait_for(lambda: "8 done" in legacy("monitor").stdout, timeout=30)
    again = legacy("monitor").stdout
    assert "5 done" in again  # the first node's state was kept
    ledger = ledger_states(project / "deliverables" / "pernode" / "ledger.sqlite")
    assert set(ledger) == {(a, "done"), (b, "done")} and len(ledger) == 13

    # A node no experiment delivered to: one line naming it and the fix, exit 2.
    hosts = f"{first.address},{second.address},{never.address}"
    refused = legacy("start", "--only", never.address, hosts=hosts)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"octopus: not part of the delivery: {never.address}; deliver to it first"
    ]
    assert legacy("purge").returncode == 0
