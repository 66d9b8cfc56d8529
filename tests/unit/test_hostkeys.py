"""The decision on a server key: known, changed, new, revoked, or vouched for by a host
certificate; the policy over several files; the Transport that asks for certificates."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from octopus import Node
from octopus.remote.connection import explain_connect_error
from octopus.remote.host_certs import HOST_CERT, USER_CERT, certificate_of, parse_certificate
from octopus.remote.hostkeys import (
    CHANGED,
    KNOWN,
    NEW,
    REVOKED_KEY,
    CheckKnownHosts,
    HostKeyChanged,
    HostKeyError,
    HostKeyRevoked,
    KnownHostsFiles,
    OrderedTransport,
    judge,
)
from octopus.remote.known_hosts import entries_for, hash_name, parse_known_hosts
from octopus.remote.ssh import NodeConnection

FOREVER = 2**64 - 1


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def blob(private: Ed25519PrivateKey) -> bytes:
    msg = paramiko.Message()
    msg.add_string("ssh-ed25519")
    msg.add_string(raw_public(private))
    return msg.asbytes()


def pkey(private: Ed25519PrivateKey) -> paramiko.PKey:
    return paramiko.PKey.from_type_string("ssh-ed25519", blob(private))


def line(private: Ed25519PrivateKey) -> str:
    return f"ssh-ed25519 {pkey(private).get_base64()}"


def certificate(
    host: Ed25519PrivateKey,
    ca: Ed25519PrivateKey,
    principals: tuple[str, ...] = ("box.example",),
    *,
    cert_type: int = HOST_CERT,
    valid: tuple[int, int] = (0, FOREVER),
    critical: bytes = b"",
) -> paramiko.PKey:
    """The host key as a server with this certificate presents it."""
    msg = paramiko.Message()
    msg.add_string("ssh-ed25519-cert-v01@openssh.com")
    msg.add_string(os.urandom(32))
    msg.add_string(raw_public(host))
    msg.add_int64(7)
    msg.add_int(cert_type)
    msg.add_string("box")
    names = paramiko.Message()
    for name in principals:
        names.add_string(name)
    msg.add_string(names.asbytes())
    msg.add_int64(valid[0])
    msg.add_int64(valid[1])
    msg.add_string(critical)
    msg.add_string(b"")
    msg.add_string(b"")
    msg.add_string(blob(ca))
    signature = paramiko.Message()
    signature.add_string("ssh-ed25519")
    signature.add_string(ca.sign(msg.asbytes()))
    msg.add_string(signature.asbytes())
    return paramiko.Ed25519Key(msg=paramiko.Message(msg.asbytes()))


HOST, OTHER, CA, OTHER_CA = (Ed25519PrivateKey.generate() for _ in range(4))


def verdict(text: str, key: paramiko.PKey, name: str = "box.example", host: str = "box.example"):
    return judge(entries_for(parse_known_hosts(text, "/kh"), name), host, key)


def test_known_changed_and_new_plain_keys():
    assert verdict(f"box.example {line(HOST)}\n", pkey(HOST)).status == KNOWN
    changed = verdict(f"# x\nbox.example {line(OTHER)}\n", pkey(HOST))
    assert changed.status == CHANGED and changed.entry and changed.entry.where == "/kh:2"
    assert verdict(f"other.example {line(HOST)}\n", pkey(HOST)).status == NEW
    # The right key anywhere among the lines wins over a stale one.
    both = f"box.example {line(OTHER)}\n*.example {line(HOST)}\n"
    assert verdict(both, pkey(HOST)).status == KNOWN


def test_other_key_types_only():
    rsa = paramiko.RSAKey.generate(1024)
    found = verdict(f"box.example ssh-rsa {rsa.get_base64()}\n", pkey(HOST))
    assert found.status == NEW and found.other_types and "other key types" in found.note


def test_revoked_key_is_refused_though_listed():
    text = f"box.example {line(HOST)}\n@revoked * {line(HOST)}\n"
    found = verdict(text, pkey(HOST))
    assert found.status == REVOKED_KEY and found.entry and found.entry.line == 2
    # A revocation for other hosts only does not apply.
    assert (
        verdict(f"box.example {line(HOST)}\n@revoked x {line(HOST)}\n", pkey(HOST)).status == KNOWN
    )


def test_certificate_signed_by_a_listed_ca():
    key = certificate(HOST, CA)
    found = verdict(f"@cert-authority *.example {line(CA)}\n", key)
    assert found.status == KNOWN and found.entry and found.entry.marker == "cert-authority"
    # A CA line for other hosts does not vouch.
    assert verdict(f"@cert-authority *.other {line(CA)}\n", key).status == NEW


def test_certificate_of_another_ca_falls_back_to_the_plain_key():
    key = certificate(HOST, OTHER_CA)
    refused = verdict(f"@cert-authority * {line(CA)}\n", key)
    assert refused.status == NEW and "signed by no @cert-authority" in refused.note
    listed = f"@cert-authority * {line(CA)}\nbox.example {line(HOST)}\n"
    assert verdict(listed, key).status == KNOWN


def test_revoked_ca_refuses_its_certificates():
    text = f"@cert-authority * {line(CA)}\n@revoked * {line(CA)}\n"
    assert verdict(text, certificate(HOST, CA)).status == REVOKED_KEY


@pytest.mark.parametrize(
    ("key", "note"),
    [
        (certificate(HOST, CA, ("other.example",)), "does not name box.example"),
        (certificate(HOST, CA, cert_type=USER_CERT), "is not a host certificate"),
        (certificate(HOST, CA, valid=(0, 1000)), "has expired"),
        (certificate(HOST, CA, valid=(FOREVER - 1, FOREVER)), "is not valid yet"),
        (certificate(HOST, CA, critical=b"\x00\x00\x00\x01x\x00\x00\x00\x00"), "critical options"),
    ],
)
def test_certificate_that_does_not_vouch(key: paramiko.PKey, note: str):
    found = verdict(f"@cert-authority * {line(CA)}\n", key)
    assert found.status == NEW and note in found.note


def test_principals_are_exact_names_or_absent():
    ca_line = f"@cert-authority * {line(CA)}\n"
    assert verdict(ca_line, certificate(HOST, CA, ("a", "box.example"))).status == KNOWN
    assert verdict(ca_line, certificate(HOST, CA, ("*.example",))).status == NEW
    assert verdict(ca_line, certificate(HOST, CA, ())).status == KNOWN


def test_forged_certificate_signature():
    key = certificate(HOST, CA)
    assert key.public_blob is not None
    forged = bytearray(key.public_blob.key_blob)
    forged[-5] ^= 1
    fake = paramiko.Ed25519Key(msg=paramiko.Message(bytes(forged)))
    found = verdict(f"@cert-authority * {line(CA)}\n", fake)
    assert found.status == NEW and "does not verify" in found.note


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_reads_a_certificate_made_by_ssh_keygen(tmp_path: Path):
    for name in ("ca", "host"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True
        )
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(tmp_path / "ca"), "-I", "id7", "-h", "-n", "a,b2"]
        + ["-V", "-1d:+1d", str(tmp_path / "host.pub")],
        check=True,
        capture_output=True,
    )
    kind, data = (tmp_path / "host-cert.pub").read_text().split()[:2]
    key = paramiko.Ed25519Key(msg=paramiko.Message(base64.b64decode(data)))
    cert = certificate_of(key)
    assert cert is not None and cert.key_type == kind
    assert (cert.key_id, cert.principals, cert.cert_type) == ("id7", ("a", "b2"), HOST_CERT)
    ca_line = "@cert-authority * " + " ".join((tmp_path / "ca.pub").read_text().split()[:2])
    assert verdict(ca_line, key, "b2", "b2").status == KNOWN
    assert parse_certificate(key.public_blob.key_blob).serial == 0  # type: ignore[union-attr]


def policy_files(tmp_path: Path, **texts: str) -> KnownHostsFiles:
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    return KnownHostsFiles((str(tmp_path / "user"),), (str(tmp_path / "g1"), str(tmp_path / "g2")))


def test_policy_reads_user_and_global_files(tmp_path: Path):
    files = policy_files(tmp_path, user="", g2=f"box.example {line(HOST)}\n")
    CheckKnownHosts(files).missing_host_key(None, "box.example", pkey(HOST))  # type: ignore[arg-type]
    with pytest.raises(HostKeyError) as info:
        CheckKnownHosts(files).missing_host_key(None, "[box.example]:2222", pkey(OTHER))  # type: ignore[arg-type]
    assert info.value.known_hosts is files
    # On another port, a key listed for the bare name is accepted, as ssh does.
    CheckKnownHosts(files).missing_host_key(None, "[box.example]:2222", pkey(HOST))  # type: ignore[arg-type]


def test_policy_changed_revoked_and_accept_new(tmp_path: Path):
    files = policy_files(tmp_path, user=f"box.example {line(OTHER)}\n")
    with pytest.raises(HostKeyChanged) as changed:
        CheckKnownHosts(files, accept_new=True).missing_host_key(None, "box.example", pkey(HOST))  # type: ignore[arg-type]
    assert changed.value.where == f"{tmp_path / 'user'}:1"
    (tmp_path / "g1").write_text(f"@revoked * {line(HOST)}\n")
    with pytest.raises(HostKeyRevoked, match="revoked"):
        CheckKnownHosts(files, accept_new=True).missing_host_key(None, "new.example", pkey(HOST))  # type: ignore[arg-type]
    CheckKnownHosts(files, accept_new=True).missing_host_key(
        None, "[New.example]:2222", pkey(OTHER)
    )  # type: ignore[arg-type]
    assert (tmp_path / "user").read_text().endswith(f"[new.example]:2222 {line(OTHER)}\n")
    with pytest.raises(HostKeyError):
        CheckKnownHosts(KnownHostsFiles(()), accept_new=True).missing_host_key(
            None, "x", pkey(OTHER)
        )  # type: ignore[arg-type]


def test_transport_asks_for_certificates_when_a_ca_is_listed(tmp_path: Path):
    files = policy_files(
        tmp_path, user=f"@cert-authority *.example {line(CA)}\nplain.example {line(HOST)}\n"
    )
    policy = CheckKnownHosts(files)
    ends = socket.socketpair()
    try:
        with_ca = policy.transport_factory("box.example", 22)(ends[0])
        assert isinstance(with_ca, OrderedTransport)
        assert with_ca.preferred_keys[0] == "ssh-ed25519-cert-v01@openssh.com"
        plain = policy.transport_factory("plain.other", 22)(ends[1])
        assert plain.preferred_keys[0] == "ssh-ed25519"
        assert len(set(plain.preferred_keys)) == len(plain.preferred_keys)
    finally:
        for end in ends:
            end.close()


def test_messages_name_files_fix_and_line(tmp_path: Path):
    node = Node(
        test_connection=False,
        ssh_hostname="10.0.0.5",
        ssh_port=2222,
        ssh_hostkeys=[str(tmp_path / "a"), str(tmp_path / "b")],
    )
    conn = NodeConnection(node)
    unknown = HostKeyError("[10.0.0.5]:2222", pkey(HOST), conn.known_hosts)
    text = explain_connect_error(conn, unknown)
    assert f"searched {tmp_path / 'a'} {tmp_path / 'b'}" in text
    assert f"`ssh-keyscan -p 2222 10.0.0.5 >> {tmp_path / 'a'}`" in text and "\n" not in text
    changed = HostKeyChanged(
        "[10.0.0.5]:2222", pkey(HOST), pkey(OTHER), f"{tmp_path / 'b'}:4", str(tmp_path / "b")
    )
    text = explain_connect_error(conn, changed)
    assert f"{tmp_path / 'b'}:4 has SHA256:" in text
    assert f"`ssh-keygen -R [10.0.0.5]:2222 -f {tmp_path / 'b'}`" in text
    revoked = HostKeyRevoked("[10.0.0.5]:2222", pkey(HOST), conn.known_hosts, f"{tmp_path / 'a'}:9")
    assert "is REVOKED (SHA256:" in explain_connect_error(conn, revoked)


def test_a_host_is_looked_up_again_once_its_file_changes(tmp_path: Path):
    known = tmp_path / "known_hosts"
    hashed = hash_name("10.0.0.5", os.urandom(20))
    known.write_text(f"{hashed} {line(HOST)}\n")
    policy = CheckKnownHosts(KnownHostsFiles((str(known),)))
    found = policy.entries("10.0.0.5")
    assert [e.key.asbytes() for e in found] == [pkey(HOST).asbytes()]
    found.clear()  # what a caller does with its list is its own
    assert len(policy.entries("10.0.0.5")) == 1 and policy.entries("10.0.0.6") == []
    with known.open("a") as out:  # (as accept-new appends)
        out.write(
            f"10.0.0.6 {line(OTHER)}\n{hash_name('10.0.0.5', os.urandom(20))} {line(OTHER)}\n"
        )
    assert [e.line for e in policy.entries("10.0.0.5")] == [1, 3]
    assert [e.key.asbytes() for e in policy.entries("10.0.0.6")] == [pkey(OTHER).asbytes()]


def test_a_damaged_hashed_name_matches_nothing():
    entries = parse_known_hosts(
        f"|1|!!|x= {line(HOST)}\n|1|c2FsdA==|!! {line(HOST)}\n|1|c2FsdA== {line(HOST)}\n"
    )
    assert len(entries) == 3
    assert entries_for(entries, "10.0.0.5") == []


def test_a_hashed_name_matches_only_as_openssh_writes_it():
    import base64
    import string

    salt = bytes(range(20))
    field = hash_name("10.0.0.5", salt)
    assert len(parse_known_hosts(f"{field} {line(HOST)}\n")) == 1
    assert len(entries_for(parse_known_hosts(f"{field} {line(HOST)}\n"), "10.0.0.5")) == 1
    # the same salt spelled otherwise (a bit base64 leaves unused, set): ssh never matches it
    written = base64.b64encode(salt).decode()
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    other = written[:-2] + alphabet[alphabet.index(written[-2]) ^ 1] + written[-1]
    assert base64.b64decode(other) == salt
    respelled = field.replace(written, other)
    assert entries_for(parse_known_hosts(f"{respelled} {line(HOST)}\n"), "10.0.0.5") == []
    short = hash_name("10.0.0.5", bytes(range(16)))  # a salt shorter than the hash
    assert entries_for(parse_known_hosts(f"{short} {line(HOST)}\n"), "10.0.0.5") == []
