"""Inventory validation: one test per kind of error, each checked for file, line, node and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus.errors import ConfigError, ConfigErrors
from octopus.inventory import load_inventory
from octopus.node import Launcher


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nodes.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_test"
    path.write_text("not really a key")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return info.value


def test_valid_inventory_merges_defaults_and_resolves_relative_paths(tmp_path: Path, key: Path):
    path = write(
        tmp_path,
        """
defaults:
  ssh_username: alice
  ssh_private_key: id_test
  tags: [lab]
nodes:
  a:
    ssh_hostname: a.example.org
    available_sockets: [0, 1]
  b:
    ssh_hostname: b.example.org
    ssh_username: bob
    tags: gpu
    use_slurm: true
  here:
    local: true
""",
    )
    inventory = load_inventory(path)
    a, b, here = inventory.nodes.values()
    assert (a.name, a.ssh_username, a.ssh_private_key) == ("a", "alice", str(key))
    assert a.num_workers == 2 and a.launcher is Launcher.SCREEN
    assert (b.ssh_username, b.tags, b.launcher) == ("bob", {"gpu"}, Launcher.SLURM)
    assert here.local and here.launcher is Launcher.PROCESS
    assert inventory.tags == {"lab", "gpu"}


def test_unknown_key_suggests_the_closest(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostnme: x\n")
    err = error_of(path)
    assert (err.file, err.line, err.node, err.key) == (str(path), 3, "a", "ssh_hostnme")
    assert "did you mean 'ssh_hostname'" in str(err)
    assert str(err).startswith(f"{path}:3: node 'a': key 'ssh_hostnme': unknown key")


def test_wrong_type_names_expected_type(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostname: x\n    available_sockets: one\n")
    err = error_of(path)
    assert (err.line, err.key) == (4, "available_sockets")
    assert "must be list of integer, not text 'one'" in str(err)


def test_unquoted_python_version_gets_a_quoting_hint(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostname: x\n    python_version: 3.10\n")
    assert "write it in quotes: '3.10'" in str(error_of(path))


def test_missing_key_file(tmp_path: Path):
    path = write(
        tmp_path, "defaults:\n  ssh_private_key: nokey\nnodes:\n  a:\n    ssh_hostname: x\n"
    )
    err = error_of(path)
    assert (err.node, err.key, err.line) == ("a", "ssh_private_key", 2)
    assert f"file not found: {tmp_path / 'nokey'}" in str(err)


def test_duplicate_node_name(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostname: x\n  a:\n    ssh_hostname: y\n")
    err = error_of(path)
    assert err.line == 4
    assert "'a' is given twice (first on line 2)" in str(err)


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostname: [x\n")
    err = error_of(path)
    assert err.file == str(path) and err.line is not None and "invalid YAML" in str(err)


def test_unknown_top_level_key(tmp_path: Path):
    path = write(tmp_path, "node:\n  a: {}\n")
    assert "unknown top-level key 'node' (did you mean 'nodes'?)" in str(error_of(path))


def test_missing_file():
    err = error_of(Path("/nonexistent/nodes.yaml"))
    assert str(err) == (
        "/nonexistent/nodes.yaml: file not found: `octopus init` writes one (this machine as "
        "node `local`, and an SSH node to fill in), or pass --inventory"
    )


def test_conflicting_launcher_settings(tmp_path: Path):
    path = write(
        tmp_path, "nodes:\n  a:\n    ssh_hostname: x\n    use_slurm: true\n    launcher: screen\n"
    )
    err = error_of(path)
    assert (err.node, err.key, err.line) == ("a", "launcher", 5)


def test_unknown_launcher(tmp_path: Path):
    path = write(tmp_path, "nodes:\n  a:\n    ssh_hostname: x\n    launcher: screens\n")
    assert "unknown launcher 'screens' (did you mean 'screen'?)" in str(error_of(path))


def test_remote_node_needs_a_hostname(tmp_path: Path):
    err = error_of(write(tmp_path, "nodes:\n  a:\n    ssh_username: bob\n"))
    assert (err.node, err.key) == ("a", "ssh_hostname")


def test_all_errors_are_reported_at_once(tmp_path: Path):
    path = write(
        tmp_path, "nodes:\n  a:\n    ssh_hostnme: x\n  b:\n    ssh_hostname: y\n    tags: 5\n"
    )
    with pytest.raises(ConfigErrors) as info:
        load_inventory(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "ssh_hostnme" in lines[0] and "'tags'" in lines[1]


@pytest.fixture
def inventory(tmp_path: Path):
    return load_inventory(
        write(
            tmp_path,
            """
nodes:
  a: {ssh_hostname: a, tags: [cloudlab]}
  b: {ssh_hostname: b, tags: [cloudlab, gpu]}
  c: {ssh_hostname: c, tags: [dmlab]}
""",
        )
    )


def test_select_by_name_tag_and_both(inventory):
    assert [n.name for n in inventory.select()] == ["a", "b", "c"]
    assert [n.name for n in inventory.select("c,a")] == ["c", "a"]
    assert [n.name for n in inventory.select(tags="gpu,dmlab")] == ["b", "c"]
    assert [n.name for n in inventory.select("a,c", "cloudlab")] == ["a"]


def test_select_unknown_name(inventory):
    with pytest.raises(
        ConfigError, match=r"unknown node 'bb' \(did you mean 'b'\?\); known: a, b, c"
    ):
        inventory.select("bb")


def test_select_unknown_tag(inventory):
    with pytest.raises(ConfigError, match=r"unknown tag 'cloudlb' \(did you mean 'cloudlab'\?\)"):
        inventory.select(tags="cloudlb")


def test_select_with_no_match_is_an_error(inventory):
    with pytest.raises(ConfigError, match="no selected node has tag"):
        inventory.select("c", "gpu")


def test_auto_and_gpus_per_worker_are_read(tmp_path: Path):
    path = write(
        tmp_path,
        "nodes:\n  a:\n    ssh_hostname: x\n    num_parallel_screens_or_jobs: auto\n"
        "    gpus_per_worker: 2\n",
    )
    a = load_inventory(path).nodes["a"]
    assert (a.num_parallel_screens_or_jobs, a.gpus_per_worker, a.needs_hardware) == (
        "auto",
        2,
        True,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "num_parallel_screens_or_jobs: atuo",
            "key 'num_parallel_screens_or_jobs': must be integer or 'auto' or null, "
            "not text 'atuo' (did you mean 'auto'?)",
        ),
        (
            "num_parallel_screens_or_jobs: 2.5",
            "key 'num_parallel_screens_or_jobs': must be integer or 'auto' or null, not number 2.5",
        ),
        (
            "gpus_per_worker: two",
            "key 'gpus_per_worker': must be integer or null, not text 'two'",
        ),
        (
            "gpus_per_worker: 0",
            "key 'gpus_per_worker': must be a whole number of GPUs from 1 to 1024 (or null), not 0",
        ),
    ],
)
def test_bad_worker_keys_are_one_line_with_the_line_number(tmp_path: Path, line: str, message):
    path = write(tmp_path, f"nodes:\n  a:\n    ssh_hostname: x\n    {line}\n")
    assert str(error_of(path)) == f"{path}:4: node 'a': {message}"


def test_the_shipped_local_node_runs_one_worker_per_cpu():
    shipped = load_inventory(Path(__file__).resolve().parents[2] / "nodes.yaml").nodes["local"]
    assert shipped.num_parallel_screens_or_jobs == "auto" and shipped.gpus_per_worker is None
