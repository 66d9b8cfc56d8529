"""The one owner of names and paths: deliverables here, run files there, sessions and jobs.

Everything an experiment leaves on a node or in a session list carries the experiment's
name, so two experiments on one node never collide and purging one leaves the other alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DELIVERABLES = Path("deliverables")
SESSION_PREFIX = "oct"


def safe_name(text: str) -> str:
    """A name usable in screen session names, Slurm job names and file names."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return cleaned or "experiment"


@dataclass(frozen=True)
class ExperimentPaths:
    """Where an experiment's files live, here and on the nodes, and what its sessions are called."""

    name: str
    local_root: Path = DELIVERABLES

    @property
    def key(self) -> str:
        return safe_name(self.name)

    @property
    def deliverables(self) -> Path:
        return self.local_root / self.key

    def node_dir(self, node: str) -> Path:
        return self.deliverables / safe_name(node)

    @property
    def log_dir(self) -> Path:
        return self.deliverables / "logs"

    def stage_log(self, stage: str, when: datetime | None = None) -> Path:
        moment = when or datetime.now(timezone.utc)
        return self.log_dir / f"{stage}-{moment:%Y%m%dT%H%M%S%fZ}.log"

    @property
    def session_prefix(self) -> str:
        """Every screen session and Slurm job of this experiment starts with this."""
        return f"{SESSION_PREFIX}-{self.key}-"

    def worker_session(self, worker: int) -> str:
        return f"{self.session_prefix}s{worker}"

    def step_session(self, number: int) -> str:
        return f"{self.session_prefix}cmd{number}"

    @property
    def remote_run_dir(self) -> str:
        """The experiment's own directory on a node, relative to the login directory."""
        return f".octopus/{self.key}"
