"""run_exp: which listings leave a node free, and the exact argv octopus starts it with."""

from __future__ import annotations

import shlex

import pytest

from octopus.launchers.run_exp import RunExpLauncher, RunExpOptions, judge_reservations
from octopus.run.layout import ExperimentPaths
from octopus.run.workers import Worker


@pytest.mark.parametrize(
    ("listing", "available", "own"),
    [
        ("", True, False),
        ("bob Start: 10:00 numa 0 EXCLUSIVE: training", False, False),
        ("bob Start: 10:00 numa 1 SHARED: sweep", False, False),
        ("alice Start: 10:00 numa 1 SHARED: sweep", True, False),
        ("alice Start: 10:00 numa 1 SHARED: a\nbob Start: 11:00 numa 0 SHARED: b", False, False),
        ("me Start: 09:00 numa 0 SHARED: mine", True, True),
        ("me Start: 09:00 numa 0 EXCLUSIVE: mine", False, True),
        ("No reservations.", True, False),
    ],
)
def test_judge_reservations(listing: str, available: bool, own: bool):
    verdict = judge_reservations(listing, ["alice"], "me")
    assert (verdict.available, verdict.own_running) == (available, own)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (RunExpOptions(message="Zero-Shot"), ["-m", "Zero-Shot (Socket 1)", "--numa", "1"]),
        (
            RunExpOptions(message="m", exclusive=True, pin=True, expected_time="30:13"),
            ["-m", "m (Socket 1)", "--numa", "1", "--exclusive", "--pin", "--time", "30:13"],
        ),
        (
            RunExpOptions(message="m", numa_socket=0, pin=True),
            ["-m", "m (Socket 0)", "--numa", "0", "--pin"],
        ),
    ],
)
def test_run_exp_argv(options: RunExpOptions, expected: list[str]):
    assert options.argv(1, "CMD") == ["run_exp", *expected, "CMD"]


def test_start_command_quotes_a_message_with_quotes_and_dollars():
    launcher = RunExpLauncher(ExperimentPaths("zs"))
    launcher.options = RunExpOptions(message='it\'s $HOME "quoted"', exclusive=True)
    command = launcher.start_command(
        ".octopus/zs/deliveries/D", Worker("n", 0, 0, 1), "run_exp_s0.sh"
    )
    screen = shlex.split(command.split(" && ", 1)[1])
    assert screen[:5] == ["screen", "-d", "-m", "-S", "oct-zs-s0"]
    assert screen[5:] == [
        "run_exp",
        "-m",
        'it\'s $HOME "quoted" (Socket 1)',
        "--numa",
        "1",
        "--exclusive",
        "./run_exp_s0.sh >> output_screen0 2>&1",
    ]
