"""Monitor at scale: `inv monitor --json` on 32 real test hosts with 1,000 and 10,000 finished
commands each, first look and a repeat look, beside a bare Fabric ThreadingGroup `cat` of the
same state files (the least a monitor that reads them whole must transfer) and a bare Fabric
fan-out of `true` (the least any look costs), and `monitor --offline --json` (the whole
process, no connection). Medians of --runs, interleaved; a first look is timed in every run
(its ledger removed before it).

The table also gives the floor of a first look on this machine: Fabric's `cat` of the events,
plus what octopus must do with them at the least, timed in this process on the same files:
its parser over every events file, and writing one row per command, with the ledger's
indexes, into a new ledger file (medians of --runs).

With `--compare CHECKOUT`, octopus from another checkout (say, the commit before a change)
looks too, first and repeat, interleaved in the same run, and the table gains its figures.

The commands are delivered, then their records are written straight into each node's events
file (as a worker that ran them would have), so the bench measures monitor, not the run.

Run as root from the checkout:
    .venv/bin/python bench/monitor_scale.py [--runs 5] [--hosts 32] [--per-node 1000,10000]
        [--compare DIR]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from octopus.run import ledger_store
from octopus.run.bulk import bulk_work
from octopus.run.events import parse_events
from octopus.testing.host import TestHost
from octopus.testing.sshhosts import TestCluster

REPO = Path(__file__).resolve().parent.parent

FABRIC = textwrap.dedent("""
    import sys
    from fabric import ThreadingGroup
    command, key, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
    group = ThreadingGroup(*hosts, user="octo", connect_kwargs={"key_filename": [key]})
    group.run(command, hide=True)
    group.close()
""")
PEERS = {"fabric": "cat ~/.octopus/*/current/state/*.events", "true": "true"}


def octopus(work: Path, *args: str, checkout: Path | None = None) -> float:
    # Each checkout keeps its own YAML cache (yaml_cache.py): one of another format would
    # make the other parse the experiment's file again at every turn.
    env = {**os.environ, "XDG_CACHE_HOME": str(work / ("cache-other" if checkout else "cache"))}
    if checkout:
        env["PYTHONPATH"] = str(checkout)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=work, capture_output=True, text=True, env=env
    )
    elapsed = time.monotonic() - began
    if done.returncode not in (0, 1):
        raise SystemExit(f"octopus {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def record_runs(host: TestHost, work: Path, name: str) -> None:
    """Write the events of every command the node's share holds, all finished (exit 0)."""
    share = json.loads((work / "deliverables" / name / host.name / "manifest.json").read_text())
    by_worker: dict[int, list[int]] = {
        part["worker"]: part["ids"] for part in share["plan"]["parts"]
    }
    current = next((host.home / ".octopus").glob(f"{name}@*/current"))
    for worker, ids in by_worker.items():
        lines = [f"worker-start\t-\t1000.0\t{worker}"]
        for n, ident in enumerate(ids):
            lines += [
                f"start\t{ident}\t{1000 + n}.0\t{host.name}",
                f"end\t{ident}\t{1000 + n}.5\t0",
            ]
        lines.append("worker-end\t-\t99999.0\tdone")
        events = current / "state" / f"s{worker}.events"
        events.parent.mkdir(parents=True, exist_ok=True)
        events.write_text("\n".join(lines) + "\n")


def first_look_floor(cluster: TestCluster, name: str, runs: int) -> tuple[float, float]:
    """(parse, write): the least a first look does with the events besides fetching them."""
    texts = [
        (host.name, path.read_text())
        for host in cluster.hosts
        for path in (host.home / ".octopus").glob(f"{name}@*/current/state/*.events")
    ]
    parsing, writing = [], []
    with tempfile.TemporaryDirectory() as tmp, bulk_work():  # as monitor works: gc held off
        for run in range(runs):
            began = time.perf_counter()
            parsed = [(node, parse_events(text)) for node, text in texts]
            parsing.append(time.perf_counter() - began)
            rows = [
                (ident, node, 0, f"true {ident}", "done", last.exit_code, last.started,
                 last.ended, len(attempts), "", last.host)
                for node, events in parsed
                for ident, attempts in events.attempts.items()
                for last in attempts[-1:]
            ]  # fmt: skip
            began = time.perf_counter()
            ledger_store.write(Path(tmp) / f"ledger{run}.sqlite", {}, rows, every_row=True)
            writing.append(time.perf_counter() - began)
    return statistics.median(parsing), statistics.median(writing)


def measure(
    cluster: TestCluster, per_node: int, runs: int, compare: Path | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        values = {
            h.name: cluster.node_values(h, num_parallel_screens_or_jobs=1) for h in cluster.hosts
        }
        (work / "nodes.yaml").write_text(yaml.safe_dump({"nodes": values}))
        name = f"scale{per_node}"
        commands = [f"true {i}" for i in range(per_node * len(cluster.hosts))]
        (work / "experiments").mkdir()
        (work / "experiments" / f"{name}.yaml").write_text(
            yaml.safe_dump({"experiment_commands": commands})
        )
        octopus(work, "deliver", "--exp", name)
        for host in cluster.hosts:
            record_runs(host, work, name)
        fabric = work / "fabric_run.py"
        fabric.write_text(FABRIC)
        hosts = [h.address for h in cluster.hosts]
        look = ("monitor", "--exp", name, "--json")
        ledger = work / "deliverables" / name
        checkouts = {"": None, **({"other ": compare} if compare else {})}
        if compare:  # its YAML cache made before the timing, as deliver made this one's
            octopus(work, *look, checkout=compare)
        times: dict[str, list[float]] = {}
        for run in range(runs):
            # The checkouts take turns going first: what ran just before (the peers' 64
            # logins, or an offline look) weighs on each alike.
            order = list(checkouts.items())[:: -1 if run % 2 else 1]
            for tag, checkout in order:
                for old in ledger.glob("ledger.sqlite*"):  # the next look is a first one
                    old.unlink()
                times.setdefault(f"{tag}first", []).append(octopus(work, *look, checkout=checkout))
                times.setdefault(f"{tag}repeat", []).append(octopus(work, *look, checkout=checkout))
                if checkout is None:  # of the ledger this checkout wrote
                    times.setdefault("offline", []).append(octopus(work, *look, "--offline"))
            for peer, command in PEERS.items():
                began = time.monotonic()
                subprocess.run(
                    [sys.executable, str(fabric), command, str(cluster.client_key), *hosts],
                    check=True,
                    capture_output=True,
                )
                times.setdefault(peer, []).append(time.monotonic() - began)
        times["parse"], times["write"] = [[v] for v in first_look_floor(cluster, name, runs)]
        for host in cluster.hosts:  # written by this (root) process: removed by it too
            for folder in (host.home / ".octopus").glob(f"{name}@*"):
                shutil.rmtree(folder, ignore_errors=True)
        return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--per-node", default="1000,10000")
    parser.add_argument("--compare", type=Path, help="another checkout of octopus to time too")
    args = parser.parse_args()
    sizes = [int(s) for s in args.per_node.split(",")]
    # Measured as installed: pip compiles an installed package, as Fabric's modules are.
    for checkout in [REPO, *([args.compare] if args.compare else [])]:
        compileall.compile_dir(checkout / "octopus", quiet=1)
    other = " other: first | other: repeat |" if args.compare else ""
    print(f"| nodes x commands | octopus monitor, first | octopus monitor, repeat | "
          f"Fabric `cat` | Fabric `true` | repeat / `cat` | repeat / `true` | offline | "
          f"first-look floor: `cat` + parse + write |{other}"
          f"  (medians of {args.runs})")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if args.compare else ""))
    with TestCluster(args.hosts) as cluster:
        for per_node in sizes:
            m = measure(cluster, per_node, args.runs, args.compare)
            extra = f" {m['other first']:.2f} s | {m['other repeat']:.2f} s |" if other else ""
            floor = m["fabric"] + m["parse"] + m["write"]
            parts = f"{m['fabric']:.2f} + {m['parse']:.2f} + {m['write']:.2f}"
            print(
                f"| {args.hosts} x {per_node:,} | {m['first']:.2f} s | {m['repeat']:.2f} s | "
                f"{m['fabric']:.2f} s | {m['true']:.2f} s | {m['repeat'] / m['fabric']:.2f}x | "
                f"{m['repeat'] / m['true']:.2f}x | {m['offline']:.2f} s | "
                f"{floor:.2f} s ({parts}) |{extra}",
                flush=True,
            )


if __name__ == "__main__":
    main()
