"""Large YAML files parsed once: what a file held is kept as JSON until the file changes.

An experiment may list hundreds of thousands of commands in its YAML file, and every stage
reads that file, `inv monitor` from cron included. Even libyaml takes seconds for 320,000
commands, where the JSON of the same data loads in a few tens of milliseconds. So a file of
at least CACHE_MIN_BYTES is parsed once, and what it held (with the lines the error
messages point to) is kept in the user's cache folder, under the file's path, size,
modification time and inode, as make and git judge whether a file changed. A file changed
less than RACY_SECONDS before its parse is not kept: another change within the same clock
tick would leave the same size and time behind. A cache that cannot be read or written is
ignored: the file is then parsed as usual.

The cache stays bounded: a read marks its entry used, and each write removes the entries no
stage has read for IDLE_DAYS, then the least recently used while all of them together exceed
MAX_CACHE_BYTES (an experiment run from many scratch folders leaves one entry per folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from octopus.errors import LocalFileError
from octopus.localfiles import compact_json, write_atomically
from octopus.yamlfile import LineDict

# From this size a file is kept: a 16 KB list of commands took 2.6 ms to parse and 0.2 ms
# to read back from the cache, 47 KB (1,000 commands) 11 to 16 ms.
CACHE_MIN_BYTES = 16 << 10
RACY_SECONDS = 2.0
IDLE_DAYS = 30
MAX_CACHE_BYTES = 256 << 20
# Bumped whenever what a parse returns changes shape (2: the lines of list items; 3: kept as
# a run where they step evenly).
FORMAT = 3
# The key of a mapping's encoding: no YAML text can make a mapping with this key.
MAPPING = "\0mapping"


class _Uncacheable(Exception):
    """The data holds a value JSON cannot carry (a date, bytes, a set)."""


def cache_folder() -> Path:
    """$XDG_CACHE_HOME/octopus, or ~/.cache/octopus, as the XDG base directories say."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "octopus"


def _signature(path: Path, info: os.stat_result) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "path": str(path),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "inode": info.st_ino,
    }


def _entry(path: Path) -> Path:
    return cache_folder() / (hashlib.sha256(str(path).encode()).hexdigest()[:24] + ".json")


def cached_parse(path: Path, parse: Callable[[Path], Any]) -> Any:
    """What `parse(path)` returns, from the cache while the file is unchanged."""
    try:
        resolved = path.resolve()
        info = resolved.stat()
    except OSError:
        return parse(path)
    if info.st_size < CACHE_MIN_BYTES:
        return parse(path)
    signature = _signature(resolved, info)
    entry = _entry(resolved)
    kept = _read(entry, signature)
    if kept is not None:
        return kept[0]
    data = parse(path)
    if time.time() - info.st_mtime >= RACY_SECONDS:
        _write(entry, signature, data)
    return data


def _read(entry: Path, signature: dict[str, Any]) -> tuple[Any] | None:
    try:
        stored = json.loads(entry.read_bytes())
        if stored["signature"] != signature:
            return None
        data = _decode(stored["data"])
        with contextlib.suppress(OSError):
            os.utime(entry)  # used: kept by _prune
        return (data,)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _write(entry: Path, signature: dict[str, Any], data: Any) -> None:
    try:
        text = compact_json({"signature": signature, "data": _encode(data)})
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(entry, text)
        _prune(entry.parent, keep=entry)
    except (_Uncacheable, OSError, ValueError, LocalFileError):
        pass  # a cache never fails the stage: the next run parses the file again


def _prune(folder: Path, keep: Path) -> None:
    """Remove the entries unused for IDLE_DAYS, then the least recently used ones while the
    rest exceed MAX_CACHE_BYTES; `keep` (the entry just written) stays."""
    now = time.time()
    found = []
    for entry in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            found.append((entry.stat(), entry))
    found.sort(key=lambda item: item[0].st_mtime, reverse=True)  # the most recently used first
    total = 0
    for info, entry in found:
        total += info.st_size
        idle = now - info.st_mtime > IDLE_DAYS * 86400
        if entry != keep and (idle or total > MAX_CACHE_BYTES):
            with contextlib.suppress(OSError):
                entry.unlink()


def _encode(value: Any) -> Any:
    if isinstance(value, LineDict):
        return {
            MAPPING: [
                value.line,
                [
                    [
                        _encode(k),
                        value.key_lines.get(k),
                        value.value_texts.get(k),
                        _encode(v),
                        _encode_lines(value.item_lines.get(k)),
                    ]
                    for k, v in value.items()
                ],
            ]
        }
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise _Uncacheable(type(value).__name__)


def _encode_lines(lines: Sequence[int] | None) -> Any:
    """A list's item lines; [first, step, count] in a dict when they step evenly, as those
    of a list of one-line commands do (a third of the JSON of 320,000 commands, else)."""
    if lines is None or len(lines) < 2:
        return None if lines is None else list(lines)
    first, step = lines[0], lines[1] - lines[0]
    if all(b - a == step for a, b in zip(lines, lines[1:], strict=False)):
        return {"run": [first, step, len(lines)]}
    return list(lines)


def _decode_lines(lines: Any) -> Sequence[int]:
    if isinstance(lines, dict):
        first, step, count = lines["run"]
        return range(first, first + step * count, step)
    return list(lines)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        if set(map(type, value)) <= {str}:  # a list of commands: nothing to rebuild
            return value
        return [v if isinstance(v, str) else _decode(v) for v in value]
    if isinstance(value, dict):
        line, items = value[MAPPING]
        mapping = LineDict()
        mapping.line = line
        for key, key_line, text, item, item_lines in items:
            key = _decode(key)
            mapping[key] = _decode(item)
            if key_line is not None:
                mapping.key_lines[key] = key_line
            if text is not None:
                mapping.value_texts[key] = text
            if item_lines is not None:
                mapping.item_lines[key] = _decode_lines(item_lines)
        return mapping
    return value
