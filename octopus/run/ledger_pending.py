"""What a ledger holds of commands nothing has been seen of yet: each is pending where its
delivery put it.

A first monitor of a delivery of 320,000 commands knows nothing of them but the plan. Made
one object each up front, they took seconds before a node was even asked; here they come
from the plan's lists when asked for (a few ids, one node's, or every row to store).
"""

from __future__ import annotations

from operator import itemgetter

from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.ledger_store import Row, row_of

_PENDING = CommandState.PENDING


class PendingCommands:
    """The record's commands, all pending where its plan put them."""

    def __init__(self, record: Deliveries) -> None:
        self._record = record
        self._where: dict[int, tuple[str, int, str]] | None = None

    def _places(self) -> dict[int, tuple[str, int, str]]:
        """id -> (node, worker, command), made on first need."""
        if self._where is None:
            self._where = {
                ident: (part.worker.node, part.worker.job_id, text)
                for part in self._record.plan.parts
                for ident, text in zip(part.ids, part.commands, strict=True)
            }
        return self._where

    def get(self, ident: int) -> CommandStatus | None:
        place = self._places().get(ident)
        if place is None:
            return None
        return CommandStatus(ident, place[0], place[1], place[2], _PENDING)

    def of_node(self, node: str) -> dict[int, CommandStatus]:
        """The node's commands, by id."""
        return {
            ident: CommandStatus(ident, node, part.worker.job_id, text, _PENDING)
            for part in self._record.plan.parts
            if part.worker.node == node
            for ident, text in zip(part.ids, part.commands, strict=True)
        }

    def statuses(self) -> dict[int, CommandStatus]:
        """Every command's status, by id."""
        commands: dict[int, CommandStatus] = {}
        for part in self._record.plan.parts:  # the plan's lists, no Entry per command
            node, job = part.worker.node, part.worker.job_id
            for ident, text in zip(part.ids, part.commands, strict=True):
                commands[ident] = CommandStatus(ident, node, job, text, _PENDING)
        return commands

    def rows(self, changes: dict[int, CommandStatus]) -> list[Row]:
        """Every command's row, by id: `changes` where they have one, pending elsewhere."""
        rows: list[Row] = []
        add = rows.append
        for part in self._record.plan.parts:
            node, job = part.worker.node, part.worker.job_id
            for ident, text in zip(part.ids, part.commands, strict=True):
                if ident not in changes:
                    add((ident, node, job, text, "pending", None, None, None, 0, "", ""))
        rows += (row_of(status) for status in changes.values())
        rows.sort(key=itemgetter(0))
        return rows
