"""A command held for the client's word on its own channel (deliver's upload, then switch),
over real sshd and on the local node: the word runs its case, no word (the client went) runs
the other, a command that ends first gives its result, and what came before the word is kept.
And deliver itself: a node whose word never comes keeps its delivery and removes the upload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from octopus import Experiment, ExperimentTask, Node
from octopus.remote.connection import open_connection
from octopus.remote.connector import Connector
from octopus.remote.held import wait_for_word
from octopus.remote.local import LocalConnection
from octopus.remote.quick import QuickResult, QuickTimedOut
from octopus.stages import deliver_steps
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_quiet, wait_for

# Reads exactly the bytes sent before the word, as deliver's `head -c N | tar -x` does.
SIZE = 3 << 20
TAKE = f"head -c {SIZE} > taken && echo before && echo warned >&2; "
CASES = {"go": "echo went; exit 0", "other": "echo other; exit 4"}
OTHERWISE = "echo no word > no_word; exit 5"


@pytest.fixture(params=["ssh", "local"])
def conn(
    request: pytest.FixtureRequest, cluster: TestCluster, tmp_path: Path
) -> Iterator[Connector]:
    if request.param == "local":
        yield LocalConnection(Node(local=True), home=tmp_path)
        return
    node = cluster_nodes(cluster, [0])[0]
    opened = open_connection(node)
    yield opened
    opened.close()


def home_of(conn: Connector, cluster: TestCluster) -> Path:
    return conn.home if isinstance(conn, LocalConnection) else cluster.hosts[0].home


def test_the_word_runs_its_case_and_what_came_before_is_kept(
    conn: Connector, cluster: TestCluster
) -> None:
    data = bytes(range(256)) * (SIZE // 256)
    held = conn.hold(TAKE + wait_for_word(CASES, OTHERWISE), data, timeout=30)
    assert not isinstance(held, QuickResult)
    assert held.stdout == "before\n"  # its stderr may still be on its way: it comes whole below
    assert (home_of(conn, cluster) / "taken").read_bytes() == data  # all of it, nothing more
    result = held.finish("go", timeout=30)
    assert result == QuickResult(0, "before\nwent\n", "warned\n")


def test_no_word_runs_the_other_case(conn: Connector, cluster: TestCluster) -> None:
    home = home_of(conn, cluster)
    (home / "no_word").unlink(missing_ok=True)
    held = conn.hold(TAKE + wait_for_word(CASES, OTHERWISE), b"x" * SIZE, timeout=30)
    assert not isinstance(held, QuickResult)
    held.abandon()  # as the client's going away does: the command's stdin ends
    assert wait_for(lambda: (home / "no_word").exists())
    assert (home / "no_word").read_text() == "no word\n"


def test_a_command_that_ends_before_it_waits_gives_its_result(conn: Connector) -> None:
    done = conn.hold("echo busy; exit 75; " + wait_for_word(CASES, OTHERWISE), b"y" * SIZE)
    assert done == QuickResult(75, "busy\n", "")


def test_a_local_command_timed_out_after_its_word_ends_with_what_it_started(
    tmp_path: Path,
) -> None:
    conn = LocalConnection(Node(local=True), home=tmp_path)
    slow = {"go": "sleep 300 & echo $! > child; wait"}
    held = conn.hold(wait_for_word(slow, OTHERWISE), b"", timeout=30)
    assert not isinstance(held, QuickResult)
    began = time.monotonic()
    with pytest.raises(QuickTimedOut):
        held.finish("go", timeout=1)
    # (a child left alive would hold the pipes open: the timeout would wait for its end)
    assert time.monotonic() - began < 30
    child = int((tmp_path / "child").read_text())
    assert wait_for(lambda: not Path(f"/proc/{child}").exists()), "the command's child lives on"


def only(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()]


def test_a_node_whose_word_never_comes_keeps_its_delivery(
    make_cluster, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch fails on the client (here: raises) after both nodes took the upload: each
    node's held command sees its stdin end, removes the upload, and stays as it was."""
    cluster = make_cluster(2)
    exp = Experiment(name="held", nodes=cluster_nodes(cluster), experiment_commands=["true"] * 4)
    assert run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS).ok
    homes = [h.home for h in cluster.hosts]
    before = [(home / exp.paths.remote_current).resolve() for home in homes]

    def lost(self: deliver_steps.Switch, ctx: object) -> str:
        raise RuntimeError("lost before the switch")

    monkeypatch.setattr(deliver_steps.Switch, "execute", lost)
    report = run_quiet(exp, ExperimentTask.DELIVER_SCRIPTS)
    assert [("lost before the switch" in r.message) for r in report.results] == [True, True]
    for home, kept in zip(homes, before, strict=True):
        current = home / exp.paths.remote_current
        assert current.resolve() == kept
        # Removed by the node itself, once it reads the end of its stdin.
        assert wait_for(lambda: only(current.parent / "deliveries") == [kept.name])  # noqa: B023
