"""What the CLI prints, driven under a real pseudo-terminal (util-linux `script`) and through a
pipe: one line per stage that went well, the table when one did not, colours only where rich
decides they belong (NO_COLOR, FORCE_COLOR), ASCII tables off a terminal and with --plain,
and a stage log only when the stage had something to say."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

# A colour (foreground 30-37, 90-97, or 256/true colour), not bold or other styles.
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]")
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = "┃┏┡│└"  # a table's frame (a progress bar is drawn with ━)


def project(folder: Path, setup: str = "true") -> Path:
    (folder / "nodes.yaml").write_text("nodes:\n  here: {local: true, launcher: process}\n")
    (folder / "experiments").mkdir()
    experiment = {
        "experiment_commands": [f"echo {i}" for i in range(4)],
        "setup_steps": [{"Cmd": {"cmd": setup}}],
    }
    (folder / "experiments" / "t.yaml").write_text(yaml.safe_dump(experiment))
    return folder


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": "120", **extra}


def in_terminal(args: list[str], cwd: Path, **env: str) -> tuple[int, str]:
    """Run `python -m octopus ARGS` under a pseudo-terminal; (exit code, what it showed)."""
    script = shutil.which("script")
    assert script is not None, "util-linux script is needed (scripts/setup.sh installs it)"
    command = shlex.join([sys.executable, "-m", "octopus", *args])
    done = subprocess.run(
        [script, "-qec", command, "/dev/null"],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        timeout=180,
    )
    return done.returncode, done.stdout.decode(errors="replace")


def piped(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def screen_lines(shown: str) -> list[str]:
    """The lines left on the screen once the live views were drawn over and erased: the
    terminal's cursor moves (newline, carriage return, up, erase line) played on a list of
    rows; other escapes are styles. Blank rows dropped."""
    rows = [""]
    row = col = 0
    for piece in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", shown):
        if piece == "\n":
            row, col = row + 1, 0
            rows.extend([""] * (row + 1 - len(rows)))
        elif piece == "\r":
            col = 0
        elif piece.startswith("\x1b["):
            if piece.endswith("A"):
                row = max(0, row - int(piece[2:-1] or 1))
            elif piece == "\x1b[2K":
                rows[row] = ""
        elif piece:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + piece + line[col + len(piece) :]
            col += len(piece)
    return [r.strip() for r in rows if r.strip()]


def test_a_run_that_goes_well_is_a_line_per_stage_in_colour(workdir: Path) -> None:
    code, shown = in_terminal(["run", "--exp", "t", "--interval", "0.2"], project(workdir))
    assert code == 0, shown
    lines = screen_lines(shown)
    assert lines[:3] == [
        f"{stage}: 1 node ok in {lines[i].rsplit(' ', 1)[-1]}"
        for i, stage in enumerate(("setup", "deliver", "start"))
    ]
    assert lines[-1].startswith("t finished in") and "4 done, 0 failed, 0 lost" in lines[-1]
    assert len(lines) <= 8, lines  # setup, deliver, start, check-errors, pickup, the summary
    assert not any(ch in shown for ch in BOX)  # no stage table
    assert "\x1b[1m" in shown  # rich styles a terminal
    logs = list((workdir / "deliverables" / "t" / "logs").glob("run-*.log"))
    assert len(logs) == 1 and "setup: 1 node ok" in logs[0].read_text()
    assert "[1 Cmd]" in logs[0].read_text()  # the log has every node's lines


def test_a_stage_that_fails_shows_its_table_and_no_colour_with_no_color(workdir: Path) -> None:
    project(workdir, setup="echo broken >&2; exit 3")
    code, shown = in_terminal(["setup", "--exp", "t"], workdir)
    assert code == 1
    assert COLOUR.search(shown), "a failure is red on a terminal"
    assert "┃" in shown and "broken" in shown and "failed" in shown
    log = next((workdir / "deliverables" / "t" / "logs").glob("setup-*.log")).read_text()
    assert "| here" in log and "broken" in log  # the table, in ASCII, is in the log too

    code, shown = in_terminal(["setup", "--exp", "t"], workdir, NO_COLOR="1")
    assert code == 1 and "broken" in shown
    assert not COLOUR.search(shown), "NO_COLOR is obeyed on a terminal"

    code, shown = in_terminal(["setup", "--exp", "t", "--plain"], workdir)
    assert code == 1 and "| here" in shown and not any(ch in shown for ch in BOX)


def test_off_a_terminal_tables_are_ascii_unless_colour_is_forced(workdir: Path) -> None:
    project(workdir, setup="exit 4")
    done = piped(["setup", "--exp", "t"], workdir)
    assert done.returncode == 1
    assert "| here" in done.stdout and not any(ch in done.stdout for ch in BOX)
    assert "\x1b" not in done.stdout
    forced = piped(["setup", "--exp", "t"], workdir, FORCE_COLOR="1")
    assert COLOUR.search(forced.stdout), "FORCE_COLOR is obeyed in a pipe"


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_shows_every_line_and_the_table(workdir: Path, verbose: bool) -> None:
    project(workdir)
    args = ["setup", "--exp", "t"] + (["--verbose"] if verbose else [])
    done = piped(args, workdir)
    assert done.returncode == 0
    assert ("here: [1 Cmd]" in done.stdout) is verbose
    assert ("| here" in done.stdout) is verbose
    assert done.stdout.splitlines()[-1 if not verbose else 0] != ""


def test_a_monitor_with_nothing_to_say_leaves_no_log(workdir: Path) -> None:
    project(workdir)
    assert piped(["run", "--exp", "t", "--interval", "0.2"], workdir).returncode == 0
    logs = workdir / "deliverables" / "t" / "logs"
    before = sorted(p.name for p in logs.glob("*.log"))
    for _ in range(3):
        done = piped(["monitor", "--exp", "t"], workdir)
        assert done.returncode == 0 and "t finished in" in done.stdout
    assert sorted(p.name for p in logs.glob("*.log")) == before
