"""One example of each kind of hostile YAML content, with the line it must end in: these used
to end in tracebacks (or a hang), and the fuzz tests only check that no traceback comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus.errors import ConfigError, ConfigErrors
from octopus.inventory import load_inventory
from octopus.loader import load_experiment
from octopus.yamlfile import parse_yaml

NODE = "nodes:\n  a:\n    ssh_hostname: h\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else 'l'}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)

INVENTORIES = {
    "empty file": (b"", "nodes.yaml: needs a 'nodes:' mapping"),
    "only a comment": (b"# nothing yet\n", "nodes.yaml: needs a 'nodes:'"),
    "a list as key": (b"nodes:\n  ? [a]\n  : {ssh_hostname: h}\n", ":2: a key must be text"),
    "a mapping as key": (b"nodes:\n  {a: 1}: 2\n", ":2: a key must be text, not a mapping"),
    "deep nesting": (b"nodes:\n  a: " + b"[" * 5000 + b"]" * 5000, ":2: nested more than 64"),
    "an escaped NUL": (NODE.encode() + b'    hardware_desc: "a\\0b"\n', ":4: text contains a NUL"),
    "a raw NUL": (NODE.encode() + b"    hardware_desc: a\0b\n", ":4: invalid YAML: control"),
    "Latin-1": (NODE.encode() + b"    hardware_desc: caf\xe9\n", ":4: is not UTF-8 text"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", ":1: is not UTF-8 text (byte 0x89 at offset 0)"),
    "a list for a number under defaults": (
        b"defaults:\n  connect_timeout: [1]\n" + NODE.encode(),
        ":2: node 'defaults': key 'connect_timeout': must be number, not a list",
    ),
    "a typo under defaults": (
        b"defaults:\n  ssh_usrname: x\n" + NODE.encode(),
        ":2: node 'defaults': key 'ssh_usrname': unknown key (did you mean 'ssh_username'?)",
    ),
    "an alias bomb": (BOMB.encode(), "aliases add more than 100000 values once expanded"),
    "an alias inside itself": (b"nodes: &n [*n]\n", ":1: an alias refers to a value"),
    "a huge number": (NODE.encode() + b"    ssh_port: " + b"9" * 5000 + b"\n", "5000 digits"),
    "an impossible date": (NODE.encode() + b"    hardware_desc: 2024-13-45\n", "invalid value"),
    "a port out of range": (NODE.encode() + b"    ssh_port: 70000\n", "must be 1 to 65535"),
    "absurd workers": (
        NODE.encode() + b"    num_parallel_screens_or_jobs: 100000000\n",
        "must be 1 to 4096",
    ),
    "a user that does not exist": (
        NODE.encode() + b"    ssh_private_key: ~nosuchuser/key\n",
        "file not found",
    ),
    "a path too long": (NODE.encode() + b"    ssh_config: " + b"a" * 5000 + b"\n", "not found"),
    "a newline in a name": (b'nodes:\n  "a\\nb": {ssh_hostname: h}\n', "node name 'a\\nb'"),
}


def only_error(load: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load()  # type: ignore[operator]
    error = info.value
    assert not isinstance(error, ConfigErrors), str(error)
    assert len(str(error).splitlines()) == 1 and error.exit_code == 2
    return error


@pytest.mark.parametrize(("raw", "expected"), INVENTORIES.values(), ids=INVENTORIES.keys())
def test_hostile_inventory(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_bytes(raw)
    error = only_error(lambda: load_inventory(path))
    assert str(error).startswith(str(path))
    assert expected in str(error)


def test_a_bad_default_is_reported_once_and_nodes_are_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text("defaults:\n  keepalive: [1]\n" + NODE + "  b:\n    ssh_hostnme: h\n")
    with pytest.raises(ConfigErrors) as info:
        load_inventory(path)
    assert [(e.node, e.key) for e in info.value.errors] == [
        ("defaults", "keepalive"),
        ("b", "ssh_hostnme"),
    ]


EXPERIMENTS = {
    "millions of workers": ("screens_per_node: 1000000000000\n", "must be 1 to 4096"),
    "an unquoted version": ("python_version: 3.10\n", "(write it in quotes: '3.10')"),
    "a negative offset": ("screen_or_job_id_offset: -1\n", "must be 0 to"),
    "a list of lists as step tags": (
        "setup_steps:\n  - Cmd: {cmd: ls, tags: [[a]]}\n",
        "argument 'tags' must be list of text or text or null",
    ),
    "a number as step argument name": (
        "setup_steps:\n  - Cmd: {cmd: ls, 1: x}\n",
        "step Cmd has no argument '1'",
    ),
}


@pytest.mark.parametrize(("text", "expected"), EXPERIMENTS.values(), ids=EXPERIMENTS.keys())
def test_hostile_experiment(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    error = only_error(lambda: load_experiment(str(path)))
    assert str(error).startswith(str(path))
    assert expected in str(error)


def test_a_long_list_written_out_is_no_alias_bomb(tmp_path):
    """An experiment may list hundreds of thousands of commands; only what aliases add counts."""
    path = tmp_path / "big.yaml"
    path.write_text("experiment_commands:\n" + "".join(f"  - echo {i}\n" for i in range(150_000)))
    assert len(parse_yaml(path.read_text(), str(path))["experiment_commands"]) == 150_000
