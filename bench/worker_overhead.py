"""A worker's own cost per command: 2,000 `true` commands through a rendered worker script
(start, end and exit code in its events file, stdout to logs/<id>.out, stderr to
logs/<id>.err, both to its output_screen once the command ends; and again with live_output,
where the stdout reaches output_screen as it comes), beside GNU parallel running the same
commands with `-j1 --joblog`, and a bare bash loop keeping the same records with builtins only
(a subshell per command, its stdout and stderr to the command's two files alone). Everything
runs locally under bash in a temporary HOME, one worker; medians of --runs, the runners taking
turns so that a busy machine weighs on each alike.

    .venv/bin/python bench/worker_overhead.py [--runs 5] [--commands 2000] [--queue]

`--queue` renders the worker as a node's shared queue does (it claims each command first).

GNU parallel comes from the system (apt-get install parallel); without it, its row is skipped.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from octopus import Node
from octopus.run.events import parse_events
from octopus.run.generators import distribute_exp_scripts
from octopus.run.plan import build_plan
from octopus.run.worker_script import render_script

BARE_LOOP = r"""
mkdir -p state logs
bare() {
  printf '%s\t%s\t%s\t%s\n' start "$1" "$EPOCHREALTIME" "$HOSTNAME" >> state/s0.events
  ( eval "$2" ) > "logs/$1.out" 2> "logs/$1.err"
  printf '%s\t%s\t%s\t%s\n' end "$1" "$EPOCHREALTIME" "$?" >> state/s0.events
}
"""


def octopus_script(commands: list[str], queue: bool = False, live: bool = False) -> str:
    nodes = [Node(test_connection=False, ssh_hostname="bench", num_parallel_screens_or_jobs=1)]
    plan = build_plan(
        commands, "", nodes, exp_script_gen=functools.partial(distribute_exp_scripts, shuffle=False)
    )
    return render_script(
        plan.parts[0],
        "",
        experiment="bench",
        run_dir="run",
        delivery="D",
        queue=[] if queue else None,
        live_output=live,
    )


def bare_script(commands: list[str]) -> str:
    return BARE_LOOP + "".join(f"bare {i} '{text}'\n" for i, text in enumerate(commands))


def timed(argv: list[str], home: Path) -> float:
    """Seconds for one run in a fresh HOME, its output to a file as a launcher sends it."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    with open(home / "output_screen0", "wb") as out:
        began = time.perf_counter()
        subprocess.run(argv, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--queue", action="store_true", help="claim each command first")
    args = parser.parse_args()
    commands = ["true"] * args.commands
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "octopus.sh").write_text(octopus_script(commands, args.queue))
        (root / "live.sh").write_text(octopus_script(commands, args.queue, live=True))
        (root / "bare.sh").write_text(bare_script(commands))
        (root / "commands.txt").write_text("".join(c + "\n" for c in commands))
        home = root / "home"
        runners: dict[str, Callable[[], float]] = {
            "octopus worker script": lambda: timed(["bash", str(root / "octopus.sh")], home),
            "octopus, live_output": lambda: timed(["bash", str(root / "live.sh")], home),
            "GNU parallel -j1 --joblog": lambda: timed(
                ["sh", "-c", f"parallel -j1 --joblog joblog < {root}/commands.txt"], home
            ),
            "bare bash loop (builtins, same records)": lambda: timed(
                ["bash", str(root / "bare.sh")], home
            ),
        }
        if shutil.which("parallel") is None:
            del runners["GNU parallel -j1 --joblog"]
            print("(GNU parallel not installed: its row is skipped)")
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.runs):
            for name, run in runners.items():
                times[name].append(run())
                if name.startswith("octopus"):
                    events = parse_events((home / "run/state/s0.events").read_text())
                    codes = [a[-1].exit_code for a in events.attempts.values()]
                    assert events.finished and codes == [0] * args.commands, "worker failed"
        per_command = {
            name: statistics.median(t) * 1000 / args.commands for name, t in times.items()
        }
    ours = per_command["octopus worker script"]
    print(
        f"| runner ({args.commands:,} `true` commands, one worker, medians of {args.runs}) "
        "| ms per command | octopus / this |"
    )
    print("|---|---|---|")
    for name, ms in per_command.items():
        print(f"| {name} | {ms:.2f} ms | {ours / ms:.2f}x |")


if __name__ == "__main__":
    main()
