"""Many small files to a node as one tar stream, unpacked as it arrives: one exec channel,
whatever the number of files (a delivery of a thousand worker scripts costs one command).

The archive goes to `tar -x` on the command's stdin (Connector.quick with `feed`): no SFTP
session, no archive file on the node, no second command to unpack it. A tar cut short at a
member's boundary unpacks without complaint, so the archive's last member is a mark the
command looks for: without it the upload counts as failed. A fresh folder (a new delivery)
holds a mark of its own while it fills, so a folder still holding one was never unpacked
whole (the connection went before the command could clean up) and the next upload removes
it.
"""

from __future__ import annotations

import io
import secrets
import stat
import tarfile
import time
from pathlib import Path

from octopus.errors import OctopusError
from octopus.remote.connector import Connector
from octopus.remote.quick import QuickResult
from octopus.remote.shell import quote_path

# Names of the marks of an upload on its way (gone once it unpacked whole).
UPLOAD_PREFIX = ".upload-"

# How the command reports the free space left where the upload failed.
FREE_SPACE_LINE = "octopus-free-kb "


class UploadFailed(OctopusError):
    """The node did not unpack the whole upload; the message says why."""


def tar_folder(
    folder: Path,
    remote_dir: str,
    token: str,
    *,
    fresh: bool,
    names: list[str] | None = None,
    link: tuple[str, str] | None = None,
) -> bytes:
    """The upload of the folder's entries (or just `names` in it) into `remote_dir` (relative
    to the login folder), as a tar in memory that `unpack_command` unpacks from the login
    folder: tar itself makes the folders on the way, so the node runs no `mkdir`. The last
    member is the empty mark of the upload `token`, which only a whole stream brings; a
    `fresh` folder's first member is the mark it holds while it fills. `link`: (path relative
    to the login folder, target), a symbolic link that comes just before the last mark.

    Not compressed: worker scripts are a few KB per node, where gzip saves nothing
    measurable, and an upload with a large prefix pays more for gzip than for the bytes it
    saves (bench/deliver_scale.py)."""
    under = home_relative(remote_dir)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if fresh:
            tar.addfile(_mark(f"{under}/{UPLOAD_PREFIX}{token}"))
        for path in sorted(folder.iterdir()):
            if names is None or path.name in names:
                _add(tar, path, f"{under}/{path.name}")
        if link is not None:
            entry = _mark(link[0])
            entry.type, entry.linkname = tarfile.SYMTYPE, link[1]
            tar.addfile(entry)
        tar.addfile(_mark(f"{under}/{UPLOAD_PREFIX}{token}.end"))
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    """A file (or a folder, with what it holds) as `name`, with its mode and time and no
    owner: unpacked by root, it belongs to root, not to whoever has this machine's user id
    there. Half the work of `TarFile.add`, which also looks up user and group names."""
    info = path.stat()
    entry = tarfile.TarInfo(name)
    entry.mode, entry.mtime = stat.S_IMODE(info.st_mode), int(info.st_mtime)
    if stat.S_ISDIR(info.st_mode):
        entry.type = tarfile.DIRTYPE
        tar.addfile(entry)
        for child in sorted(path.iterdir()):
            _add(tar, child, f"{name}/{child.name}")
        return
    data = path.read_bytes()
    entry.size = len(data)
    tar.addfile(entry, io.BytesIO(data))


def _mark(name: str) -> tarfile.TarInfo:
    """An empty member, dated now (tar warns of a file dated 1970)."""
    mark = tarfile.TarInfo(name)
    mark.mtime = int(time.time())
    return mark


def home_relative(remote_dir: str) -> str:
    """`remote_dir` as a path inside the login folder, which uploads are unpacked from."""
    under = remote_dir.removeprefix("~/").strip("/")
    if not under or remote_dir.startswith("/") or ".." in under.split("/"):
        raise ValueError(f"an upload goes to a folder inside the login folder, not {remote_dir!r}")
    return under


def unpack_command(
    remote_dir: str,
    token: str,
    fresh: bool,
    size: int | None = None,
    link: str | None = None,
) -> str:
    """Shell text unpacking the tar of `tar_folder` read from stdin, from the login folder;
    its last member (named by `token`) says the stream came whole, and the marks then go.
    When it did not, the command fails and says the free space; a `fresh` folder (and the
    upload's `link`, relative to the login folder) is then removed. With `size` (the
    archive's bytes), tar reads those alone (through `head -c`): it sees its stream end
    where the archive ends, whatever tar the node has, and what follows on stdin is left
    for the rest of the command."""
    where = f'"$HOME"/{quote_path(home_relative(remote_dir))}'
    done = f"{where}/{UPLOAD_PREFIX}{token}.end"
    mark = f"{where}/{UPLOAD_PREFIX}{token}"
    gone = " ".join([where, *([f'"$HOME"/{quote_path(link)}'] if link else [])])
    return (
        'cd "$HOME" && '
        + (f"head -c {size} | " if size is not None else "")
        + f"tar -xf - && [ -e {done} ] && rm -f {mark} {done} || {{ octopus_rc=$?; "
        f"cd {where} 2>/dev/null; "
        f"df -Pk . </dev/null | awk 'NR == 2 {{ print \"{FREE_SPACE_LINE}\" $4 }}'; "
        + (f"cd / && rm -rf {gone}; " if fresh else f"rm -f {done}; ")
        + 'exit "$octopus_rc"; }'
    )


def send_archive(conn: Connector, command: str, data: bytes, timeout: float | None) -> QuickResult:
    """Run `command` (ending in unpack_command) with the archive on its stdin."""
    return conn.quick(command, timeout=timeout, feed=lambda write: write(data))


def upload_failure(result: QuickResult, remote_dir: str, size: int) -> Exception:
    """What a failed unpack says: a full disk named as such (tar's own words are "Cannot
    write"), otherwise the command's exit status and last error line."""
    free = next(
        (
            line[len(FREE_SPACE_LINE) :]
            for line in result.stdout.splitlines()
            if line.startswith(FREE_SPACE_LINE)
        ),
        "",
    )
    full = "No space left" in result.stderr or (free.isdigit() and int(free) * 1024 < size)
    if full:
        return OSError(
            f"no space left on the node: the upload needs {size} bytes, "
            f"{free or '?'} KB free in ~/{remote_dir}"
        )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return UploadFailed(
        f"unpacking the upload in ~/{remote_dir} exited with {result.exited}"
        + (f": {lines[-1]}" if lines else "")
    )


def send_files(
    conn: Connector,
    folder: Path,
    remote_dir: str,
    names: list[str] | None = None,
    timeout: float | None = None,
) -> None:
    """Copy the folder's files (or just `names`) into remote_dir, relative to the login
    folder, with one command."""
    token = secrets.token_hex(4)
    data = tar_folder(folder, remote_dir, token, fresh=False, names=names)
    result = send_archive(conn, unpack_command(remote_dir, token, fresh=False), data, timeout)
    if not result.ok:
        raise upload_failure(result, remote_dir, len(data))
