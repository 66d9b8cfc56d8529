"""An experiment's whole life on real hosts: deliver, start, failures, a killed session,
monitor (JSON totals), resume, retry, pickup; every command succeeds exactly once."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from octopus import SCP, CombineCSVFiles, Experiment, ExperimentTask, Rsync
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.views.monitor import as_json
from tests.conftest import (
    cluster_nodes,
    latest_delivery,
    ledger_states,
    run_quiet,
    wait_for_monitor,
)

TASK = """\
n=$1
mkdir -p ~/attempts ~/successes ~/exp/results
echo "$n" >> ~/attempts/$n
if [ -f ~/fail_$n ] && [ ! -f ~/fixed ]; then echo "task $n failing on purpose" >&2; exit 3; fi
if [ -f ~/hang_$n ]; then rm -f ~/hang_$n; sleep 300; fi
printf 'n,square,host\\n%s,%s,%s\\n' "$n" $((n * n)) "$(hostname)" > ~/exp/results/r_$n.csv
echo "$n" >> ~/successes/$n
"""


@pytest.fixture
def lab(make_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    cluster = make_cluster(3)
    (tmp_path / "task.sh").write_text(TASK)
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=2)
    exp = Experiment(
        name="forty",
        experiment_commands=[f"sh ~/task.sh {n}" for n in range(40)],
        experiment_prefix="cd ~\n",
        nodes=nodes,
        shuffle_seed=7,
        schedule="fixed",  # each worker its own share: a killed session loses the rest of it
        setup_steps=[SCP(src=str(tmp_path / "task.sh"), dest=".", force=True)],
        pickup_steps=[
            Rsync(src="exp/results/", dest="results/"),
            CombineCSVFiles(source_files="results/r_*.csv", target_file="combined.csv"),
        ],
    )
    return cluster, nodes, exp


def test_forty_commands_failures_killed_session_resume_retry_pickup(lab, tmp_path: Path):
    cluster, nodes, exp = lab
    hosts = {h.name: h for h in cluster.hosts}
    assert run_quiet(exp, ExperimentTask.SETUP).ok
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok

    manifest = latest_delivery(tmp_path / "deliverables" / "forty" / "manifest.json")
    assert sorted(c for p in manifest.plan.parts for c in p.command_indices) == list(range(40))
    scripts = sorted(p.name for p in (tmp_path / "deliverables" / "forty").rglob("*.sh"))
    assert scripts == sorted(["run_exp_s0.sh", "run_exp_s1.sh"] * 3)
    for node in ("h1", "h2", "h3"):  # each node's manifest is its share of the whole one
        share = json.loads(
            (tmp_path / "deliverables" / "forty" / node / "manifest.json").read_text()
        )
        assert share["delivery"] == manifest.delivery and list(share["launchers"]) == [node]
        assert {p["node"] for p in share["plan"]["parts"]} == {node}
        assert {w["node"] for w in share["plan"]["workers"]} == {node}
        assert [p["ids"] for p in share["plan"]["parts"]] == [
            p.ids for p in manifest.plan.parts if p.worker.node == node
        ]
    for host in cluster.hosts:  # delivered as one folder, reachable through `current`
        assert (host.home / exp.paths.remote_current / "run_exp_s1.sh").exists()

    # Two commands on h1 and h3 fail; h2's first worker hangs on its third command.
    parts = {(p.worker.node, p.worker.job_id): p for p in manifest.plan.parts}
    failing = [parts[("h1", 0)].command_indices[0], parts[("h3", 1)].command_indices[-1]]
    victim = parts[("h2", 0)]
    hang = victim.command_indices[2]
    for n in failing:
        host = hosts["h1"] if n in parts[("h1", 0)].command_indices else hosts["h3"]
        host.write(f"fail_{n}", "")
    hosts["h2"].write(f"hang_{hang}", "")

    assert run_quiet(exp, ExperimentTask.START).ok
    # A second start while workers run (or after they ran) is refused.
    assert not run_quiet(exp, ExperimentTask.START).ok

    session = exp.paths.worker_session(0)
    report = wait_for_monitor(
        exp,
        nodes,
        lambda r: r.totals["running"] == 1 and r.totals["pending"] == len(victim.ids) - 3,
    )
    assert report.totals["running"] == 1, report.totals
    hosts["h2"].exec(f"screen -S {session} -X quit")

    lost = len(victim.ids) - 2
    report = wait_for_monitor(exp, nodes, lambda r: r.totals["running"] == 0)
    data = as_json(report)
    assert data["totals"] == {
        "done": 40 - 2 - lost,
        "failed": 2,
        "running": 0,
        "pending": 0,
        "lost": lost,
        "cancelled": 0,
    }
    assert report.exit_code == 1
    failed = data["nodes"]["h1"]["workers"]["s0"]["failed"]
    assert failed[0]["exit_code"] == 3 and failed[0]["log"].endswith(f"/logs/{failed[0]['id']}.out")
    assert data["nodes"]["h2"]["workers"]["s0"]["lost"][0]["command"] == f"sh ~/task.sh {hang}"

    # The same picture from the ledger, without connecting, and through `inv monitor --json`.
    offline = monitor(exp, nodes, output=StageOutput(quiet=True), offline=True)
    assert as_json(offline)["totals"] == data["totals"]

    # Resume: only the lost commands run again; the failed ones are left as they are.
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished)
    assert report.totals == {
        "done": 38,
        "failed": 2,
        "running": 0,
        "pending": 0,
        "lost": 0,
        "cancelled": 0,
    }

    for host in cluster.hosts:
        host.write("fixed", "")
    assert run_quiet(exp, ExperimentTask.START, retry_failed=True).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished)
    assert report.totals == {
        "done": 40,
        "failed": 0,
        "running": 0,
        "pending": 0,
        "lost": 0,
        "cancelled": 0,
    }
    assert report.exit_code == 0

    successes: dict[int, int] = {}
    for host in cluster.hosts:
        for path in (host.home / "successes").iterdir():
            successes[int(path.name)] = successes.get(int(path.name), 0) + len(
                path.read_text().split()
            )
    assert successes == {n: 1 for n in range(40)}
    attempts = {
        int(p.name): len(p.read_text().split())
        for h in cluster.hosts
        for p in (h.home / "attempts").iterdir()
    }
    assert {n for n, count in attempts.items() if count == 2} == {*failing, hang}

    assert run_quiet(exp, ExperimentTask.PICKUP).ok
    with (tmp_path / "combined.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(int(r["n"]) for r in rows) == list(range(40))
    assert all(int(r["square"]) == int(r["n"]) ** 2 for r in rows)
    states = ledger_states(tmp_path / "deliverables" / "forty" / "ledger.sqlite")
    assert {state for _, state in states} == {"done"} and len(states) == 40
