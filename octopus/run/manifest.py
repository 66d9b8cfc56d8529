"""The record of a delivery: which command went to which node and worker, with what seed,
from which commit. Written beside the scripts in deliverables/<exp>/ and sent to each node."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from octopus.localfiles import compact_json
from octopus.run.layout import delivery_dir
from octopus.run.plan_model import Plan, WorkerPlan, encoded_parts
from octopus.run.schedule import FIXED
from octopus.run.workers import Worker


def new_delivery_id() -> str:
    """Sortable and unique: UTC time plus a few random characters."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass
class Manifest:
    experiment: str
    delivery: str
    plan: Plan
    launchers: dict[str, str]
    run_root: str
    stop_on_error: bool = False
    git: dict[str, Any] = field(default_factory=dict)
    slurm: dict[str, Any] = field(default_factory=dict)
    run_exp: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    # The nodes that confirmed they switched to this delivery (None: every node of the plan,
    # as manifests written before this field was kept mean).
    delivered: list[str] | None = None
    # Commands a rebalance moved off a node that did not answer: node -> their ids. Such a
    # node is fenced: its workers stop once octopus reaches it again, and whatever of these it
    # still finished is reported as run twice.
    moved: dict[str, list[int]] = field(default_factory=dict)
    # Each command's time limit in seconds (None: none) and how often a failed one reruns.
    command_timeout: float | None = None
    command_retries: int = 0
    # output_screen<i> shows a command's stdout as it comes, not once it ends (worker_script).
    live_output: bool = False
    # The checkout's id in the delivery's remote names ("": made before ids were kept).
    scope: str = ""
    # The file in the record's plans folder its commands were read from ("": none yet).
    commands_file: str = field(default="", compare=False)
    # How a node's workers share its commands (schedule.py); earlier deliveries were fixed.
    schedule: str = FIXED
    # Commands another node's idle workers took from this node's queue (`--steal`): node ->
    # their ids. The node's claims on them were taken first, so it never runs them itself.
    stolen: dict[str, list[int]] = field(default_factory=dict)
    # Each experiment command's grid parameters (run/grid.py), by its index in the
    # experiment's list (a command's `command_index`); empty without a grid.
    params: list[dict[str, Any]] = field(default_factory=list)
    # How many commands it kept from earlier deliveries (a re-run, run/rerun.py), and when
    # the first of them started (None: it kept none): their results are older than it. The
    # count is its parts' `kept` added up, kept here too so that the summary line reads it
    # from the record's header, without reading a million commands' plan.
    kept: int = 0
    kept_since: float | None = None
    # The CPUs and GPUs of the nodes whose workers follow them (`auto`, `gpus_per_worker`),
    # as deliver counted them: node -> {"cpus": n, "gpus": n} (hardware.Hardware).
    hardware: dict[str, dict[str, int]] = field(default_factory=dict)

    def params_of(self, command_index: int | None) -> dict[str, Any]:
        """A command's grid parameters ({} without a grid)."""
        if command_index is None or not 0 <= command_index < len(self.params):
            return {}
        return self.params[command_index]

    @property
    def made(self) -> float | None:
        """When it was made, in seconds (None: its record does not say)."""
        try:
            return datetime.fromisoformat(self.created).timestamp()
        except ValueError:
            return None

    @property
    def began(self) -> float | None:
        """When its commands began: its making, or the start of the first command it kept
        from earlier deliveries (None: unknown)."""
        made = self.made
        if made is None or self.kept_since is None:
            return made
        return min(made, self.kept_since)

    @property
    def settings(self) -> dict[str, Any]:
        return {"slurm": self.slurm, "run_exp": self.run_exp}

    @property
    def run_dir(self) -> str:
        """Where this delivery lives on every node, relative to the login directory."""
        return delivery_dir(self.run_root, self.delivery)

    def as_dict(self) -> dict[str, Any]:
        return {**self.header(), "plan": self.plan.as_dict()}

    def header(self) -> dict[str, Any]:
        """All but the plan."""
        return {
            "experiment": self.experiment,
            "delivery": self.delivery,
            "created": self.created,
            "seed": self.plan.seed,
            "git": self.git,
            "run_root": self.run_root,
            "stop_on_error": self.stop_on_error,
            "launchers": self.launchers,
            "slurm": self.slurm,
            "run_exp": self.run_exp,
            "delivered": self.delivered,
            "moved": self.moved,
            "command_timeout": self.command_timeout,
            "command_retries": self.command_retries,
            "live_output": self.live_output,
            "scope": self.scope,
            "schedule": self.schedule,
            "stolen": self.stolen,
            "params": self.params,
            "kept": self.kept,
            "kept_since": self.kept_since,
            "hardware": self.hardware,
        }

    def node_shares(self, parts: list[str] | None = None) -> dict[str, str]:
        """Each node's manifest as JSON text: the header with its own launcher and hardware,
        its workers, and their commands as the plans folder keeps them (`parts`: the plan's
        `encoded_parts`, when the caller has them already)."""
        parts = parts or encoded_parts(self.plan)
        header, plan = self.header(), self.plan.header()
        mine: dict[str, list[int]] = {}
        for index, part in enumerate(self.plan.parts):
            mine.setdefault(part.worker.node, []).append(index)
        shares = {}
        for node, indices in mine.items():
            head = compact_json(
                {
                    **header,
                    "launchers": {node: self.launchers[node]},
                    "hardware": {k: v for k, v in self.hardware.items() if k == node},
                    "plan": {**plan, "workers": [plan["workers"][i] for i in indices]},
                }
            )
            # "plan" comes last: its object and the manifest's close the text (`}}`).
            own = ",".join(parts[i] for i in indices)
            shares[node] = f'{head[:-2]},"parts":[{own}]}}}}'
        return shares

    def workers_of(self, node: str) -> list[Worker]:
        """The node's workers, without reading the plan's commands."""
        return [w for w in self.plan.workers if w.node == node]

    def workers_on(self, node: str) -> list[WorkerPlan]:
        """The node's workers with their commands, in plan order."""
        return [p for p in self.plan.parts if p.worker.node == node]

    @property
    def nodes(self) -> list[str]:
        """The nodes this delivery was planned for, in plan order."""
        return list(dict.fromkeys(w.node for w in self.plan.workers))

    @property
    def undelivered(self) -> list[str]:
        """Planned nodes that did not confirm this delivery: they kept their previous one."""
        if self.delivered is None:
            return []
        return [n for n in self.nodes if n not in self.delivered]

    def drop_nodes(self, nodes: set[str]) -> None:
        """Forget these nodes: another delivery took them over."""
        if any(w.node in nodes for w in self.plan.workers):
            self.plan.parts = [p for p in self.plan.parts if p.worker.node not in nodes]
        self.launchers = {n: kind for n, kind in self.launchers.items() if n not in nodes}
        self.moved = {n: ids for n, ids in self.moved.items() if n not in nodes}
        self.stolen = {n: ids for n, ids in self.stolen.items() if n not in nodes}
        self.hardware = {n: found for n, found in self.hardware.items() if n not in nodes}
        if self.delivered is not None:
            self.delivered = [n for n in self.delivered if n not in nodes]

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        commands: Callable[[], list[dict[str, Any]] | dict[str, Any]] | None = None,
    ) -> Manifest:
        """The manifest `as_dict` gave; with `commands`, its plan's commands come from there
        when first asked for (Plan.from_dict)."""
        return cls(
            experiment=data["experiment"],
            delivery=data["delivery"],
            plan=Plan.from_dict(data["plan"], commands),
            launchers=data["launchers"],
            run_root=data["run_root"],
            stop_on_error=data.get("stop_on_error", False),
            git=data.get("git", {}),
            slurm=data.get("slurm", {}),
            run_exp=data.get("run_exp", {}),
            created=data.get("created", ""),
            delivered=data.get("delivered"),
            moved=data.get("moved", {}),
            command_timeout=data.get("command_timeout"),
            command_retries=data.get("command_retries", 0),
            live_output=data.get("live_output", False),
            scope=data.get("scope", ""),
            commands_file=data["plan"].get("commands_file", ""),
            schedule=data.get("schedule", FIXED),
            stolen=data.get("stolen", {}),
            params=data.get("params", []),
            kept=data.get("kept", 0),
            kept_since=data.get("kept_since"),
            hardware=data.get("hardware", {}),
        )
