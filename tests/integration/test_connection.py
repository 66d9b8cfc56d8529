"""Connections to real SSH hosts: strict host keys, timeouts, channel cap, ssh_config aliases."""

from __future__ import annotations

import gc
import socket
import threading
import time
import weakref
from pathlib import Path

import paramiko
import pytest

from octopus import Node
from octopus.remote import hostkeys, liveness
from octopus.remote.connection import NodeUnreachable, open_connection
from octopus.remote.key_files import private_key, with_first_key
from octopus.remote.local import LocalConnection
from octopus.results import Outcome
from octopus.stages.for_each_node import for_each_node
from octopus.testing.sshhosts import TestCluster


def node_for(cluster: TestCluster, index: int, **extra: object) -> Node:
    host = cluster.hosts[index]
    return Node(test_connection=False, name=host.name, **cluster.node_values(host, **extra))  # type: ignore[arg-type]


def test_strict_connection_runs_on_the_right_host(cluster: TestCluster):
    conn = open_connection(node_for(cluster, 0))
    try:
        assert conn.run("hostname", hide=True).stdout.strip() == "h1"
        sock = conn.transport.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.close()


def test_the_servers_debug_message_is_acknowledged_at_once(
    cluster: TestCluster, monkeypatch: pytest.MonkeyPatch
):
    # sshd sends a debug message after the login that no client answers; acknowledged late,
    # it held the answer to the node's first channel back by 40 ms (liveness.ack_now).
    acknowledged: list[object] = []

    def ack_now(sock: object) -> None:
        acknowledged.append(sock)
        liveness.ack_now(sock)

    monkeypatch.setattr(hostkeys, "ack_now", ack_now)
    conn = open_connection(node_for(cluster, 0))
    try:
        assert conn.run("echo first", hide=True).stdout == "first\n"
        assert acknowledged and all(sock is conn.transport.sock for sock in acknowledged)
    finally:
        conn.close()


def test_acknowledging_leaves_what_is_no_tcp_socket_alone():
    liveness.ack_now(object())  # a ProxyJump channel, a ProxyCommand
    unix_a, unix_b = socket.socketpair()
    with unix_a, unix_b:
        liveness.ack_now(unix_a)
    closed = socket.socket()
    closed.close()
    liveness.ack_now(closed)


def test_changed_host_key_is_refused_and_nothing_runs(cluster: TestCluster, tmp_path: Path):
    known = cluster.write_known_hosts(tmp_path / "known_hosts", wrong_key_for=("h2",))
    host = cluster.hosts[1]
    logins_before = host.accepted_logins()
    with pytest.raises(NodeUnreachable) as info:
        open_connection(node_for(cluster, 1, ssh_hostkeys=str(known)))
    message = str(info.value)
    assert message.startswith("h2: host key of 10.77.")
    assert "has CHANGED" in message and "nothing was run" in message
    assert f"ssh-keygen -R {host.address} -f {known}" in message
    assert "\n" not in message
    assert host.accepted_logins() == logins_before


def test_unknown_host_key_is_refused_unless_accepting_new(cluster: TestCluster, tmp_path: Path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(NodeUnreachable, match="is unknown .*ssh-keyscan"):
        open_connection(node_for(cluster, 2, ssh_hostkeys=str(known)))
    assert known.read_text() == ""

    conn = open_connection(node_for(cluster, 2, ssh_hostkeys=str(known), accept_new_hostkeys=True))
    conn.close()
    host = cluster.hosts[2]
    assert known.read_text() == f"{host.address} ssh-ed25519 {host.host_key_pub}\n"
    # Now known: a strict connection succeeds.
    conn = open_connection(node_for(cluster, 2, ssh_hostkeys=str(known)))
    assert conn.run("hostname", hide=True).stdout.strip() == "h3"
    conn.close()


def test_unreachable_host_fails_within_its_timeout_while_others_succeed(cluster: TestCluster):
    nodes = [node_for(cluster, i) for i in range(3)]
    dead = Node(
        test_connection=False,
        name="dead",
        **{
            **cluster.node_values(cluster.hosts[0]),  # type: ignore[arg-type]
            "ssh_hostname": cluster.unreachable_address,
            "connect_timeout": 1.5,
        },
    )
    started = time.monotonic()
    results = for_each_node([*nodes, dead], lambda node, c: c.run("hostname", hide=True).stdout)
    elapsed = time.monotonic() - started
    assert [r.outcome for r in results] == [Outcome.OK] * 3 + [Outcome.UNREACHABLE]
    assert [r.data.strip() for r in results[:3]] == ["h1", "h2", "h3"]
    assert "within 1.5s" in results[3].message or "cannot reach" in results[3].message
    assert elapsed < 1.5 + 2.0


def test_wrong_key_is_a_clear_login_error(cluster: TestCluster, tmp_path: Path):
    other = tmp_path / "other_key"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(NodeUnreachable, match=r"refused login as octo with .*other_key"):
        open_connection(node_for(cluster, 0, ssh_private_key=str(other)))


def test_stopped_sshd_is_connection_refused(make_cluster):
    c = make_cluster(1)
    node = Node(test_connection=False, name="h1", **c.node_values(c.hosts[0]))
    c.hosts[0].kill()
    with pytest.raises(NodeUnreachable, match="refused the connection"):
        open_connection(node)


def test_more_commands_than_channels_at_once_all_succeed(cluster: TestCluster):
    """sshd refuses an 11th channel; the connection queues them instead of failing."""
    conn = open_connection(node_for(cluster, 0))
    outputs: list[str] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            outputs.append(conn.run(f"sleep 0.3; echo {i}", hide=True).stdout.strip())
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


def test_ssh_config_alias_is_resolved_by_fabric(cluster: TestCluster):
    node = Node(
        test_connection=False, name="alias", ssh_hostname="h4", ssh_config=str(cluster.ssh_config)
    )
    conn = open_connection(node)
    try:
        assert conn.run("hostname; whoami", hide=True).stdout.split() == ["h4", "octo"]
    finally:
        conn.close()


def test_local_connection_runs_in_home_and_copies(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    conn = LocalConnection(Node(test_connection=False, local=True), home=home)
    assert conn.run("pwd", hide=True).stdout.strip() == str(home)
    src = tmp_path / "a b.txt"
    src.write_text("x")
    conn.put(src, "dir/")
    assert (home / "dir" / "a b.txt").read_text() == "x"
    conn.get("dir/a b.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "x"


def _jump_config(cluster: TestCluster, path: Path, known_hosts: Path) -> Path:
    h1, h2 = cluster.hosts[0], cluster.hosts[1]
    common = (
        f"  User octo\n  IdentityFile {cluster.client_key}\n  UserKnownHostsFile {known_hosts}\n"
    )
    path.write_text(
        f"Host jump\n  HostName {h1.address}\n{common}\n"
        f"Host behind\n  HostName {h2.address}\n  ProxyJump jump\n{common}"
    )
    return path


def test_proxyjump_from_ssh_config_checks_every_hop(cluster: TestCluster, tmp_path: Path):
    config = _jump_config(cluster, tmp_path / "ssh_config", cluster.known_hosts)
    conn = open_connection(
        Node(test_connection=False, name="behind", ssh_hostname="behind", ssh_config=str(config))
    )
    try:
        assert conn.run("hostname", hide=True).stdout.strip() == "h2"
    finally:
        conn.close()

    wrong = cluster.write_known_hosts(tmp_path / "kh", wrong_key_for=("h1",))
    config = _jump_config(cluster, tmp_path / "ssh_config2", wrong)
    with pytest.raises(NodeUnreachable):
        open_connection(
            Node(
                test_connection=False, name="behind", ssh_hostname="behind", ssh_config=str(config)
            )
        )


def test_encrypted_key_with_passphrase_for_fabric_and_rsync(cluster: TestCluster, tmp_path: Path):
    import subprocess

    from octopus.remote.transfers import rsync

    key = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pa$$ 'word", "-f", str(key)], check=True
    )
    host = cluster.hosts[1]
    authorized = host.home / ".ssh" / "authorized_keys"
    original = authorized.read_text()
    authorized.write_text(original + key.with_suffix(".pub").read_text())
    try:
        with pytest.raises(NodeUnreachable, match="is encrypted: give its passphrase"):
            open_connection(node_for(cluster, 1, ssh_private_key=str(key)))
        node = node_for(cluster, 1, ssh_private_key=str(key), ssh_passphrase="pa$$ 'word")
        conn = open_connection(node)
        try:
            assert conn.run("hostname", hide=True).stdout.strip() == "h2"
            (tmp_path / "via-askpass.txt").write_text("ok\n")
            rsync(conn, str(tmp_path / "via-askpass.txt"), "askpass/")
        finally:
            conn.close()
        assert (host.home / "askpass" / "via-askpass.txt").read_text() == "ok\n"
    finally:
        authorized.write_text(original)


def test_original_node_methods_outside_a_stage(cluster: TestCluster, tmp_path: Path):
    node = node_for(cluster, 3)
    host = cluster.hosts[3]
    (tmp_path / "a file.txt").write_text("sent\n")
    node.scp(str(tmp_path / "a file.txt"), "~/scp in", put=True)
    assert (host.home / "scp in" / "a file.txt").read_text() == "sent\n"
    assert node.file_exists("$HOME/scp in/a file.txt") and not node.file_exists("nope")
    assert node.run_cmd(["cd 'scp in'", "cat 'a file.txt'"], return_response=True) == ["sent\n"]
    node.scp("scp in/a file.txt", str(tmp_path / "back"), put=False)
    assert (tmp_path / "back" / "a file.txt").read_text() == "sent\n"


class _Marker:
    """Something a caller of open_connection holds (weakly referable)."""


def _connect_holding(node: Node) -> weakref.ref[_Marker]:
    marker = _Marker()  # a local of a frame on the connect's call stack
    conn = open_connection(node)
    try:
        assert conn.run("true", hide=True).ok
    finally:
        conn.close()
    return weakref.ref(marker)


@pytest.mark.parametrize("named_by", ["node", "ssh_config"])
def test_a_connection_leaves_no_cycle_holding_its_callers(cluster: TestCluster, named_by: str):
    """The key is loaded as its own type (the node's own, or the first IdentityFile that
    ssh_config names), so paramiko never keeps the exceptions of the types it is not: their
    tracebacks would keep the connect's callers (a stage and all it made) alive until the
    cyclic collector runs. With the collector off, as monitor has it, what the caller held is
    freed as soon as the caller returns."""
    if named_by == "node":
        node = node_for(cluster, 2)
        assert private_key(str(node.ssh_private_key), None) is not None  # an Ed25519 key
    else:
        config = str(cluster.ssh_config)
        node = Node(test_connection=False, name="alias", ssh_hostname="h3", ssh_config=config)
    gc.collect()
    gc.disable()
    try:
        held = _connect_holding(node)
        assert held() is None, "a reference cycle keeps the caller's frame alive"
    finally:
        gc.enable()


def test_with_first_key_keeps_the_order_of_the_files(cluster: TestCluster, tmp_path: Path):
    key = str(cluster.client_key)
    given: dict[str, object] = {"key_filename": [key, str(tmp_path / "second")], "timeout": 5}
    loaded = with_first_key(given)
    assert given == {"key_filename": [key, str(tmp_path / "second")], "timeout": 5}  # a copy
    assert loaded["key_filename"] == [str(tmp_path / "second")] and loaded["timeout"] == 5
    assert isinstance(loaded["pkey"], paramiko.PKey)
    only = with_first_key({"key_filename": key})
    assert "key_filename" not in only and "pkey" in only
    unloadable = {"key_filename": [str(tmp_path / "missing"), key]}
    assert with_first_key(unloadable) is unloadable  # paramiko tries them, and says why not
    keyed = {"pkey": loaded["pkey"], "key_filename": [key]}
    assert with_first_key(keyed) is keyed


def test_with_first_key_takes_the_passphrase_as_paramiko_does(tmp_path: Path):
    import subprocess

    key = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(key)], check=True
    )
    for given in ({"passphrase": "secret"}, {"password": "secret"}, {"passphrase": b"secret"}):
        assert "pkey" in with_first_key({"key_filename": [str(key)], **given}), given
    assert "pkey" not in with_first_key({"key_filename": [str(key)]})


def test_private_key_left_to_paramiko_when_it_cannot_be_loaded(tmp_path: Path):
    import subprocess

    key = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(key)], check=True
    )
    assert private_key(str(key), None) is None  # paramiko then says it is encrypted
    assert private_key(str(tmp_path / "missing"), None) is None
    loaded = private_key(str(key), "secret")
    assert loaded is not None and loaded.get_name() == "ssh-ed25519"
