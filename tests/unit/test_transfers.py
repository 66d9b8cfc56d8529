"""The rsync and ssh command lines built for a node: argument lists, every value intact."""

from __future__ import annotations

import shlex

from octopus import Node
from octopus.remote.openssh import ssh_argv
from octopus.remote.rsync import RsyncOptions, rsync_argv
from octopus.remote.shell import quote_path

NODE = Node(
    test_connection=False,
    ssh_hostname="10.0.0.5",
    ssh_username="alice",
    ssh_port=2222,
    ssh_private_key="/keys/my key's",
    ssh_hostkeys="/keys/known hosts",
    connect_timeout=2.5,
)


def test_ssh_argv_is_strict_and_complete():
    argv = ssh_argv(NODE)
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"]
    assert argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2222"]
    assert "/keys/my key's" in argv
    assert 'UserKnownHostsFile="/keys/known hosts"' in argv
    assert "StrictHostKeyChecking=yes" in argv and "ConnectTimeout=3" in argv


def test_accept_new_hostkeys_maps_to_accept_new():
    node = Node(test_connection=False, ssh_hostname="x", accept_new_hostkeys=True)
    assert "StrictHostKeyChecking=accept-new" in ssh_argv(node)


def test_rsync_upload_argv():
    options = RsyncOptions.of(exclude=[".git", "*.pyc"], delete=True, update=True)
    argv = rsync_argv(NODE, ["a b", "$(x)"], "dest dir/", options)
    assert argv[0] == "rsync" and "--protect-args" in argv
    assert "--delete" in argv and "--update" in argv
    assert "--exclude=.git" in argv and "--exclude=*.pyc" in argv
    e = argv[argv.index("-e") + 1]
    assert shlex.split(e)[:3] == ["ssh", "-o", "BatchMode=yes"]
    assert "/keys/my key's" in shlex.split(e)
    assert argv[-3:] == ["a b", "$(x)", "alice@10.0.0.5:dest dir/"]


def test_rsync_download_argv():
    argv = rsync_argv(NODE, "runs/", "../runs/", RsyncOptions(ignore_existing=True), download=True)
    assert argv[-2:] == ["alice@10.0.0.5:runs/", "../runs/"]
    assert "--ignore-existing" in argv


def test_rsync_local_node_needs_no_ssh():
    node = Node(test_connection=False, local=True)
    argv = rsync_argv(node, "src/", "exp", home="/home/me")
    assert "-e" not in argv and argv[-2:] == ["src/", "/home/me/exp"]
    argv = rsync_argv(node, "exp/runs", "out", download=True, home="/home/me")
    assert argv[-2:] == ["/home/me/exp/runs", "out"]


def test_quote_path_keeps_home_and_nothing_else():
    assert quote_path("~/a b") == "\"$HOME\"/'a b'"
    assert quote_path("$(rm -rf x)") == "'$(rm -rf x)'"
    assert quote_path("~") == '"$HOME"'
