"""Integrity on real hosts: whole-name purge, dead screens, commands as written, deliveries that
fail on one node, subsets that would drop nodes, a deleted delivery folder, hostile output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from octopus import Cmd, Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.run import layout
from octopus.run.deliveries import Deliveries
from octopus.stages.monitor import monitor
from octopus.testing.sshhosts import TestHost
from tests.conftest import (
    cluster_nodes,
    latest_delivery,
    run_quiet,
    wait_for,
    wait_for_monitor,
    write_inventory,
)


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The `octopus` program, as a user in a project without a tasks.py runs it."""
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def sessions(host: TestHost) -> list[str]:
    listing = host.exec("screen -ls || true")
    return re.findall(r"\d+\.(\S+)\s.*\((?:Detached|Attached)\)", listing)


def test_purge_of_a_stops_a_only_not_a_b(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster)
    a = Experiment(name="a", nodes=nodes, experiment_commands=["sleep 321"])
    a_b = Experiment(name="a-b", nodes=nodes, experiment_commands=["sleep 322"])
    for exp in (a, a_b):
        assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
        assert run_quiet(exp, ExperimentTask.START).ok
    a_s0, a_b_s0 = a.paths.worker_session(0), a_b.paths.worker_session(0)
    assert a_s0.endswith("-a-s0") and a_b_s0.endswith("-a-b-s0")
    assert wait_for(lambda: sorted(sessions(host)) == sorted([a_b_s0, a_s0]))
    assert run_quiet(a, ExperimentTask.PURGE).ok
    assert wait_for(lambda: sessions(host) == [a_b_s0])
    assert run_quiet(a_b, ExperimentTask.PURGE).ok


def test_a_killed_screen_is_lost_not_running_and_resume_runs_each_command_once(
    make_cluster, workdir: Path
):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=2)
    commands = [f"sleep {1 + n % 2}; echo {n} >> ~/finished" for n in range(8)]
    exp = Experiment(name="deadscreen", nodes=nodes, shuffle_seed=0, experiment_commands=commands)
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    wait_for_monitor(exp, nodes, lambda r: r.totals["done"] >= 1)
    listing = host.exec("screen -ls || true")
    pid = re.search(rf"(\d+)\.{re.escape(exp.paths.worker_session(0))}\s", listing)
    assert pid is not None, listing
    host.exec(f"kill -9 {pid.group(1)}")  # the SCREEN process of worker s0, by its PID
    report = wait_for_monitor(exp, nodes, lambda r: r.totals["lost"] >= 1, timeout=20)
    assert report.totals["lost"] >= 1 and report.exit_code == 1
    s0 = [s for s in report.statuses if s.worker == 0]
    assert not [s for s in s0 if s.state == "running"]
    report = wait_for_monitor(exp, nodes, lambda r: r.totals["running"] == 0)
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished, timeout=60)
    assert report.totals["done"] == 8 and report.exit_code == 0
    finished = sorted(int(x) for x in (host.home / "finished").read_text().split())
    assert finished == list(range(8))  # each once: none lost, none run twice


def test_commands_run_as_written_on_a_node(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    nodes = cluster_nodes(cluster)
    exp = Experiment(
        name="written",
        nodes=nodes,
        shuffle_seed=0,
        exp_script_gen=None,
        experiment_commands=[
            "set -e; false; echo never >> ~/never",
            "echo 'unterminated",
            "echo fine >> ~/fine",
        ],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished)
    codes = {s.command.split()[0] + str(i): s.exit_code for i, s in enumerate(report.statuses)}
    assert sorted(codes.values()) == [0, 1, 2]
    host = cluster.hosts[0]
    assert not (host.home / "never").exists() and (host.home / "fine").read_text() == "fine\n"


def test_a_node_whose_upload_fails_keeps_its_delivery_and_is_reported(make_cluster, workdir: Path):
    cluster = make_cluster(2)
    nodes = cluster_nodes(cluster)
    exp = Experiment(name="partial", nodes=nodes, experiment_commands=["true"] * 4)
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    first = latest_delivery(workdir / "deliverables" / "partial" / "manifest.json")
    assert first.delivered == ["h1", "h2"]
    h2 = cluster.hosts[1]
    run = exp.paths.remote_run_dir
    h2.exec(f"chmod 555 ~/{run}/deliveries")  # no new delivery fits there
    report = run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS)
    assert not report.ok
    assert [r.outcome for r in report.results] == ["ok", "failed"]
    second = latest_delivery(workdir / "deliverables" / "partial" / "manifest.json")
    assert second.delivery != first.delivery and second.delivered == ["h1"]
    assert h2.exec(f"readlink ~/{run}/current").strip().endswith(first.delivery)
    assert not h2.exec(f"ls -a ~/{run}/deliveries/*/ | grep '^.upload-' || true")
    status = monitor(exp, nodes, output=StageOutput(quiet=True))
    assert "h2" in status.undelivered and status.exit_code == 1
    started = run_quiet(exp, ExperimentTask.START)
    assert [r.outcome for r in started.results] == ["ok", "failed"]
    assert "run `inv deliver` (again)" in started.results[1].message
    h2.exec(f"chmod 755 ~/{run}/deliveries")
    assert not list((workdir / "deliverables" / "partial").glob(".delivery-*"))


def test_delivering_to_a_subset_asks_for_replan(make_cluster, tmp_path: Path):
    cluster = make_cluster(2)
    inventory = write_inventory(
        tmp_path / "nodes.yaml", {h.name: cluster.node_values(h) for h in cluster.hosts}
    )
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "sub.yaml").write_text(
        'experiment_commands: ["echo 1", "echo 2"]\n'
    )
    args = ("--exp", "sub", "--inventory", str(inventory))
    assert octopus("deliver", *args, cwd=tmp_path).returncode == 0
    refused = octopus("deliver", *args, "--nodes", "h2", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--replan" in refused.stderr and "leave h1 out" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert octopus("deliver", *args, "--nodes", "h2", "--replan", cwd=tmp_path).returncode == 0
    record = Deliveries.read(tmp_path / "deliverables" / "sub" / "manifest.json")
    assert record.nodes == ["h2"] and len(record.plan.entries) == 2  # h1 left the experiment


def test_hostile_remote_output_is_shown_as_text(cluster, tmp_path: Path):
    nodes = cluster_nodes(cluster, [0])
    exp = Experiment(
        name="hostile",
        nodes=nodes,
        setup_steps=[Cmd(cmd="printf '[/path] \\033[31mred [bold]x\\n' >&2; exit 3")],
    )
    buffer = io.StringIO()
    out = StageOutput(Console(file=buffer, width=200, no_color=True))
    report = exp.run_task(ExperimentTask.SETUP, output=out)
    assert report is not None and not report.ok
    text = buffer.getvalue()
    assert "[/path] \\x1b[31mred [bold]x" in text and "\x1b" not in text


def test_large_output_streams_whole_and_the_result_keeps_a_bounded_tail(cluster, tmp_path: Path):
    from octopus.remote.connection import open_connection
    from octopus.remote.runners import STREAMED_TAIL
    from octopus.steps.context import StepContext

    [node] = cluster_nodes(cluster, [1])
    log = tmp_path / "stage.log"
    out = StageOutput(Console(file=io.StringIO(), width=200, no_color=True), log_path=log)
    conn = open_connection(node)
    try:
        ctx = StepContext(node, conn, Experiment(name="big"), out)
        result = ctx.run("seq 1 400000")  # about 2.6 MB, far more than the kept tail
    finally:
        conn.close()
        out.close()
    assert len(result.stdout) <= 2 * STREAMED_TAIL and result.stdout.endswith("399999\n400000\n")
    lines = log.read_text().splitlines()
    assert len(lines) == 400000 and lines[-1].endswith("h2 out: 400000")


def test_purge_cancels_what_it_stopped_and_resume_runs_it(make_cluster, workdir: Path):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    host.exec("rm -f halt.txt")
    nodes = cluster_nodes(cluster, num_parallel_screens_or_jobs=1)
    exp = Experiment(
        name="halt",
        nodes=nodes,
        shuffle_seed=0,
        experiment_commands=[f"sleep 0.4; echo {i} >> ~/halt.txt" for i in range(8)],
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert run_quiet(exp, ExperimentTask.START).ok
    assert wait_for(lambda: len(host.exec("cat halt.txt 2>/dev/null || true").split()) >= 2)
    assert run_quiet(exp, ExperimentTask.PURGE).ok
    report = monitor(exp, nodes, output=StageOutput(quiet=True))
    counts = report.totals
    assert counts["cancelled"] >= 1 and counts["lost"] == 0 and counts["running"] == 0
    assert counts["done"] + counts["cancelled"] == 8
    assert report.exit_code == 0  # a purge is not a failure
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    final = wait_for_monitor(exp, nodes, lambda r: r.finished and r.totals["done"] == 8)
    assert final.totals["cancelled"] == 0
    ran = host.exec("cat halt.txt").split()
    # None lost; only a command the purge stopped right after its effect, before its end was
    # recorded, can have run twice.
    assert sorted(set(ran)) == [str(i) for i in range(8)] and len(ran) <= 9


def test_monitor_before_any_delivery_is_an_error(make_cluster, tmp_path: Path):
    cluster = make_cluster(1)
    write_inventory(tmp_path / "nodes.yaml", {"h1": cluster.node_values(cluster.hosts[0])})
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "early.yaml").write_text("experiment_commands: ['true']\n")
    done = octopus("monitor", "--exp", "early", "--json", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert json.loads(done.stdout) == {
        "error": "nothing is delivered for experiment 'early' yet: "
        "run `inv deliver --exp=early` first",
        "exit_code": 2,
    }
    assert done.stderr.strip().splitlines() == [f"octopus: {json.loads(done.stdout)['error']}"]


def test_two_checkouts_with_one_experiment_name_never_touch_each_other(
    make_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster)
    checkouts = [tmp_path / "clone-a", tmp_path / "clone-b"]
    experiments, run_dirs, first_sessions = [], [], []
    for folder, seconds in zip(checkouts, (331, 332), strict=True):
        folder.mkdir()
        (folder / "tasks.py").write_text("")  # marks the project's folder
        monkeypatch.chdir(folder)
        exp = Experiment(name="slow", nodes=nodes, experiment_commands=[f"sleep {seconds}"])
        assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
        assert run_quiet(exp, ExperimentTask.START).ok
        experiments.append(exp)
        run_dirs.append(exp.paths.remote_run_dir)  # the checkout is the current folder's
        first_sessions.append(exp.paths.worker_session(0))
    a, b = experiments
    assert run_dirs[0] != run_dirs[1] and first_sessions[0] != first_sessions[1]
    assert wait_for(lambda: sorted(sessions(host)) == sorted(first_sessions))
    monkeypatch.chdir(checkouts[0])
    assert run_quiet(a, ExperimentTask.PURGE).ok
    assert wait_for(lambda: sessions(host) == [first_sessions[1]])
    assert "sleep 332" in host.exec("ps -eo args") and "sleep 331" not in host.exec("ps -eo args")
    monkeypatch.chdir(checkouts[1])
    assert monitor(b, nodes, output=StageOutput(quiet=True)).totals["running"] == 1
    assert run_quiet(b, ExperimentTask.PURGE).ok


def test_a_delivery_made_before_checkout_ids_still_works(
    make_cluster, workdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """A delivery with the older names (~/.octopus/<exp>, oct-<exp>-s0): monitor reads it,
    purge stops it, and the next delivery uses the checkout's own names."""
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    nodes = cluster_nodes(cluster)
    exp = Experiment(name="older", nodes=nodes, experiment_commands=["sleep 341"])
    with monkeypatch.context() as older:
        older.setattr(layout, "project_scope", lambda root: "")
        exp_then = Experiment(name="older", nodes=nodes, experiment_commands=["sleep 341"])
        assert run_quiet(exp_then, ExperimentTask.DELIVER_SCRIPTS).ok
        assert run_quiet(exp_then, ExperimentTask.START).ok
    assert wait_for(lambda: sessions(host) == ["oct-older-s0"])
    assert host.exec("ls ~/.octopus/older/current/run_exp_s0.sh").strip()
    assert monitor(exp, nodes, output=StageOutput(quiet=True)).totals["running"] == 1
    refused = run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS)  # its workers still run
    assert not refused.ok and "oct-older-s0" in refused.local_failures[0]
    assert run_quiet(exp, ExperimentTask.PURGE).ok
    assert wait_for(lambda: sessions(host) == [])
    assert monitor(exp, nodes, output=StageOutput(quiet=True)).totals["cancelled"] == 1
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    assert exp.paths.remote_run_dir.startswith(".octopus/older@")
    assert host.exec(f"ls ~/{exp.paths.remote_current}/run_exp_s0.sh").strip()
