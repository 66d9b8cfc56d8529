"""Host keys against real sshd: global files from ssh_config, @revoked, host certificates
under @cert-authority, `[host]:port` entries; the ssh that rsync runs must agree each time."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from octopus import Node
from octopus.remote.connection import NodeUnreachable, open_connection
from octopus.remote.openssh import ssh_argv
from octopus.testing.sshhosts import TestCluster, TestHost


def node_for(cluster: TestCluster, index: int, **extra: object) -> Node:
    host = cluster.hosts[index]
    return Node(test_connection=False, name=host.name, **cluster.node_values(host, **extra))  # type: ignore[arg-type]


def hostname_over_octopus(node: Node) -> str:
    conn = open_connection(node)
    try:
        return str(conn.run("hostname", hide=True).stdout.strip())
    finally:
        conn.close()


def hostname_over_openssh(node: Node) -> subprocess.CompletedProcess[str]:
    """The ssh command rsync would run for this node, running `hostname`."""
    target = f"{node.ssh_username}@{node.ssh_hostname}" if node.ssh_username else node.ssh_hostname
    return subprocess.run(
        [*ssh_argv(node), str(target), "hostname"], capture_output=True, text=True, timeout=30
    )


def ca_public(path: Path) -> str:
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def new_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def test_global_known_hosts_file_from_ssh_config(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[0]
    user_file, missing, global_file = tmp_path / "user_kh", tmp_path / "g1", tmp_path / "g2"
    user_file.write_text("")
    global_file.write_text(f"{host.address} ssh-ed25519 {host.host_key_pub}\n")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host box\n  HostName {host.address}\n  User {cluster.user}\n"
        f"  IdentityFile {cluster.client_key}\n  UserKnownHostsFile {user_file}\n"
        f"  GlobalKnownHostsFile {missing} {global_file}\n"
    )
    node = Node(test_connection=False, name="box", ssh_hostname="box", ssh_config=str(config))
    assert hostname_over_octopus(node) == "h1"
    done = hostname_over_openssh(node)
    assert (done.returncode, done.stdout.strip()) == (0, "h1"), done.stderr

    global_file.write_text("")
    with pytest.raises(NodeUnreachable) as info:
        open_connection(node)
    message = str(info.value)
    assert "is unknown" in message and str(global_file) in message
    assert f"`ssh-keyscan {host.address} >> {user_file}`" in message
    assert hostname_over_openssh(node).returncode == 255
    assert user_file.read_text() == ""


def test_revoked_key_is_refused_though_listed(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[1]
    listed = f"{host.address} ssh-ed25519 {host.host_key_pub}\n"
    revoked = tmp_path / "revoked"
    revoked.write_text(f"# the old key\n@revoked * ssh-ed25519 {host.host_key_pub}\n")
    known = tmp_path / "known_hosts"
    known.write_text(listed)
    node = node_for(cluster, 1, ssh_hostkeys=[str(known), str(revoked)])
    logins = host.accepted_logins()
    with pytest.raises(NodeUnreachable) as info:
        open_connection(node)
    assert "is REVOKED" in str(info.value) and f"{revoked}:2" in str(info.value)
    assert host.accepted_logins() == logins
    # With the node accepting new keys, too.
    with pytest.raises(NodeUnreachable, match="REVOKED"):
        open_connection(
            node_for(cluster, 1, ssh_hostkeys=[str(known), str(revoked)], accept_new_hostkeys=True)
        )
    done = hostname_over_openssh(node)
    assert done.returncode == 255 and "REVOKED" in done.stderr


def test_changed_key_names_the_line_holding_the_old_one(cluster: TestCluster, tmp_path: Path):
    known = cluster.write_known_hosts(tmp_path / "known_hosts", wrong_key_for=("h3",))
    with pytest.raises(NodeUnreachable) as info:
        open_connection(node_for(cluster, 2, ssh_hostkeys=str(known)))
    assert "has CHANGED" in str(info.value) and f"{known}:3 has SHA256:" in str(info.value)
    # The right key in a second file is enough, as for ssh.
    right = cluster.write_known_hosts(tmp_path / "right")
    node = node_for(cluster, 2, ssh_hostkeys=[str(known), str(right)])
    assert hostname_over_octopus(node) == "h3"
    assert hostname_over_openssh(node).returncode == 0


@pytest.fixture
def cert_cluster(make_cluster: Callable[..., TestCluster]) -> TestCluster:
    return make_cluster(1, host_certificates=True)


def test_host_certificate_under_cert_authority(cert_cluster: TestCluster, tmp_path: Path):
    host = cert_cluster.hosts[0]
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority 10.77.*,!10.77.*.250 {ca_public(cert_cluster.host_ca)}\n")
    node = node_for_host(cert_cluster, host, known)
    conn = open_connection(node)
    try:
        assert conn.transport.host_key_type == "ssh-ed25519-cert-v01@openssh.com"
        assert conn.run("hostname", hide=True).stdout.strip() == "h1"
    finally:
        conn.close()
    assert hostname_over_openssh(node).returncode == 0

    other_ca = new_key(tmp_path / "other_ca")
    known.write_text(f"@cert-authority * {ca_public(other_ca)}\n")
    with pytest.raises(NodeUnreachable, match="signed by no @cert-authority listed for it"):
        open_connection(node)
    assert hostname_over_openssh(node).returncode == 255
    # The CA revoked: refused even though it is listed.
    known.write_text(
        f"@cert-authority * {ca_public(cert_cluster.host_ca)}\n"
        f"@revoked * {ca_public(cert_cluster.host_ca)}\n"
    )
    with pytest.raises(NodeUnreachable, match="REVOKED"):
        open_connection(node)


def node_for_host(cluster: TestCluster, host: TestHost, known: Path) -> Node:
    return Node(
        test_connection=False, name=host.name, **cluster.node_values(host, ssh_hostkeys=str(known))
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("principals", "validity", "problem"),
    [
        (("h1.other.example",), None, "does not name 10.77."),
        (None, "-2d:-1d", "has expired"),
    ],
)
def test_host_certificate_that_does_not_vouch_for_the_host_is_refused(
    cert_cluster: TestCluster,
    tmp_path: Path,
    principals: tuple[str, ...] | None,
    validity: str | None,
    problem: str,
):
    host = cert_cluster.hosts[0]
    cert_cluster.sign_host_key(host, cert_cluster.host_ca, principals, validity)
    cert_cluster.reboot(host)
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority * {ca_public(cert_cluster.host_ca)}\n")
    node = node_for_host(cert_cluster, host, known)
    with pytest.raises(NodeUnreachable, match=f"is unknown .*its certificate {problem}"):
        open_connection(node)
    assert hostname_over_openssh(node).returncode == 255
    # Its plain key, listed as well, is still enough (ssh falls back to it too).
    known.write_text(known.read_text() + f"{host.address} ssh-ed25519 {host.host_key_pub}\n")
    assert hostname_over_octopus(node) == "h1"
    assert hostname_over_openssh(node).returncode == 0


@pytest.mark.parametrize(("principals", "accepted"), [((), True), (("h9", "10.77.*"), False)])
def test_host_certificate_principals_absent_or_wildcard(
    cert_cluster: TestCluster, tmp_path: Path, principals: tuple[str, ...], accepted: bool
):
    """No principals: any host. A wildcard principal is no match, as for ssh 9.2."""
    host = cert_cluster.hosts[0]
    cert_cluster.sign_host_key(host, cert_cluster.host_ca, principals)
    cert_cluster.reboot(host)
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority * {ca_public(cert_cluster.host_ca)}\n")
    node = node_for_host(cert_cluster, host, known)
    if accepted:
        assert hostname_over_octopus(node) == "h1"
    else:
        with pytest.raises(NodeUnreachable, match="does not name"):
            open_connection(node)
    assert hostname_over_openssh(node).returncode == (0 if accepted else 255)


def test_port_entries_and_hashed_names(make_cluster: Callable[..., TestCluster], tmp_path: Path):
    cluster = make_cluster(1, port=2222)
    host = cluster.hosts[0]
    known = cluster.write_known_hosts(tmp_path / "known_hosts")
    assert known.read_text().startswith(f"[{host.address}]:2222 ")
    node = node_for_host(cluster, host, known)
    assert hostname_over_octopus(node) == "h1"
    assert hostname_over_openssh(node).returncode == 0

    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True, capture_output=True)
    assert known.read_text().startswith("|1|")
    assert hostname_over_octopus(node) == "h1"

    # Like ssh: a key listed for the bare name is good for any port; one for another port not.
    known.write_text(f"{host.address} ssh-ed25519 {host.host_key_pub}\n")
    assert hostname_over_octopus(node) == "h1"
    assert hostname_over_openssh(node).returncode == 0
    known.write_text(f"[{host.address}]:2223 ssh-ed25519 {host.host_key_pub}\n")
    with pytest.raises(NodeUnreachable, match=f"ssh-keyscan -p 2222 {host.address} >> {known}"):
        open_connection(node)
    assert hostname_over_openssh(node).returncode == 255
