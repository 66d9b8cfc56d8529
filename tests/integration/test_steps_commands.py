"""Command steps on real hosts: Cmd, PythonCmd, ScreenCmd, CheckOutput, CountGeneratedFiles,
CheckActiveScreens, KillAllScreens; effects are checked on the hosts themselves."""

from __future__ import annotations

import time

from octopus import (
    CheckActiveScreens,
    CheckOutput,
    Cmd,
    CountGeneratedFiles,
    KillAllScreens,
    PythonCmd,
    ScreenCmd,
)
from octopus.results import Outcome
from octopus.run.layout import ExperimentPaths
from octopus.testing.sshhosts import TestCluster, TestHost
from tests.conftest import cluster_nodes, run_stage_on


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def sessions(host: TestHost) -> list[str]:
    listing = host.exec("screen -ls || true")
    return [
        line.split()[0].split(".", 1)[1] for line in listing.splitlines() if line.startswith("\t")
    ]


def test_cmd_list_runs_in_one_shell_and_stops_at_the_first_failure(cluster: TestCluster):
    nodes = cluster_nodes(cluster, [0, 1])
    run = run_stage_on(
        nodes,
        [
            Cmd(cmd=["mkdir -p 'cmd test'", "cd 'cmd test'", 'echo "$(pwd)" > where.txt']),
            Cmd(cmd="echo before; echo oops >&2; exit 7"),
            Cmd(cmd="touch never.txt"),
        ],
        name="cmdtest",
    )
    assert [r.outcome for r in run.report.results] == [Outcome.FAILED] * 2
    first = run.report.results[0]
    assert (first.step, first.exit_code, first.stderr_tail) == ("2 Cmd", 7, "oops")
    assert run.report.exit_code == 1
    for host in cluster.hosts[:2]:
        assert (host.home / "cmd test" / "where.txt").read_text() == "/home/octo/cmd test\n"
        assert not (host.home / "never.txt").exists()
    assert "before" in run.lines("h1")


def test_python_cmd_runs_inside_the_experiment_venv(cluster: TestCluster):
    nodes = cluster_nodes(cluster, [2])
    run = run_stage_on(
        nodes,
        [PythonCmd(cmd="python -c 'import sys; print(sys.prefix)'")],
        name="pycmd",
        exp_folder_name="py exp",
    )
    assert run.report.ok, run.text
    assert "/home/octo/py exp/venv3" in run.lines("h3")
    assert (cluster.hosts[2].home / "py exp" / "venv3" / "bin" / "python").exists()


def test_screen_cmd_logs_and_kill_all_screens_stops_only_this_experiment(cluster: TestCluster):
    host = cluster.hosts[3]
    nodes = cluster_nodes(cluster, [3])
    # A session of another experiment and one the user started by hand must survive.
    other = run_stage_on(nodes, [ScreenCmd(cmd="sleep 300")], name="other")
    assert other.report.ok
    host.exec("screen -dmS mine sleep 300")
    run = run_stage_on(
        nodes,
        [
            ScreenCmd(
                cmd=["echo first line", "trap '' HUP; echo $$ > hup.pid; sleep 300"],
                logfile="screen log.txt",
                cleanup_logfile=True,
            ),
        ],
        name="screens",
    )
    assert run.report.ok, run.text
    assert wait_for(lambda: (host.home / "hup.pid").exists())
    assert "first line" in (host.home / "screen log.txt").read_text()
    names = sessions(host)
    screens, other_prefix = (ExperimentPaths(n).session_prefix for n in ("screens", "other"))
    assert any(n.startswith(f"{screens}cmd-") for n in names)
    assert any(n.startswith(f"{other_prefix}cmd-") for n in names) and "mine" in names
    hup_pid = (host.home / "hup.pid").read_text().strip()

    check = run_stage_on(
        nodes,
        [CheckActiveScreens()],
        name="screens",
        task=__import__("octopus").ExperimentTask.MONITOR,
    )
    assert "1 active screen session(s)" in check.lines("h4")

    purge = run_stage_on(
        nodes, [KillAllScreens()], name="screens", task=__import__("octopus").ExperimentTask.PURGE
    )
    assert purge.report.ok, purge.text
    names = sessions(host)
    assert not any(n.startswith(screens) for n in names)
    assert "mine" in names and any(n.startswith(other_prefix) for n in names)
    # The command that ignored SIGHUP is gone too: its whole process tree was stopped.
    assert host.exec(f"kill -0 {hup_pid} 2>/dev/null && echo alive || echo gone").strip() == "gone"

    run_stage_on(nodes, [KillAllScreens(all_sessions=True)], name="screens")
    assert sessions(host) == []


def test_check_output_and_count_generated_files(cluster: TestCluster):
    host = cluster.hosts[0]
    host.exec(
        "mkdir -p counted && cd counted && for i in 1 2 3; do echo $i > r$i.csv; "
        "sleep 0.01; done && echo x > notes.txt && echo 'Error: boom' > output_screen0"
    )
    run = run_stage_on(
        cluster_nodes(cluster, [0]),
        [
            CheckOutput(
                ["grep -B 5 Error counted/output_screen*", "grep nomatch counted/notes.txt"]
            ),
            CountGeneratedFiles(path=["counted/*.csv", "counted/$(touch pwned)"], list_n_files=2),
        ],
        name="checks",
        task=__import__("octopus").ExperimentTask.CHECK_ERRORS,
    )
    assert run.report.ok, run.text
    lines = run.lines("h1")
    assert "Error: boom" in lines
    assert "(exit 1: grep nomatch counted/notes.txt)" in lines
    assert "3 file(s) in counted/*.csv" in lines
    assert lines[lines.index("3 file(s) in counted/*.csv") + 1 :][:2] == [
        "  counted/r3.csv",
        "  counted/r2.csv",
    ]
    assert "0 file(s) in counted/$(touch pwned)" in lines
    assert not (host.home / "pwned").exists()
