"""What a node has (CPUs, NUMA sockets, GPUs, tools): one remote command and a pure parser.

Gathering everything in a single command costs one round trip per node, however many facts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
    """A POSIX sh script printing key=value lines; nothing in it fails the whole command."""
    python = python_for(node.python_version)
    tools = " ".join(dict.fromkeys((*TOOLS, python)))
    return "; ".join(
        [
            'echo "hostname=$(hostname)"',
            'echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"',
            'echo "numa=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)"',
            "echo \"sockets=$(lscpu -p=SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l)\"",
            "echo \"gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')\"",
            f'for t in {tools}; do echo "tool.$t=$(command -v "$t")"; done',
            f'echo "python_version=$({quote_path(python)} -c '
            '\'import sys; print("%d.%d.%d" % sys.version_info[:3])\' 2>/dev/null)"',
        ]
    )


@dataclass
class NodeFacts:
    """What was found on a node, and what it lacks for the way octopus will use it."""

    hostname: str = ""
    cpus: int = 0
    numa_sockets: int = 0
    gpus: int = 0
    python_version: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "usable": self.usable}


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def parse_facts(node: Node, output: str) -> NodeFacts:
    """Turn the facts command's output into NodeFacts, judging it against the node's settings."""
    values: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    numa = _int(values.get("numa", "0")) or _int(values.get("sockets", "0"))
    facts = NodeFacts(
        hostname=values.get("hostname", ""),
        cpus=_int(values.get("cpus", "0")),
        numa_sockets=numa,
        gpus=_int(values.get("gpus", "0")),
        python_version=values.get("python_version", ""),
        tools={k[5:]: v for k, v in values.items() if k.startswith("tool.") and v},
    )
    python = python_for(node.python_version)
    needed = ("rsync", python, *LAUNCHER_TOOLS[Launcher(node.launcher)])
    for tool in dict.fromkeys(needed):
        if tool not in facts.tools:
            facts.problems.append(f"{tool} not found")
    extra = [s for s in node.available_sockets if numa and s >= numa]
    if extra:
        facts.warnings.append(f"available_sockets {extra} beyond the {numa} NUMA socket(s) found")
    return facts
