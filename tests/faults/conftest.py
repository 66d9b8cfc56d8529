"""The fault suite: real faults on real test hosts, each test one row of the table that
bench/faults.py prints (fault | nodes | expected | observed | time to detect | commands lost |
commands run twice). Rows go to the file named by OCTOPUS_FAULT_TABLE, one JSON object a line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pytest

from octopus.testing.sshhosts import TestHost

TABLE_ENV = "OCTOPUS_FAULT_TABLE"


@dataclass
class FaultRow:
    fault: str
    nodes: int
    expected: str
    observed: str
    detect_seconds: float | None
    lost: int
    run_twice: int
    twice_reported: int


@pytest.fixture
def record_fault() -> Callable[[FaultRow], None]:
    def record(row: FaultRow) -> None:
        path = os.environ.get(TABLE_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(row)) + "\n")

    return record


def ran_on(host: TestHost) -> list[int]:
    """The command numbers a host's commands wrote to ~/ran.txt as they finished."""
    path = host.home / "ran.txt"
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def count_runs(ran: list[int], total: int) -> tuple[int, set[int]]:
    """(commands never finished, commands finished more than once)."""
    lost = len(set(range(total)) - set(ran))
    return lost, {n for n in ran if ran.count(n) > 1}
