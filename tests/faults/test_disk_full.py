"""A full disk on a node: a small tmpfs mounted over ~/.octopus inside one host. A delivery
that does not fit fails on that node alone, which keeps its previous delivery whole; commands
that write more than fits fail with their exit code, and the node's state still reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from octopus import Experiment, ExperimentTask
from octopus.output import StageOutput
from octopus.stages.monitor import monitor
from octopus.testing.sshhosts import TestHost
from tests.conftest import cluster_nodes, run_quiet, wait_for_monitor
from tests.faults.conftest import FaultRow, count_runs, ran_on

DISK = ".octopus"


def fill(host: TestHost) -> None:
    """Fill the host's small disk to the last byte."""
    host.exec(f"dd if=/dev/zero of={DISK}/filler bs=4k 2>/dev/null; true")


def remote_listing(host: TestHost, exp: Experiment) -> tuple[str, list[str]]:
    """(where `current` points, every entry under the run folder) as the host sees them."""
    run_dir = exp.paths.remote_run_dir
    target = host.exec(f"readlink {exp.paths.remote_current}").strip()
    found = host.exec(f"cd {run_dir} && find . -mindepth 1 | sort").split()
    return target, found


def test_disk_full_during_deliver(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    cluster = make_cluster(2)
    h1, h2 = cluster.hosts
    h2.mount_tmpfs(DISK, "256k")
    nodes = cluster_nodes(cluster, connect_timeout=3, keepalive=2)
    first = Experiment(name="full", nodes=nodes, experiment_commands=["true"] * 4)
    assert run_quiet(first, ExperimentTask.DELIVER_SCRIPTS).ok
    kept, before = remote_listing(h2, first)
    fill(h2)
    second = Experiment(name="full", nodes=nodes, experiment_commands=["true"] * 8)
    began = time.monotonic()
    report = run_quiet(second, ExperimentTask.DELIVER_SCRIPTS)
    took = time.monotonic() - began
    outcomes = {r.node: r for r in report.results}
    h2.exec(f"rm -f {DISK}/filler")
    target, after = remote_listing(h2, second)
    leftovers = sorted(set(after) - set(before) - {"./filler"})
    status = monitor(second, nodes, output=StageOutput(quiet=True))
    record_fault(
        FaultRow(
            "disk full on a node during deliver",
            2,
            "that node fails with a clear message and keeps its delivery; the other one gets it",
            f"{outcomes['h1'].outcome.value}, {outcomes['h2'].outcome.value}: "
            f"{outcomes['h2'].message!r}; current kept: {target == kept}; "
            f"left behind: {len(leftovers)}",
            round(took, 2),
            0,
            0,
            0,
        )
    )
    print(outcomes["h2"], leftovers, status.undelivered)
    assert outcomes["h1"].outcome.value == "ok" and outcomes["h2"].outcome.value == "failed"
    assert "no space left" in outcomes["h2"].message.lower()
    assert target == kept and not leftovers
    assert "h2" in status.undelivered and "h1" not in status.undelivered


TOTAL = 8
BLOB_KB = 200


def test_disk_full_during_a_run(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    """Each command writes a 200 KB file on a 1 MB disk, then marks its end in ~/ran.txt (on
    another disk) with the writer's exit code: the first few fit, the rest fail."""
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    host.exec("rm -f ran.txt")
    host.mount_tmpfs(DISK, "1m")
    nodes = cluster_nodes(cluster, connect_timeout=3, keepalive=2, num_parallel_screens_or_jobs=1)
    commands = [
        f"head -c {BLOB_KB}k /dev/zero > blob.{n}; rc=$?; echo {n} >> ~/ran.txt; exit $rc"
        for n in range(TOTAL)
    ]
    exp = Experiment(name="fills", nodes=nodes, experiment_commands=commands)
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    began = time.monotonic()
    assert run_quiet(exp, ExperimentTask.START).ok
    report = wait_for_monitor(exp, nodes, lambda r: r.finished, timeout=40)
    took = time.monotonic() - began
    codes = sorted({s.exit_code for s in report.statuses if s.state.value == "failed"})
    lost, twice = count_runs(ran_on(host), TOTAL)
    print(
        report.totals,
        codes,
        host.exec(f"df -k {DISK}; cat {exp.paths.remote_current}/state/*.events"),
    )
    record_fault(
        FaultRow(
            "disk full on a node during a run (commands write more than fits)",
            1,
            "those commands fail with their exit code; the state still reads; nothing lost",
            f"{report.totals['done']} done, {report.totals['failed']} failed (exit {codes}), "
            f"{report.totals['lost']} lost, exit {report.exit_code}, {took:.1f} s",
            None,
            lost + report.totals["lost"],
            len(twice),
            0,
        )
    )
    assert report.finished and report.totals["lost"] == 0 and lost == 0 and not twice
    assert report.totals["failed"] > 0 and report.totals["done"] > 0
    assert report.totals["done"] + report.totals["failed"] == TOTAL
    assert codes == [1]


# The prefix pads the worker's events file to one whole 4 KB page with a line the parser
# skips, so its next record needs a new page: the page that is no longer there.
PAD_TO_PAGE = (
    'octopus_size=$(stat -c %s "$OCTOPUS_STATE"); if [ "$octopus_size" -lt 4095 ]; then '
    "head -c $((4095 - octopus_size)) /dev/zero | tr '\\0' '#' >> \"$OCTOPUS_STATE\"; "
    'echo >> "$OCTOPUS_STATE"; fi'
)


def test_disk_full_under_the_worker_record(
    make_cluster, workdir: Path, record_fault: Callable[[FaultRow], None]
):
    """The disk fills while the worker's record needs room: the worker stops before running a
    command it could not record (else the command would run unseen, show as lost and run
    again on --resume); once room is made, --resume runs each command once."""
    cluster = make_cluster(1)
    host = cluster.hosts[0]
    host.exec("rm -f ran.txt")
    host.mount_tmpfs(DISK, "256k")
    nodes = cluster_nodes(cluster, connect_timeout=3, keepalive=2)
    commands = [f"echo {n} >> ~/ran.txt" for n in range(TOTAL)]
    exp = Experiment(
        name="norecord", nodes=nodes, experiment_prefix=PAD_TO_PAGE, experiment_commands=commands
    )
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    fill(host)
    host.exec(f"truncate -s -4096 {DISK}/filler")  # room for one page: the record's first
    assert run_quiet(exp, ExperimentTask.START).ok
    stopped = wait_for_monitor(exp, nodes, lambda r: r.finished, timeout=30)
    ran_unrecorded = len(ran_on(host))
    host.exec(f"rm -f {DISK}/filler")
    assert run_quiet(exp, ExperimentTask.START, resume=True).ok
    final = wait_for_monitor(exp, nodes, lambda r: r.totals["done"] == TOTAL, timeout=30)
    lost, twice = count_runs(ran_on(host), TOTAL)
    record_fault(
        FaultRow(
            "disk full when the worker's record needs a new block",
            1,
            "the worker stops before a command it cannot record; resume runs each once",
            f"{stopped.totals['lost']} lost, {ran_unrecorded} ran unrecorded; after room and "
            f"--resume: {final.totals['done']} done",
            None,
            lost + final.totals["lost"],
            len(twice),
            0,
        )
    )
    assert stopped.totals["lost"] == TOTAL and ran_unrecorded == 0
    assert final.totals["done"] == TOTAL and lost == 0 and not twice
