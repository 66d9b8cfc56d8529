"""Shared fixtures: real SSH test hosts (started here, stopped by PID) and inventory writers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from octopus.testing.sshhosts import TestCluster

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cluster() -> Iterator[TestCluster]:
    """Four independent hosts shared by tests that do not break them."""
    with TestCluster(4) as started:
        yield started


@pytest.fixture
def make_cluster() -> Iterator[object]:
    """Start a private cluster for a test that kills or changes hosts."""
    started: list[TestCluster] = []

    def make(count: int, **options: object) -> TestCluster:
        c = TestCluster(count, **options)  # type: ignore[arg-type]
        started.append(c)
        c.start()
        return c

    yield make
    for c in started:
        c.stop()


def write_inventory(
    path: Path, nodes: dict[str, dict[str, object]], defaults: dict[str, object] | None = None
) -> Path:
    data: dict[str, object] = {"nodes": nodes}
    if defaults:
        data["defaults"] = defaults
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_inv(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `inv ...` the way a user does, from the checkout (its tasks.py)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
