"""Files octopus writes on this machine (deliverables, manifests, the ledger, stage logs): a
system error while writing them becomes one LocalFileError line naming the path, instead of a
traceback from deep inside a stage."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from octopus.errors import LocalFileError


@contextmanager
def local_file_errors(path: Path | str | None = None, action: str = "write") -> Iterator[None]:
    """Turn an OSError raised inside into LocalFileError naming the file it names, else `path`
    (a full disk fails in write() or close(), which name no file). An OSError naming no file
    while no path is given is not about local files (a socket, a process) and passes through."""
    try:
        yield
    except OSError as exc:
        where = exc.filename if exc.filename is not None else path
        if where is None:
            raise
        raise LocalFileError(os.fsdecode(where), _reason(exc), action) from None


def _reason(exc: OSError) -> str:
    """The system's words for the error, with its symbolic name (ENOSPC) for searching."""
    name = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    return f"{text} ({name})" if name else text


def write_file(path: Path, text: str, *, executable: bool = False) -> None:
    """Write a text file with Unix line ends (a script, a record)."""
    with local_file_errors(path):
        path.write_text(text, newline="\n")
        if executable:
            path.chmod(0o755)


def make_folder(path: Path) -> None:
    """Create a folder and its parents, if missing."""
    with local_file_errors(path):
        path.mkdir(parents=True, exist_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, from a temporary file of this writer's own
    (two writers never share one) whose data is on disk first: a crash, kill -9 or a full
    disk never leaves half a record, and the old one stays until the new one is complete."""
    make_folder(path.parent)
    with local_file_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise


def compact_json(data: object) -> str:
    """JSON for a record: no indent and no spaces, so Python's C encoder writes it (an
    indent makes json fall back to its pure-Python encoder, several times slower on a plan
    or a ledger of a million commands)."""
    return json.dumps(data, separators=(",", ":"))
