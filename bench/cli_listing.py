"""Listing the tasks: `inv --list` in a project whose tasks.py takes octopus' collection,
beside `fab --list` in a project with a one-task fabfile (Fabric's own command line, which
imports paramiko to list). Both are whole processes from this checkout's virtualenv, run in
turns; medians of --runs. Listing connects nowhere, so octopus loads no stage, node or SSH
code for it (cli/tasks.py).

    .venv/bin/python bench/cli_listing.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = "from octopus.tasks import ns\n"
FABFILE = 'from fabric import task\n\n\n@task\ndef deploy(c):\n    "Deploy."\n    c.run("true")\n'


def timed(argv: list[str], cwd: Path) -> float:
    began = time.monotonic()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        octopus_project, fabric_project = Path(tmp, "octopus"), Path(tmp, "fabric")
        octopus_project.mkdir()
        fabric_project.mkdir()
        (octopus_project / "tasks.py").write_text(TASKS)
        (fabric_project / "fabfile.py").write_text(FABFILE)
        runs: dict[str, list[float]] = {"inv": [], "fab": []}
        for _ in range(args.runs):
            runs["inv"].append(timed([str(bin_dir / "inv"), "--list"], octopus_project))
            runs["fab"].append(timed([str(bin_dir / "fab"), "--list"], fabric_project))
    inv, fab = (statistics.median(runs[k]) for k in ("inv", "fab"))
    print(f"| listing the tasks (medians of {args.runs}) | seconds |")
    print("|---|---|")
    print(f"| octopus `inv --list` | {inv:.3f} |")
    print(f"| Fabric `fab --list` | {fab:.3f} |")
    print(f"| octopus / Fabric | {inv / fab:.2f}x |")


if __name__ == "__main__":
    main()
