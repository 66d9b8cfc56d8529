"""Command logs on a real host: each command's stdout and stderr are kept apart (<id>.out,
<id>.err) while the worker's output has both; `inv logs` prints them from the node under a
header (the failed ones by default, or the ids given), the stderr after a `-- stderr --` line,
and `inv pickup` brings every one of them home to deliverables/<exp>/logs/<node>/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from octopus.run.deliveries import Deliveries
from octopus.run.ledger import Ledger
from octopus.testing.sshhosts import TestCluster
from tests.conftest import wait_for, write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def test_logs_are_read_from_the_node_and_brought_home(cluster: TestCluster, workdir: Path):
    host = cluster.hosts[2]
    write_inventory(workdir / "nodes.yaml", {"h3": cluster.node_values(host)})
    (workdir / "experiments").mkdir()
    commands = [
        "echo out-$((1 + 1)); echo to-stderr >&2; exit 5",
        "echo fine",
        "echo \x1b[31mred",
        "echo a; echo b; echo c >&2; echo d >&2",
    ]
    (workdir / "experiments" / "l.yaml").write_text(
        yaml.safe_dump({"experiment_commands": commands})
    )
    for stage in ("deliver", "start"):
        assert octopus(stage, "--exp", "l", cwd=workdir).returncode == 0

    def finished() -> bool:
        return "l finished in" in octopus("monitor", "--exp", "l", cwd=workdir).stdout

    assert wait_for(finished, timeout=60)
    paths = workdir / "deliverables" / "l"
    ledger = Ledger.load(paths / "ledger.sqlite", Deliveries.read(paths / "manifest.json"))
    by_text = {s.command: s.id for s in ledger.statuses()}
    failing, fine, red, both = (by_text[c] for c in commands)
    outputs = [f.read_text() for f in host.home.glob(".octopus/l@*/current/output_screen*")]
    # The worker's output has both streams: a command's stderr once it ended.
    assert any("out-2\nto-stderr\n" in text for text in outputs), outputs
    assert any("a\nb\nc\nd\n" in text for text in outputs), outputs

    shown = octopus("logs", "--exp", "l", cwd=workdir)  # the failed ones
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"==> h3 #{failing} (exit 5): {commands[0]} <=="
    assert lines[1:] == ["out-2", "-- stderr --", "to-stderr"]

    shown = octopus("logs", "--exp", "l", "--id", f"{fine},{red}", "--tail", "1", cwd=workdir)
    lines = shown.stdout.splitlines()
    assert lines[:2] == [f"==> h3 #{fine} (exit 0): echo fine <==", "fine"], shown.stderr
    assert lines[2].startswith(f"==> h3 #{red} (exit 0): ") and len(lines) == 4
    assert lines[3].endswith("[31mred")  # a terminal escape from the node is shown, not acted on
    assert "\x1b" not in shown.stdout
    shown = octopus("logs", "--exp", "l", "--id", str(both), "--tail", "1", cwd=workdir)
    assert shown.stdout.splitlines()[1:] == ["b", "-- stderr --", "d"], shown.stderr

    unknown = octopus("logs", "--exp", "l", "--id", "9999", cwd=workdir)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "no command #9999 in this experiment" in unknown.stderr

    picked = octopus("pickup", "--exp", "l", cwd=workdir)
    assert picked.returncode == 0, picked.stdout + picked.stderr
    home = paths / "logs" / "h3"
    assert sorted(p.name for p in home.iterdir()) == sorted(
        f"{i}.{stream}" for i in by_text.values() for stream in ("out", "err")
    )
    assert (home / f"{failing}.out").read_text() == "out-2\n"
    assert (home / f"{failing}.err").read_text() == "to-stderr\n"
    assert (home / f"{fine}.out").read_text() == "fine\n"
    assert (home / f"{fine}.err").read_text() == ""
    assert (home / f"{both}.out").read_text() == "a\nb\n"
    assert (home / f"{both}.err").read_text() == "c\nd\n"
