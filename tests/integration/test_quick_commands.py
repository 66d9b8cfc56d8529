"""octopus' own commands on a bare channel (Connector.quick) on a real host: both streams in
full, the exit status, the timeout, the channel cap, a command ended with its channel, and an
upload streamed into tar."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from octopus import Node
from octopus.remote.archive import send_files
from octopus.remote.connection import open_connection
from octopus.remote.quick import QuickTimedOut
from octopus.remote.ssh import NodeConnection
from octopus.testing.sshhosts import TestCluster


def connect(cluster: TestCluster, index: int = 0) -> NodeConnection:
    host = cluster.hosts[index]
    node = Node(test_connection=False, name=host.name, **cluster.node_values(host))  # type: ignore[arg-type]
    conn = open_connection(node)
    assert isinstance(conn, NodeConnection)
    return conn


def test_quick_keeps_both_streams_whole_and_the_exit_status(cluster: TestCluster):
    """3 MB on each stream, more than the channel's window: neither stalls the other."""
    conn = connect(cluster)
    try:
        result = conn.quick(
            "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o; "
            "exit 3",
            timeout=30,
        )
        assert (result.exited, result.ok) == (3, False)
        assert result.stdout == "o" * 3_000_000 and result.stderr == "e" * 3_000_000
        assert conn.quick("hostname", timeout=10).stdout.strip() == "h1"
    finally:
        conn.close()


def test_quick_timeout_ends_the_command_on_the_node(cluster: TestCluster):
    conn = connect(cluster, 1)
    host = cluster.hosts[1]
    try:
        began = time.monotonic()
        with pytest.raises(QuickTimedOut):
            conn.quick("sleep 30; touch late", timeout=0.5)
        assert time.monotonic() - began < 2
        time.sleep(0.5)
        assert "sleep 30" not in host.exec("ps -eo args")
    finally:
        conn.close()


def test_more_quick_commands_than_channels_at_once_all_succeed(cluster: TestCluster):
    conn = connect(cluster, 2)
    outputs: list[str] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            outputs.append(conn.quick(f"sleep 0.3; echo {i}", timeout=30).stdout.strip())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.close()
    assert errors == []
    assert sorted(outputs, key=int) == [str(i) for i in range(16)]


def test_send_files_unpacks_the_named_files_in_one_command(cluster: TestCluster, tmp_path: Path):
    conn = connect(cluster, 3)
    host = cluster.hosts[3]
    for name in ("a.sh", "b.sh", "c.sh"):
        (tmp_path / name).write_text(f"echo {name}\n" * 1000)
    try:
        send_files(conn, tmp_path, "up/dir", ["a.sh", "c.sh"], timeout=30)
    finally:
        conn.close()
    assert sorted(p.name for p in (host.home / "up" / "dir").iterdir()) == ["a.sh", "c.sh"]
    assert (host.home / "up" / "dir" / "c.sh").read_text() == "echo c.sh\n" * 1000
