"""Invoke's runners with output that scales: linear time and, for streamed output, bounded memory.

Invoke's Runner joins everything a command printed so far on every chunk it reads (to feed
its watchers), so 10 MB of output costs quadratic time, and it keeps all of it in memory.
Here watchers see the output only when there are watchers, and output that is streamed to the
user (not hidden) keeps only its last STREAMED_TAIL characters for the result: the lines went
to the console and the stage log as they came. Hidden output, which octopus' parsers read, is
kept whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from fabric.runners import Remote
from invoke.runners import Local

# What a streamed command's result keeps of its output: enough for every error tail.
STREAMED_TAIL = 1 << 20


class LinearOutput:
    """Runner mixin: read output in linear time; keep streamed output's tail only."""

    watchers: list[Any]
    # Invoke reads 1000 bytes at a time; 64 KiB makes a fast producer cost far fewer rounds.
    read_chunk_size = 64 * 1024

    def _handle_output(
        self, buffer_: list[str], hide: bool, output: IO[str], reader: Callable[..., Any]
    ) -> None:
        kept = 0
        for data in self.read_proc_output(reader):  # type: ignore[attr-defined]
            if not hide:
                self.write_our_output(stream=output, string=data)  # type: ignore[attr-defined]
            buffer_.append(data)
            kept += len(data)
            if not hide and kept > 2 * STREAMED_TAIL:
                tail = "".join(buffer_)[-STREAMED_TAIL:]
                buffer_[:] = [tail]
                kept = len(tail)
            if self.watchers:
                self.respond(buffer_)  # type: ignore[attr-defined]


class StreamingRemote(LinearOutput, Remote):  # type: ignore[misc]  # fabric has no type hints
    """Fabric's remote runner, reading output in linear time."""


class StreamingLocal(LinearOutput, Local):
    """Invoke's local runner, reading output in linear time."""
