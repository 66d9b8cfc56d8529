"""Stage fan-out: `inv setup` with three Cmd steps on 1, 8 and 32 real test hosts.

Side by side in one run, interleaved, medians of --runs: octopus (`inv setup`, a whole
client process), a bare Fabric ThreadingGroup script doing the same three commands over one
connection per host, and plain `ssh` calls (three per host, hosts in parallel). Also counts
the logins each host's sshd accepted during one octopus stage (the goal is exactly 1).

With `--compare CHECKOUT`, octopus from another checkout (say, the commit before a change)
runs too, interleaved in the same run, and the table gains its figure and the ratio.

Run as root from the checkout:
    .venv/bin/python bench/stage_fanout.py [--runs 5] [--sizes 1,8,32] [--compare DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from octopus.testing.sshhosts import TestCluster

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["true", "hostname", "echo three"]

FABRIC_SCRIPT = textwrap.dedent("""
    import sys
    from fabric import ThreadingGroup
    key, hosts = sys.argv[1], sys.argv[2:]
    group = ThreadingGroup(*hosts, user="octo", connect_kwargs={"key_filename": [key]})
    for command in %r:
        group.run(command, hide=True)
    group.close()
""") % (COMMANDS,)


def timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    began = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def plain_ssh(cluster: TestCluster) -> float:
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                "sh",
                "-c",
                " && ".join(
                    f"ssh -F {cluster.ssh_config} {h.name} '{c}' >/dev/null" for c in COMMANDS
                ),
            ]
        )
        for h in cluster.hosts
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("plain ssh failed")
    return time.monotonic() - began


def measure(size: int, runs: int, compare: Path | None = None) -> dict[str, object]:
    with TestCluster(size) as cluster, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inventory = work / "nodes.yaml"
        inventory.write_text(
            yaml.safe_dump({"nodes": {h.name: cluster.node_values(h) for h in cluster.hosts}})
        )
        experiment = work / "fanout.yaml"
        experiment.write_text(
            yaml.safe_dump(
                {"experiment_commands": [], "setup_steps": [{"Cmd": {"cmd": c}} for c in COMMANDS]}
            )
        )
        fabric_script = work / "fabric_fanout.py"
        fabric_script.write_text(FABRIC_SCRIPT)
        # Fabric itself loads no known_hosts; use the cluster's so the comparison is fair.
        inv = [
            sys.executable,
            "-m",
            "octopus",
            "setup",
            "--exp",
            str(experiment),
            "--inventory",
            str(inventory),
        ]
        fab = [
            sys.executable,
            str(fabric_script),
            str(cluster.client_key),
            *[h.address for h in cluster.hosts],
        ]
        timings: dict[str, list[float]] = {"octopus": [], "fabric": [], "ssh": [], "other": []}
        # The other checkout's octopus comes first on the path of its runs.
        other_env = {**os.environ, "PYTHONPATH": str(compare)} if compare else None
        logins: list[int] = []
        for run in range(runs):
            # The checkouts take turns going first: what ran just before (the peers' logins)
            # weighs on each alike.
            if other_env is not None and run % 2:
                timings["other"].append(timed(inv, cwd=work, env=other_env))
            before = [h.accepted_logins() for h in cluster.hosts]
            timings["octopus"].append(timed(inv, cwd=work))
            after = [h.accepted_logins() for h in cluster.hosts]
            logins.append(max(a - b for a, b in zip(after, before, strict=True)))
            logins.append(min(a - b for a, b in zip(after, before, strict=True)))
            if other_env is not None and not run % 2:
                timings["other"].append(timed(inv, cwd=work, env=other_env))
            timings["fabric"].append(timed(fab))
            timings["ssh"].append(plain_ssh(cluster))
        medians = {k: statistics.median(v) for k, v in timings.items() if v}
        return {"size": size, **medians, "logins": (min(logins), max(logins))}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1,8,32")
    parser.add_argument("--compare", type=Path, help="another checkout of octopus to time too")
    args = parser.parse_args()
    other = " | other checkout | this / other" if args.compare else ""
    print(
        f"| hosts | octopus `inv setup` | bare Fabric | plain ssh | octopus / Fabric | "
        f"logins per host per stage{other} |  (medians of {args.runs})"
    )
    print("|---|---|---|---|---|---|" + ("---|---|" if args.compare else ""))
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.runs, args.compare)
        low, high = row["logins"]  # type: ignore[misc]
        logins = str(low) if low == high else f"{low}-{high}"
        extra = (
            f" {row['other']:.2f} s | {row['octopus'] / row['other']:.2f}x |"  # type: ignore[operator]
            if args.compare
            else ""
        )
        print(
            f"| {size} | {row['octopus']:.2f} s | {row['fabric']:.2f} s | {row['ssh']:.2f} s | "
            f"{row['octopus'] / row['fabric']:.2f}x | {logins} |{extra}",  # type: ignore[operator]
            flush=True,
        )


if __name__ == "__main__":
    main()
