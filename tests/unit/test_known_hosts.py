"""known_hosts lines and files as OpenSSH reads them: names, patterns, hashes, markers, which
files, and the ssh options that hand the same files to the ssh rsync runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from octopus import Node
from octopus.inventory import load_inventory
from octopus.remote.known_hosts import (
    entries_for,
    hash_name,
    lookup_name,
    match_host_list,
    parse_known_hosts,
    parse_line,
    split_lookup_name,
)
from octopus.remote.known_hosts_files import KnownHostsFiles, known_hosts_files
from octopus.remote.openssh import known_hosts_options, ssh_argv


def public_line() -> tuple[str, paramiko.PKey]:
    """`ssh-ed25519 BASE64` of a fresh key, and that key."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    msg = paramiko.Message()
    msg.add_string("ssh-ed25519")
    msg.add_string(raw)
    key = paramiko.PKey.from_type_string("ssh-ed25519", msg.asbytes())
    return f"ssh-ed25519 {key.get_base64()}", key


def node(**values: object) -> Node:
    return Node(test_connection=False, ssh_hostname="box", **values)  # type: ignore[arg-type]


def test_lookup_names_carry_the_port_unless_it_is_22():
    assert lookup_name("Box.Example", 22) == "box.example"
    assert lookup_name("box", None) == "box"
    assert lookup_name("10.0.0.5", 2222) == "[10.0.0.5]:2222"
    assert split_lookup_name("[10.0.0.5]:2222") == ("10.0.0.5", 2222)
    assert split_lookup_name("box") == ("box", 22)


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("a.example.com", "a.example.com", True),
        ("a.example.com", "x,A.EXAMPLE.com", True),
        ("a.example.com", "*.example.com", True),
        ("a.example.com", "?.example.com", True),
        ("ab.example.com", "?.example.com", False),
        ("example.com", "*.example.com", False),
        ("b.example.com", "*.example.com,!b.example.com", False),
        ("b.example.com", "!b.example.com,*.example.com", False),
        ("c.example.com", "*.example.com,!b.example.com", True),
        ("c.example.com", "!b.example.com", False),
        ("[10.0.0.5]:2222", "[10.0.0.*]:2222", True),
        ("[10.0.0.5]:2222", "10.0.0.5", False),
        ("10.0.0.5", "[10.0.0.5]:22", False),
        ("a+b.example", "a+b.example", True),
    ],
)
def test_host_patterns_and_negation(name: str, patterns: str, expected: bool):
    assert match_host_list(name, patterns) is expected


def test_hashed_names_match_only_their_own_name():
    text, key = public_line()
    field = hash_name("[10.0.0.5]:2222", b"0123456789abcdefghij")
    entries = parse_known_hosts(f"{field} {text}\n", "kh")
    assert entries_for(entries, "[10.0.0.5]:2222")[0].key == key
    assert entries_for(entries, "10.0.0.5") == []
    assert entries_for(parse_known_hosts(f"|1|!!|x= {text}\n"), "10.0.0.5") == []


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_names_hashed_by_ssh_keygen(tmp_path: Path):
    text, _ = public_line()
    known = tmp_path / "known_hosts"
    known.write_text(f"box.example {text}\n[box.example]:2222 {text}\n")
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True, capture_output=True)
    entries = parse_known_hosts(known.read_text(), str(known))
    assert all(e.patterns.startswith("|1|") for e in entries)
    assert [e.line for e in entries_for(entries, "box.example")] == [1]
    assert [e.line for e in entries_for(entries, "[box.example]:2222")] == [2]
    assert entries_for(entries, "other.example") == []


def test_lines_markers_and_what_is_skipped():
    text, key = public_line()
    entries = parse_known_hosts(
        "# a comment\n\n"
        f"plain {text} a comment\n"
        f"@cert-authority *.example {text}\n"
        f"@revoked * {text}\n"
        f"@unknown-marker x {text}\n"
        "bad ssh-ed25519 !!notbase64\n"
        "dss ssh-dss AAAAB3NzaC1kc3MAAACBAPlH\n"
        f"short {text.split()[0]}\n"
        f"mismatch ssh-rsa {text.split()[1]}\n",
        "/kh",
    )
    assert [(e.patterns, e.marker, e.line) for e in entries] == [
        ("plain", "", 3),
        ("*.example", "cert-authority", 4),
        ("*", "revoked", 5),
    ]
    assert entries[0].key == key and entries[0].where == "/kh:3"
    assert parse_line("   ") is None


def test_files_from_ssh_hostkeys_one_or_several(tmp_path: Path):
    assert known_hosts_files(node(ssh_hostkeys="~/kh")).user[0].endswith("/kh")
    files = known_hosts_files(node(ssh_hostkeys=[str(tmp_path / "a"), "~/b"]))
    assert files.user[0] == str(tmp_path / "a") and not files.user[1].startswith("~")
    assert files.system == ()
    assert files.append_to == str(tmp_path / "a")


def test_files_from_ssh_config_directives(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KH_DIR", "/srv/kh")
    files = known_hosts_files(
        node(),
        {
            "hostname": "box.example",
            "userknownhostsfile": '~/.ssh/kh "/with space/kh" %d/x_%h ${KH_DIR}/u',
            "globalknownhostsfile": "/etc/a /etc/b",
        },
    )
    home = str(Path.home())
    assert files.user == (
        f"{home}/.ssh/kh",
        "/with space/kh",
        f"{home}/x_box.example",
        "/srv/kh/u",
    )
    assert files.system == ("/etc/a", "/etc/b")
    assert files.all == files.user + files.system


def test_default_files_and_none():
    home = str(Path.home())
    files = known_hosts_files(node(), {})
    assert files.user == (f"{home}/.ssh/known_hosts", f"{home}/.ssh/known_hosts2")
    assert files.system == ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
    none = known_hosts_files(node(), {"userknownhostsfile": "none", "globalknownhostsfile": "none"})
    assert none == KnownHostsFiles((), ()) and none.append_to is None
    assert str(none) == "no known_hosts file"


def test_ssh_gets_every_file_octopus_checks(tmp_path: Path):
    options = known_hosts_options(node(ssh_hostkeys=["/k/a b", "/k/c"]))
    assert options == [
        "-o",
        'UserKnownHostsFile="/k/a b" /k/c',
        "-o",
        "GlobalKnownHostsFile=/dev/null",
    ]
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host box\n  HostName 10.0.0.5\n  UserKnownHostsFile /u/one /u/two\n"
        "  GlobalKnownHostsFile /g/one\n"
    )
    argv = ssh_argv(node(ssh_config=str(config)))
    assert "UserKnownHostsFile=/u/one /u/two" in argv
    assert "GlobalKnownHostsFile=/g/one" in argv


def test_inventory_takes_a_list_of_known_hosts_files(tmp_path: Path):
    for name in ("kh1", "kh2"):
        (tmp_path / name).write_text("")
    inventory = tmp_path / "nodes.yaml"
    inventory.write_text(
        "nodes:\n  a:\n    ssh_hostname: a.example\n    ssh_hostkeys: [kh1, kh2]\n"
    )
    (loaded,) = load_inventory(inventory).nodes.values()
    assert loaded.ssh_hostkeys == [str(tmp_path / "kh1"), str(tmp_path / "kh2")]
    assert loaded.missing_files() == []
    (tmp_path / "kh2").unlink()
    assert loaded.missing_files() == [("ssh_hostkeys", str(tmp_path / "kh2"))]
