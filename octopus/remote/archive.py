"""Many small files to a node as one archive over an open connection: one transfer, whatever
the number of files (a delivery of a thousand worker scripts costs one upload)."""

from __future__ import annotations

import contextlib
import io
import secrets
import tarfile
import tempfile
from pathlib import Path

from octopus.remote.connector import Connector
from octopus.remote.shell import quote_path

# Names of archives on their way to a node (removed once unpacked, or by the next upload).
UPLOAD_PREFIX = ".upload-"


def tar_folder(folder: Path, names: list[str] | None = None) -> bytes:
    """A gzipped tar of the folder's entries (or just `names` in it), in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if names is None or path.name in names:
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


def send_files(
    conn: Connector,
    folder: Path,
    remote_dir: str,
    names: list[str] | None = None,
    timeout: float | None = None,
) -> None:
    """Copy the folder's files (or just `names`) into remote_dir, relative to the login folder."""
    remote = quote_path(remote_dir)
    archive = f"{UPLOAD_PREFIX}{secrets.token_hex(4)}.tar.gz"
    conn.run(f'mkdir -p "$HOME"/{remote}', hide=True, timeout=timeout)
    with tempfile.NamedTemporaryFile(suffix=".tar.gz") as tmp:
        tmp.write(tar_folder(folder, names))
        tmp.flush()
        try:
            conn.put(tmp.name, f"{remote_dir}/{archive}")
        except OSError as exc:
            raise _explained(conn, remote_dir, tmp.tell(), exc) from exc
    # The archive goes whether or not it unpacked (a full disk): the status is tar's.
    conn.run(
        f'cd "$HOME"/{remote} && {{ tar -xzf {archive}; octopus_rc=$?; rm -f {archive}; '
        "exit $octopus_rc; }",
        hide=True,
        timeout=timeout,
    )


def _explained(conn: Connector, remote_dir: str, size: int, exc: OSError) -> OSError:
    """SFTP reports a full disk as a bare failure ("size mismatch in put", "Failure"): when the
    node's free space is short of the archive, say that instead."""
    command = f"df -Pk \"$HOME\"/{quote_path(remote_dir)} | awk 'NR == 2 {{ print $4 }}'"
    with contextlib.suppress(Exception):
        free = conn.run(command, hide=True, warn=True).stdout.strip()
        if free.isdigit() and int(free) * 1024 < size:
            return OSError(
                f"no space left on the node: the upload needs {size} bytes, "
                f"{free} KB free in ~/{remote_dir}"
            )
    return exc
