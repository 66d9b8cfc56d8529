"""How many workers a node runs and which GPUs each gets, from what the node reported.

A node asks for its workers in one of three ways:

- a number (`num_parallel_screens_or_jobs: 8`): that many, whatever the node has;
- nothing: the seed's rule, one worker per available socket (the Python API's default too);
- `auto`: one worker per CPU the node reports (`nproc`: the hardware threads its user may
  use), at least one (and at most limits.MAX_WORKERS_PER_NODE).

`gpus_per_worker: N` gives each worker N GPUs of its own: worker i takes GPUs i*N .. i*N+N-1,
numbered as nvidia-smi numbers them. Without a number of workers (`auto`, or none) a node with
G GPUs then runs G // N workers, so no two share a GPU; with a number, workers beyond G // N
take the GPU groups again in turn (worker G // N shares the first group), as GNU parallel users
share GPUs with `{%}`. A node with fewer GPUs than N is refused where it is found: at deliver,
naming the node.

`auto` and `gpus_per_worker` need the node's CPUs and GPUs, which `inv deliver` gathers with
the same command `inv nodes` runs (facts.py) and keeps in the delivery's record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from octopus.limits import MAX_WORKERS_PER_NODE

AUTO: Literal["auto"] = "auto"

# GPUs one worker may ask for: more than any machine holds, small enough to plan quickly.
MAX_GPUS_PER_WORKER = 1024


@dataclass(frozen=True)
class Hardware:
    """The CPUs and GPUs a node reported (0: none found)."""

    cpus: int = 0
    gpus: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hardware:
        return cls(cpus=int(data.get("cpus", 0)), gpus=int(data.get("gpus", 0)))


def needs_hardware(requested: int | str | None, gpus_per_worker: int | None) -> bool:
    """Whether the worker count or the GPU split depends on what the node has."""
    return requested == AUTO or gpus_per_worker is not None


def worker_count(
    requested: int | str | None,
    gpus_per_worker: int | None,
    sockets: int,
    hardware: Hardware | None,
) -> int | None:
    """The node's number of workers (module docstring); None when it needs `hardware` and
    that is not known yet."""
    if isinstance(requested, int) and not isinstance(requested, bool):
        return requested
    if not needs_hardware(requested, gpus_per_worker):
        return sockets
    if hardware is None:
        return None
    found = hardware.gpus // gpus_per_worker if gpus_per_worker else hardware.cpus
    return min(max(1, found), MAX_WORKERS_PER_NODE)


def gpu_shortage(gpus_per_worker: int | None, hardware: Hardware) -> str | None:
    """Why the node cannot give each worker its GPUs (None: it can)."""
    if gpus_per_worker and hardware.gpus < gpus_per_worker:
        return (
            f"is {gpus_per_worker} but the node has {hardware.gpus} GPU(s) "
            "(inv nodes counts them with nvidia-smi)"
        )
    return None


def worker_gpus(index: int, gpus_per_worker: int | None, hardware: Hardware | None) -> str:
    """The GPUs of the node's worker `index`, comma-separated (`2,3`); "" when it has none."""
    if not gpus_per_worker or hardware is None or hardware.gpus < gpus_per_worker:
        return ""
    group = index % (hardware.gpus // gpus_per_worker)
    first = group * gpus_per_worker
    return ",".join(str(gpu) for gpu in range(first, first + gpus_per_worker))
