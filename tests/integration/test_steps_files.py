"""File steps on real hosts: SCP, Remove, RemoveRecursively, Rsync, RsyncCurrentRepo, CloneRepo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from octopus import (
    SCP,
    CloneRepo,
    ExperimentTask,
    Remove,
    RemoveRecursively,
    Rsync,
    RsyncCurrentRepo,
)
from octopus.results import Outcome
from octopus.testing.sshhosts import TestCluster
from tests.conftest import cluster_nodes, run_stage_on


def test_scp_put_skips_existing_and_force_overwrites(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[0]
    src = tmp_path / "it's a file.txt"
    src.write_text("v1\n")
    nodes = cluster_nodes(cluster, [0])
    assert run_stage_on(nodes, [SCP(src=str(src), dest="scp dir", put=True)]).report.ok
    target = host.home / "scp dir" / "it's a file.txt"
    assert target.read_text() == "v1\n"
    src.write_text("v2\n")
    run = run_stage_on(nodes, [SCP(src=str(src), dest="scp dir", put=True)])
    assert "scp dir/it's a file.txt exists, skipped" in run.lines("h1")
    assert target.read_text() == "v1\n"
    assert run_stage_on(nodes, [SCP(src=str(src), dest="~/scp dir", force=True)]).report.ok
    assert target.read_text() == "v2\n"

    back = tmp_path / "back"
    run = run_stage_on(
        nodes,
        [SCP(src="scp dir/it's a file.txt", dest=str(back), put=False)],
        task=ExperimentTask.PICKUP,
    )
    assert run.report.ok, run.text
    assert (back / "it's a file.txt").read_text() == "v2\n"


def test_scp_of_a_missing_file_fails_that_node(cluster: TestCluster, tmp_path: Path):
    run = run_stage_on(cluster_nodes(cluster, [0]), [SCP(src=str(tmp_path / "nope"), dest=".")])
    result = run.report.results[0]
    assert result.outcome is Outcome.FAILED and "is not a file here" in result.message


def test_remove_and_remove_recursively(cluster: TestCluster):
    host = cluster.hosts[1]
    host.exec(
        "mkdir -p rm/a/cache rm/b/cache rm/keep && touch rm/x.log rm/y.log rm/keep.txt "
        "'rm/$(touch pwned).log' rm/a/cache/f rm/a/t.tmp rm/b/t.tmp rm/keep/t.tmp.not"
    )
    nodes = cluster_nodes(cluster, [1])
    run = run_stage_on(
        nodes,
        [
            Remove(files=["rm/*.log"]),
            Remove(files="rm/keep", directory=True),
            RemoveRecursively(root_dir="rm", name="cache", search_for_directory=True),
            RemoveRecursively(root_dir="rm", name="*.tmp"),
        ],
    )
    assert run.report.ok, run.text
    left = sorted(str(p.relative_to(host.home / "rm")) for p in (host.home / "rm").rglob("*"))
    assert left == ["a", "b", "keep.txt"]
    assert not (host.home / "pwned").exists()


def test_rsync_upload_download_include_update_and_delete(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[1]
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.csv").write_text("a\n")
    (up / "b.txt").write_text("b\n")
    (up / "sub" / "c.csv").write_text("c\n")
    nodes = cluster_nodes(cluster, [1])
    run = run_stage_on(
        nodes,
        [
            Rsync(src=[f"{up}/"], dest=["synced/all/"], put=True),
            Rsync(src=f"{up}/", dest="synced/csv/", put=True, include="*.csv"),
        ],
    )
    assert run.report.ok, run.text
    assert sorted(p.name for p in (host.home / "synced" / "all").rglob("*")) == [
        "a.csv",
        "b.txt",
        "c.csv",
        "sub",
    ]
    assert sorted(p.name for p in (host.home / "synced" / "csv").rglob("*")) == [
        "a.csv",
        "c.csv",
        "sub",
    ]

    # Download: a newer local file is kept (update by default), extra local files stay.
    down = tmp_path / "down"
    down.mkdir()
    (down / "a.csv").write_text("local and newer\n")
    os.utime(down / "a.csv", (4_000_000_000, 4_000_000_000))
    (down / "mine.txt").write_text("mine\n")
    host.exec("echo remote-b > synced/all/b.txt")
    run = run_stage_on(
        nodes, [Rsync(src="synced/all/", dest=f"{down}/")], task=ExperimentTask.PICKUP
    )
    assert run.report.ok, run.text
    assert (down / "a.csv").read_text() == "local and newer\n"
    assert (down / "b.txt").read_text() == "remote-b\n"
    assert (down / "mine.txt").exists()
    run = run_stage_on(
        nodes, [Rsync(src="synced/all/", dest=f"{down}/", delete=True)], task=ExperimentTask.PICKUP
    )
    assert run.report.ok
    assert not (down / "mine.txt").exists()

    run = run_stage_on(nodes, [Rsync(src="x", dest="y", put=True, skip=True)])
    assert "skipped (skip=True)" in run.lines("h2")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
    )


def make_repo(repo: Path) -> None:
    """A repository whose ignore rules need git to get right: nested files and negations."""
    (repo / "data" / "raw").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / ".gitignore").write_text("*.log\ndata/*\n!data/keep.csv\n__pycache__/\n")
    (repo / "src" / ".gitignore").write_text("generated.py\n!important.log\n")
    for name in [
        "main.py",
        "run.log",
        "data/keep.csv",
        "data/drop.csv",
        "data/raw/x.bin",
        "src/lib.py",
        "src/generated.py",
        "src/important.log",
        "src/__pycache__/c.pyc",
        "untracked new.txt",
    ]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    (repo / "untracked new.txt").write_text("untracked")


def test_rsync_current_repo_sends_what_git_tracks(cluster: TestCluster, tmp_path: Path):
    repo = tmp_path / "my repo"
    make_repo(repo)
    host = cluster.hosts[2]
    run = run_stage_on(
        cluster_nodes(cluster, [2]),
        [RsyncCurrentRepo(local_folder_path=str(repo))],
        exp_folder_name="repo copy",
    )
    assert run.report.ok, run.text
    sent = sorted(
        str(p.relative_to(host.home / "repo copy"))
        for p in (host.home / "repo copy").rglob("*")
        if p.is_file()
    )
    assert sent == [
        ".gitignore",
        "data/keep.csv",
        "main.py",
        "src/.gitignore",
        "src/important.log",
        "src/lib.py",
        "untracked new.txt",
    ]


def test_clone_repo_is_idempotent_and_force_reclones(cluster: TestCluster, tmp_path: Path):
    host = cluster.hosts[3]
    host.exec(
        "rm -rf origin && git init -q origin && cd origin && echo v1 > f.txt && "
        "git add f.txt && git -c user.email=a@b -c user.name=n commit -qm one"
    )
    nodes = cluster_nodes(cluster, [3])
    run = run_stage_on(
        nodes,
        [CloneRepo(repo_url="/home/octo/origin", recurse_submodules=True)],
        exp_folder_name="cloned",
    )
    assert run.report.ok, run.text
    assert (host.home / "cloned" / "f.txt").read_text() == "v1\n"
    (host.home / "cloned" / "local change").write_text("keep me")
    run = run_stage_on(nodes, [CloneRepo(repo_url="/home/octo/origin")], exp_folder_name="cloned")
    assert "cloned exists, skipped" in run.lines("h4")
    assert (host.home / "cloned" / "local change").exists()
    run = run_stage_on(
        nodes, [CloneRepo(repo_url="/home/octo/origin", force=True)], exp_folder_name="cloned"
    )
    assert run.report.ok
    assert not (host.home / "cloned" / "local change").exists()


@pytest.mark.parametrize("url", ["/home/octo/does-not-exist"])
def test_clone_of_a_missing_repo_fails_with_git_message(cluster: TestCluster, url: str):
    run = run_stage_on(
        cluster_nodes(cluster, [3]), [CloneRepo(repo_url=url)], exp_folder_name="never"
    )
    result = run.report.results[0]
    assert result.outcome is Outcome.FAILED and result.exit_code == 128
    assert "does not exist" in result.stderr_tail
