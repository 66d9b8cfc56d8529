"""Local files that cannot be written (a file where a folder belongs, a full disk) end in one
LocalFileError line naming the path and the system's reason, never a traceback."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from octopus.errors import LocalFileError
from octopus.localfiles import write_atomically
from octopus.node import Node
from octopus.output import StageOutput
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.stages.deliverables import write_deliverables

REPO = Path(__file__).resolve().parents[2]


def manifest(commands: int = 4, size: int = 10) -> Manifest:
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=4)
    plan = build_plan([f"echo {i} {'x' * size}" for i in range(commands)], "", [node])
    return Manifest("e", "d1", plan, {"a": "screen"}, ".octopus/e")


def check(error: LocalFileError, path: Path, reason: str) -> None:
    assert error.exit_code == 1
    assert len(str(error).splitlines()) == 1
    assert str(error).startswith(str(path))
    assert reason in str(error)


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    """A path whose parent is a regular file: every write under it fails with ENOTDIR, even
    for root (tests run as root, so permissions alone would not stop them)."""
    (tmp_path / "file").write_text("")
    return tmp_path / "file" / "deliverables"


def test_deliverables_under_a_file(blocked: Path) -> None:
    with pytest.raises(LocalFileError) as info:
        write_deliverables(manifest(), blocked / "e")
    check(info.value, blocked / "e", "Not a directory (ENOTDIR)")


def test_a_record_under_a_file(blocked: Path) -> None:
    with pytest.raises(LocalFileError) as info:
        write_atomically(blocked / "ledger.json", "{}")
    check(info.value, blocked, "Not a directory")


def test_a_stage_log_under_a_file(blocked: Path) -> None:
    out = StageOutput(log_path=blocked / "logs" / "deliver.log", quiet=True)
    assert not out.log_written  # made with its first line: a stage with none leaves no log
    with pytest.raises(LocalFileError) as info:
        out.note("deliver: 1 node ok")
    check(info.value, blocked / "logs", "Not a directory")


def test_a_stage_log_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "deliver.log").mkdir()
    with pytest.raises(LocalFileError) as info:
        StageOutput(log_path=tmp_path / "deliver.log", quiet=True).line("n1", "[1 Cmd]")
    check(info.value, tmp_path / "deliver.log", "Is a directory (EISDIR)")


@contextmanager
def tmpfs(folder: Path) -> Iterator[Path]:
    """`folder` as a 64 KiB tmpfs: a real ENOSPC. Needs root and mount; skips without them."""
    folder.mkdir(exist_ok=True)
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "small") as folder:
        yield folder


def test_deliverables_on_a_full_disk(full_disk: Path) -> None:
    with pytest.raises(LocalFileError) as info:
        write_deliverables(manifest(commands=400, size=1000), full_disk / "e")
    assert info.value.exit_code == 1
    assert str(full_disk / "e") in str(info.value)
    assert os.strerror(errno.ENOSPC) in str(info.value) and "ENOSPC" in str(info.value)


def test_a_record_on_a_full_disk_keeps_the_old_one(full_disk: Path) -> None:
    path = full_disk / "ledger.json"
    write_atomically(path, "old")
    with pytest.raises(LocalFileError) as info:
        write_atomically(path, "x" * 200_000)
    check(info.value, path, "No space left on device")  # named: the record, not its temp file
    assert path.read_text() == "old"
    assert not list(full_disk.glob(".ledger.json.*.tmp"))  # the unfinished copy is gone


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def project(folder: Path, screens: int = 1) -> Path:
    (folder / "nodes.yaml").write_text("nodes:\n  here: {local: true, launcher: process}\n")
    (folder / "experiments").mkdir()
    commands = "".join(f"  - echo {i} {'x' * 1000}\n" for i in range(200))
    (folder / "experiments" / "e.yaml").write_text(
        f"screens_per_node: {screens}\nexperiment_commands:\n{commands}"
    )
    return folder


def test_deliver_task_when_deliverables_is_a_file(tmp_path: Path) -> None:
    (project(tmp_path) / "deliverables").write_text("")
    result = octopus("deliver", "--exp", "e", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"octopus: {tmp_path / 'deliverables' / 'e'}: cannot write: Not a directory (ENOTDIR)"
    ]


def test_deliver_task_on_a_full_disk(tmp_path: Path) -> None:
    root = project(tmp_path, screens=8)
    with tmpfs(root / "deliverables") as deliverables:
        result = octopus("deliver", "--exp", "e", cwd=root)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "No space left on device (ENOSPC)" in result.stderr
    assert str(deliverables) in result.stderr
