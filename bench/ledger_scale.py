"""The local ledger at scale: 32 nodes x 10,000 commands (320k), all finished.

Prints the file's size, an offline look (what `monitor --offline --json` does once the
process has started: read the record and the ledger, count, print the JSON), and a monitor's
merge and save after 1% of the commands changed, for the SQLite ledger beside the whole-file
JSON ledger of earlier versions (medians of --runs). Runs anywhere, no hosts needed:
    .venv/bin/python bench/ledger_scale.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from octopus.node import Node
from octopus.results import MonitorReport
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.layout import command_log
from octopus.run.ledger import Ledger
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.views.monitor import as_json

NODES, PER_NODE = 32, 10_000


def record() -> Deliveries:
    nodes = [
        Node(test_connection=False, ssh_hostname=f"n{i}", num_parallel_screens_or_jobs=4)
        for i in range(NODES)
    ]
    commands = [f"python3 train.py --seed {i} --lr 0.001" for i in range(NODES * PER_NODE)]
    plan = build_plan(commands, "", nodes)
    launchers = {n.name or "": "screen" for n in nodes}
    return Deliveries.of_one(Manifest("scale", "D1", plan, launchers, ".octopus/scale"))


def done(status: CommandStatus) -> CommandStatus:
    return CommandStatus(
        status.id, status.node, status.worker, status.command, CommandState.DONE,
        0, 1.0, 2.0, 1, command_log(status.id), "oct-scale-s0", "n",
    )  # fmt: skip


def timed(work: object) -> float:
    began = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - began


def offline_look(path: Path, ledger_path: Path) -> None:
    record = Deliveries.read(path)
    ledger = Ledger.load(ledger_path, record)
    as_json(MonitorReport(record, ledger, {}, offline=True))


def one_run(deliveries: Deliveries, tmp: Path, rows: dict[str, list[float]]) -> tuple[int, int]:
    """One measurement of each; returns the two files' sizes."""
    path, sq, js = tmp / "manifest.json", tmp / "ledger.sqlite", tmp / "old.json"
    deliveries.write(path)
    record = Deliveries.read(path)
    ledger = Ledger.fresh(record)
    statuses = ledger.statuses()
    last = statuses[int(len(statuses) * 0.99) :]
    for status in statuses[: len(statuses) - len(last)]:
        ledger.commands[status.id] = done(status)
    ledger.save(sq)
    js.write_text(json.dumps(ledger.as_dict(), indent=1))
    rows["sq_load"].append(timed(lambda: offline_look(path, sq)))
    loaded = Ledger.load(sq, Deliveries.read(path))

    def monitor_saw_the_last_end() -> None:
        for node in {s.node for s in last}:
            loaded.merge(node, [done(s) for s in last if s.node == node])
        loaded.save(sq)

    rows["sq_save"].append(timed(monitor_saw_the_last_end))
    rows["js_load"].append(timed(lambda: json.loads(js.read_text())))
    rows["js_save"].append(timed(lambda: js.write_text(json.dumps(loaded.as_dict(), indent=1))))
    return sq.stat().st_size, js.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    deliveries = record()
    rows: dict[str, list[float]] = {k: [] for k in ("sq_load", "sq_save", "js_load", "js_save")}
    sizes = (0, 0)
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            sizes = one_run(deliveries, Path(tmp), rows)
    med = {k: statistics.median(v) for k, v in rows.items()}
    size_sq, size_js = sizes
    print(f"ledger of {NODES * PER_NODE:,} commands, medians of {runs}")
    print("| ledger | size | offline look | merge and save after 1% changed |")
    print("|---|---|---|---|")
    print(f"| SQLite (octopus) | {size_sq / 1e6:.0f} MB | {med['sq_load']:.2f} s | "
          f"{med['sq_save']:.2f} s |")  # fmt: skip
    print(f"| whole-file JSON (earlier) | {size_js / 1e6:.0f} MB | {med['js_load']:.2f} s "
          f"(parse only) | {med['js_save']:.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
