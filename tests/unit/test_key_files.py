"""Key files are loaded once while they are unchanged (remote/key_files.py), and a
connection's own attributes skip Invoke's config (remote/ssh.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import paramiko

from octopus.node import Node
from octopus.remote.key_files import private_key
from octopus.remote.ssh import NodeConnection


def keygen(path: Path, *extra: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path), *extra],
                   check=True)  # fmt: skip


def test_a_key_file_is_loaded_once_while_it_is_unchanged(tmp_path: Path):
    key = tmp_path / "id"
    keygen(key)
    first = private_key(str(key), None)
    assert first is not None
    assert private_key(str(key), None) is first
    assert private_key(str(key), "other passphrase") is not first  # (another entry)


def test_a_replaced_key_is_read_again(tmp_path: Path):
    key, new = tmp_path / "id", tmp_path / "new"
    keygen(key)
    first = private_key(str(key), None)
    keygen(new)
    os.replace(new, key)
    os.replace(f"{new}.pub", f"{key}.pub")
    again = private_key(str(key), None)
    assert again is not None and first is not None
    assert again.asbytes() != first.asbytes()
    assert again.asbytes() == paramiko.Ed25519Key.from_private_key_file(str(key)).asbytes()


def test_a_new_or_renewed_certificate_is_read_again(tmp_path: Path):
    ca, key = tmp_path / "ca", tmp_path / "id"
    keygen(ca)
    keygen(key)
    plain = private_key(str(key), None)
    assert plain is not None and plain.public_blob is None

    def sign(serial: str) -> bytes:
        subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "me", "-n", "octo",
                        "-z", serial, f"{key}.pub"], check=True)  # fmt: skip
        return Path(f"{key}-cert.pub").read_bytes()

    sign("1")
    certified = private_key(str(key), None)
    assert certified is not None and certified.public_blob is not None
    before = os.stat(f"{key}-cert.pub")
    sign("2")  # (the same size; its times put back, as a copy that keeps them would)
    os.utime(f"{key}-cert.pub", ns=(before.st_atime_ns, before.st_mtime_ns))
    renewed = private_key(str(key), None)
    assert renewed is not None and renewed.public_blob is not None
    assert renewed.public_blob.key_blob != certified.public_blob.key_blob


def test_a_missing_or_unloadable_key_is_none_until_it_loads(tmp_path: Path):
    key = tmp_path / "id"
    assert private_key(str(key), None) is None
    key.write_text("not a key\n")
    assert private_key(str(key), None) is None
    key.unlink()
    keygen(key)
    assert private_key(str(key), None) is not None


def test_a_connection_keeps_its_attributes_and_gives_other_names_to_its_config():
    node = Node(name="n1", test_connection=False, ssh_hostname="10.0.0.5", ssh_username="octo")
    conn = NodeConnection(node)
    conn.connect_timeout = 7  # Fabric's own attribute: on the connection
    assert vars(conn)["connect_timeout"] == 7
    conn.node = node  # octopus' own
    assert vars(conn)["node"] is node
    conn.banner = "hello"  # no attribute of the class: a config key, as Invoke makes it
    assert "banner" not in vars(conn)
    assert conn.config["banner"] == "hello" and conn.banner == "hello"
