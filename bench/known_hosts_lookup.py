"""Host key lookups of one stage: 32 nodes, each looked up as a connection does, in a
known_hosts file of N hashed lines (as `HashKnownHosts yes`, Debian's default, writes them).

Side by side in one run, medians of --runs: octopus (`CheckKnownHosts.entries`, three looks
a node: the key types to ask for, the verdict, and the bare name a port other than 22 falls
back to) and paramiko's own `HostKeys.lookup` (what a Fabric user who loads known_hosts gets),
three looks a node too. Both read the file once beforehand; each run looks up the 32 names
afresh in a new process state (octopus' file cache is emptied), as a new stage does.

Run from the checkout:
    .venv/bin/python bench/known_hosts_lookup.py [--runs 9] [--lines 100,1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from octopus.remote import hostkeys
from octopus.remote.known_hosts import hash_name
from octopus.remote.known_hosts_files import KnownHostsFiles

NODES = 32
LOOKS = 3  # a connection's looks at its host's lines


def write_known_hosts(path: Path, lines: int) -> list[str]:
    """`lines` hashed lines, the 32 nodes' among them; the nodes' names."""
    names = [f"10.{n // 250}.{n % 250}.9" for n in range(lines)]
    text = []
    for name in names:
        public = Ed25519PrivateKey.generate().public_key()
        line = public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
        text.append(f"{hash_name(name, os.urandom(20))} {line}\n")
    path.write_text("".join(text))
    step = max(1, lines // NODES)
    return names[::step][:NODES]


def octopus_looks(path: Path, nodes: list[str]) -> float:
    hostkeys._cache.clear()  # a new stage's process
    policy = hostkeys.CheckKnownHosts(KnownHostsFiles((str(path),)))
    policy.entries("warm.example")  # the file read, as paramiko's is below
    began = time.perf_counter()
    for name in nodes:
        for _ in range(LOOKS):
            assert policy.entries(name)
    return time.perf_counter() - began


def paramiko_looks(path: Path, nodes: list[str]) -> float:
    keys = paramiko.HostKeys(str(path))
    began = time.perf_counter()
    for name in nodes:
        for _ in range(LOOKS):
            assert keys.lookup(name)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--lines", default="100,1000")
    args = parser.parse_args()
    print(f"| hashed lines | octopus, {NODES} nodes | paramiko HostKeys.lookup | octopus / "
          f"paramiko |  (medians of {args.runs}; {LOOKS} looks a node)")  # fmt: skip
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for lines in (int(n) for n in args.lines.split(",")):
            path = Path(tmp) / f"known_hosts{lines}"
            nodes = write_known_hosts(path, lines)
            ours, theirs = [], []
            for run in range(args.runs):  # taking turns going first
                pair = [(ours, octopus_looks), (theirs, paramiko_looks)][:: -1 if run % 2 else 1]
                for times, look in pair:
                    times.append(look(path, nodes))
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"| {lines:,} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
