"""The fault suite as a table: runs tests/faults on real test hosts and prints one row per
fault: what was expected, what was observed, how long detection took, and how many commands
were lost or ran twice (and how many of those were reported). Lost must be 0, and every
command that ran twice must be reported.

Run as root from the checkout:
    .venv/bin/python bench/faults.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "faults.jsonl"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/faults"],
            cwd=REPO,
            env={**os.environ, "OCTOPUS_FAULT_TABLE": str(table)},
            capture_output=True,
            text=True,
        )
        rows = (
            [json.loads(line) for line in table.read_text().splitlines()] if table.exists() else []
        )
    print(
        "| fault | nodes | expected | observed | time to detect | commands lost "
        "| commands run twice (reported) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        detect = "" if r["detect_seconds"] is None else f"{r['detect_seconds']:.2f} s"
        print(
            f"| {r['fault']} | {r['nodes']} | {r['expected']} | {r['observed']} | {detect} | "
            f"{r['lost']} | {r['run_twice']} ({r['twice_reported']}) |"
        )
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
