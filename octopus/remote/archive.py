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


def tar_folder(folder: Path, names: list[str] | None = None, last: str | None = None) -> bytes:
    """A tar of the folder's entries (or just `names` in it), in memory, with an empty file
    named `last` after them. Not compressed: worker scripts are a few KB per node, where
    gzip saves nothing measurable, and an upload with a large prefix pays more for gzip
    than for the bytes it saves (bench/deliver_scale.py)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.iterdir()):
            if names is None or path.name in names:
                tar.add(path, arcname=path.name)
        if last is not None:
            mark = tarfile.TarInfo(last)
            mark.mtime = int(time.time())  # tar warns of a file dated 1970
            tar.addfile(mark)
    return buffer.getvalue()


def unpack_command(remote_dir: str, token: str, fresh: bool, size: int | None = None) -> str:
    """Shell text making remote_dir and unpacking the tar read from stdin into it; the last
    member (named by `token`) says the stream came whole. When it did not, the command fails
    and says the free space; a `fresh` folder is then removed, and holds a mark while it
    fills. With `size` (the archive's bytes), tar reads those alone (through `head -c`): it
    sees its stream end where the archive ends, whatever tar the node has, and what follows
    on stdin is left for the rest of the command."""
    where = f'"$HOME"/{quote_path(remote_dir)}'
    done = f"{UPLOAD_PREFIX}{token}.end"
    mark = f"{UPLOAD_PREFIX}{token}"
    return (
        f"mkdir -p {where} && cd {where} && "
        + (f": > {mark} && " if fresh else "")
        + (f"head -c {size} | " if size is not None else "")
        + f"tar -xf - && [ -e {done} ] && rm -f {mark} {done} || {{ octopus_rc=$?; "
        f"df -Pk . </dev/null | awk 'NR == 2 {{ print \"{FREE_SPACE_LINE}\" $4 }}'; "
        + (f"cd / && rm -rf {where}; " if fresh else f"rm -f {where}/{done}; ")
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
    data = tar_folder(folder, names, last=f"{UPLOAD_PREFIX}{token}.end")
    result = send_archive(conn, unpack_command(remote_dir, token, fresh=False), data, timeout)
    if not result.ok:
        raise upload_failure(result, remote_dir, len(data))
