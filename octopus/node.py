"""Node: how to reach one machine and what it offers (sockets, hardware, tags, launcher).

The constructor keeps every argument of the original octopus `Node(...)`; the rest are
additions with defaults, so existing experiment files build the same nodes. How many workers
it runs, and which GPUs each gets, follows hardware.py.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from octopus.errors import ConfigError, OctopusError, did_you_mean
from octopus.hardware import (
    AUTO,
    MAX_GPUS_PER_WORKER,
    Hardware,
    gpu_shortage,
    needs_hardware,
    worker_count,
    worker_gpus,
)
from octopus.launchers.sbatch_options import check_options
from octopus.limits import MAX_KEEPALIVE, MAX_SOCKET, MAX_WORKERS_PER_NODE, check_range
from octopus.names import RULE, check_name, is_name
from octopus.node_methods import OriginalNodeMethods
from octopus.remote.connection import open_connection
from octopus.remote.known_hosts_files import hostkeys_paths


class Launcher(str, Enum):
    """How a node starts its worker scripts."""

    SCREEN = "screen"
    PROCESS = "process"
    SLURM = "slurm"
    RUN_EXP = "run_exp"

    def __str__(self) -> str:
        return self.value


# Ten seconds: long enough for a loaded host across a VPN, short enough that a dead node costs
# little when every task waits for the slowest node.
DEFAULT_CONNECT_TIMEOUT = 10.0

# Fifteen seconds: a silent node is found within 2 x keepalive (remote/liveness.py), and it is
# far under the 5-15 minute idle timeouts of common NAT boxes and campus firewalls, so an
# hour-long quiet connection stays open.
DEFAULT_KEEPALIVE = 15


def python_for(version: str | None) -> str:
    """The Python command for a version ("3.10" -> python3.10); python3 when none is given."""
    return f"python{version}" if version else "python3"


@dataclass(kw_only=True, eq=False)
class Node(OriginalNodeMethods):
    """One machine experiments run on; `local=True` means this machine, reached without SSH."""

    ssh_hostname: str | None = None
    ssh_username: str | None = None
    ssh_private_key: str | None = None
    hardware_desc: str | None = None
    ssh_hostkeys: str | list[str] | None = None
    tags: set[str] = field(default_factory=set)
    use_run_exp: bool = False
    use_slurm: bool = False
    python_version: str | None = None
    num_parallel_screens_or_jobs: int | Literal["auto"] | None = None
    available_sockets: list[int] = field(default_factory=lambda: [0])
    # Additions to the original arguments.
    name: str | None = None
    ssh_port: int | None = None
    launcher: Launcher | str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    keepalive: int = DEFAULT_KEEPALIVE
    local: bool = False
    accept_new_hostkeys: bool = False
    ssh_config: str | None = None
    slurm_options: dict[str, str] = field(default_factory=dict)
    gpus_per_worker: int | None = None
    # The original's remaining arguments.
    rsync_private_key: str | None = None
    ssh_passphrase: str | None = field(default=None, repr=False)
    test_connection: bool = True
    # The CPUs and GPUs the node reported, once a stage asked it (learn_hardware).
    found_hardware: Hardware | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.tags, str):
            self.tags = {self.tags}
        self.tags = set(self.tags)
        self.available_sockets = list(self.available_sockets)
        if self.name is None:
            self.name = "local" if self.local else self.ssh_hostname
        if not self.name:
            raise ConfigError("a node needs ssh_hostname (or local: true)", key="ssh_hostname")
        if not is_name(self.name):
            hint = " (give it a name: Node(name=...))" if self.name == self.ssh_hostname else ""
            raise ConfigError(
                f"node name {self.name!r} is not a valid name: use {RULE}{hint}", key="name"
            )
        if not self.local and not self.ssh_hostname:
            raise self._error("ssh_hostname", "is required for a node reached over SSH")
        for tag in sorted(map(str, self.tags)):
            check_name("tag", tag, key="tags", node=self.name)
        self.slurm_options = check_options(self.slurm_options or {}, "slurm_options", self.name)
        self.launcher = self._resolve_launcher()
        self._check_numbers()
        self._check_hardware_keys()
        for key in ("ssh_private_key", "ssh_hostkeys", "ssh_config", "rsync_private_key"):
            self._expand_path(key)
        if self.rsync_private_key is None:
            self.rsync_private_key = self.ssh_private_key
        if self.test_connection and not self.local:
            self.check_connection()

    def _check_numbers(self) -> None:
        """Counts, ports and times in their ranges, so nothing later plans a million workers,
        connects to port -1 or waits NaN seconds."""
        name = self.name
        requested = self.num_parallel_screens_or_jobs
        check_range(
            None if isinstance(requested, str) else requested,
            1,
            MAX_WORKERS_PER_NODE,
            key="num_parallel_screens_or_jobs",
            node=name,
        )
        if not self.available_sockets:
            raise self._error("available_sockets", "must list at least one socket")
        for socket in self.available_sockets:
            check_range(socket, 0, MAX_SOCKET, key="available_sockets", node=name, nullable=False)
        check_range(self.ssh_port, 1, 65535, key="ssh_port", node=name)
        if not 0 < self.connect_timeout < math.inf:
            raise self._error("connect_timeout", "must be a positive number of seconds")
        check_range(
            self.keepalive, 1, MAX_KEEPALIVE, key="keepalive", node=name, unit=" s", nullable=False
        )

    def _check_hardware_keys(self) -> None:
        """`auto` spelt right, `gpus_per_worker` a whole number, neither on a Slurm node (whose
        login node's CPUs and GPUs say nothing of the cluster's)."""
        requested = self.num_parallel_screens_or_jobs
        if isinstance(requested, str) and requested != AUTO:
            raise self._error(
                "num_parallel_screens_or_jobs",
                f"must be a number of workers or '{AUTO}', not {requested!r}"
                f"{did_you_mean(requested, [AUTO])}",
            )
        gpus = self.gpus_per_worker
        if gpus is not None and (
            isinstance(gpus, bool)
            or not isinstance(gpus, int)
            or not 1 <= gpus <= MAX_GPUS_PER_WORKER
        ):
            raise self._error(
                "gpus_per_worker",
                f"must be a whole number of GPUs from 1 to {MAX_GPUS_PER_WORKER} (or null), "
                f"not {gpus!r}",
            )
        if self.launcher is Launcher.SLURM:
            if gpus is not None:
                raise self._error(
                    "gpus_per_worker",
                    "is for nodes that start their own workers: a Slurm job asks for GPUs "
                    "with the experiment's slurm_num_gpus_per_job",
                )
            if requested == AUTO:
                raise self._error(
                    "num_parallel_screens_or_jobs",
                    "'auto' counts the CPUs of the node octopus logs in to, not the cluster's: "
                    "give a Slurm node a number of jobs",
                )

    def check_connection(self) -> None:
        """Log in once, as the original Node(...) did; NodeUnreachable says what is wrong."""
        open_connection(self).close()

    def _error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, node=self.name, key=key)

    def _resolve_launcher(self) -> Launcher:
        if self.use_slurm and self.use_run_exp:
            raise self._error("use_slurm", "cannot be true together with use_run_exp; pick one")
        implied = (
            Launcher.SLURM if self.use_slurm else Launcher.RUN_EXP if self.use_run_exp else None
        )
        if self.launcher is None:
            if implied:
                return implied
            return Launcher.PROCESS if self.local else Launcher.SCREEN
        try:
            launcher = Launcher(str(self.launcher))
        except ValueError:
            valid = ", ".join(x.value for x in Launcher)
            hint = did_you_mean(str(self.launcher), [x.value for x in Launcher])
            raise self._error(
                "launcher", f"unknown launcher '{self.launcher}'{hint}; valid: {valid}"
            ) from None
        if implied and implied != launcher:
            flag = "use_slurm" if implied is Launcher.SLURM else "use_run_exp"
            raise self._error("launcher", f"is '{launcher}' but {flag} is true; keep one of them")
        return launcher

    def _expand_path(self, key: str) -> None:
        value = getattr(self, key)
        if isinstance(value, (list, tuple)):
            setattr(self, key, [os.path.expanduser(str(v)) for v in value])
        elif value is not None:
            setattr(self, key, os.path.expanduser(str(value)))

    @property
    def needs_hardware(self) -> bool:
        """Whether its workers depend on its CPUs or GPUs (`auto`, `gpus_per_worker`)."""
        return needs_hardware(self.num_parallel_screens_or_jobs, self.gpus_per_worker)

    def learn_hardware(self, hardware: Hardware, *, check: bool = True) -> None:
        """Keep what the node reported; with `check`, a ConfigError naming the node when it
        has fewer GPUs than one worker asks for."""
        shortage = gpu_shortage(self.gpus_per_worker, hardware) if check else None
        if shortage:
            raise self._error("gpus_per_worker", shortage)
        self.found_hardware = hardware

    @property
    def num_workers(self) -> int:
        """Screens or jobs this node runs at once: the explicit number, one per socket
        (the seed's rule), or from its CPUs or GPUs (hardware.py)."""
        count = worker_count(
            self.num_parallel_screens_or_jobs,
            self.gpus_per_worker,
            len(self.available_sockets),
            self.found_hardware,
        )
        if count is None:
            raise OctopusError(
                f"node '{self.name}': its workers follow its CPUs and GPUs, which are not "
                "known yet: deliver to it first (deliver counts them)"
            )
        return count

    def gpus_of(self, index: int) -> str:
        """The GPUs of its worker `index` as `CUDA_VISIBLE_DEVICES` takes them ("": none)."""
        return worker_gpus(index, self.gpus_per_worker, self.found_hardware)

    def missing_files(self) -> list[tuple[str, str]]:
        """(key, path) for each file this node names that does not exist here."""
        named = [
            (key, path)
            for key in ("ssh_private_key", "ssh_hostkeys", "ssh_config", "rsync_private_key")
            for path in hostkeys_paths(getattr(self, key))
            if not (key == "rsync_private_key" and path == self.ssh_private_key)
        ]
        # os.path.isfile: False, not an error, for a name too long.
        return [(key, path) for key, path in named if not os.path.isfile(path)]

    def __repr__(self) -> str:
        where = "local" if self.local else f"{self.ssh_username or ''}@{self.ssh_hostname}"
        return f"Node({self.name!r}, {where}, launcher={self.launcher})"


def node_fields() -> dict[str, Any]:
    """Every Node argument with its type hint, for validating YAML input."""
    resolved = typing.get_type_hints(Node)
    return {f.name: resolved[f.name] for f in dataclasses.fields(Node) if f.init}
