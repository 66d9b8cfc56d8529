"""A parameter grid on a real host: the YAML's template runs once per combination, and the
manifest keeps each command's parameters."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from octopus.run.deliveries import Deliveries
from octopus.run.ledger_rows import read_params
from octopus.testing.sshhosts import TestCluster
from tests.conftest import wait_for, write_inventory


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_grid_runs_every_combination_once(cluster: TestCluster, workdir: Path):
    host = cluster.hosts[3]
    host.exec("rm -rf grid-out && mkdir grid-out")
    write_inventory(workdir / "nodes.yaml", {"h4": cluster.node_values(host)})
    (workdir / "experiments").mkdir()
    experiment = {
        "grid": {"seed": [1, 2, 3], "model": ["gcn", "gat"]},
        "zip": {"lr": [0.1, 0.01]},
        "experiment_commands": [
            "echo {seed} {model} > ~/grid-out/{seed}-{model}",
            "echo {lr} > ~/grid-out/lr-{lr}",
        ],
    }
    (workdir / "experiments" / "g.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
    printed = octopus("print", "--exp", "g", cwd=workdir)
    assert printed.stdout.splitlines()[:2] == [
        "echo 1 gcn > ~/grid-out/1-gcn",
        "echo 1 gat > ~/grid-out/1-gat",
    ]
    assert len(printed.stdout.splitlines()) == 8
    for stage in ("deliver", "start"):
        assert octopus(stage, "--exp", "g", cwd=workdir).returncode == 0

    def finished() -> bool:
        return "g finished in" in octopus("monitor", "--exp", "g", cwd=workdir).stdout

    assert wait_for(finished, timeout=60)
    made = sorted(p.name for p in (host.home / "grid-out").iterdir())
    assert made == sorted(
        [f"{s}-{m}" for s in (1, 2, 3) for m in ("gcn", "gat")] + ["lr-0.1", "lr-0.01"]
    )
    assert (host.home / "grid-out" / "2-gat").read_text() == "2 gat\n"
    record = Deliveries.read(workdir / "deliverables" / "g" / "manifest.json")
    manifest = record.of("h4")
    by_text = {
        text: manifest.params_of(index)
        for part in manifest.plan.parts
        for text, index in zip(part.commands, part.command_indices, strict=True)
    }
    assert by_text["echo 3 gcn > ~/grid-out/3-gcn"] == {"seed": 3, "model": "gcn"}
    assert by_text["echo 0.01 > ~/grid-out/lr-0.01"] == {"lr": 0.01}
    share = json.loads((workdir / "deliverables" / "g" / "h4" / "manifest.json").read_text())
    assert len(share["params"]) == 8
    # The ledger has them too: plain SQL picks the commands of one model.
    ledger = workdir / "deliverables" / "g" / "ledger.sqlite"
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        gat = db.execute(
            "SELECT command, state FROM commands_params "
            "WHERE json_extract(params, '$.model') = 'gat' ORDER BY command"
        ).fetchall()
    assert gat == [(f"echo {s} gat > ~/grid-out/{s}-gat", "done") for s in (1, 2, 3)]
    assert sorted(read_params(ledger).values(), key=str)[0] == {"lr": 0.01}
