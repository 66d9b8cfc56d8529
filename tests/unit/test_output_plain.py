"""A stage's output to a pipe, a file or cron is plain text written as it is, without rich;
what a local step prints inside the stage goes to where stdout was when the output was made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from octopus.output import StageOutput, printed_to

TO_A_PIPE = """
import sys
from octopus.output import StageOutput
out = StageOutput()
out.note("deliver: 3 nodes ok in 1.0s")
out.detail("deliver: 6 worker(s) on 3 node(s)")
out.lines("h1", ["first\\tline", "second"])
with out.progress(["h1", "h2"]) as view:
    view.update("h1", "connecting")
print("rich loaded" if "rich" in sys.modules else "no rich")
"""


def test_a_stage_to_a_pipe_writes_plain_lines_without_rich() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_INTERACTIVE")}
    done = subprocess.run(
        [sys.executable, "-c", TO_A_PIPE], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "deliver: 3 nodes ok in 1.0s",
        "deliver: 6 worker(s) on 3 node(s)",
        "h1: first\tline",
        "h1: second",
        "no rich",
    ]


def test_force_color_leaves_the_choice_to_rich() -> None:
    env = {**os.environ, "FORCE_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", TO_A_PIPE], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith("rich loaded")  # after the live view
    assert "deliver: 3 nodes ok in 1.0s" in done.stdout


def test_what_a_step_prints_inside_the_stage_is_a_note_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "stage.log"
    out = StageOutput(log_path=log)
    with printed_to(out):
        print("from a local step")
    out.close()
    assert capsys.readouterr().out == "from a local step\n"
    assert log.read_text() == "from a local step\n"


def test_where_rich_is_told_there_is_no_terminal_every_line_is_plain() -> None:
    env = {**os.environ, "TTY_COMPATIBLE": "0"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", TO_A_PIPE], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:4] == [
        "deliver: 3 nodes ok in 1.0s",
        "deliver: 6 worker(s) on 3 node(s)",
        "h1: first\tline",
        "h1: second",
    ]
