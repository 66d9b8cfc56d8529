"""The quick path of a local node, and the upload command's rules, on this machine: a tar cut
short fails even at a member's boundary, a fresh folder goes with a failed upload, and a full
disk is named as such."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import paramiko
import pytest
from paramiko.common import OPEN_FAILED_CONNECT_FAILED

from octopus import Node
from octopus.output import StageOutput
from octopus.remote.archive import (
    UPLOAD_PREFIX,
    home_relative,
    send_archive,
    send_files,
    tar_folder,
    unpack_command,
    upload_failure,
)
from octopus.remote.local import LocalConnection
from octopus.remote.quick import QuickResult, QuickTimedOut
from octopus.remote.ssh import refused_open
from octopus.steps.context import StepContext, StepFailed


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalConnection:
    """A local node whose home is a temporary folder ("$HOME" in commands included)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return LocalConnection(Node(name="here", local=True), home=home)


def scripts(folder: Path) -> Path:
    folder.mkdir()
    for i in range(3):
        (folder / f"s{i}.sh").write_text(f"echo {i}\n" * 300)
    return folder


def test_local_quick_runs_in_home_with_both_streams(local: LocalConnection):
    result = local.quick("pwd; echo oops >&2; exit 4", timeout=10)
    assert result == QuickResult(4, f"{local.home}\n", "oops\n")
    assert not result.ok and result.failed


def test_local_quick_timeout_ends_what_it_started(local: LocalConnection):
    began = time.monotonic()
    with pytest.raises(QuickTimedOut):
        local.quick("sleep 30 & sleep 30", timeout=0.3)
    assert time.monotonic() - began < 2


def test_step_context_turns_a_timeout_into_step_failed(local: LocalConnection):
    ctx = StepContext(Node(name="here", local=True), local, None, StageOutput(quiet=True))
    with pytest.raises(StepFailed, match=r"timed out after 0.2s \(the step's timeout\)"):
        ctx.run("sleep 5", show=False, timeout=0.2)
    with pytest.raises(StepFailed, match="exited with 2"):
        ctx.run("exit 2", show=False)
    assert ctx.run("echo hi", show=False).stdout == "hi\n"


def test_send_files_unpacks_only_the_named_files(local: LocalConnection, tmp_path: Path):
    folder = scripts(tmp_path / "out")
    send_files(local, folder, "run/d1", ["s0.sh", "s2.sh"])
    assert sorted(p.name for p in (local.home / "run" / "d1").iterdir()) == ["s0.sh", "s2.sh"]


@pytest.mark.parametrize("fresh", [True, False])
def test_a_stream_cut_at_a_member_boundary_fails(
    local: LocalConnection, tmp_path: Path, fresh: bool
):
    folder = scripts(tmp_path / "out")
    data = tar_folder(folder, "run/d2", "t0", fresh=fresh)
    # The first script whole (header + 5 blocks, after a fresh folder's mark), no more.
    cut = data[: 512 * (7 if fresh else 6)]
    target = local.home / "run" / "d2"
    result = send_archive(local, unpack_command("run/d2", "t0", fresh), cut, None)
    assert not result.ok
    if fresh:
        assert not target.exists()  # nothing half-delivered stays
    else:
        assert not any(p.name.startswith(UPLOAD_PREFIX) for p in target.iterdir())
    whole = send_archive(local, unpack_command("run/d2", "t0", fresh), data, None)
    assert whole.ok
    assert sorted(p.name for p in target.iterdir()) == ["s0.sh", "s1.sh", "s2.sh"]


def test_an_upload_makes_its_folders_and_brings_its_link(local: LocalConnection, tmp_path: Path):
    """tar makes the folders on the way (no mkdir), the link comes whole or not at all, and a
    fresh upload that failed takes its link with it."""
    folder = scripts(tmp_path / "out")
    link = ("run/current.d4", "deliveries/d4")
    data = tar_folder(folder, "~/run/deliveries/d4", "t1", fresh=True, link=link)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "run/deliveries/d4/.upload-t1",
        "run/deliveries/d4/s0.sh",
        "run/deliveries/d4/s1.sh",
        "run/deliveries/d4/s2.sh",
        "run/current.d4",
        "run/deliveries/d4/.upload-t1.end",
    ]
    command = unpack_command("~/run/deliveries/d4", "t1", True, size=len(data), link=link[0])
    cut = send_archive(local, command, data[: members[-1].offset], None)  # the link, no mark
    assert not cut.ok and not (local.home / "run" / "deliveries" / "d4").exists()
    assert not (local.home / "run" / "current.d4").is_symlink()
    assert send_archive(local, command, data, None).ok
    assert os.readlink(local.home / "run" / "current.d4") == "deliveries/d4"
    unpacked = local.home / "run" / "deliveries" / "d4"
    assert sorted(p.name for p in unpacked.iterdir()) == ["s0.sh", "s1.sh", "s2.sh"]


@pytest.mark.parametrize("where", ["/abs/dir", "~/", "run/../../etc", ""])
def test_an_upload_goes_inside_the_login_folder(where: str):
    with pytest.raises(ValueError, match="inside the login folder"):
        home_relative(where)


def test_a_full_disk_is_named():
    result = QuickResult(2, "octopus-free-kb 0\n", "tar: s0.sh: Cannot write: No space left\n")
    message = str(upload_failure(result, "run/d3", 20480))
    assert message == (
        "no space left on the node: the upload needs 20480 bytes, 0 KB free in ~/run/d3"
    )
    other = upload_failure(QuickResult(2, "octopus-free-kb 900\n", "tar: bad\n"), "run/d3", 10)
    assert str(other) == "unpacking the upload in ~/run/d3 exited with 2: tar: bad"


def test_a_refused_open_is_told_apart_from_other_channel_errors():
    """Two refusals at once leave one opener a bare "Unable to open channel.": still a
    refusal while the connection is up, a lost connection when it is not."""
    assert refused_open(
        paramiko.ChannelException(OPEN_FAILED_CONNECT_FAILED, "Connect failed"), True
    )
    assert not refused_open(paramiko.ChannelException(1, "Administratively prohibited"), True)
    assert refused_open(paramiko.SSHException("Unable to open channel."), True)
    assert not refused_open(paramiko.SSHException("Unable to open channel."), False)
    assert not refused_open(paramiko.SSHException("Timeout opening channel."), True)


def test_an_upload_keeps_modes_and_subfolders_and_names_no_owner(
    local: LocalConnection, tmp_path: Path
):
    folder = scripts(tmp_path / "out")
    (folder / "s0.sh").chmod(0o755)
    (folder / "state").mkdir()
    (folder / "state" / "s0.events").write_text("S 1\n")
    data = tar_folder(folder, "run/d5", "t2", fresh=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["run/d5/s0.sh"].mode == 0o755 and members["run/d5/s1.sh"].mode == 0o644
    assert members["run/d5/state"].isdir()
    assert all(m.uid == 0 and m.gid == 0 and not m.uname for m in members.values())
    assert send_archive(local, unpack_command("run/d5", "t2", False), data, None).ok
    unpacked = local.home / "run" / "d5"
    assert (unpacked / "state" / "s0.events").read_text() == "S 1\n"
    assert os.access(unpacked / "s0.sh", os.X_OK) and not os.access(unpacked / "s1.sh", os.X_OK)


def test_an_upload_follows_a_linked_folder_on_its_way(local: LocalConnection, tmp_path: Path):
    """A node whose ~/.octopus links to a scratch disk keeps the link: tar unpacks through it."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (local.home / ".octopus").symlink_to(scratch)
    folder = scripts(tmp_path / "out")
    data = tar_folder(folder, ".octopus/e/deliveries/d6", "t3", fresh=True)
    command = unpack_command(".octopus/e/deliveries/d6", "t3", True, size=len(data))
    assert send_archive(local, command, data, None).ok
    assert (local.home / ".octopus").is_symlink()
    unpacked = scratch / "e" / "deliveries" / "d6"
    assert sorted(p.name for p in unpacked.iterdir()) == ["s0.sh", "s1.sh", "s2.sh"]
