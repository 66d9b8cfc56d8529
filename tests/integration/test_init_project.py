"""A new project, as a new user makes one: `octopus init` in an empty folder, then the run it
suggests, on this machine's `local` node; and `inv` reads the tasks.py it wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_an_initialised_project_runs_its_example(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    assert run(sys.executable, "-m", "octopus", "init").returncode == 0
    done = run(sys.executable, "-m", "octopus", "run", "--exp=example", "--interval", "0.3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "example finished in" in done.stdout and "4 done, 0 failed" in done.stdout
    inv = shutil.which("inv", path=str(Path(sys.executable).parent))
    assert inv is not None
    listed = run(inv, "--list")
    assert listed.returncode == 0 and "hello" in listed.stdout and "run" in listed.stdout
    assert run(inv, "hello").stdout.strip() == "hello from this project's tasks.py"
