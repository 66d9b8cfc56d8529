"""Deliver at scale: `inv deliver` of 1,000 commands to 32 real test hosts.

Side by side in one run, interleaved, medians of --runs: octopus (`inv deliver`, a whole
client process: planning, writing the scripts, the check, the upload and the switch) and
plain `rsync -a` over `ssh` (curve25519, one per host, all hosts at once) of the very folders
that deliver wrote, each run into a new folder on the hosts (so rsync sends everything, as a
new delivery does). Also counts the logins each host's sshd accepted during one deliver, and
gives the CPU each side used: its client processes' own, and the whole machine's (from
/proc/stat). The test hosts run on the client's own cores here, so what their sshd and the
commands on them use counts in the time as well.

With `--compare CHECKOUT`, octopus from another checkout (say, the commit before a change)
runs too, interleaved in the same run, and the table gains its figure and the ratio.

Run as root from the checkout:
    .venv/bin/python bench/deliver_scale.py [--runs 5] [--hosts 32] [--commands 1000]
        [--compare DIR]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from octopus.testing.sshhosts import TestCluster


class CpuMeter:
    """The CPU seconds the processes this one started used (their own), and those of the whole
    machine (both cores, /proc/stat: the test hosts' sshd and the commands on them too)."""

    def __enter__(self) -> CpuMeter:
        self.own, self.machine = self._own(), self._machine()
        return self

    def __exit__(self, *exc: object) -> None:
        self.own, self.machine = self._own() - self.own, self._machine() - self.machine

    @staticmethod
    def _own() -> float:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime

    @staticmethod
    def _machine() -> float:
        # user nice system idle iowait irq softirq (then steal, and guest time, which user
        # and nice already hold): the time the cores worked
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    began = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def parallel_rsync(cluster: TestCluster, folders: Path, run: int) -> float:
    """Every host's folder to ~/rsync-bench-<run>/ at once, as many rsync as hosts."""
    ssh = f"ssh -F {cluster.ssh_config} -o KexAlgorithms=curve25519-sha256"
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            ["rsync", "-a", "-e", ssh, f"{folders / h.name}/", f"{h.name}:rsync-bench-{run}/"],
            stdout=subprocess.DEVNULL,
        )
        for h in cluster.hosts
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("rsync failed")
    return time.monotonic() - began


def measure(hosts: int, commands: int, runs: int, compare: Path | None) -> dict[str, float]:
    with TestCluster(hosts) as cluster, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inventory = work / "nodes.yaml"
        inventory.write_text(
            yaml.safe_dump(
                {
                    "nodes": {
                        h.name: cluster.node_values(h, num_parallel_screens_or_jobs=2)
                        for h in cluster.hosts
                    }
                }
            )
        )
        experiment = work / "scale.yaml"
        experiment.write_text(
            yaml.safe_dump(
                {
                    "experiment_commands": [
                        f"python train.py --seed {i} --out runs/{i}.csv" for i in range(commands)
                    ],
                }
            )
        )
        inv = [
            sys.executable,
            "-m",
            "octopus",
            "deliver",
            "--exp",
            str(experiment),
            "--inventory",
            str(inventory),
        ]
        timings: dict[str, list[float]] = {"octopus": [], "other": [], "rsync": []}
        for cpu in ("octopus", "rsync"):  # each one's client processes, and the machine's
            timings[f"{cpu} own"], timings[f"{cpu} machine"] = [], []
        other_env = {**os.environ, "PYTHONPATH": str(compare)} if compare else None
        logins: list[int] = []
        for run in range(runs):
            if other_env is not None and run % 2:  # the checkouts take turns going first
                timings["other"].append(timed(inv, cwd=work, env=other_env))
            before = [h.accepted_logins() for h in cluster.hosts]
            with CpuMeter() as cpu:
                timings["octopus"].append(timed(inv, cwd=work))
            timings["octopus own"].append(cpu.own)
            timings["octopus machine"].append(cpu.machine)
            after = [h.accepted_logins() for h in cluster.hosts]
            logins += [a - b for a, b in zip(after, before, strict=True)]
            if other_env is not None and not run % 2:
                timings["other"].append(timed(inv, cwd=work, env=other_env))
            with CpuMeter() as cpu:
                timings["rsync"].append(
                    parallel_rsync(cluster, work / "deliverables" / "scale", run)
                )
            timings["rsync own"].append(cpu.own)
            timings["rsync machine"].append(cpu.machine)
        medians = {k: statistics.median(v) for k, v in timings.items() if v}
        return {**medians, "logins_min": min(logins), "logins_max": max(logins)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--compare", type=Path, help="another checkout of octopus to time too")
    args = parser.parse_args()
    # Measured as installed: pip compiles an installed package, as Fabric's modules are.
    for checkout in [
        Path(__file__).resolve().parent.parent,
        *([args.compare] if args.compare else []),
    ]:
        compileall.compile_dir(checkout / "octopus", quiet=1)
    row = measure(args.hosts, args.commands, args.runs, args.compare)
    other = " other checkout | this / other |" if args.compare else ""
    print(
        f"| hosts x commands | octopus `inv deliver` | parallel rsync over ssh | "
        f"octopus / rsync | logins per host |{other}  (medians of {args.runs})"
    )
    print("|---|---|---|---|---|" + ("---|---|" if args.compare else ""))
    logins = f"{row['logins_min']:g}" + (
        "" if row["logins_min"] == row["logins_max"] else f"-{row['logins_max']:g}"
    )
    extra = ""
    if args.compare:
        extra = f" {row['other']:.2f} s | {row['octopus'] / row['other']:.2f}x |"
    print(
        f"| {args.hosts} x {args.commands} | {row['octopus']:.2f} s | {row['rsync']:.2f} s | "
        f"{row['octopus'] / row['rsync']:.2f}x | {logins} |{extra}"
    )
    # Where the time goes: on this bench the hosts share the client's cores.
    print()
    print("| CPU seconds (medians) | the client processes | the rest of the machine (sshd, "
          "the commands on the hosts) | the whole machine |")  # fmt: skip
    print("|---|---|---|---|")
    for name, label in (
        ("octopus", "octopus `inv deliver`"),
        ("rsync", "rsync, an rsync and an ssh a host"),
    ):
        own, machine = row[f"{name} own"], row[f"{name} machine"]
        print(f"| {label} | {own:.2f} s | {machine - own:.2f} s | {machine:.2f} s |")


if __name__ == "__main__":
    main()
