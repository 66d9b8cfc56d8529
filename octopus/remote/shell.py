"""Every shell string octopus builds goes through here, so quoting lives in one place."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable


def quote_path(path: str) -> str:
    """A path quoted for a POSIX shell, keeping a leading `~/` meaning the home directory.

    Anything else, `$(...)`, quotes and spaces included, reaches the command literally.
    """
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        rest = path[2:]
        return '"$HOME"/' + shlex.quote(rest) if rest else '"$HOME"/'
    return shlex.quote(path)


def join(args: Iterable[str]) -> str:
    """A command line from an argument list, each argument quoted."""
    return shlex.join(list(args))


_GLOB = re.compile(r"(\*|\?|\[[A-Za-z0-9!^_.,:-]*\])")


def quote_glob(pattern: str) -> str:
    """A path quoted for the shell with its wildcards (* ? [...]) left to expand.

    Lets users write `runs/*.csv` where a path is expected while `$(...)`, quotes and
    spaces stay literal.
    """
    home = ""
    if pattern == "~" or pattern.startswith("~/"):
        home, pattern = '"$HOME"', pattern[1:]
    parts = _GLOB.split(pattern)
    quoted = [
        part if index % 2 else (shlex.quote(part) if part else "")
        for index, part in enumerate(parts)
    ]
    return home + "".join(quoted)


def kill_tree_snippet(roots: str, grace: float = 2.0) -> str:
    """Shell code that stops the processes whose PIDs `roots` expands to, and all descendants.

    The whole tree is collected before the first signal, so children re-parented by a dying
    parent are not missed; TERM first, KILL for whatever is left after `grace` seconds.
    """
    return (
        f'octopus_roots="{roots}"; '
        'if [ -n "$octopus_roots" ]; then '
        'octopus_tree=$(ps -eo pid=,ppid= | awk -v roots="$octopus_roots" \''
        'BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 } '
        "{ parent[$1] = $2 } "
        "END { changed = 1; while (changed) { changed = 0; "
        "for (c in parent) if (!(c in keep) && (parent[c] in keep)) { keep[c] = 1; changed = 1 } } "
        "for (k in keep) print k }'); "
        "kill -TERM $octopus_tree 2>/dev/null; "
        f"octopus_wait=0; while [ $octopus_wait -lt {int(grace * 10)} ]; do "
        "octopus_alive=; for p in $octopus_tree; do "
        # A zombie answers kill -0 until its parent reaps it: it counts as gone.
        "if kill -0 $p 2>/dev/null && "
        "[ \"$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1)\" != Z ]; "
        "then octopus_alive=1; fi; done; "
        '[ -z "$octopus_alive" ] && break; sleep 0.1; octopus_wait=$((octopus_wait + 1)); done; '
        "kill -KILL $octopus_tree 2>/dev/null; fi; true"
    )


# Runs the command in a process group of its own, with stdin from /dev/null, and ends that
# group when the channel's stdin closes: when the client closes the channel (Ctrl-C, a stage
# deadline) or its connection ends. sshd sends no signal when a channel without a pty closes,
# so without this a `sleep 3600` or a pip install would run on unseen. A background job of a
# non-interactive shell reads /dev/null unless told otherwise, hence fd 3 for the watcher.
# Its exit status is the command's; `setsid` keeps the PID when its caller is no group
# leader (a background job of a shell without job control never is).
_WATCH_AND_WAIT = (
    '{{ {watch}; kill -TERM "-$octopus_pid" 2>/dev/null; }} '
    ">/dev/null 2>&1 & octopus_watch=$!; "
    'exec 3<&-; wait "$octopus_pid"; octopus_status=$?; '
    'kill "$octopus_watch" 2>/dev/null; exit "$octopus_status"'
)
_IN_NEW_SESSION = 'setsid "${{SHELL:-/bin/sh}}" -c {command} </dev/null 3<&- & octopus_pid=$!; '
_ENDS_WITH_CHANNEL = "exec 3<&0; " + _IN_NEW_SESSION + _WATCH_AND_WAIT

# octopus' own commands take a cheaper way when the login shell has job control (bash, zsh,
# ksh): `set -m` gives the background job a process group of its own without starting setsid
# and a second shell, and the watcher waits with the shell's `read` rather than a `cat`: 4 of
# the 7 ms such a command cost (docs/ssh.md). A shell without job control (dash) takes the
# general way. The job is a subshell of the login shell, so its `$$` is that shell's.
_OWN_ENDS_WITH_CHANNEL = (
    "exec 3<&0; if set -m 2>/dev/null && case $- in *m*) true;; *) false;; esac; "
    "then {{ eval {command}; }} </dev/null 3<&- & octopus_pid=$!; set +m; "
    "else " + _IN_NEW_SESSION + "fi; " + _WATCH_AND_WAIT
)


def ends_with_channel(command: str, *, own: bool = False) -> str:
    """Shell text running `command` so that it (and everything it started) ends when its
    SSH channel closes before it finished; `own` for octopus' own commands, which never
    read `$$` (the cheaper way above)."""
    if own:
        return _OWN_ENDS_WITH_CHANNEL.format(
            command=shlex.quote(command), watch="while read -r _; do :; done <&3"
        )
    return _ENDS_WITH_CHANNEL.format(command=shlex.quote(command), watch="cat <&3 >/dev/null 2>&1")
