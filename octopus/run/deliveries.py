"""The experiment's local record of what each node has: the delivery it took last.

Experiments may share a name on disjoint nodes (the original's way: one Experiment per node,
all with one folder name), and a delivery may go to some of an experiment's nodes only. So
the record is kept per node: a new delivery takes over the nodes it went to and leaves every
other node's delivery as it was. Command ids stay unique across the record, so one ledger
holds the state of every node's commands.

Kept in deliverables/<exp>/manifest.json as a list of manifests, each with the nodes it still
holds; a file written before this record (one manifest) reads as a single delivery.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octopus.errors import OctopusError
from octopus.localfiles import compact_json, local_file_errors, make_folder, write_atomically
from octopus.run.layout import PLANS_DIR
from octopus.run.manifest import Manifest
from octopus.run.plan_model import Plan, columns_text


@dataclass
class Deliveries:
    """Each node's current delivery (a Manifest holding that node's share)."""

    experiment: str
    manifests: list[Manifest] = field(default_factory=list)

    @classmethod
    def of_one(cls, manifest: Manifest) -> Deliveries:
        return cls(manifest.experiment, [manifest])

    def of(self, node: str) -> Manifest:
        """The delivery a node holds; OctopusError naming the fix when it holds none."""
        for manifest in self.manifests:
            if node in manifest.launchers:
                return manifest
        raise OctopusError(f"not part of the delivery: {node}; deliver to it first")

    def holds(self, node: str) -> bool:
        return any(node in m.launchers for m in self.manifests)

    @property
    def nodes(self) -> list[str]:
        """Every node with a delivery, in the order the deliveries were made."""
        return [n for m in self.manifests for n in m.nodes]

    @property
    def by_node(self) -> dict[str, str]:
        """node -> the id of the delivery it holds."""
        return {n: m.delivery for m in self.manifests for n in m.launchers}

    @property
    def plan(self) -> Plan:
        """All deliveries' workers as one plan (the same WorkerPlan objects: a change to a
        part is a change to its delivery)."""
        latest = self.manifests[-1].plan if self.manifests else Plan(prefix="", seed=0)
        return Plan(
            prefix=latest.prefix,
            seed=latest.seed,
            parts=[p for m in self.manifests for p in m.plan.parts],
        )

    @property
    def latest(self) -> Manifest | None:
        return self.manifests[-1] if self.manifests else None

    def next_id(self, leaving: Iterable[str]) -> int:
        """The first command id a delivery to `leaving` may use: past every id that stays."""
        gone = set(leaving)
        return (
            max(
                (
                    max(p.ids)
                    for m in self.manifests
                    for p in m.plan.parts
                    if p.ids and p.worker.node not in gone
                ),
                default=-1,
            )
            + 1
        )

    def take_over(self, new: Manifest, dropping: Iterable[str] = ()) -> None:
        """`new` holds its nodes from now on; older deliveries lose them (and `dropping`),
        and a delivery left with no node is forgotten."""
        gone = set(new.launchers) | set(dropping)
        for manifest in self.manifests:
            manifest.drop_nodes(gone)
        self.manifests = [m for m in self.manifests if m.launchers] + [new]

    def write(
        self, path: Path, *, plans: Path | None = None, encoded: dict[str, list[str]] | None = None
    ) -> None:
        """Write the record: each delivery's commands into a file of their own in the plans
        folder (`plans`, beside `path` unless the record is written elsewhere to be moved
        there): a new file for a plan read or changed here, the old one for a plan left
        unread. Then the record naming them, atomically; written in place, it then drops
        the files no record names (`tidy_plans`). A crash at any point leaves a whole record
        that names whole files. `encoded`: delivery id -> its plan's `encoded_parts`, when the
        caller has them already (deliver wrote them into the nodes' manifests)."""
        in_place = plans is None
        plans = plans or path.parent / PLANS_DIR
        entries = []
        for manifest in self.manifests:
            plan = manifest.plan
            name = manifest.commands_file
            if plan.loaded or not name:
                name = f"{manifest.delivery}-{secrets.token_hex(4)}.json"
                make_folder(plans)
                parts = (encoded or {}).get(manifest.delivery)
                write_atomically(plans / name, columns_text(plan, parts))
            entries.append({**manifest.header(), "plan": {**plan.header(), "commands_file": name}})
        write_atomically(path, compact_json({"experiment": self.experiment, "deliveries": entries}))
        for manifest, entry in zip(self.manifests, entries, strict=True):
            manifest.commands_file = entry["plan"]["commands_file"]
        if in_place:
            self.tidy_plans(plans)

    def tidy_plans(self, plans: Path) -> None:
        """Remove the commands files of the plans folder this record does not name."""
        named = {m.commands_file for m in self.manifests}
        for old in plans.glob("*.json") if plans.is_dir() else []:
            if old.name not in named:
                with local_file_errors(old):
                    old.unlink(missing_ok=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], plans: Path | None = None) -> Deliveries:
        """The record `write` (or an earlier version) left; `plans`: the folder of the
        commands files it names, read when a plan's commands are first asked for."""
        if "deliveries" not in data:  # one manifest, as written before this record
            manifest = Manifest.from_dict(data)
            return cls(manifest.experiment, [manifest])
        return cls(
            data["experiment"],
            [Manifest.from_dict(m, _commands_reader(m, plans)) for m in data["deliveries"]],
        )

    @classmethod
    def read(cls, path: Path) -> Deliveries:
        try:
            return cls.from_dict(json.loads(path.read_text()), path.parent / PLANS_DIR)
        except FileNotFoundError:
            raise OctopusError(f"{path} not found: run `inv deliver` first") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise OctopusError(f"{path} is damaged ({exc}); deliver again") from None

    def grid_params(self) -> list[tuple[int, str]]:
        """(id, its grid parameters as a JSON object) of every command that has them."""
        rows = []
        for manifest in self.manifests:
            for part in manifest.plan.parts if manifest.params else ():
                for ident, index in zip(part.ids, part.command_indices, strict=True):
                    if found := manifest.params_of(index):
                        rows.append((ident, json.dumps(found, sort_keys=True)))
        return rows

    @property
    def in_one_file(self) -> bool:
        """Whether some delivery's commands are in the record itself (as earlier versions
        wrote it): every read then reads them all, until the record is written again."""
        return any(not m.commands_file for m in self.manifests)

    @classmethod
    def read_or_empty(cls, path: Path, experiment: str) -> Deliveries:
        """The record, or an empty one before the first delivery."""
        return cls.read(path) if path.is_file() else cls(experiment)


def _commands_reader(
    data: dict[str, Any], plans: Path | None
) -> Callable[[], list[dict[str, Any]] | dict[str, Any]] | None:
    """How to read a manifest's commands from its own file (None: they are in `data`)."""
    name = data["plan"].get("commands_file")
    if not name or "commands" in data["plan"]:
        return None
    if plans is None:
        raise KeyError("commands_file without a plans folder")
    path = plans / name

    def read() -> list[dict[str, Any]] | dict[str, Any]:
        try:
            commands = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise OctopusError(f"{path} not found: deliver again") from None
        except ValueError as exc:
            raise OctopusError(f"{path} is damaged ({exc}); deliver again") from None
        if not isinstance(commands, (list, dict)):
            raise OctopusError(f"{path} is damaged (not a plan's commands); deliver again")
        return commands

    return read
