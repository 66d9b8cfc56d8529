"""What a node has (CPUs, NUMA sockets, GPUs, tools) and how busy it is (free memory, free
room in the home folder, load, who is logged in): one remote command and a pure parser.

Gathering everything in a single command costs one round trip per node, however many facts.
`inv nodes` shows them; `inv deliver` counts a node's workers from them (hardware.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from octopus.hardware import Hardware, gpu_shortage, worker_count
from octopus.node import Launcher, Node, python_for
from octopus.remote.shell import quote_path

TOOLS = ("screen", "rsync", "python3", "setsid", "nohup", "sbatch", "squeue", "run_exp", "git")

# Which tools each launcher cannot do without on the node.
LAUNCHER_TOOLS: dict[Launcher, tuple[str, ...]] = {
    Launcher.SCREEN: ("screen",),
    Launcher.PROCESS: ("setsid", "nohup"),
    Launcher.SLURM: ("sbatch", "squeue"),
    Launcher.RUN_EXP: ("run_exp", "screen"),
}


def facts_command(node: Node) -> str:
    """A POSIX sh script printing key=value lines (a key may repeat, one line per GPU or
    login); nothing in it fails the whole command, and what a node lacks prints nothing."""
    python = python_for(node.python_version)
    tools = " ".join(dict.fromkeys((*TOOLS, python)))
    return "; ".join(
        [
            'echo "hostname=$(hostname)"',
            'echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"',
            'echo "numa=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)"',
            "echo \"sockets=$(lscpu -p=SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l)\"",
            "nvidia-smi -L 2>/dev/null | sed 's/^/gpu=/'",
            "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo 2>/dev/null | sed 's/^/mem=/'",
            "df -Pk \"$HOME\" 2>/dev/null | sed -n '2s/^/home_disk=/p'",
            'echo "load=$(cat /proc/loadavg 2>/dev/null || uptime 2>/dev/null)"',
            "who 2>/dev/null | sed 's/^/who=/'",
            f'for t in {tools}; do echo "tool.$t=$(command -v "$t")"; done',
            f'echo "python_version=$({quote_path(python)} -c '
            '\'import sys; print("%d.%d.%d" % sys.version_info[:3])\' 2>/dev/null)"',
        ]
    )


# Less free room than this in the home folder is worth a warning: deliveries, logs and venvs
# live there.
LOW_DISK_KB = 1024 * 1024


@dataclass
class NodeFacts:
    """What was found on a node, and what it lacks for the way octopus will use it.

    Sizes are in KiB (0: unknown); `load` is the 1, 5 and 15 minute load averages; `users`
    the names logged in (each once); `workers` how many workers deliver would plan there."""

    hostname: str = ""
    cpus: int = 0
    numa_sockets: int = 0
    gpus: int = 0
    gpu_names: list[str] = field(default_factory=list)
    mem_total_kb: int = 0
    mem_free_kb: int = 0
    home_total_kb: int = 0
    home_free_kb: int = 0
    load: list[float] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    workers: int = 0
    python_version: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems

    @property
    def hardware(self) -> Hardware:
        return Hardware(cpus=self.cpus, gpus=self.gpus)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "usable": self.usable}


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _lines(output: str) -> dict[str, list[str]]:
    """key -> its values, in order (key=value lines; anything else, a login banner, is left)."""
    values: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def gpu_names(lines: list[str]) -> list[str]:
    """The GPUs of `nvidia-smi -L` lines (`GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)`);
    MIG slices listed under a GPU are part of it, not GPUs of their own."""
    names = []
    for line in lines:
        match = re.match(r"GPU \d+: (.*?)(?: \(UUID: [^)]*\))?$", line)
        if match:
            names.append(match.group(1))
    return names


def memory_kb(lines: list[str]) -> tuple[int, int]:
    """(total, available) KiB from /proc/meminfo's MemTotal and MemAvailable lines."""
    found = {}
    for line in lines:
        match = re.match(r"(\w+):\s*(\d+)", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found.get("MemTotal", 0), found.get("MemAvailable", 0)


def disk_kb(line: str) -> tuple[int, int]:
    """(total, available) KiB from a `df -Pk` line: filesystem, size, used, available,
    capacity, mount point (a filesystem or mount point may hold spaces)."""
    match = re.search(r"\s(\d+)\s+\d+\s+(\d+)\s+\d+%\s", line)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def load_averages(text: str) -> list[float]:
    """The 1, 5 and 15 minute loads from /proc/loadavg (`0.52 0.58 0.59 1/234 5678`) or, where
    there is none, uptime's `load average(s): 0.52, 0.58, 0.59`."""
    if "load average" in text:
        text = text.split("load average", 1)[1].partition(":")[2]
    try:
        return [float(x) for x in re.split(r"[,\s]+", text.strip())[:3]]
    except ValueError:
        return []


def logged_in(lines: list[str]) -> list[str]:
    """The users of `who` lines, each once, in order."""
    return list(dict.fromkeys(line.split()[0] for line in lines if line.split()))


def parse_facts(node: Node, output: str) -> NodeFacts:
    """Turn the facts command's output into NodeFacts, judging it against the node's settings."""
    values = _lines(output)

    def last(key: str) -> str:
        return values.get(key, [""])[-1]

    numa = _int(last("numa")) or _int(last("sockets"))
    gpus = gpu_names(values.get("gpu", []))
    mem_total, mem_free = memory_kb(values.get("mem", []))
    home_total, home_free = disk_kb(last("home_disk"))
    facts = NodeFacts(
        hostname=last("hostname"),
        cpus=_int(last("cpus")),
        numa_sockets=numa,
        gpus=len(gpus),
        gpu_names=gpus,
        mem_total_kb=mem_total,
        mem_free_kb=mem_free,
        home_total_kb=home_total,
        home_free_kb=home_free,
        load=load_averages(last("load")),
        users=logged_in(values.get("who", [])),
        python_version=last("python_version"),
        tools={k[5:]: v[-1] for k, v in values.items() if k.startswith("tool.") and v[-1]},
    )
    python = python_for(node.python_version)
    needed = ("rsync", python, *LAUNCHER_TOOLS[Launcher(node.launcher)])
    for tool in dict.fromkeys(needed):
        if tool not in facts.tools:
            facts.problems.append(f"{tool} not found")
    shortage = gpu_shortage(node.gpus_per_worker, facts.hardware)
    if shortage:
        facts.problems.append(f"gpus_per_worker {shortage}")
    facts.workers = (
        worker_count(
            node.num_parallel_screens_or_jobs,
            node.gpus_per_worker,
            len(node.available_sockets),
            facts.hardware,
        )
        or 0
    )
    extra = [s for s in node.available_sockets if numa and s >= numa]
    if extra:
        facts.warnings.append(f"available_sockets {extra} beyond the {numa} NUMA socket(s) found")
    if home_total and home_free < LOW_DISK_KB:
        facts.warnings.append(f"only {home_free // 1024} MiB free in the home folder")
    return facts
