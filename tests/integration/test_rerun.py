"""Re-runs on a real host: `inv run` on an experiment that already ran runs only the commands
that are new, edited or did not succeed; the others keep their ids and show as done, and
`--fresh` runs everything again. Each command appends a line to a file on the node, so the
file counts how often each one ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState
from octopus.run.ledger import Ledger
from octopus.testing.sshhosts import TestCluster
from tests.conftest import write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def write_experiment(workdir: Path, commands: list[str]) -> None:
    (workdir / "experiments").mkdir(exist_ok=True)
    data = {"experiment_commands": commands, "screens_per_node": 2}
    (workdir / "experiments" / "r.yaml").write_text(yaml.safe_dump(data))


def states(workdir: Path) -> dict[str, list[tuple[int, CommandState]]]:
    """command text -> (id, state) of each command with that text, as the ledger has them."""
    paths = workdir / "deliverables" / "r"
    ledger = Ledger.load(paths / "ledger.sqlite", Deliveries.read(paths / "manifest.json"))
    found: dict[str, list[tuple[int, CommandState]]] = {}
    for status in ledger.statuses():
        found.setdefault(status.command, []).append((status.id, status.state))
    return found


def test_a_second_run_runs_only_what_changed_or_failed(cluster: TestCluster, workdir: Path):
    host = cluster.hosts[3]
    write_inventory(workdir / "nodes.yaml", {"h4": cluster.node_values(host)})
    runs = "$HOME/rerun-runs.txt"
    a = f"echo a | tee -a {runs}"
    b, d = (f"echo {x} >> {runs}" for x in "bd")
    c = f"echo c >> {runs}; [ -e $HOME/rerun-ok ]"
    host.exec(f"rm -f {runs} $HOME/rerun-ok")
    write_experiment(workdir, [a, b, c, d, d])

    first = octopus("run", "--exp", "r", "--interval", "0.3", cwd=workdir)
    assert first.returncode == 1, first.stdout + first.stderr
    assert sorted(host.exec(f"cat {runs}").split()) == ["a", "b", "c", "d", "d"]
    before = states(workdir)
    assert before[c] == [(before[c][0][0], CommandState.FAILED)]
    assert len(before[d]) == 2

    # c can succeed now, and b is edited: those two run, the three others are kept.
    host.exec(f"touch $HOME/rerun-ok && rm {runs}")
    b2 = f"echo B >> {runs}"
    write_experiment(workdir, [a, b2, c, d, d])
    second = octopus("run", "--exp", "r", "--interval", "0.3", cwd=workdir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(host.exec(f"cat {runs}").split()) == ["B", "c"]
    assert "3 of 5 command(s) succeeded before and are kept; 2 run" in second.stdout
    assert "r finished in" in second.stdout
    assert "5 done (3 of them before), 0 failed" in second.stdout
    after = states(workdir)
    assert b not in after
    for text in (a, c, d):  # the same text keeps its id; all are done
        assert after[text] == [(ident, CommandState.DONE) for ident, _ in before[text]]
    # The kept command's log is not in the new delivery on the node: the one pickup brought
    # home is shown.
    ((kept_a, _),) = after[a]
    shown = octopus("logs", "--exp", "r", "--id", str(kept_a), cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1:] == ["a"], shown.stdout
    old_ids = {ident for found in before.values() for ident, _ in found}
    ((new_id, state),) = after[b2]
    assert state is CommandState.DONE and new_id > max(old_ids)

    # A third run has nothing left to do; --fresh runs all five again, with the same ids.
    host.exec(f"rm {runs}")
    third = octopus("run", "--exp", "r", "--interval", "0.3", cwd=workdir)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "5 of 5 command(s) succeeded before and are kept; 0 run" in third.stdout
    assert host.exec(f"cat {runs} 2>/dev/null; true").split() == []
    assert states(workdir) == after
    fresh = octopus("run", "--exp", "r", "--interval", "0.3", "--fresh", cwd=workdir)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert sorted(host.exec(f"cat {runs}").split()) == ["B", "a", "c", "d", "d"]
    assert "succeeded before" not in fresh.stdout
    assert states(workdir) == after
