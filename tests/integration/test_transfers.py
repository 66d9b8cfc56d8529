"""exists() and rsync() against real hosts, with file names a shell would misread."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from invoke.exceptions import UnexpectedExit

from octopus import Node
from octopus.remote.connection import open_connection
from octopus.remote.local import LocalConnection
from octopus.remote.rsync import rsync_argv
from octopus.remote.rsync_version import features_of
from octopus.remote.transfers import exists, rsync
from octopus.testing.sshhosts import TestCluster

NASTY = [
    "a b.txt",
    "it's.txt",
    "$(touch pwned).txt",
    'say "hi".txt',
    "semi;colon.txt",
    "back`tick`.txt",
    "-dash.txt",
]


def make_tree(root: Path) -> Path:
    root.mkdir(parents=True)
    for i, name in enumerate(NASTY):
        (root / name).write_text(f"content {i}\n")
    (root / "sub dir").mkdir()
    (root / "sub dir" / "$HOME.txt").write_text("home\n")
    return root


def node_for(cluster: TestCluster, index: int, **extra: object) -> Node:
    host = cluster.hosts[index]
    return Node(test_connection=False, name=host.name, **cluster.node_values(host, **extra))  # type: ignore[arg-type]


def test_exists_with_nasty_names(cluster: TestCluster):
    host = cluster.hosts[0]
    host.exec("mkdir -p 'ex dir' && touch \"ex dir/it's \\$(x)\"")
    conn = open_connection(node_for(cluster, 0))
    try:
        assert exists(conn, "ex dir/it's $(x)")
        assert exists(conn, "~/ex dir")
        assert not exists(conn, "ex dir/$(touch pwned)")
        assert not exists(conn, "missing; touch pwned")
    finally:
        conn.close()
    assert "pwned" not in host.exec("find ~ -name pwned")


def test_rsync_round_trip_keeps_every_name(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[1]
    src = make_tree(tmp_path / "src tree")
    conn = open_connection(node_for(cluster, 1))
    try:
        rsync(conn, f"{src}/", "up load/it's $(here)/")
        remote = host.home / "up load" / "it's $(here)"
        assert sorted(p.name for p in remote.iterdir()) == sorted([*NASTY, "sub dir"])
        assert (remote / "$(touch pwned).txt").read_text() == "content 2\n"
        assert (remote / "sub dir" / "$HOME.txt").read_text() == "home\n"
        assert exists(conn, "up load/it's $(here)/semi;colon.txt")

        back = tmp_path / "back"
        rsync(conn, "up load/it's $(here)/", f"{back}/", download=True)
        for name in NASTY:
            assert (back / name).read_text() == (src / name).read_text()
    finally:
        conn.close()
    assert not list(host.home.rglob("pwned")) and not list(tmp_path.rglob("pwned"))


def test_rsync_update_delete_and_exclude(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[1]
    src = tmp_path / "s"
    src.mkdir()
    (src / "keep.txt").write_text("new\n")
    (src / "skip.log").write_text("log\n")
    conn = open_connection(node_for(cluster, 1))
    try:
        host.exec(
            "mkdir -p opts && echo remote > opts/keep.txt && echo old > opts/extra.txt"
            " && touch -d '2100-01-01' opts/keep.txt"
        )
        rsync(conn, f"{src}/", "opts/", update=True, exclude="*.log")
        assert (host.home / "opts" / "keep.txt").read_text() == "remote\n"  # newer there
        assert not (host.home / "opts" / "skip.log").exists()
        assert (host.home / "opts" / "extra.txt").exists()
        rsync(conn, f"{src}/", "opts/", delete=True, exclude="*.log")
        assert (host.home / "opts" / "keep.txt").read_text() == "new\n"
        assert not (host.home / "opts" / "extra.txt").exists()
    finally:
        conn.close()


def test_rsync_with_key_and_known_hosts_paths_holding_spaces_and_quotes(
    cluster: TestCluster, tmp_path: Path
):
    keys = tmp_path / "my keys" / "it's here"
    keys.mkdir(parents=True)
    key = keys / "id key"
    shutil.copy(cluster.client_key, key)
    known = keys / "known hosts"
    shutil.copy(cluster.known_hosts, known)
    node = node_for(cluster, 2, ssh_private_key=str(key), ssh_hostkeys=str(known))
    (tmp_path / "f.txt").write_text("via odd key path\n")
    conn = open_connection(node)
    try:
        rsync(conn, str(tmp_path / "f.txt"), "odd.txt")
    finally:
        conn.close()
    assert (cluster.hosts[2].home / "odd.txt").read_text() == "via odd key path\n"


def test_rsync_refuses_a_changed_host_key(cluster: TestCluster, tmp_path: Path):
    known = cluster.write_known_hosts(tmp_path / "kh", wrong_key_for=("h3",))
    good = open_connection(node_for(cluster, 2))
    bad_node = node_for(cluster, 2, ssh_hostkeys=str(known))
    (tmp_path / "f.txt").write_text("x")
    # rsync runs its own ssh; it must check the key as strictly as the Fabric connection does.
    conn = good
    conn.node = bad_node
    try:
        with pytest.raises(UnexpectedExit) as info:
            rsync(conn, str(tmp_path / "f.txt"), "should-not-arrive.txt")
        assert "host key" in info.value.result.stderr.lower()
    finally:
        good.close()
    assert not (cluster.hosts[2].home / "should-not-arrive.txt").exists()


def test_rsync_and_exists_on_the_local_node(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    conn = LocalConnection(Node(test_connection=False, local=True), home=home)
    src = make_tree(tmp_path / "src")
    rsync(conn, f"{src}/", "copy/")
    assert exists(conn, "copy/$(touch pwned).txt")
    assert sorted(p.name for p in (home / "copy").iterdir()) == sorted([*NASTY, "sub dir"])
    assert not list(tmp_path.rglob("pwned"))
    subprocess.run(["true"], check=True)


def test_rsync_without_protect_args_quotes_remote_paths(cluster: TestCluster, tmp_path: Path):
    """An rsync older than 3.0 (macOS' 2.6.9) has no --protect-args: the remote shell then
    splits what rsync sends, so each remote path is quoted for it. The real rsync here
    sends paths as those old ones did with --old-args (3.2.4 on escapes them itself)."""
    old = features_of("rsync  version 2.6.9  protocol version 29\n")
    node = node_for(cluster, 2)
    src = make_tree(tmp_path / "old src")
    up = rsync_argv(node, [f"{src}/"], "~/old dir/it's here/", features=old)
    assert "--protect-args" not in up
    cluster.hosts[2].exec('mkdir -p "old dir/it\'s here"')
    subprocess.run([up[0], "--old-args", *up[1:]], check=True, capture_output=True, timeout=60)
    remote = cluster.hosts[2].home / "old dir" / "it's here"
    assert sorted(p.name for p in remote.iterdir()) == sorted([*NASTY, "sub dir"])
    back = tmp_path / "back"
    back.mkdir()
    down = rsync_argv(node, ["old dir/it's here/*.txt"], f"{back}/", features=old, download=True)
    subprocess.run([down[0], "--old-args", *down[1:]], check=True, capture_output=True, timeout=60)
    assert sorted(p.name for p in back.iterdir()) == sorted(NASTY)
    assert not (cluster.hosts[2].home / "pwned").exists() and not (back / "pwned").exists()
