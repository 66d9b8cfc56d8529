"""What the local rsync can do, from its `--version`, and the argument lists that follow."""

from __future__ import annotations

import pytest

from octopus import Node
from octopus.remote.rsync import rsync_argv
from octopus.remote.rsync_version import features_of, local_rsync, parse_version

GNU = "rsync  version 3.2.7  protocol version 31\nCopyright (C) 1996-2022 by Andrew Tridgell\n"
MACOS = "rsync  version 2.6.9  protocol version 29\nCopyright (C) 1996-2006 by Andrew Tridgell\n"
OPENRSYNC = "openrsync: protocol version 29\nrsync version 2.6.9 compatible\n"


@pytest.mark.parametrize(
    ("text", "version", "protect"),
    [
        (GNU, (3, 2, 7), True),
        ("rsync  version v3.4.1  protocol version 32\n", (3, 4, 1), True),
        (MACOS, (2, 6, 9), False),
        (OPENRSYNC, (2, 6, 9), False),
        ("something else\n", (), True),
    ],
)
def test_the_version_says_whether_protect_args_is_there(
    text: str, version: tuple[int, ...], protect: bool
) -> None:
    assert parse_version(text) == version
    assert features_of(text).protect_args is protect


def test_the_local_rsync_is_asked_once() -> None:
    assert local_rsync() is local_rsync()
    assert local_rsync().version >= (3, 0)  # the rsync this suite runs on


def node() -> Node:
    return Node(test_connection=False, name="n", ssh_hostname="h", ssh_username="u")


def test_an_old_rsync_gets_quoted_remote_paths_and_keeps_wildcards() -> None:
    argv = rsync_argv(
        node(), ["~/res dir/*.csv", "it's"], "/tmp/x/", download=True, features=features_of(MACOS)
    )
    assert "--protect-args" not in argv
    assert argv[-3:] == ["u@h:'res dir/'*.csv", "u@h:'it'\"'\"'s'", "/tmp/x/"]
    new = rsync_argv(
        node(), ["~/res dir/*.csv"], "/tmp/x/", download=True, features=features_of(GNU)
    )
    assert "--protect-args" in new and new[-2] == "u@h:res dir/*.csv"
